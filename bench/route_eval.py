"""Routing benchmark: route accuracy and slot exact match on labelled questions, and catalogue answers checked
against counts computed here from the corpus front matter.

    python -m bench.route_eval --index index [--corpus corpus] [--files bench/route_paraphrases.jsonl
        bench/route_team.jsonl] [--errors] [--json out.json]

Labels follow /coord's ROUTE_SCHEMA (one JSON object per line: q, lang, route, slots, src). A question's slots
match exactly when every slot is equal: types, languages, places, authors (compared by folded surname),
year_min, year_max and recent exactly; topic loosely, as the schema says (both absent, or every content stem of
the labelled topic is in the predicted one); compare as two sides matched the same way, in either order.

The catalogue part asks ~30 catalogue questions through `Assistant.ask` and checks the number the answer
states (« Le corpus compte N … » / « N … correspondent ») against the number counted here by reading every
fiche's YAML front matter directly — not through the index — with the same criteria.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.text import analyze  # noqa: E402
from rag.vocab import INCLUDES, NOT_RESOURCES, PLACES, normalize  # noqa: E402

DEFAULT_FILES = [ROOT / "bench" / "route_paraphrases.jsonl", ROOT / "bench" / "route_team.jsonl",
                 ROOT / "bench" / "route_blind.jsonl", ROOT / "bench" / "route_blind2.jsonl",
                 ROOT / "bench" / "route_blind3.jsonl", ROOT / "bench" / "route_blind4.jsonl",
                 ROOT / "bench" / "route_blind5.jsonl", ROOT / "bench" / "route_blind6.jsonl"]
EXACT = ("types", "languages", "places", "year_min", "year_max", "recent")


def _stems(s: str) -> set[str]:
    return set(analyze(s or "", "fr")) | set(analyze(s or "", "en")) | set(analyze(s or "", "es")) | \
        set(analyze(s or "", "pt"))


def _topic_ok(gold: str | None, pred: str | None) -> bool:
    if not gold and not pred:
        return True
    if not gold or not pred:
        return False
    # the schema's loose reading: every content word of the labelled topic is in the predicted one
    g = set(analyze(gold, "fr"))
    return g <= _stems(pred)


def _surname(a: str) -> str:
    return normalize(a.split()[-1]) if a.split() else ""


def slot_mismatches(gold: dict, pred: dict) -> list[str]:
    bad = []
    for k in EXACT:
        g, p = gold.get(k), pred.get(k)
        if isinstance(g, list) or isinstance(p, list):
            g, p = sorted(g or []), sorted(p or [])
        if (g or None) != (p or None):
            bad.append(k)
    if sorted(map(_surname, gold.get("authors") or [])) != sorted(map(_surname, pred.get("authors") or [])):
        bad.append("authors")
    if not _topic_ok(gold.get("topic"), pred.get("topic")):
        bad.append("topic")
    gc, pc = gold.get("compare") or [], pred.get("compare") or []
    if len(gc) != len(pc) or not all(_topic_ok(a, b) for a, b in zip(gc, pc)) and not all(
            _topic_ok(a, b) for a, b in zip(gc, reversed(pc))):
        bad.append("compare")
    return bad


def load_questions(files) -> list[dict]:
    rows = []
    for f in files:
        f = Path(f)
        if not f.is_file():
            print(f"(absent : {f})", file=sys.stderr)
            continue
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                row.setdefault("src", "team" if "team" in f.name else "paraphrase")
                row["file"] = f"{f.name}:{i}"
                rows.append(row)
    return rows


# ---------------------------------------------------------------- catalogue truth from the front matter

def front_matter(corpus: Path) -> list[dict]:
    out = []
    for p in sorted(corpus.rglob("*.md")):
        text = p.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        meta = yaml.safe_load(text.split("---", 2)[1])
        if isinstance(meta, dict) and meta.get("id"):
            out.append(meta)
    return out


def _words(s: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", normalize(s))) + " "


def _place_hit(meta: dict, place: str) -> bool:
    """The catalogue's documented criterion: the place (or a place it includes) is named in the fiche's
    countries, topics or title."""
    names = [place, *INCLUDES.get(place, ())]
    aliases = [a for p in names for a in PLACES.get(p, (normalize(p),))]
    fields = [*(meta.get("countries") or []), *(meta.get("topics") or []), meta.get("title") or ""]
    return any(_words(a) in _words(f) for a in aliases for f in fields)


def truth(metas: list[dict], types=(), languages=(), places=(), year_min=None, year_max=None, author=None) -> int:
    n = 0
    for m in metas:
        if m["type"] in NOT_RESOURCES or (types and m["type"] not in types):
            continue
        if languages and m.get("language") not in languages:
            continue
        y = m.get("year")
        if (year_min or year_max) and (y is None or (year_min and y < year_min) or (year_max and y > year_max)):
            continue
        if places and not any(_place_hit(m, p) for p in places):
            continue
        if author and not any(normalize(author) in normalize(a).split() for a in m.get("authors") or []):
            continue
        n += 1
    return n


# (question, criteria for `truth`): the expected number is computed, never written down.
CATALOGUE = [
    ("Combien d'articles contient le corpus ?", dict(types=("article",))),
    ("Le corpus contient combien de publications ?", dict(types=("publication",))),
    ("Combien de thèses ?", dict(types=("these",))),
    ("Combien de vidéos y a-t-il ?", dict(types=("video",))),
    ("Combien d'outils pédagogiques le dossier propose-t-il ?", dict(types=("outil_pedagogique",))),
    ("Combien d'études de cas sont disponibles ?", dict(types=("etude_de_cas",))),
    ("Nombre de documents d'analyse ?", dict(types=("document_analyse",))),
    ("Combien d'interventions publiques compte le corpus ?", dict(types=("intervention_publique",))),
    ("Combien de ressources contient le corpus ?", dict()),
    ("Combien y a-t-il de documents en espagnol dans le dossier ?", dict(languages=("es",))),
    ("Combien de ressources en anglais ?", dict(languages=("en",))),
    ("Combien de ressources sont en portugais ?", dict(languages=("pt",))),
    ("Combien de ressources en italien ?", dict(languages=("it",))),
    ("Combien de ressources datent d'avant 2010 ?", dict(year_max=2009)),
    ("Combien de ressources ont été publiées depuis 2018 ?", dict(year_min=2018)),
    ("Combien de documents ont été publiés entre 2010 et 2014 ?", dict(year_min=2010, year_max=2014)),
    ("Combien d'études de cas portent sur la France ?", dict(types=("etude_de_cas",), places=("France",))),
    ("Combien de documents d'analyse concernent l'Europe ?", dict(types=("document_analyse",), places=("Europe",))),
    ("Combien de publications en anglais ?", dict(types=("publication",), languages=("en",))),
    ("Combien d'interventions publiques datent d'après 2015 ?",
     dict(types=("intervention_publique",), year_min=2016)),
    ("How many case studies are there?", dict(types=("etude_de_cas",))),
    ("How many resources are in English?", dict(languages=("en",))),
    ("How many videos does the corpus hold?", dict(types=("video",))),
    ("How many documents were published before 2010?", dict(year_max=2009)),
    ("¿Cuántas tesis hay en el corpus?", dict(types=("these",))),
    ("¿Cuántos recursos hay en español?", dict(languages=("es",))),
    ("¿Cuántas publicaciones hay?", dict(types=("publication",))),
    ("Quantos recursos existem em português?", dict(languages=("pt",))),
    ("Quantos artigos há no corpus?", dict(types=("article",))),
    ("Quantas intervenções públicas existem?", dict(types=("intervention_publique",))),
    ("Combien de publications de Laville ?", dict(types=("publication",), author="Laville")),
    ("Combien de ressources de Benoît Lévesque ?", dict(author="Lévesque")),
]
_COUNT_RE = re.compile(r"(?:Le corpus compte|^) ?(\d+) |Le corpus ne compte aucun")


def stated_count(text: str) -> int | None:
    first = text.splitlines()[0] if text else ""
    if "ne compte aucun" in first or first.startswith("Aucun"):
        return 0
    m = re.search(r"(?:Le corpus compte |^)(\d+) ", first)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- run

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--files", nargs="*", type=Path, default=DEFAULT_FILES)
    ap.add_argument("--errors", action="store_true", help="print every mislabelled question")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args(argv)

    from rag.assistant import Assistant
    from rag.retrieve import Retriever
    from rag.settings import Settings

    t0 = time.perf_counter()
    assistant = Assistant(Retriever.open(Settings(index_dir=a.index)))
    startup = time.perf_counter() - t0
    rows = load_questions(a.files)
    per = defaultdict(lambda: Counter())
    confusion = Counter()
    bad_slots = Counter()
    t1 = time.perf_counter()
    for r in rows:
        u = assistant.understand(r["q"])
        pred = u.slots.to_json()
        ok_route = u.route == r["route"]
        miss = slot_mismatches(r.get("slots") or {}, pred)
        for key in (r["src"], "all", f"{r['src']}:{r.get('lang')}"):
            per[key]["n"] += 1
            per[key]["route"] += ok_route
            per[key]["slots"] += not miss
        if not ok_route:
            confusion[(r["route"], u.route)] += 1
        for k in miss:
            bad_slots[k] += 1
        if a.errors and (miss or not ok_route):
            print(f"- {r['file']} {r['q']!r}\n    route {r['route']} → {u.route}{' (' + u.rule + ')' if u.rule else ''}"
                  f"{'' if ok_route else ' ✗'}; slots {miss or 'ok'}\n    gold {r.get('slots')}\n    pred {pred}")
    per_q = (time.perf_counter() - t1) / max(1, len(rows))

    metas = front_matter(a.corpus)
    cat_ok, cat_rows = 0, []
    for q, crit in CATALOGUE:
        expected = truth(metas, **crit)
        ans = assistant.ask(q)
        got = stated_count(ans.text) if ans.mode == "catalogue" else None
        cat_ok += got == expected
        cat_rows.append({"q": q, "expected": expected, "stated": got})
        if a.errors and got != expected:
            print(f"- catalogue {q!r}: attendu {expected}, réponse {got}: {ans.text.splitlines()[0]!r}")

    print(f"\nDémarrage (index + routeur) : {startup:.1f} s ; compréhension : {per_q * 1000:.0f} ms/question")
    print(f"{'jeu':<16}{'n':>5}{'route':>9}{'créneaux':>10}")
    for key in sorted(per, key=lambda k: (":" in k, k)):
        c = per[key]
        print(f"{key:<16}{c['n']:>5}{c['route'] / c['n']:>9.3f}{c['slots'] / c['n']:>10.3f}")
    print(f"catalogue : {cat_ok}/{len(CATALOGUE)} comptes exacts")
    if confusion:
        print("confusions (attendu → obtenu) :", ", ".join(f"{g}→{p} ×{n}" for (g, p), n in confusion.most_common()))
    if bad_slots:
        print("créneaux manqués :", dict(bad_slots.most_common()))
    if a.json:
        a.json.write_text(json.dumps({"per": {k: dict(v) for k, v in per.items()}, "catalogue": cat_rows,
                                      "catalogue_exact": cat_ok, "startup_s": startup, "ms_per_q": per_q * 1000},
                                     ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
