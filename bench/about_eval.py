"""How well rag.sentences.about_document recognises sentences that describe a document, on hand labels.

    python bench/about_eval.py [--labels bench/about_labels.jsonl] [--show]

bench/about_labels.jsonl holds corpus sentences labelled by hand: `about` is true when the sentence describes a
document rather than its subject — its audience, reading advice, publication circumstances, its plan or its
authors as the subject (« Le texte suit trois étapes », « L'autrice choisit de… »), pointers to other fiches —
and false when it states something about the subject itself, even when attributed (« Les auteurs lisent la
crise comme… »). The sentences were drawn at random from the corpus (260: 90 among those an earlier version of
the rule flagged, 170 among the others, so that both errors are represented) and labelled without looking at
the rule's answer. Reported: precision, recall and F1 of the rule, and the misclassified sentences (--show).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rag.sentences import about_document  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def evaluate(rows: list[dict]) -> dict:
    tp = sum(1 for r in rows if r["about"] and about_document(r["text"]))
    fp = sum(1 for r in rows if not r["about"] and about_document(r["text"]))
    fn = sum(1 for r in rows if r["about"] and not about_document(r["text"]))
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    return {"sentences": len(rows), "about": sum(r_["about"] for r_ in rows), "tp": tp, "fp": fp, "fn": fn,
            "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", type=Path, default=ROOT / "bench" / "about_labels.jsonl")
    ap.add_argument("--show", action="store_true")
    a = ap.parse_args(argv)
    rows = [json.loads(line) for line in a.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    res = evaluate(rows)
    print(f"| Phrases étiquetées (dont sur un document) | {res['sentences']} ({res['about']}) |\n|---|---|\n"
          f"| Précision | {res['precision']:.3f} ({res['tp']}/{res['tp'] + res['fp']}) |\n"
          f"| Rappel | {res['recall']:.3f} ({res['tp']}/{res['tp'] + res['fn']}) |\n| F1 | {res['f1']:.3f} |")
    if a.show:
        for r in rows:
            got = about_document(r["text"])
            if got != r["about"]:
                print(f"{'FP' if got else 'FN'}\t{r['text'][:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
