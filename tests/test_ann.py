"""Large-index mode (rag/ann.py) on a real index: an IVF-SQ8 FAISS index over memory-mapped vectors, with
BM25 and filters still working. The size threshold is lowered so that the tiny corpus gets the large mode;
bench/scale.py measures it at 100k and 1M chunks."""
from __future__ import annotations

import numpy as np
import pytest

from ingest import ingest
from rag import ann
from rag.retrieve import Filters, Retriever
from rag.store import load_index

QUERIES = ["monnaie locale complémentaire à Toulouse", "Qui possède une Scop ?", "paniers de légumes d'une AMAP",
           "microcrédit au Bangladesh", "tiers-lieux"]


@pytest.fixture
def two_indexes(tiny_corpus, minilm, monkeypatch):
    monkeypatch.setattr(ann, "ANN_MIN_CHUNKS", 1)
    flat = minilm.with_(index_dir=minilm.index_dir / "flat")
    large = minilm.with_(index_dir=minilm.index_dir / "ann", faiss_index="ann")
    ingest([tiny_corpus], flat)
    ingest([tiny_corpus], large)
    return Retriever.open(flat), Retriever.open(large)


def test_large_mode_builds_ivf_over_mapped_vectors_and_finds_what_flat_finds_with_filters(two_indexes,
                                                                                           monkeypatch):
    flat, large = two_indexes
    assert ann.is_ann(large.index.faiss) and not ann.is_ann(flat.index.faiss)
    assert isinstance(large.index.vectors, np.memmap)  # vectors stay on disk in large mode
    assert large.index.manifest["faiss"] == "ann"
    for q in QUERIES:
        for mode in ("dense", "hybrid", "bm25"):
            a = [(h.chunk.chunk_id, round(h.score, 4)) for h in flat.search(q, k=5, mode=mode)]
            b = [(h.chunk.chunk_id, round(h.score, 4)) for h in large.search(q, k=5, mode=mode)]
            assert a == b, (q, mode)
    # the approximate candidates are re-scored exactly: dense scores are true cosines
    h = large.search("Qui possède une Scop ?", k=1, mode="dense")[0]
    q = large.embedder.encode_queries(["Qui possède une Scop ?"])[0]
    row = [c.chunk_id for c in large.index.chunks].index(h.chunk.chunk_id)
    assert h.dense_score == pytest.approx(float(large.index.vectors[row] @ q), abs=1e-5)

    # filters keep working
    cases = [Filters(types=("etude_de_cas",)), Filters(languages=("en",)), Filters(types=("these",), languages=("fr",))]
    # a narrow filter searched exactly, by over-fetching then filtering, or through the IVF with a selector
    for exact_rows, overfetch in ((ann.EXACT_FILTER_ROWS, ann.OVERFETCH_MAX), (0, ann.OVERFETCH_MAX), (0, 0)):
        monkeypatch.setattr(ann, "EXACT_FILTER_ROWS", exact_rows)
        monkeypatch.setattr(ann, "OVERFETCH_MAX", overfetch)
        for f in cases:
            a = [h.chunk.chunk_id for h in flat.search("économie et coopératives", k=5, filters=f)]
            b = [h.chunk.chunk_id for h in large.search("économie et coopératives", k=5, filters=f)]
            assert a == b, f
    assert large.search("économie", k=5, filters=Filters(types=("these",), languages=("fr",))) == []
    assert {h.chunk.meta["type"] for h in large.search("coopératives", k=5, filters=cases[0])} == {"etude_de_cas"}


def test_below_the_threshold_ann_builds_an_exact_index(tiny_corpus, minilm):
    s = minilm.with_(faiss_index="ann")
    ingest([tiny_corpus], s)
    idx = load_index(s.index_dir)
    assert idx.faiss.ntotal == len(idx.chunks) and not ann.is_ann(idx.faiss)
    assert ann.describe(len(idx.chunks), "ann") == "Flat" and ann.describe(1_000_000, "ann") == "IVF1024,SQ8"
