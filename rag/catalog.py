"""Questions about the corpus as a whole, answered exactly from the index's metadata.

« Combien d'études de cas ? », « Quelles thèses parlent du Québec ? », « Qu'a écrit Jean-Louis Laville ? »,
« Qui a écrit sur le Brésil ? », « les publications les plus récentes », "How many videos are there?":
passage retrieval cannot count, list, name authors or sort by date; the metadata can.

Which questions come here, and with which criteria, is decided by rag/understand.py (route + slots);
`CatalogQuery.from_understanding` turns its catalogue routes into a query. `answer_catalog(query, index)`
computes the answer from `Index.documents()` (and, for a subject or place the metadata does not name, from
the passages' text), lists the resources with their links, and says how it was computed and which fields
were used:
- count / list: the resources matching every criterion (several places: any of them, and the answer says so);
- authors: the authors of those resources, each with their resources;
- recent: those resources sorted by year, most recent first;
- facet: the breakdown by type, language, country or decade.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from .intent import RECENT_YEARS, period_label, this_year
from .text import analyze, fold
from .types import Answer, Citation, Chunk
from .vocab import INCLUDES, LANG_NAMES_FR, NOT_RESOURCES, PLACES, TYPE_FEMININE, type_label

log = logging.getLogger(__name__)

LIST_LIMIT = 60          # resources listed in full; beyond, the answer says how many more there are
COUNT_LIST_LIMIT = 20    # a count lists its resources when there are at most this many
RECENT_LIMIT = 10        # « les plus récentes »: this many, most recent first
MAX_TOPIC_WORDS = 4      # a longer « subject » is a question for retrieval, not a metadata filter
ACTIONS = {"catalog_count": "count", "catalog_list": "list", "catalog_authors": "authors",
           "catalog_recent": "recent"}


# ---------------------------------------------------------------- the query

@dataclass(frozen=True)
class CatalogQuery:
    question: str
    action: str                          # "count" | "list" | "authors" | "recent" | "facet"
    types: tuple[str, ...] = ()          # empty: every resource type
    languages: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    recent: bool = False
    places: tuple[str, ...] = ()         # canonical names from PLACES
    authors: tuple[str, ...] = ()        # names as written in the question
    topics: tuple[str, ...] = ()         # free subjects as written
    facet: str | None = None             # "type" | "language" | "country" | "year" (action "facet")
    mentions: bool = False               # « qui parlent de… »: the passages' text counts too

    @classmethod
    def from_understanding(cls, u) -> "CatalogQuery":
        """The catalogue query of an `Understanding` (rag/understand.py) on a catalogue route."""
        s = u.slots
        year_min, year_max = s.year_min, s.year_max
        action = "facet" if u.facet else ACTIONS[u.route]
        if s.recent and action != "recent" and not (year_min or year_max):
            year_min = this_year() - RECENT_YEARS   # « des thèses récentes »: the last ten years
        topics = (s.topic,) if s.topic and len(analyze(s.topic, "fr")) <= MAX_TOPIC_WORDS else ()
        return cls(question=u.question, action=action, types=s.types, languages=s.languages,
                   year_min=year_min, year_max=year_max, recent=s.recent, places=s.places, authors=s.authors,
                   topics=topics, facet=u.facet, mentions=True)

    def labels(self) -> list[str]:
        out = []
        if self.types:
            out.append("type : " + ", ".join(type_label(t) for t in self.types))
        if self.authors:
            out.append("auteur : " + ", ".join(self.authors))
        if self.languages:
            out.append("langue : " + ", ".join(LANG_NAMES_FR[l] for l in self.languages))
        if self.year_min or self.year_max:
            out.append("période : " + period_label(self.year_min, self.year_max, self.recent))
        if self.action == "recent":
            out.append("les plus récentes d'abord")
        if self.places:
            out.append("lieu : " + " ou ".join(self.places))
        if self.topics:
            out.append("sujet : " + ", ".join(self.topics))
        if self.facet:
            out.append("répartition par " + {"type": "type", "language": "langue", "country": "pays",
                                             "year": "décennie"}[self.facet])
        return out



# ---------------------------------------------------------------- answering

@dataclass
class _Match:
    doc_id: str
    meta: dict
    fields: set[str] = field(default_factory=set)   # metadata fields that matched (or "texte")


def _narrow(meta_hits: dict, texts: dict, matches, fields_to_check: tuple[str, ...]) -> tuple[dict, dict]:
    """Keep the resources whose metadata `fields_to_check` match (recording which fields did); those matching
    only in their passage texts are returned apart, as mentions."""
    keep, mention = {}, {}
    for d, mt in meta_hits.items():
        m = mt.meta
        fields = set()
        for name in fields_to_check:
            value = m.get(name)
            values = value if isinstance(value, list) else [value or ""]
            if any(matches(v) for v in values):
                fields.add(name)
        if fields:
            mt.fields |= fields
            keep[d] = mt
        elif any(matches(t) for t in texts.get(d, [])):
            mention[d] = _Match(d, m, {"texte"})
    return keep, mention


def _tokens(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(s).lower())


_PARTICLES = {"de", "da", "dos", "das", "do", "del", "van", "von", "der", "den", "le", "la", "du", "di", "d", "l",
              "the", "of", "et", "al", "dir", "ed", "eds", "s"}


def author_matches(name: str, author: str) -> bool:
    """« Laville » or « Jean-Louis Laville » is « Jean-Louis Laville (dir.) »: every name word is there."""
    want = [t for t in _tokens(name) if t not in _PARTICLES]
    have = set(_tokens(author))
    return bool(want) and all(t in have for t in want)


def _place_aliases(place: str) -> list[str]:
    out = list(PLACES.get(place, (fold(place).lower(),)))
    for sub in INCLUDES.get(place, ()):
        out += PLACES[sub]
    return out


def _has_phrase(text: str, aliases: list[str]) -> bool:
    t = " " + " ".join(_tokens(text)) + " "
    return any(" " + " ".join(_tokens(a)) + " " in t for a in aliases)


def _stem_seq(text: str) -> list[str]:
    return analyze(text, "fr")


def _has_stems(text: str, seq: list[str]) -> bool:
    if not seq:
        return False
    toks = _stem_seq(text)
    k = len(seq)
    return any(toks[i:i + k] == seq for i in range(len(toks) - k + 1))


def _meta_values(meta: dict) -> list[str]:
    out = []
    for name in ("countries", "topics", "title"):
        v = meta.get(name)
        out += v if isinstance(v, list) else [v or ""]
    return out


def _in_scope(meta: dict, q: CatalogQuery) -> bool:
    t = meta.get("type")
    if q.types:
        return t in q.types
    return t not in NOT_RESOURCES


def _year_ok(meta: dict, q: CatalogQuery) -> bool:
    if not (q.year_min or q.year_max):
        return True
    y = meta.get("year")
    if y is None:
        return False
    return (not q.year_min or y >= q.year_min) and (not q.year_max or y <= q.year_max)


def answer_catalog(query: CatalogQuery, index) -> Answer:
    """The exact answer to a catalogue question, computed from `index`'s metadata (and text for mentions)."""
    docs = index.documents()
    first_chunk: dict[str, Chunk] = {}
    texts: dict[str, list[str]] = {}
    for c in index.chunks:
        first_chunk.setdefault(c.doc_id, c)
        texts.setdefault(c.doc_id, []).append(c.text)

    base = {d: m for d, m in docs.items() if _in_scope(m, query) and _year_ok(m, query)
            and (not query.languages or m.get("language") in query.languages)}
    no_year = sum(1 for d, m in docs.items() if _in_scope(m, query) and m.get("year") is None) \
        if (query.year_min or query.year_max) else 0

    if query.action == "facet":
        return _facet_answer(query, base, first_chunk)

    how: list[str] = []
    if query.types:
        how.append("type = " + " ou ".join(type_label(t, 1) for t in query.types))
    else:
        how.append("tous les types de ressources (hors notes de concept et introduction du dossier)")
    if query.languages:
        how.append("langue = " + " ou ".join(LANG_NAMES_FR[l] for l in query.languages))
    if query.year_min or query.year_max:
        rng = []
        if query.year_min:
            rng.append(f"année ≥ {query.year_min}")
        if query.year_max:
            rng.append(f"année ≤ {query.year_max}")
        how.append(" et ".join(rng) + (f" (« récent » = les {this_year() - query.year_min} dernières années)"
                                       if query.recent else ""))

    meta_hits: dict[str, _Match] = {d: _Match(d, m) for d, m in base.items()}
    text_only: dict[str, _Match] = {}
    author_notes: list[str] = []

    for name in query.authors:
        keep = {d: mt for d, mt in meta_hits.items()
                if any(author_matches(name, a) for a in mt.meta.get("authors") or [])}
        for mt in keep.values():
            mt.fields.add("authors")
        how.append(f"auteur contenant « {name} » (champ authors)")
        if not keep:
            # not an author: say where the name appears instead
            seq = _tokens(name)
            for d, mt in meta_hits.items():
                fields = set()
                if _has_phrase(mt.meta.get("title") or "", [name]):
                    fields.add("title")
                if _has_phrase(" ".join(mt.meta.get("topics") or []), [name]):
                    fields.add("topics")
                if not fields and any(_has_phrase(t, [name]) for t in texts.get(d, [])):
                    fields.add("texte")
                if fields and seq:
                    text_only[d] = _Match(d, mt.meta, fields)
            author_notes.append(name)
        meta_hits = keep

    if query.places:
        # several places (« le Brésil et le Mexique »): a resource about any of them; the answer says so
        aliases = [a for place in query.places for a in _place_aliases(place)]
        included = [s for place in query.places for s in INCLUDES.get(place, ())]
        keep, mention = _narrow(meta_hits, texts, lambda s: _has_phrase(s, aliases),
                                ("countries", "topics", "title"))
        what = " ou ".join(f"« {p} »" for p in query.places) + (f" (y compris {', '.join(included)})"
                                                                 if included else "")
        how.append(f"lieu {what} dans les pays, les mots-clés ou le titre (champs countries, topics, title)")
        if len(query.places) > 1:
            both = [d for d, mt in keep.items() if all(
                any(_has_phrase(v, _place_aliases(p)) for v in _meta_values(mt.meta)) for p in query.places)]
            how.append(f"{len(both)} concernent à la fois " + " et ".join(query.places))
        meta_hits = keep
        if query.mentions or not keep:
            text_only.update({d: mt for d, mt in mention.items() if d not in text_only})

    for topic in query.topics:
        seq = _stem_seq(topic)
        keep, mention = _narrow(meta_hits, texts, lambda s: _has_stems(s, seq), ("topics", "title"))
        how.append(f"sujet « {topic} » dans les mots-clés ou le titre (champs topics, title), mots ramenés à "
                   f"leur racine")
        meta_hits = keep
        text_only.update({d: mt for d, mt in mention.items() if d not in text_only})

    # a resource named in the text only must still satisfy the other criteria (authors, other places…)
    if text_only and (query.places or query.topics):
        how.append("puis mentions cherchées dans le texte des passages de l'index")
    if query.action == "authors":
        return _authors_answer(query, meta_hits, text_only, first_chunk, how)
    if query.action == "recent":
        return _recent_answer(query, meta_hits, first_chunk, how, no_year)
    return _list_answer(query, meta_hits, text_only, first_chunk, how, no_year, author_notes)


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
