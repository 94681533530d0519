"""Intent cues: how precise are they, and do they help retrieval?

    .venv/bin/python bench/intent_eval.py [--index DIR] [--questions bench/intent_questions.jsonl] [-k 5]

1. Cue detection (rag.intent.detect_intent) against the labels of bench/intent_questions.jsonl: precision and
   recall over cue items (each type, each language, year_min, year_max), per kind and overall, plus the
   questions with no gold cue that got one anyway (the misrouting that matters most), by split
   (« dev »: written with the detector in view; « heldout »: written and labelled before running it).
2. Retrieval hit@k (an expected resource among the first k resources of a grouped hybrid search) on an e5
   index of corpus/, for the questions that have expected resources:
     plain            the question as asked, no filter
     filtered         the question as asked, with the intent filters
     filtered+clean   the question without its cue words, with the filters
     clean            the question without its cue words, no filter
     filtered+retry   filtered, and unfiltered when the filters leave no result (what the assistant does,
                      roughly: the assistant also retries when the filtered passages are not relevant)
     filtered+clean+retry   the same with the cleaned question under the filters
   with the mean reciprocal rank (MRR@k) of the first expected resource as a finer signal.

The index is built on first use in --index (default /tmp/innosoc-bench/e5-corpus; about two minutes on 2 cores)
and reused afterwards (ingest is incremental).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.intent import RECENT_YEARS, detect_intent, this_year  # noqa: E402


def gold_items(r: dict) -> set:
    items = {("type", t) for t in r.get("types") or []} | {("language", lg) for lg in r.get("languages") or []}
    lo = this_year() - RECENT_YEARS if r.get("recent") else r.get("year_min")
    if lo is not None:
        items.add(("year_min", lo))
    if r.get("year_max") is not None:
        items.add(("year_max", r["year_max"]))
    return items


def detected_items(intent) -> set:
    items = {("type", t) for t in intent.types} | {("language", lg) for lg in intent.languages}
    if intent.year_min is not None:
        items.add(("year_min", intent.year_min))
    if intent.year_max is not None:
        items.add(("year_max", intent.year_max))
    return items


def _pr(tp: int, det: int, gold: int) -> str:
    p = tp / det if det else float("nan")
    r = tp / gold if gold else float("nan")
    return f"précision {p:.3f} ({tp}/{det})  rappel {r:.3f} ({tp}/{gold})"


def cue_report(rows: list[dict]) -> dict:
    out = {}
    for split in ("dev", "heldout", "all"):
        sub = [r for r in rows if split == "all" or r.get("split", "dev") == split]
        if not sub:
            continue
        tp = det = gold = 0
        kinds = defaultdict(lambda: [0, 0, 0])
        exact = fp_questions = no_cue = 0
        errors = []
        for r in sub:
            g, d = gold_items(r), detected_items(r["_intent"])
            tp += len(g & d)
            det += len(d)
            gold += len(g)
            for kind in ("type", "language", "year_min", "year_max"):
                gk = {x for x in g if x[0] == kind}
                dk = {x for x in d if x[0] == kind}
                kinds[kind][0] += len(gk & dk)
                kinds[kind][1] += len(dk)
                kinds[kind][2] += len(gk)
            exact += g == d
            if not g:
                no_cue += 1
                fp_questions += bool(d)
            if g != d:
                errors.append({"q": r["q"], "gold": sorted(map(list, g)), "detected": sorted(map(list, d))})
        print(f"\n== Indices détectés — {split} ({len(sub)} questions)")
        print(f"   global      {_pr(tp, det, gold)}")
        for kind, (a, b, c) in kinds.items():
            print(f"   {kind:<11} {_pr(a, b, c)}")
        print(f"   questions exactes : {exact}/{len(sub)} ; questions sans indice qui en reçoivent un : "
              f"{fp_questions}/{no_cue}")
        for e in errors:
            print(f"   ✗ {e['q']}\n       attendu {e['gold']}  détecté {e['detected']}")
        out[split] = {"n": len(sub), "precision": tp / det if det else None, "recall": tp / gold if gold else None,
                      "tp": tp, "detected": det, "gold": gold, "exact": exact, "false_positive_questions":
                      fp_questions, "questions_without_cue": no_cue, "by_kind": {k: v for k, v in kinds.items()},
                      "errors": errors}
    return out


def retrieval_report(rows: list[dict], index_dir: Path, k: int) -> dict:
    from ingest import ingest
    from rag.retrieve import Retriever
    from rag.settings import Settings

    settings = Settings(index_dir=index_dir)
    t0 = time.time()
    report = ingest([ROOT / "corpus"], settings)
    print(f"\nIndex e5 : {index_dir} ({report.summary()}, {time.time() - t0:.0f} s)")
    retriever = Retriever.open(settings)

    def top(q, filters=None):
        return [h.chunk.doc_id for h in retriever.search(q, k=k, filters=filters, group=True)]

    variants = ("plain", "filtered", "filtered+clean", "clean", "filtered+retry", "filtered+clean+retry")
    hits = {v: defaultdict(int) for v in variants}
    rr = {v: defaultdict(float) for v in variants}
    counts = defaultdict(int)
    per_q = []
    for r in rows:
        if not r["expected"]:
            continue
        intent = r["_intent"]
        f = intent.filters() if intent else None
        expected = set(r["expected"])
        res = {"plain": top(r["q"])}
        res["clean"] = top(intent.cleaned_query) if intent.cleaned_query != r["q"] else res["plain"]
        if f:
            res["filtered"] = top(r["q"], f)
            res["filtered+clean"] = top(intent.cleaned_query, f)
            res["filtered+retry"] = res["filtered"] or res["plain"]
            res["filtered+clean+retry"] = res["filtered+clean"] or res["plain"]
        else:
            for v in ("filtered", "filtered+clean", "filtered+retry", "filtered+clean+retry"):
                res[v] = res["plain"]
        groups = ["all", "with_cue" if gold_items(r) else "without_cue", r.get("split", "dev")]
        for g in groups:
            counts[g] += 1
        row = {"q": r["q"]}
        for v in variants:
            ok = bool(expected & set(res[v]))
            row[v] = ok
            rank = next((i + 1 for i, d in enumerate(res[v]) if d in expected), None)
            for g in groups:
                hits[v][g] += ok
                rr[v][g] += 1 / rank if rank else 0.0
        per_q.append(row)
    print(f"\n== Retrieval hit@{k} (recherche hybride groupée par ressource)")
    order = ["all", "with_cue", "without_cue", "dev", "heldout"]
    groups = [g for g in order if counts[g]]
    print("   " + "variante".ljust(22) + "".join(f"{g + f' ({counts[g]})':>22}" for g in groups))
    for v in variants:
        cells = [f"{hits[v][g]:>3} = {hits[v][g] / counts[g]:.3f} | {rr[v][g] / counts[g]:.3f}" for g in groups]
        print("   " + v.ljust(22) + "".join(f"{c:>22}" for c in cells))
    print("   (chaque case : hit@k = taux | MRR@k)")
    changed = [row for row in per_q if len({row[v] for v in variants}) > 1]
    if changed:
        print("\n   Questions où les variantes diffèrent :")
        for row in changed:
            print("   " + " ".join("✓" if row[v] else "·" for v in variants) + "  " + row["q"])
        print("   (colonnes : " + ", ".join(variants) + ")")
    return {"k": k, "counts": dict(counts), "hits": {v: dict(h) for v, h in hits.items()},
            "mrr": {v: {g: x / counts[g] for g, x in m.items()} for v, m in rr.items()}, "per_question": per_q}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=Path, default=ROOT / "bench" / "intent_questions.jsonl")
    p.add_argument("--index", type=Path, default=Path("/tmp/innosoc-bench/e5-corpus"))
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--no-retrieval", action="store_true", help="indices seulement, sans index ni modèle")
    p.add_argument("--out", type=Path, help="écrire les résultats en JSON")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    rows = [json.loads(line) for line in a.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        r["_intent"] = detect_intent(r["q"])
    print(f"{len(rows)} questions ({sum(1 for r in rows if gold_items(r))} avec indices, "
          f"{sum(1 for r in rows if r['expected'])} avec ressources attendues) ; « récent » = depuis "
          f"{this_year() - RECENT_YEARS}")
    result = {"cues": cue_report(rows)}
    if not a.no_retrieval:
        result["retrieval"] = retrieval_report(rows, a.index, a.k)
    if a.out:
        a.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
