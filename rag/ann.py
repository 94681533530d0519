"""Large-index mode: an approximate FAISS index that fits a million chunks in well under 2 GB of RAM.

Chosen with `--ann` (Settings.faiss_index == "ann"). Below `ANN_MIN_CHUNKS` an exact flat index is built
anyway: it is small and fast enough, and exact. Above it, an inverted file over 8-bit scalar-quantised vectors
(FAISS "IVF<nlist>,SQ8", inner product) is trained automatically on a sample of the vectors: 384 bytes per
384-dimension vector instead of 1,536, and a query scans only `nprobe` of the `nlist` lists. The float32
vectors stay on disk (vectors.npy, memory-mapped by the reader): the candidates of the approximate search are
re-scored exactly from them, so fused scores are true cosines and the final order is exact among candidates.

Filters: a narrow filter (few rows) is searched exactly over its own rows; a wide one over-fetches
unfiltered candidates and keeps those that pass; when too few pass, the IVF is searched with a selector and
more lists probed, so that the top-k still fills up. bench/scale.py measures build time,
RAM, latency and recall@10 against exact search at 100k and 1M chunks.
"""
from __future__ import annotations

import logging
import math
import mmap
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ANN_MIN_CHUNKS = 50_000     # below this, "ann" builds an exact flat index
NPROBE = 48                 # lists scanned per query (of ~sqrt(N)); bench/scale.py: recall@10 >= 0.95
EXACT_FILTER_ROWS = 5_000   # a filter keeping fewer rows than this is searched exactly over those rows
OVERFETCH_MAX = 8_192      # a wider filter over-fetches unfiltered candidates up to this many, then filters
TRAIN_PER_LIST = 64         # k-means training sample: this many vectors per list
ADD_BLOCK = 65_536          # vectors added per block (a memory-mapped file is never read whole)


def n_lists(n: int) -> int:
    """About sqrt(N) lists, a power of two: ~1,000 vectors per list at 1M chunks."""
    return min(max(1, n), 2 ** round(math.log2(max(1.0, math.sqrt(n)))))


def describe(n: int, kind: str) -> str:
    """The FAISS structure `kind` ("ann") gives for n vectors."""
    return "Flat" if n < ANN_MIN_CHUNKS else f"IVF{n_lists(n)},SQ8"


def build(vectors: np.ndarray, progress=None):
    """Train and fill an IVF-SQ8 inner-product index from (possibly memory-mapped) float32 vectors."""
    import faiss

    n, dim = vectors.shape
    nlist = n_lists(n)
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)  # a fixed sample: the same vectors give the same index
    sample = np.sort(rng.choice(n, size=min(n, TRAIN_PER_LIST * nlist), replace=False))
    log.info("entraînement de l'index approximatif IVF%d,SQ8 sur %d vecteurs", nlist, len(sample))
    index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    for start in range(0, n, ADD_BLOCK):
        index.add(np.ascontiguousarray(vectors[start:start + ADD_BLOCK], dtype=np.float32))
        if progress:
            progress(min(n, start + ADD_BLOCK), n)
    index.nprobe = NPROBE
    return index


def open_vectors(path: Path) -> np.ndarray:
    """vectors.npy memory-mapped read-only, for random access: the kernel's read-ahead is switched off, so a
    query brings in the few pages of its candidates, not megabytes around each of them."""
    vectors = np.load(path, allow_pickle=False, mmap_mode="r")
    raw = getattr(vectors, "_mmap", None)
    if raw is not None and hasattr(mmap, "MADV_RANDOM"):
        raw.madvise(mmap.MADV_RANDOM)
    return vectors


def is_ann(index) -> bool:
    import faiss
    return isinstance(index, faiss.IndexIVF)


def search(index, vectors: np.ndarray, qvec: np.ndarray, n: int, mask: np.ndarray | None = None):
    """Top-n rows and exact cosine scores for one query: IVF candidates re-scored from `vectors`."""
    import faiss

    q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
    total = index.ntotal
    params = None
    if mask is not None:
        ids = np.flatnonzero(mask)
        if len(ids) == 0:
            return [], []
        if len(ids) <= EXACT_FILTER_ROWS:
            return _exact(vectors, ids, q[0], n)
        # fewer rows kept → their nearest ones lie further: more lists probed
        nprobe = min(index.nlist, int(NPROBE * math.ceil(math.sqrt(total / len(ids)))))
        # a wide filter: over-fetch without it and keep the rows that pass (cheaper than a selector)
        wanted = min(total, int(2 * n * total / len(ids)))
        if wanted <= OVERFETCH_MAX:
            _, rows = index.search(q, wanted, params=faiss.SearchParametersIVF(nprobe=nprobe))
            rows = rows[0][rows[0] >= 0]
            rows = rows[mask[rows]]
            if len(rows) >= min(n, len(ids)):
                return _exact(vectors, rows, q[0], n)
        params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little")),
                                           nprobe=nprobe)
    _, rows = index.search(q, min(n, total), params=params)
    rows = rows[0][rows[0] >= 0]
    return _exact(vectors, rows, q[0], n)


def _exact(vectors: np.ndarray, rows: np.ndarray, q: np.ndarray, n: int):
    rows = np.sort(np.asarray(rows, dtype=np.int64))  # ascending: sequential reads of the mapped file
    if len(rows) == 0:
        return [], []
    scores = np.asarray(vectors[rows], dtype=np.float32) @ q
    order = np.argsort(-scores, kind="stable")[:n]
    return rows[order].tolist(), scores[order].tolist()
