"""Answers about a person (« Qui est Nancy Neamtan ? », "Who is Geoff Mulgan?").

What the corpus says of someone is spread over several resources: a note names them with their role, the
resource they wrote tells their career, another one what they founded. One passage read on, as for a notion,
soon leaves them for whoever the passage speaks of next (« Stéphanie Goujon, qui a dirigé… » after a sentence on
Hugues Sibille). Here the lead stays on the person, and the rest of the answer is made of the sentences of other
resources that say who they are, each with what follows it about them.
"""
from __future__ import annotations

import re

import numpy as np

from .question import definition_rank
from .spans import _LEANS_LATE, _POSSESSIVE, Sent, leans
from .text import analyze, fold

PROFILE_SOURCES = 2     # other resources that add to the lead
# a sentence that goes on about the person: a personal pronoun, not « cette économie… »
_GOES_ON = re.compile(r"^(?:il|elle|he|she|él|ella|ele|ela)\b", re.I)


def _surname(person: str) -> str:
    return fold(person.split()[-1]).lower()


def _mention(text: str, person: str) -> re.Match | None:
    f = fold(text).lower()
    for m in re.finditer(rf"(?<!\w){re.escape(_surname(person))}(?!\w)", f):
        # « l'Institut Godin », « la loi Paul Singer »: a thing named after the person, not the person
        if not _NAMED_AFTER.search(f[max(0, m.start() - 40):m.start()]):
            return m
    return None


def names(text: str, person: str) -> bool:
    """Whether a sentence names the person (by surname: « Sibille revient sur… »)."""
    return _mention(text, person) is not None

_NAMED_AFTER = re.compile(r"\b(?:institut|fondation|centre|prix|loi|ecole|universite|college|lycee|rue|place|"
                          r"maison|chaire|programme|plan|familistere)\b(?:\s+[\w'-]+){0,2}\s*$")


def stays_on(span: list[Sent], person: str) -> list[Sent]:
    """A span that opens on the person, cut before the first sentence that neither names them nor goes on
    about them (a pronoun, a possessive: « Il a auparavant fondé… », « Son équipe… »)."""
    first = next((i for i, x in enumerate(span) if names(x.text, person)), None)
    if first is None:
        return span
    out = span[:first + 1]      # what comes before it is what its first mention builds on
    for x in span[first + 1:]:
        if not (names(x.text, person) or _GOES_ON.match(x.text) or _LEANS_LATE.match(x.text)
                or _POSSESSIVE.match(x.text)):
            break
        out.append(x)
    return out


# what says who someone is: a role, a career (« économiste », « a fondé », « dirige », « professeur »)
_BIO = re.compile(fold(r"\b(?:dirige|dirigé|dirigée|directeur|directrice|fondé|fondée|fonde|fondateur|fondatrice|"
                       r"cofond\w*|président|présidente|préside|professeure?|économiste|sociologue|chercheu(?:r|se)|"
                       r"née? (?:en|le|à)|mort|morte|ancien|ancienne|carrière|travaillé|enseigne|membre|responsable|délégué\w*|"
                       r"figure|référence)\b"), re.I)


# the author as the subject, in their own resource's fiche (« L'orateur dirige alors… »); a bare « Il » there is as
# often the book (« Il s'inscrit dans la collection… dirigée par… »)
_BY_ROLE = re.compile(r"^(?:l['’]auteur|l['’]autrice|l['’]orateur|l['’]oratrice)\b", re.I)


def profile(composer, person: str, lead: list[Sent], qvec: np.ndarray, room: int) -> list[Sent]:
    """Sentences of other resources that say who the person is (« Nancy Neamtan a d'abord dirigé le RESO… »),
    best first — saying what they are or what they did before only naming them — each with what follows it
    about them, within `room` words."""
    docs = {s.chunk.doc_id for s in lead}
    taken = {s.text for s in lead}
    surname = _surname(person)
    rows: set[int] = set()
    for lg in composer.languages():
        for t in analyze(surname, lg):
            rows |= composer.names.rows_with_term(t)
    # what they wrote or said tells their career in its own words (« L'orateur dirige alors la Young Foundation »)
    authored = {row for doc_id, meta in composer.names.documents.items()
                if any(surname in fold(str(a)).lower().split() for a in meta.get("authors") or ())
                for row in composer.rows_of_doc(doc_id)}
    pool = []
    for row in sorted(rows | authored):
        if composer.index.chunks[row].doc_id in docs:
            continue
        on_them = False     # the sentence before spoke of them: « Il a auparavant fondé… » after « L'orateur… »
        prev_para = None
        for x in composer.sentences_of(row):
            if x.para != prev_para:
                on_them, prev_para = False, x.para
            named = names(x.text, person)
            told = row in authored and (_BY_ROLE.match(x.text) or (on_them and _GOES_ON.match(x.text)))
            if x.eligible and x.text not in taken and (named or (told and _BIO.search(fold(x.text).lower()))):
                pool.append(x)
            on_them = bool(named or told)
    composer.score(pool, qvec, set())

    def rank(x: Sent) -> int:
        m = _mention(x.text, person)
        if m is None:
            return 0        # a career told by their own resource (« L'orateur dirige alors… »)
        # a role next to the name (« Hugues Sibille, président du Labo de l'ESS », « l'économiste Paul Singer »),
        # not a name in a list that happens to share a sentence with « dirigée par »
        f = fold(x.text).lower()
        near = _BIO.search(f[max(0, m.start() - 40):m.end() + 60])
        said = min(definition_rank(x.text, person), definition_rank(x.text, person.split()[-1]))
        return said + (0 if near else 1)

    # a sentence that builds on another one (« Il s'inscrit dans la collection… ») says who someone is only
    # when it comes from what they wrote
    ranks = {x.idx: rank(x) for x in pool}
    pool = [x for x in pool if ranks[x.idx] <= 2 and (not leans(x.text) or not names(x.text, person))]
    pool.sort(key=lambda x: (ranks[x.idx], -x.sim))
    out: list[Sent] = []
    words_n = 0
    for d in pool:
        if len({s.chunk.doc_id for s in out}) >= PROFILE_SOURCES:
            break
        if d.chunk.doc_id in docs or d.text in taken:
            continue
        span = [x for x in stays_on(composer.forward_span(d, qvec, max_sents=2), person) if x.text not in taken]
        n = sum(x.n_words for x in span)
        if not span or words_n + n > room:
            continue
        out += span
        words_n += n
        docs.add(d.chunk.doc_id)
        taken |= {x.text for x in span}
    return out
