"""Retrieval suite on the shipped corpus: does resource-grouped hybrid search put the right fiche on top?

The questions (bench/corpus_questions.jsonl, one JSON object a line: {"q", "lang", "kind", "expected": [ids]})
were written by the corpus authors: students' concept questions (`concept`), staff looking for a case study
(`case`) or a given resource (`resource`), mostly in French with a few in English and Spanish. A question
scores when one of its expected ids is among the grouped hits (`Retriever.search(q, k=10, group=True)`).

    python bench/corpus_eval.py [--index DIR] [--questions bench/corpus_questions.jsonl] [--out FILE]

The index is brought up to date with `ingest()` first (incremental: a no-op when the corpus has not changed).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from ingest import ingest
from rag.retrieve import Retriever
from rag.settings import DEFAULT_CORPUS, Settings

HERE = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = HERE / "corpus_questions.jsonl"
KINDS = ("concept", "case", "resource")


def load_questions(path: Path) -> list[dict]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except ValueError as e:
            raise ValueError(f"{path}, ligne {n} : JSON invalide ({e})") from None
        if not (isinstance(d.get("q"), str) and d["q"].strip() and isinstance(d.get("expected"), list)
                and d["expected"] and d.get("lang") and d.get("kind")):
            raise ValueError(f"{path}, ligne {n} : champs attendus q, lang, kind, expected (liste non vide)")
        out.append(d)
    return out


def unknown_ids(questions: list[dict], known: set[str]) -> list[tuple[str, str]]:
    """(question, id) pairs whose expected id is not a document of the index."""
    return [(d["q"], e) for d in questions for e in d["expected"] if e not in known]


def evaluate(retriever: Retriever, questions: list[dict], k: int = 10) -> list[dict]:
    """One record per question: the rank (1-based, grouped by resource) of its first expected id, or None."""
    records = []
    for d in questions:
        hits = retriever.search(d["q"], k=k, group=True)
        ids = [h.chunk.doc_id for h in hits]
        rank = next((i + 1 for i, doc in enumerate(ids) if doc in d["expected"]), None)
        records.append({"q": d["q"], "lang": d["lang"], "kind": d["kind"], "expected": d["expected"],
                        "rank": rank, "top": ids[:5]})
    return records


def summarize(records: list[dict]) -> dict[str, float | int]:
    n = len(records)
    ranks = [r["rank"] for r in records]
    return {
        "n": n,
        "hit@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "hit@5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
        "MRR@10": round(sum(1 / r for r in ranks if r is not None and r <= 10) / n, 4),
    }


def report(records: list[dict]) -> dict:
    out = {"overall": summarize(records), "by_kind": {}, "by_lang": {}}
    for kind in sorted({r["kind"] for r in records}, key=lambda k: (KINDS.index(k) if k in KINDS else 9, k)):
        out["by_kind"][kind] = summarize([r for r in records if r["kind"] == kind])
    langs = sorted({r["lang"] for r in records}, key=lambda lang: (lang != "fr", lang))
    for lang in langs:
        out["by_lang"][lang] = summarize([r for r in records if r["lang"] == lang])
    return out


def markdown(res: dict) -> str:
    lines = ["| questions | n | hit@1 | hit@5 | MRR@10 |", "|---|---|---|---|---|"]

    def row(label, s):
        lines.append(f"| {label} | {s['n']} | {s['hit@1']:.3f} | {s['hit@5']:.3f} | {s['MRR@10']:.3f} |")

    row("**toutes**", res["overall"])
    for kind, s in res["by_kind"].items():
        row(f"type : {kind}", s)
    for lang, s in res["by_lang"].items():
        row(f"langue : {lang}", s)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Évaluation de la recherche sur le corpus livré (ressources groupées).")
    ap.add_argument("--index", type=Path, default=Settings().index_dir,
                    help="index du corpus, construit ou mis à jour au besoin (défaut : %(default)s)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="dossier du corpus (défaut : %(default)s)")
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="questions JSON Lines")
    ap.add_argument("--out", type=Path, help="écrire les résultats (et le détail par question) en JSON")
    ap.add_argument("--misses", action="store_true", help="lister les questions manquées dans le top 5")
    ap.add_argument("--fusion", choices=("weighted", "rrf"), default=Settings.fusion)
    ap.add_argument("--fusion-norm", choices=("zscore", "tmm", "minmax"), default=Settings.fusion_norm,
                    help="normalisation des scores de la fusion pondérée (défaut : %(default)s)")
    ap.add_argument("--dense-weight", type=float, default=Settings.dense_weight)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    questions = load_questions(args.questions)
    settings = Settings(index_dir=args.index, fusion=args.fusion, fusion_norm=args.fusion_norm,
                        dense_weight=args.dense_weight)
    t0 = time.perf_counter()
    rep = ingest([args.corpus], settings)
    if rep.rebuild_reason:
        print(f"index {args.index} : {rep.rebuild_reason}", file=sys.stderr)
    print(f"index {args.index} : {rep.summary()}", file=sys.stderr)
    retriever = Retriever.open(settings, expect_model=settings.model)
    missing = unknown_ids(questions, set(retriever.index.documents()))
    if missing:
        for q, e in missing:
            print(f"identifiant attendu absent de l'index : {e} (question : {q})", file=sys.stderr)
        return 2
    t1 = time.perf_counter()
    records = evaluate(retriever, questions)
    res = report(records)
    res.update({"model": retriever.index.model_id, "questions_file": str(args.questions),
                "search": {"k": 10, "group": True, "fusion": settings.fusion, "rrf_k": settings.rrf_k,
                           "dense_weight": settings.dense_weight, "fusion_norm": settings.fusion_norm,
                           "candidates": settings.candidates},
                "seconds_search": round(time.perf_counter() - t1, 1),
                "seconds_total": round(time.perf_counter() - t0, 1)})
    print(markdown(res))
    if args.misses:
        for r in records:
            if r["rank"] is None or r["rank"] > 5:
                print(f"- manquée (rang {r['rank']}) [{r['kind']}/{r['lang']}] {r['q']}\n"
                      f"  attendu {r['expected']}, obtenu {r['top']}")
    if args.out:
        args.out.write_text(json.dumps(dict(res, records=records), ensure_ascii=False, indent=1),
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
