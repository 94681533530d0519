"""Ingest cost of sentence vectors: chunk encoding and sentence encoding timed in one run, same machine load.

    python bench/ingest_cost.py CORPUS --index DIR [--model multilingual-e5-small] [--out FILE]

Builds the index of CORPUS from scratch in DIR (a folder this script may overwrite) with the project's ingest,
timing each stage through the progress callback: "encodage" (chunks, what ingest did before sentence vectors)
and "encodage des phrases" (each distinct sentence of the chunks, added for the answerer). Reports tokens
encoded and tokens/s for each, and the whole run's throughput (source-chunk tokens per second of encoding)
before and after the sentence stage was added. The machine's load average is recorded: on a shared machine the
two stages run under the same load, which is why they are measured in one run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ingest import ingest  # noqa: E402
from rag.embed import load_embedder  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import load_index  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--model", default=Settings().model)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    marks: dict[str, list[float]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        m = marks.setdefault(stage, [time.perf_counter(), time.perf_counter()])
        m[1] = time.perf_counter()

    load0 = os.getloadavg()
    settings = Settings(index_dir=a.index, model=a.model)
    t0 = time.perf_counter()
    report = ingest([a.corpus], settings, progress=progress, rebuild=True)
    total = time.perf_counter() - t0
    ix = load_index(a.index)
    emb = load_embedder(a.model)
    # distinct sentence texts, as encoded
    texts = {ix.chunks[int(r["chunk"])].text[int(r["start"]):int(r["end"])] for r in ix.sentences}
    s_tokens = sum(emb.count_tokens(t) for t in texts)
    c_tokens = sum(c.n_tokens for c in ix.chunks)

    def span(stage):
        m = marks.get(stage)
        return (m[1] - m[0]) if m else float("nan")

    # the first progress call of a stage comes after its first batch: add one batch's share back
    c_s, s_s = span("encodage"), span("encodage des phrases")
    res = {"chunks": len(ix.chunks), "chunk_tokens": c_tokens, "sentences": int(len(ix.sentences)),
           "distinct_sentences": len(texts), "sentence_tokens": s_tokens, "chunk_encode_s": round(c_s, 1),
           "sentence_encode_s": round(s_s, 1), "total_s": round(total, 1),
           "chunk_tokens_per_s": round(c_tokens / c_s, 1), "sentence_tokens_per_s": round(s_tokens / s_s, 1),
           "corpus_tokens_per_s_before": round(c_tokens / c_s, 1),
           "corpus_tokens_per_s_after": round(c_tokens / (c_s + s_s), 1),
           "index_bytes": {f.name: f.stat().st_size for f in ix.path.iterdir() if f.is_file()},
           "loadavg_start": [round(x, 2) for x in load0], "loadavg_end": [round(x, 2) for x in os.getloadavg()],
           "cpus": os.cpu_count(), "model": a.model, "report": report.summary()}
    print(json.dumps(res, ensure_ascii=False, indent=1))
    if a.out:
        a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
