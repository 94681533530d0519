"""Relevance-gate benchmark: are off-topic questions refused while answerable ones are answered?

    python bench/gate_eval.py --index DIR --piaf /path/to/piaf-v1.0.json --piaf-index DIR [--n 1000]
        [--split calibration|test|all] [--show-leaks N] [--out FILE [--evidence]]

The extractive answerer (`ExtractiveAnswerer.answer`, the default answer path) is asked five sets of questions:

- NEGATIVE « hors sujet » (--index, the shipped ESS corpus): bench/gate_offtopic.jsonl (the off-topic questions
  of tests/test_answer.py plus everyday questions in FR/EN/ES/PT). Every one should be « not found ».
- NEGATIVE « PIAF sur le corpus ESS » (--index): PIAF questions (French Wikipedia trivia: history, science,
  sport…) asked against the ESS corpus. The few that touch the corpus's domain are excluded by a stated rule
  (`ESS_RELATED`: the question or its Wikipedia article title names economy, cooperatives, associations,
  solidarity, innovation, enterprise, employment, unions, banks, credit, finance, poverty, social matters);
  the rest should be « not found ». Left: questions too vague to be off-topic by themselves (« Qui préside la
  société ? ») — they count as leaks, which is the honest side to err on.
- POSITIVE « PIAF sur son index » (--piaf-index, built by bench/piaf_answers.py): found rate, share of answers
  that contain the gold span, and the ceiling (gold span in the answer's retrieved passages).
- POSITIVE bench/answer_questions.jsonl and bench/corpus_questions.jsonl on --index: on-topic questions that
  must stay « found ».

Each question falls in the calibration or the test half by a stable hash of its text (`split_of`): thresholds
are chosen looking at the calibration half only; the test half is the figure to report. PIAF questions are an
evenly spread sample of --n questions of the file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.piaf_answers import norm, questions_with_answers  # noqa: E402
from rag.text import fold  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ESS_RELATED = re.compile(
    r"\b(?:econom\w*|cooperati\w*|mutuel\w*|mutualis\w*|associati\w*|solidari\w*|innovation\w*|entrepr\w*|"
    r"microcredit\w*|emplois?|chomage|chomeurs?|syndica\w*|ouvri\w*|banques?|bancaires?|financ\w*|credits?|"
    r"subventions?|social|sociale|sociales|sociaux|pauvrete|insertion|equitable)\b", re.I)


def split_of(question: str) -> str:
    return "calibration" if int(hashlib.md5(question.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def piaf_sample(path: Path, n: int) -> list[tuple[str, str, list[str], str]]:
    """(question, paragraph id, gold spans, article title) for an evenly spread sample of n questions."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    title_of = {}
    for article in data["data"]:
        for para in article["paragraphs"]:
            for qa in para.get("qas", []):
                title_of[qa.get("question", "").strip()] = article.get("title", "")
    _, qs = questions_with_answers(path)
    step = max(1, len(qs) // max(1, n))
    return [(q, pid, spans, title_of.get(q, "")) for q, pid, spans in qs[::step][:n]]


def ess_related(question: str, title: str) -> bool:
    return ESS_RELATED.search(fold(question)) is not None or ESS_RELATED.search(fold(title)) is not None


def answerer_for(index_dir: Path):
    from rag.answer import ExtractiveAnswerer
    from rag.retrieve import Retriever
    from rag.settings import Settings
    from rag.store import load_index

    return ExtractiveAnswerer(Retriever(load_index(index_dir), Settings(index_dir=index_dir)))


def ask(answerer, items: list[dict], evidence: bool = False) -> list[dict]:
    out = []
    for it in items:
        ans = answerer.answer(it["q"])
        rec = {"q": it["q"], "set": it["set"], "split": split_of(it["q"]), "found": ans.found,
               "answer": ans.text if ans.found else ""}
        if evidence:
            from dataclasses import asdict
            hits = answerer.retrieve(ans.query)[: answerer.settings.answer_passages]
            if hits:
                qvec = answerer.retriever.embedder.encode_queries([ans.query])[0]
                rec["evidence"] = asdict(answerer.evidence(ans.query, qvec, hits))
        if it.get("spans"):
            gold = [norm(s) for s in it["spans"]]
            text = norm(ans.text) if ans.found else ""
            passages = " ".join(norm(c.text) for h in ans.hits[:5] for c in (h.passages or [h.chunk]))
            rec["span"] = any(g in text for g in gold)
            rec["ceiling"] = any(g in passages for g in gold)
        out.append(rec)
    return out


SETS = [  # (name, must be found?)
    ("hors sujet (liste)", False),
    ("PIAF sur le corpus ESS", False),
    ("PIAF sur son index", True),
    ("answer_questions", True),
    ("corpus_questions", True),
]


def report(results: list[dict], splits: list[str]) -> str:
    lines = ["| Jeu | Attendu | Moitié | n | Trouvé | Refusé | Réponse contient l'attendu | Plafond |",
             "|---|---|---|---|---|---|---|---|"]
    for name, positive in SETS:
        for sp in splits:
            rs = [r for r in results if r["set"] == name and (sp == "all" or r["split"] == sp)]
            if not rs:
                continue
            n = len(rs)
            found = sum(r["found"] for r in rs) / n
            span = f"{sum(r['span'] for r in rs) / n:.3f}" if "span" in rs[0] else "—"
            ceil = f"{sum(r['ceiling'] for r in rs) / n:.3f}" if "ceiling" in rs[0] else "—"
            lines.append(f"| {name} | {'trouvé' if positive else 'refusé'} | {sp} | {n} | {found:.3f} | "
                         f"{1 - found:.3f} | {span} | {ceil} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True, help="index du corpus livré (ESS)")
    p.add_argument("--piaf", type=Path, required=True, help="fichier PIAF v1.0 (JSON SQuAD)")
    p.add_argument("--piaf-index", type=Path, required=True, help="index PIAF construit par bench/piaf_answers.py")
    p.add_argument("--n", type=int, default=1000, help="questions PIAF de l'échantillon (réparties sur le fichier)")
    p.add_argument("--split", choices=["calibration", "test", "all"], default="all")
    p.add_argument("--show-leaks", type=int, default=0, help="afficher N questions hors sujet acceptées")
    p.add_argument("--out", type=Path, help="résultats par question (JSON Lines)")
    p.add_argument("--evidence", action="store_true",
                   help="joindre à --out les mesures du filtre (rag.gate.Evidence) pour le calibrer")
    a = p.parse_args(argv)

    sample = piaf_sample(a.piaf, a.n)
    excluded = [q for q, _, _, t in sample if ess_related(q, t)]
    neg_piaf = [{"q": q, "set": "PIAF sur le corpus ESS"} for q, _, _, t in sample if not ess_related(q, t)]
    pos_piaf = [{"q": q, "spans": spans, "set": "PIAF sur son index"} for q, _, spans, _ in sample]
    offtopic = [{"q": d["q"], "set": "hors sujet (liste)"} for d in load_jsonl(ROOT / "bench" / "gate_offtopic.jsonl")]
    ess_pos = [{"q": d["q"], "set": name} for name in ("answer_questions", "corpus_questions")
               for d in load_jsonl(ROOT / "bench" / f"{name}.jsonl")]
    if a.split != "all":
        keep = lambda items: [it for it in items if split_of(it["q"]) == a.split]  # noqa: E731
        neg_piaf, pos_piaf, offtopic, ess_pos = map(keep, (neg_piaf, pos_piaf, offtopic, ess_pos))

    t0 = time.perf_counter()
    ess = answerer_for(a.index)
    ess.answer("Qu'est-ce qu'une Scop ?")  # warm-up
    results = ask(ess, offtopic + neg_piaf + ess_pos, a.evidence)
    piaf = answerer_for(a.piaf_index)
    results += ask(piaf, pos_piaf, a.evidence)
    splits = ["calibration", "test"] if a.split == "all" else [a.split]
    print(report(results, splits))
    print(f"\nPIAF : {len(sample)} questions, {len(excluded)} exclues du jeu négatif (domaine ESS, règle ESS_RELATED). "
          f"{time.perf_counter() - t0:.0f} s, charge {[round(x, 2) for x in os.getloadavg()]} sur "
          f"{os.cpu_count()} cœurs.")
    leaks = [r for r in results if r["found"] and r["set"] in ("hors sujet (liste)", "PIAF sur le corpus ESS")]
    for r in leaks[: a.show_leaks]:
        print(f"\n## {r['q']}\n{r['answer'][:300]}", file=sys.stderr)
    if a.out:
        a.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
