"""The text of a catalogue answer, once rag/catalog.py has selected the resources.

One writer per action: a count or a list (`_list_answer`), the authors with their resources
(`_authors_answer`), the most recent first (`_recent_answer`), a breakdown by type, language, country or
decade (`_facet_answer`). Each numbers the resources it names, cites each one's first passage (so the app
shows it as a source), and ends by saying how the answer was computed and from which metadata fields.
Kept apart from the selection so that the wording (French, with agreement in gender and number) can change
without touching which resources match.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from .text import fold
from .types import Answer, Citation
from .vocab import LANG_NAMES_FR, TYPE_FEMININE, type_label

if TYPE_CHECKING:
    from .catalog import CatalogQuery, _Match

LIST_LIMIT = 60          # resources listed in full; beyond, the answer says how many more there are
COUNT_LIST_LIMIT = 20    # a count lists its resources when there are at most this many
RECENT_LIMIT = 10        # « les plus récentes »: this many, most recent first


def _sort_key(mt: _Match):
    m = mt.meta
    return (-(m.get("year") or 0), fold(m.get("title") or "").lower())


def _line(n: int, m: dict) -> str:
    authors = ", ".join(m.get("authors") or []) or "auteur inconnu"
    lang = LANG_NAMES_FR.get(m.get("language"), m.get("language") or "?")
    url = f" — {m['url']}" if m.get("url") else ""
    return (f"[{n}] {m.get('title')} — {authors} ({m.get('year') or 's.d.'}), {type_label(m.get('type'), 1)}, "
            f"{lang}{url}")


def _noun(query: CatalogQuery, count: int) -> str:
    if len(query.types) == 1:
        return type_label(query.types[0], count)
    return "ressource" if count == 1 else "ressources"


def _feminine(query: CatalogQuery) -> bool:
    if len(query.types) == 1:
        return TYPE_FEMININE.get(query.types[0], False)
    return True  # « ressource »


def _list_answer(query, meta_hits, text_only, first_chunk, how, no_year, author_notes) -> Answer:
    found_meta = sorted(meta_hits.values(), key=_sort_key)
    found_text = sorted((mt for d, mt in text_only.items() if d not in meta_hits), key=_sort_key)
    total = len(found_meta)
    # the noun already says the type (« 11 études de cas »): the other criteria go in brackets
    labels = [lb for lb in query.labels() if not (len(query.types) == 1 and lb.startswith("type : "))]
    crit = " ; ".join(labels)
    crit_s = f" ({crit})" if crit else ""
    lines: list[str] = []
    citations: list[Citation] = []
    fem = _feminine(query)
    subject = ", ".join(f"« {x} »" for x in (*query.places, *query.topics))

    if total:
        noun = _noun(query, total)
        lines.append(f"Le corpus compte {total} {noun}{crit_s}." if query.action == "count"
                     else f"{total} {noun} correspond{'ent' if total > 1 else ''}{crit_s} :")
    elif author_notes:
        lines.append(f"Aucune ressource du corpus n'a « {', '.join(author_notes)} » pour auteur.")
    elif found_text and subject:
        lines.append(f"Aucun{'e' if fem else ''} {_noun(query, 1)} n'a {subject} dans ses métadonnées (pays, "
                     f"mots-clés ou titre){crit_s if len(labels) > 1 else ''}.")
    else:
        lines.append(f"Le corpus ne compte aucun{'e' if fem else ''} {_noun(query, 1)} correspondant"
                     f"{'e' if fem else ''}{crit_s}.")

    show = found_meta if query.action == "list" or total <= COUNT_LIST_LIMIT else []
    if query.action == "count" and total > COUNT_LIST_LIMIT:
        by_type = Counter(mt.meta.get("type") for mt in found_meta)
        if len(by_type) > 1:
            lines.append("Par type : " + " ; ".join(f"{type_label(t, c)} : {c}" for t, c in by_type.most_common())
                         + ".")
        else:
            lines.append(f"(liste complète : demandez « Liste les {_noun(query, 2)}… »)")
    for mt in show[:LIST_LIMIT]:
        n = len(citations) + 1
        lines.append(_line(n, mt.meta))
        citations.append(Citation(n=n, chunk=first_chunk[mt.doc_id]))
    if len(show) > LIST_LIMIT:
        lines.append(f"… et {len(show) - LIST_LIMIT} autres.")

    if found_text:
        k = len(found_text)
        if author_notes and not total:
            head = f"« {', '.join(author_notes)} » apparaît dans ({k}) :"
        elif total:
            head = f"Mentionnent aussi {subject} dans leur texte ({k}) :"
        else:
            head = (f"{k} le mentionne{'nt' if k > 1 else ''} dans {'leur' if k > 1 else 'son'} texte"
                    f"{' seulement' if k > 1 else ''} :")
        lines.append("\n" + head)
        for mt in found_text[:LIST_LIMIT]:
            n = len(citations) + 1
            where = ", ".join(sorted({"title": "titre", "topics": "mots-clés", "texte": "texte"}.get(f, f)
                                     for f in mt.fields))
            lines.append(_line(n, mt.meta) + (f"  [{where}]" if author_notes and not total else ""))
            citations.append(Citation(n=n, chunk=first_chunk[mt.doc_id]))

    note = f" {no_year} ressource(s) sans année connue ne sont pas comptées." if no_year else ""
    lines.append(f"\nCompté dans les métadonnées de l'index : {' ; '.join(how)}.{note}")
    found = bool(total or found_text)
    return Answer(question=query.question, text="\n".join(lines), citations=citations, hits=[], found=found,
                  query=query.question, mode="catalogue", applied=query.labels())


def _facet_answer(query: CatalogQuery, base: dict, first_chunk) -> Answer:
    counts: Counter = Counter()
    for m in base.values():
        if query.facet == "type":
            counts[type_label(m.get("type"))] += 1
        elif query.facet == "language":
            counts[LANG_NAMES_FR.get(m.get("language"), m.get("language") or "inconnue")] += 1
        elif query.facet == "country":
            for c in set(m.get("countries") or []) or {"non précisé"}:
                counts[c] += 1
        else:
            y = m.get("year")
            counts[f"années {y // 10 * 10}" if y else "sans année"] += 1
    field_name = {"type": "type", "language": "language", "country": "countries", "year": "year"}[query.facet]
    title = {"type": "type", "language": "langue", "country": "pays", "year": "décennie"}[query.facet]
    order = sorted(counts.items(), key=lambda kv: (kv[0] if query.facet == "year" else "", -kv[1], kv[0]))
    lines = [f"Répartition des {len(base)} ressources du corpus par {title} :"]
    lines += [f"- {k} : {v}" for k, v in order]
    extra = " Une ressource peut concerner plusieurs pays." if query.facet == "country" else ""
    lines.append(f"\nCompté dans les métadonnées de l'index : champ {field_name} de chaque ressource (hors notes "
                 f"de concept et introduction du dossier).{extra}")
    return Answer(question=query.question, text="\n".join(lines), citations=[], hits=[], found=bool(base),
                  query=query.question, mode="catalogue", applied=query.labels())


def _criteria(query: CatalogQuery) -> str:
    labels = [lb for lb in query.labels() if not lb.startswith("les plus récentes")]
    return f" ({' ; '.join(labels)})" if labels else ""


def _authors_answer(query, meta_hits, text_only, first_chunk, how) -> Answer:
    """« Qui a écrit sur X ? »: the authors of the resources about X, each with their resources."""
    found = sorted(meta_hits.values(), key=_sort_key)
    source = "métadonnées"
    if not found and text_only:
        found = sorted(text_only.values(), key=_sort_key)
        source = "texte"
    by_author: dict[str, list[_Match]] = {}
    for mt in found:
        for a in mt.meta.get("authors") or []:
            by_author.setdefault(a, []).append(mt)
    unsigned = [mt for mt in found if not mt.meta.get("authors")]
    lines: list[str] = []
    citations: list[Citation] = []
    numbers: dict[str, int] = {}
    if not by_author:
        lines.append(f"Aucune ressource signée ne correspond{_criteria(query)}.")
    else:
        k = len(by_author)
        lines.append(f"{k} auteur{'s' if k > 1 else ''} pour {len(found)} ressource{'s' if len(found) > 1 else ''}"
                     f"{_criteria(query)}" + (" (sujet trouvé dans le texte des passages seulement)"
                                              if source == "texte" else "") + " :")
        order = sorted(by_author.items(), key=lambda kv: (-len(kv[1]), fold(kv[0]).lower()))
        for author, items in order[:LIST_LIMIT]:
            refs = []
            for mt in items:
                if mt.doc_id not in numbers:
                    numbers[mt.doc_id] = len(citations) + 1
                    citations.append(Citation(n=numbers[mt.doc_id], chunk=first_chunk[mt.doc_id]))
                refs.append(f"{mt.meta.get('title')} ({mt.meta.get('year') or 's.d.'}) [{numbers[mt.doc_id]}]")
            lines.append(f"- {author} : " + " ; ".join(refs))
        if len(order) > LIST_LIMIT:
            lines.append(f"… et {len(order) - LIST_LIMIT} autres auteurs.")
    if unsigned:
        lines.append(f"\n{len(unsigned)} ressource(s) sans auteur nommé : "
                     + " ; ".join(str(mt.meta.get("title")) for mt in unsigned[:10]))
    lines.append(f"\nCompté dans les métadonnées de l'index : {' ; '.join(how)} ; puis champ authors de chaque "
                 f"ressource.")
    return Answer(question=query.question, text="\n".join(lines), citations=citations, hits=[],
                  found=bool(by_author), query=query.question, mode="catalogue", applied=query.labels())


def _recent_answer(query, meta_hits, first_chunk, how, no_year) -> Answer:
    """« Les plus récentes »: the matching resources sorted by year, most recent first."""
    found = sorted((mt for mt in meta_hits.values() if mt.meta.get("year")), key=_sort_key)
    lines: list[str] = []
    citations: list[Citation] = []
    if not found:
        lines.append(f"Le corpus ne compte aucune ressource datée{_criteria(query)}.")
    else:
        shown = found[:RECENT_LIMIT]
        lines.append(f"Les {len(shown)} {_noun(query, len(shown))} les plus récent{'e' if _feminine(query) else ''}s"
                     f"{_criteria(query)}, sur {len(found)}, de la plus récente à la plus ancienne :"
                     if len(shown) > 1 else
                     f"La seule {_noun(query, 1)} datée{_criteria(query)} :")
        for mt in shown:
            n = len(citations) + 1
            lines.append(_line(n, mt.meta))
            citations.append(Citation(n=n, chunk=first_chunk[mt.doc_id]))
    note = f" {no_year} ressource(s) sans année connue ne sont pas classées." if no_year else ""
    lines.append(f"\nTrié par année (champ year) dans les métadonnées de l'index : {' ; '.join(how)}.{note}")
    return Answer(question=query.question, text="\n".join(lines), citations=citations, hits=[],
                  found=bool(found), query=query.question, mode="catalogue", applied=query.labels())
