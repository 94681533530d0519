"""Can chunk vectors be derived from sentence vectors? PIAF R@k with encoded vs mean-pooled chunk vectors.

    python bench/pooling.py /path/to/piaf-v1.0.json --index DIR [--paragraphs N] [--n 500]

DIR is a PIAF paragraph index built by bench/piaf_answers.py (same --paragraphs). Its chunk vectors were
encoded (title + text); its sentence table holds every sentence's vector. The pooled vector of a chunk is the
re-normalised mean of its sentences' vectors and its title's vector (what `Settings.chunk_vectors = "pooled"`
stores at ingest). For a sample of questions, dense retrieval (exact inner product) and the default hybrid
fusion are run with each set of chunk vectors; the paragraph recall R@1/R@5/R@10 is reported for both.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.piaf import gold_rank, paragraph_ranking  # noqa: E402
from bench.piaf_answers import questions_with_answers  # noqa: E402
from rag.embed import load_embedder  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.sentences import pooled_vectors  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import build_faiss, load_index  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("piaf", type=Path)
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--paragraphs", type=int, default=0)
    p.add_argument("--n", type=int, default=500)
    a = p.parse_args(argv)
    paragraphs, qs = questions_with_answers(a.piaf)
    if a.paragraphs:
        keep = {p_.pid for p_ in paragraphs[: a.paragraphs]}
        qs = [q for q in qs if q[1] in keep]
    step = max(1, len(qs) // max(1, a.n))
    sample = qs[::step][: a.n]
    ix = load_index(a.index)
    emb = load_embedder(ix.model_id)
    titles = sorted({c.meta.get("title") or "" for c in ix.chunks} - {""})
    tv = dict(zip(titles, emb.encode_documents(titles)))
    zero = np.zeros(emb.dim, np.float32)
    extra = np.stack([tv.get(c.meta.get("title") or "", zero) for c in ix.chunks])
    pooled = pooled_vectors(np.asarray(ix.sentences), np.asarray(ix.sentence_vectors), len(ix.chunks), extra=extra)
    encoded = np.asarray(ix.vectors)
    qvecs = emb.encode_queries([q for q, _, _ in sample])
    pid_of_row = [c.doc_id for c in ix.chunks]
    res = {}
    for name, vecs in (("encoded", encoded), ("pooled", pooled)):
        ix.vectors, ix.faiss = vecs, build_faiss(vecs, "flat")
        r = Retriever(ix, Settings(index_dir=a.index))
        for mode in ("dense", "hybrid"):
            ranks = []
            for (q, pid, _), qv in zip(sample, qvecs):
                if mode == "dense":
                    rows, _ = r.dense(q, 50, qvec=qv)
                else:
                    d_rows, d_sc = r.dense(q, 100, qvec=qv)
                    b_rows, b_sc = r.bm25(q, 100)
                    rows = [row for row, _ in r.fuse(d_rows, d_sc, b_rows, b_sc)]
                ranks.append(gold_rank(paragraph_ranking(rows, pid_of_row), pid))
            res[f"{name}_{mode}"] = {f"R@{k}": round(sum(1 for x in ranks if x and x <= k) / len(ranks), 3)
                                     for k in (1, 5, 10)}
    res["questions"] = len(sample)
    res["paragraphs"] = len({c.doc_id for c in ix.chunks})
    res["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
