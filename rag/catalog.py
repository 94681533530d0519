"""Questions about the corpus as a whole, answered exactly from the index's metadata.

« Combien d'études de cas ? », « Quelles thèses parlent du Québec ? », « Qu'a écrit Jean-Louis Laville ? »,
« Qui a écrit sur le Brésil ? », « les publications les plus récentes », "How many videos are there?":
passage retrieval cannot count, list, name authors or sort by date; the metadata can.

Which questions come here, and with which criteria, is decided by rag/understand.py (route + slots);
`CatalogQuery.from_understanding` turns its catalogue routes into a query. `answer_catalog(query, index)`
selects the resources from `Index.documents()` (and, for a subject or place the metadata does not name, from
the passages' text); rag/catalog_text.py writes the answer: the resources with their links, how it was
computed and which fields were used:
- count / list: the resources matching every criterion (several places: any of them, and the answer says so);
- authors: the authors of those resources, each with their resources;
- recent: those resources sorted by year, most recent first;
- facet: the breakdown by type, language, country or decade.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from .catalog_text import _authors_answer, _facet_answer, _list_answer, _recent_answer
from .intent import RECENT_YEARS, period_label, this_year
from .text import analyze, fold
from .types import Answer, Chunk
from .vocab import INCLUDES, LANG_NAMES_FR, NOT_RESOURCES, PLACES, type_label

log = logging.getLogger(__name__)

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
            out.append("langue : " + ", ".join(LANG_NAMES_FR[lang] for lang in self.languages))
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
        how.append("langue = " + " ou ".join(LANG_NAMES_FR[lang] for lang in query.languages))
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
