"""Large-index mode benchmark: build time, RAM, query latency and recall@10 of rag/ann.py at 100k and 1M chunks.

    nice -n 10 python bench/scale.py [--sizes 100000 1000000] [--queries 1000] [--workdir /tmp/innosoc-scale]

Vectors are synthetic (embedding 1M real chunks would take days on two cores): 384-dimension unit vectors
drawn from a two-level mixture (1,000 topics × 10 sub-topics, plus isotropic noise), so that neighbours are
clustered as in real text embeddings rather than uniformly spread (where no ANN index does well). Queries are
fresh draws from the same mixture. Recall@10 is measured against exact (flat, float32) search.

Each size: the vectors are written to vectors.npy block by block (never whole in RAM), the index is built by
rag.store.build_faiss(kind="ann") exactly as ingest does, then a fresh process loads faiss.index and the
memory-mapped vectors as the app does and runs the queries through rag.ann.search (100 candidates, as
Settings.candidates) — its peak RSS is the reported RAM. A filtered run keeps 10 % of the rows.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIM = 384
TOPICS, SUBTOPICS = 1000, 10
BLOCK = 65_536


def _mixture(seed: int = 1):
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    subs = rng.standard_normal((TOPICS * SUBTOPICS, DIM)).astype(np.float32)
    subs *= 0.7 / np.linalg.norm(subs, axis=1, keepdims=True)
    return topics, subs


NOISE = 0.55  # norm of the isotropic noise around a sub-topic (--noise): larger is harder for any ANN index


def draw(n: int, rng, topics, subs) -> np.ndarray:
    t = rng.integers(0, TOPICS, n)
    s = t * SUBTOPICS + rng.integers(0, SUBTOPICS, n)
    noise = rng.standard_normal((n, DIM)).astype(np.float32) * (NOISE / np.sqrt(DIM))
    x = topics[t] + subs[s] + noise
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def rss_mb(field: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Exact top-k by inner product, block by block over the (memory-mapped) vectors."""
    import faiss

    heap = faiss.ResultHeap(len(queries), k, keep_max=True)
    for start in range(0, len(vectors), BLOCK):
        block = np.ascontiguousarray(vectors[start:start + BLOCK])
        ids = np.arange(start, start + len(block))
        if mask is not None:
            keep = mask[start:start + BLOCK]
            block, ids = np.ascontiguousarray(block[keep]), ids[keep]
        d, i = faiss.knn(queries, block, k, metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(np.ascontiguousarray(d), np.ascontiguousarray(np.where(i >= 0, ids[np.maximum(i, 0)], -1)))
    heap.finalize()
    return heap.I


def build(n: int, work: Path, n_queries: int) -> dict:
    import faiss
    from rag.store import build_faiss

    work.mkdir(parents=True, exist_ok=True)
    topics, subs = _mixture()
    rng = np.random.default_rng(n)
    t0 = time.perf_counter()
    vec = np.lib.format.open_memmap(work / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    for start in range(0, n, BLOCK):
        vec[start:start + BLOCK] = draw(min(BLOCK, n - start), rng, topics, subs)
    vec.flush()
    del vec
    gen_s = time.perf_counter() - t0
    vectors = np.load(work / "vectors.npy", mmap_mode="r")
    t0 = time.perf_counter()
    index = build_faiss(vectors, "ann")
    build_s = time.perf_counter() - t0
    faiss.write_index(index, str(work / "faiss.index"))
    queries = draw(n_queries, np.random.default_rng(10**9 + n), topics, subs)
    mask = np.random.default_rng(7).random(n) < 0.10
    np.save(work / "queries.npy", queries)
    np.save(work / "mask.npy", mask)
    t0 = time.perf_counter()
    np.save(work / "truth.npy", exact_topk(vectors, queries, 10))
    np.save(work / "truth-filtered.npy", exact_topk(vectors, queries, 10, mask))
    truth_s = time.perf_counter() - t0
    return {"n": n, "structure": type(index).__name__, "nlist": int(getattr(index, "nlist", 0)), "generate_s": round(gen_s, 1),
            "build_s": round(build_s, 1), "exact_truth_s": round(truth_s, 1),
            "faiss_index_mb": round((work / "faiss.index").stat().st_size / 2**20, 1),
            "vectors_npy_mb": round((work / "vectors.npy").stat().st_size / 2**20, 1),
            "builder_peak_rss_mb": round(rss_mb(), 0)}


def query(work: Path, threads: int) -> dict:
    """Run in a fresh process: load as the app does, search, measure."""
    import faiss
    from rag import ann

    faiss.omp_set_num_threads(threads)
    base = rss_mb("VmRSS")
    t0 = time.perf_counter()
    index = faiss.read_index(str(work / "faiss.index"))
    vectors = ann.open_vectors(work / "vectors.npy")
    load_s = time.perf_counter() - t0
    queries, mask = np.load(work / "queries.npy"), np.load(work / "mask.npy")
    out = {"load_s": round(load_s, 2)}
    for name, m, truth in (("all", None, np.load(work / "truth.npy")),
                           ("filtered10", mask, np.load(work / "truth-filtered.npy"))):
        lat, hits = [], 0
        for q, t in zip(queries, truth):
            t0 = time.perf_counter()
            rows, _ = ann.search(index, vectors, q, 100, m)
            lat.append(time.perf_counter() - t0)
            hits += len(set(rows[:10]) & set(t.tolist()))
        lat_ms = np.array(lat) * 1000
        out[name] = {"recall@10": round(hits / (10 * len(queries)), 4), "p50_ms": round(float(np.percentile(lat_ms, 50)), 2),
                     "p95_ms": round(float(np.percentile(lat_ms, 95)), 2)}
    out["peak_rss_mb"] = round(rss_mb(), 0)
    # resident now: private memory (heap, FAISS index) and pages of the mapped vectors.npy (page cache,
    # shared and reclaimable by the kernel)
    out["rss_anon_mb"], out["rss_file_mb"] = round(rss_mb("RssAnon"), 0), round(rss_mb("RssFile"), 0)
    out["rss_before_load_mb"] = round(base, 0)
    return out


def main(argv=None) -> int:
    global NOISE
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1, help="FAISS threads per query (the app: one per request)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/innosoc-scale"))
    p.add_argument("--noise", type=float, default=NOISE, help="bruit autour des sous-thèmes (défaut 0.55)")
    p.add_argument("--out", type=Path, help="write the results as JSON here")
    p.add_argument("--query-only", type=Path, metavar="DIR",
                   help="relancer seulement les requêtes sur un dossier déjà construit (DIR = WORKDIR/N)")
    a = p.parse_args(argv)
    if a.query_only:
        print(json.dumps(query(a.query_only, a.threads)))
        return 0
    NOISE = a.noise
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cœurs, load {os.getloadavg()[0]:.1f}", "noise": NOISE,
               "sizes": []}
    for n in a.sizes:
        work = a.workdir / str(n)
        r = build(n, work, a.queries)
        print(json.dumps(r, ensure_ascii=False), flush=True)  # the build's figures, even if the queries fail
        proc = subprocess.run([sys.executable, __file__, "--query-only", str(work), "--threads", str(a.threads)],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"requêtes sur {work} : échec\n{proc.stderr}")
        r.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        r["noise"], r["load_avg"] = NOISE, round(os.getloadavg()[0], 1)
        print(json.dumps(r, ensure_ascii=False), flush=True)
        results["sizes"].append(r)
    if a.out:
        a.out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
