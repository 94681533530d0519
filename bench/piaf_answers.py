"""PIAF answer benchmark: does the extractive answer contain the gold answer span, or does it give up?

    python bench/piaf_answers.py /path/to/piaf-v1.0.json [--index DIR] [--paragraphs N] [--n 500] [--out FILE]
        [--show N]

The PIAF paragraphs are indexed by the project's own ingest (bench/piaf.py's `build_index`; an index folder
given with --index that was already built by this bench for the same file is reused as it is, so that several
answer settings can be compared on one index). An evenly spread sample of --n questions is asked to the
extractive answerer. Reported:

- span: share of answers whose text (markers removed, accents folded, case and spaces ignored) contains one
  of the question's gold answer spans;
- not found: share of answers that say « not found »;
- R@5: share whose gold paragraph is among the answerer's five retrieved resources (what the answer could use);
- span in passages: share whose gold span is in one of those passages (the ceiling of the first measure);
- latency of `answer()` p50 / p95.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.app_bench import summary  # noqa: E402
from bench.piaf import MARKER, build_index, load_squad  # noqa: E402
from rag.text import fold  # noqa: E402


def norm(text: str) -> str:
    return " ".join(fold(re.sub(r"\s*\[\d+\]", " ", text)).lower().split())


def questions_with_answers(path: Path) -> tuple[list, list[tuple[str, str, list[str]]]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    paragraphs = load_squad(path)
    out = []
    i = 0
    for article in data["data"]:
        for para in article["paragraphs"]:
            pid = paragraphs[i].pid
            i += 1
            for qa in para.get("qas", []):
                q = qa.get("question", "").strip()
                spans = [a["text"].strip() for a in qa.get("answers", []) if a.get("text", "").strip()]
                if q and spans:
                    out.append((q, pid, spans))
    return paragraphs, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("piaf", type=Path)
    p.add_argument("--index", type=Path, help="dossier d'index du banc (réutilisé s'il existe)")
    p.add_argument("--model", default="multilingual-e5-small")
    p.add_argument("--paragraphs", type=int, default=0,
                   help="n'indexer que les N premiers paragraphes du fichier et leurs questions (0 : tous)")
    p.add_argument("--n", type=int, default=500, help="questions de l'échantillon (réparties sur le fichier)")
    p.add_argument("--show", type=int, default=0, help="afficher N réponses sans la réponse attendue")
    p.add_argument("--build-only", action="store_true", help="construire l'index (--index) et s'arrêter")
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)

    import tempfile

    from rag.answer import ExtractiveAnswerer
    from rag.retrieve import Retriever
    from rag.settings import Settings
    from rag.store import IndexIncompatibleError, load_index

    paragraphs, qs = questions_with_answers(a.piaf)
    if a.paragraphs:
        paragraphs = paragraphs[: a.paragraphs]
        keep = {p_.pid for p_ in paragraphs}
        qs = [q for q in qs if q[1] in keep]
    tmp = tempfile.TemporaryDirectory(prefix="innosoc-piafans-")
    index_dir = a.index or Path(tmp.name) / "index"
    settings = Settings(index_dir=index_dir, model=a.model)
    ingest_stats = None
    try:
        index = load_index(index_dir) if (index_dir / MARKER).exists() else None
    except (IndexIncompatibleError, Exception):
        index = None
    if index is None or index.manifest.get("n_docs") != len(paragraphs):
        print(f"indexation de {len(paragraphs)} paragraphes…", file=sys.stderr)
        ingest_stats = build_index(paragraphs, settings, Path(tmp.name))
        index = load_index(index_dir)
    if a.build_only:
        print(json.dumps(ingest_stats, ensure_ascii=False))
        return 0
    answerer = ExtractiveAnswerer(Retriever(index, settings))
    step = max(1, len(qs) // max(1, a.n))
    sample = qs[::step][: a.n]
    answerer.answer(sample[0][0])  # warm-up
    span = not_found = r5 = in_passages = 0
    lat, misses = [], []
    for q, pid, spans in sample:
        t0 = time.perf_counter()
        ans = answerer.answer(q)
        lat.append(time.perf_counter() - t0)
        gold = [norm(s) for s in spans]
        text = norm(ans.text) if ans.found else ""
        ok = any(g in text for g in gold)
        span += ok
        not_found += not ans.found
        r5 += any(h.chunk.doc_id == pid for h in ans.hits[:5])
        passages = " ".join(norm(c.text) for h in ans.hits[:5] for c in (h.passages or [h.chunk]))
        in_passages += any(g in passages for g in gold)
        if not ok and len(misses) < a.show:
            misses.append(f"\n## {q} — attendu : {spans[0]!r} ({'trouvé' if ans.found else 'NON TROUVÉ'})\n{ans.text[:600]}")
    n = len(sample)
    res = {"questions": n, "span": span / n, "not_found": not_found / n, "r_at_5": r5 / n,
           "span_in_passages": in_passages / n, "latency": summary(lat), "ingest": ingest_stats,
           "loadavg": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    print(f"| Questions PIAF (échantillon) | {n} |\n|---|---|\n"
          f"| Réponse contenant la réponse attendue | {res['span']:.3f} |\n"
          f"| Réponses « non trouvé » | {res['not_found']:.3f} |\n"
          f"| R@5 des ressources de la réponse | {res['r_at_5']:.3f} |\n"
          f"| Réponse attendue présente dans ces passages (plafond) | {res['span_in_passages']:.3f} |\n"
          f"| `answer()` p50 / p95 | {res['latency']['p50']:.3f} / {res['latency']['p95']:.3f} s |\n"
          f"| Charge | {res['loadavg']} sur {res['cpus']} cœurs |")
    for m in misses:
        print(m, file=sys.stderr)
    if a.out:
        a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
