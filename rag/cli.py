"""`python -m rag search|ask`: thin command-line adapter over the library."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from pathlib import Path

from .errors import InnosocError
from .settings import DEFAULT_INDEX, Settings
from .types import TYPE_LABELS_FR


def _filters(a):
    from .retrieve import Filters
    return Filters(types=tuple(a.type or ()), languages=tuple(a.lang or ()), year_min=a.year_min, year_max=a.year_max)


def _print_hits(hits, out) -> None:
    for h in hits:
        m = h.chunk.meta
        label = TYPE_LABELS_FR.get(m.get("type"), m.get("type"))
        page = f", p. {h.chunk.page}" if h.chunk.page else ""
        print(f"{h.rank}. {m.get('title')} — {label}, {m.get('year') or 's.d.'}{page}  [{h.chunk.doc_id}]", file=out)
        snippet = " ".join(h.chunk.text.split())
        print(textwrap.indent(textwrap.shorten(snippet, 240, placeholder=" …"), "   "), file=out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rag", description="Recherche et réponses sur l'index innosoc.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("search", "chercher des passages ou des ressources"), ("ask", "poser une question")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--index", type=Path, default=DEFAULT_INDEX)
        s.add_argument("--model", default=None, help="vérifie que l'index a été construit avec ce modèle")
        s.add_argument("--type", action="append", help="filtre par type (répétable)")
        s.add_argument("--lang", action="append", help="filtre par langue (répétable)")
        s.add_argument("--year-min", type=int)
        s.add_argument("--year-max", type=int)
        s.add_argument("--json", action="store_true", help="sortie JSON")
        s.add_argument("--fusion", choices=("rrf", "weighted"), default=Settings.fusion)
    s = sub.choices["search"]
    s.add_argument("query", nargs="?")
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    s.add_argument("--group", action="store_true", help="une ligne par ressource avec ses meilleurs passages")
    s.add_argument("--queries", type=Path, help="fichier de requêtes, une par ligne ; sortie JSON Lines")
    s = sub.choices["ask"]
    s.add_argument("question", nargs="+")
    s.add_argument("--history", action="append", default=[], help="question précédente (répétable, dans l'ordre)")
    s.add_argument("--no-intent", action="store_true",
                   help="ne pas tirer de filtres de la question (« une vidéo sur… », « en anglais »…)")
    s.add_argument("--llm-url", help="point d'accès compatible OpenAI, ex. http://localhost:11434/v1 "
                                     "(défaut : $INNOSOC_LLM_URL ; clé d'API : $INNOSOC_LLM_API_KEY)")
    s.add_argument("--llm-model", help="modèle de langue, ex. qwen2.5:3b (défaut : $INNOSOC_LLM_MODEL)")
    s.add_argument("--llm-timeout", type=float,
                   help="délai du modèle en secondes (défaut : $INNOSOC_LLM_TIMEOUT ou 120)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    try:
        return _run(a)
    except InnosocError as e:
        print(f"Erreur : {e}", file=sys.stderr)
        return 2


def _run(a) -> int:
    from .retrieve import Retriever

    settings = Settings(index_dir=a.index, fusion=a.fusion)
    retriever = Retriever.open(settings, expect_model=a.model)
    filters = _filters(a)
    out = sys.stdout
    if a.cmd == "search":
        if a.queries:
            try:
                lines = a.queries.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                print(f"Erreur : fichier de requêtes illisible {a.queries} ({e})", file=sys.stderr)
                return 2
            for q in (ln.strip() for ln in lines):
                if q:
                    hits = retriever.search(q, k=a.k, filters=filters, mode=a.mode, group=a.group)
                    out.write(json.dumps({"query": q, "hits": [h.to_json() for h in hits]}, ensure_ascii=False) + "\n")
            return 0
        if not a.query:
            print("Erreur : donnez une requête, ou --queries FICHIER.", file=sys.stderr)
            return 2
        hits = retriever.search(a.query, k=a.k, filters=filters, mode=a.mode, group=a.group)
        if a.json:
            out.write(json.dumps({"query": a.query, "hits": [h.to_json() for h in hits]}, ensure_ascii=False, indent=1) + "\n")
        elif not hits:
            print("Aucun résultat.", file=out)
        else:
            _print_hits(hits, out)
        return 0
    # earlier questions as asked: the assistant's conversation completes follow-ups from them
    history = list(a.history)
    from .assistant import Assistant
    from .llm import make_answerer
    assistant = Assistant(retriever, answerer=make_answerer(retriever, a))
    ans = assistant.ask(" ".join(a.question), history=history, filters=filters, use_intent=not a.no_intent)
    if a.json:
        out.write(json.dumps(ans.to_json(), ensure_ascii=False, indent=1) + "\n")
        return 0
    if ans.applied:
        print(f"({' ; '.join(ans.applied)})", file=out)
    if ans.mode == "catalogue":
        print(ans.text, file=out)
        for w in ans.warnings:
            print(f"- {w}", file=out)
        return 0
    if ans.query != ans.question:
        print(f"(recherche : {ans.query})\n", file=out)
    # a comparison's sides are paragraphs of their own, each opening with its name on a line
    print("\n".join(textwrap.fill(line, 100) if line.strip() else "" for line in ans.text.split("\n")), file=out)
    if ans.found:
        print("\nSources :", file=out)
        print(ans.sources_text(), file=out)
        if ans.further:
            print("\n" + ans.further_text(), file=out)
    else:
        _print_hits(ans.hits, out)
    if ans.warnings:
        print("\nAvertissements :", file=out)
        for w in ans.warnings:
            print(f"- {w}", file=out)
    return 0
