"""The sentence table of an index, and the spans read from it: what an answer may quote, in reading order.

Each chunk's sentences (offsets, paragraph, « about the document » flag, vector row) are stored at ingest
(rag/sentences.py). This module reads them back as `Sent` and builds contiguous spans: around an anchor, from a
paragraph's opening, a document's opening, on into the next chunk, or what a document says next. Which span
answers a question is chosen by rag/compose.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .sentences import DOC_NOUNS
from .text import fold, index_languages
from .types import Chunk, Hit

# Sentences that lean on the one before them.
_LEANS = re.compile(r"^(?:il|elle|ils|elles|ce|cet|cette|ces|cela|ça|celle|celui|ceux|mais|ainsi|pourtant|"
                    r"cependant|en effet|par ailleurs|de plus|elle-même|it|they|this|these|those|but|however|"
                    r"ella|ellos|esto|eso|pero|ele|ela|eles|isso|mas)\b", re.I)
# Words that, early in a sentence, point back to what came before it (« L'Institut a ensuite développé… »,
# « Pour les auteurs, cette limite… », « D'où… »): read alone, such a sentence misses what it builds on.
_POINTS_BACK = re.compile(r"\b(?:ensuite|enfin|également|aussi|d'où|dès lors|de même|en outre|toutefois|"
                          r"néanmoins|en revanche|cette|ces|cet|ce dernier|cette dernière|celle-ci|celui-ci|"
                          r"ceux-ci|then|also|moreover|thus|therefore|this|these|además|también|sin embargo|"
                          r"esta|estos|estas|também|além disso|essa|esse|essas|esses|"
                          # « Une deuxième partie traite… », « La seconde est… »: an ordinal past the first
                          r"deuxième|seconde?|troisième|quatrième|cinquième|third|fourth|fifth|segund[oa]|"
                          r"tercer[oa]?|terceir[oa]|cuart[oa]|quart[oa])\b", re.I)
# A pronoun subject after an opening phrase (« Membre du conseil…, elle a collaboré… », « Selon lui, … »): the person
# or thing it stands for was named before. Not the impersonal « il » (« En France, il n'existe pas… »).
_LEANS_LATE = re.compile(r"^[^,;:()«»]{2,90},\s+(?:il|elle|ils|elles)\s+(?!(?:n')?(?:existe|faut|s'agit|y a)\b)|"
                         r"^(?:selon|pour|d'après|chez)\s+(?:lui|elle|eux|elles)\b", re.I)
_POSSESSIVE = re.compile(r"^(?:son|sa|ses|leur|leurs|his|her|its|their|su|sus|seu|sua|seus|suas)\b", re.I)
# A note's closing list of the corpus's resources on its subject speaks about documents, not the subject.
_CORPUS_SECTION = re.compile(r"^\s*(?:dans le corpus|pour aller plus loin|ressources du corpus|in the corpus)\b", re.I)
_SKIP_START = ("Voir aussi", "Résumé (", "Resumen (", "Resumo (", "Riassunto (")
SPAN_MAX = 4
SPAN_WORDS = 95        # the lead span stops growing past this

# A figure that measures something: an amount, a share, a count — not a year or a page.
_QUANTITY = re.compile(r"\d+(?:[,.]\d+)?\s?(?:%|€|\$|euros?|millions?|milliards?|dollars?|reais|pesos|mds?)|"
                       r"\b\d{1,3}(?:[\u00a0\u202f .]\d{3})+\b|\b\d+,\d+\b|\b(?!1[5-9]\d\d\b|20\d\d\b)\d{2,}\b", re.I)

def leans(text: str) -> bool:
    """Whether a sentence builds on the one before it (a pronoun or connector first, or a pointer among its
    first five words)."""
    return bool(_LEANS.match(text) or _POINTS_BACK.search(" ".join(text.split()[:5])) or _LEANS_LATE.match(text))


def quantities(text: str) -> int:
    """How many measuring figures a sentence holds (« 6,02 milliards », « 28,3 % », « 22 000 emplois »)."""
    return len(_QUANTITY.findall(text))


@dataclass
class Sent:
    text: str
    chunk: Chunk
    row: int              # chunk row in the index
    idx: int              # record index in the index's sentence table
    para: int
    pos: int              # position among its chunk's sentences
    about: bool
    vec: int
    hit: Hit | None = None
    sim: float = 0.0
    score: float = 0.0

    @property
    def n_words(self) -> int:
        return len(self.text.split())

    @property
    def eligible(self) -> bool:
        # a question in a passage asks, it does not answer
        return (not self.about and 5 <= self.n_words <= 90 and not self.text.startswith(_SKIP_START)
                and not self.text.rstrip().endswith(("?", "？")))


    @property
    def link(self) -> bool:
        # « On distingue deux familles. »: too short to answer alone, but read inside a span it announces what
        # follows
        return (not self.about and 2 <= self.n_words < 5 and not self.text.startswith(_SKIP_START)
                and self.text.rstrip().endswith((".", ":")))


# a sentence after one about a document that names a document (« Le compte rendu de la rencontre en restitue les
# échanges. ») is likely about it too, whether or not the rule flags it
_NAMES_DOC = re.compile(r"\b" + DOC_NOUNS + r"\b")


def bridged(para: list[Sent]) -> list[Sent]:
    """A paragraph's sentences (reading order) less those about a document that the next sentence does not lean
    on: « La thèse centrale est que… » and « Le social business se contente d'améliorer… » read on as one span
    past « Les auteurs opposent deux approches. », which is not quoted; « Il s'adresse aux élus. Il propose… »
    still ends a span, its next sentence being about the document too."""
    para = sorted(para, key=lambda x: x.idx)
    return [s for k, s in enumerate(para)
            if not (s.about and k + 1 < len(para) and para[k + 1].eligible and not leans(para[k + 1].text)
                    and not _NAMES_DOC.search(fold(para[k + 1].text).lower()))]


def _trim_links(span: list[Sent]) -> list[Sent]:
    """A span does not end on an announcement of what it no longer holds."""
    while span and not span[-1].eligible:
        span = span[:-1]
    return span


class SentenceTable:
    """The sentences of an index's chunks, and the spans read from them."""

    def __init__(self, index, relevance: dict):
        self.index = index
        self.relevance = relevance
        self.row_of = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        self._first_row: dict[str, int] = {}
        self._norm_text: dict[int, str] = {}
        self._languages: tuple[str, ...] | None = None

    def sentences_of(self, row: int, hit: Hit | None = None) -> list[Sent]:
        ix = self.index
        b = ix.sentence_bounds
        chunk = ix.chunks[row]
        out = []
        for k, i in enumerate(range(int(b[row]), int(b[row + 1]))):
            r = ix.sentences[i]
            out.append(Sent(chunk.text[int(r["start"]):int(r["end"])], chunk, row, i, int(r["para"]), k,
                            bool(r["about"]), int(r["vec"]), hit))
        return out

    def rows_of_doc(self, doc_id: str) -> list[int]:
        if not hasattr(self, "_doc_rows"):
            self._doc_rows: dict[str, list[int]] = {}
            for i, c in enumerate(self.index.chunks):
                self._doc_rows.setdefault(c.doc_id, []).append(i)
        return self._doc_rows.get(doc_id, [])

    def first_row(self, doc_id: str) -> int | None:
        if not self._first_row:
            for i, c in enumerate(self.index.chunks):
                self._first_row.setdefault(c.doc_id, i)
        return self._first_row.get(doc_id)

    def norm_text(self, row: int) -> str:
        t = self._norm_text.get(row)
        if t is None:
            t = self._norm_text[row] = fold(self.index.chunks[row].text).lower()
        return t

    def languages(self) -> tuple[str, ...]:
        if self._languages is None:
            self._languages = index_languages(c.meta.get("language") for c in self.index.chunks) or ("fr",)
        return self._languages

    def span_around(self, anchor: Sent, chunk_sents: list[Sent], max_sents: int = SPAN_MAX,
                    max_words: int = SPAN_WORDS, margin: float | None = None) -> list[Sent]:
        """The contiguous span of one paragraph around `anchor`: the sentence before when the anchor leans on
        it, the following ones while they stay relevant, at least two sentences when the paragraph has them."""
        margin = self.relevance["margin"] if margin is None else margin
        para = bridged([s for s in chunk_sents if s.para == anchor.para])
        i = next(k for k, s in enumerate(para) if s.idx == anchor.idx)
        lo = hi = i
        words_n = anchor.n_words
        if i > 0 and para[i - 1].eligible and leans(anchor.text) and words_n + para[i - 1].n_words <= max_words:
            lo -= 1
            words_n += para[lo].n_words
        floor = anchor.sim - margin
        while hi + 1 < len(para) and hi - lo + 1 < max_sents:
            nxt = para[hi + 1]
            if not nxt.eligible or words_n + nxt.n_words > max_words:
                break
            if hi - lo + 1 >= 2 and nxt.sim < floor:
                break
            hi += 1
            words_n += nxt.n_words
        if hi == lo and lo > 0 and para[lo - 1].eligible and words_n + para[lo - 1].n_words <= max_words:
            lo -= 1
        return para[lo:hi + 1]

    def section_opening(self, row: int, max_sents: int = SPAN_MAX, max_words: int = SPAN_WORDS) -> list[Sent]:
        """The first eligible sentences of a chunk's first paragraph that has any (a section's opening)."""
        sents = self.sentences_of(row)
        for p in sorted({s.para for s in sents}):
            span = self.paragraph_opening([x for x in sents if x.para == p], max_sents, max_words)
            if span:
                return self.continued(span, max_sents, max_words)
        return []

    @staticmethod
    def paragraph_opening(para: list[Sent], max_sents: int = SPAN_MAX, max_words: int = SPAN_WORDS,
                          skip_before: int = -1) -> list[Sent]:
        """A paragraph's first eligible sentences, in reading order, within the span's limits. An ineligible
        sentence ends the span, unless the span has not yet reached sentence `skip_before` (then it is skipped)."""
        span: list[Sent] = []
        words_n = 0
        for s in bridged(para):
            if not s.eligible and not (span and s.link):
                if span and span[-1].idx >= skip_before:
                    break
                continue
            if span and (len(span) >= max_sents or words_n + s.n_words > max_words):
                break
            span.append(s)
            words_n += s.n_words
        return _trim_links(span)

    def opening_span(self, doc_id: str, max_sents: int = SPAN_MAX, max_words: int = SPAN_WORDS) -> list[Sent]:
        """A document's opening: the first eligible sentences of its first paragraph that has any."""
        row = self.first_row(doc_id)
        if row is None:
            return []
        return self.section_opening(row, max_sents, max_words)

    def continued(self, span: list[Sent], max_sents: int = SPAN_MAX, max_words: int = SPAN_WORDS) -> list[Sent]:
        """A span read from a paragraph's start that stops at its chunk's end, continued into the next chunk of
        the same document (chunks overlap by whole sentences: the next one repeats the boundary sentence)."""
        if not span or len(span) >= max_sents:
            return span
        last = span[-1]
        b = self.index.sentence_bounds
        if last.idx != int(b[last.row + 1]) - 1 or last.row + 1 >= len(self.index.chunks) \
                or self.index.chunks[last.row + 1].doc_id != last.chunk.doc_id:
            return span
        nxt = self.sentences_of(last.row + 1)
        k = next((i for i, x in enumerate(nxt) if x.text == last.text), None)
        if k is None:
            return span
        out = list(span)
        words_n = sum(x.n_words for x in out)
        for x in nxt[k + 1:]:
            if x.para != nxt[k].para or not (x.eligible or x.link) or len(out) >= max_sents \
                    or words_n + x.n_words > max_words:
                break
            out.append(x)
            words_n += x.n_words
        return _trim_links(out)

    def window_around(self, anchor: Sent, chunk_sents: list[Sent], max_sents: int = SPAN_MAX,
                      max_words: int = SPAN_WORDS) -> list[Sent]:
        """The contiguous span of the anchor's paragraph, in reading order, that holds the anchor and the most
        relevance: each sentence counts by how far its similarity stands above the anchor's less the margin, so a
        close sentence before the anchor is taken as readily as one after it (the answer to « Combien… ? »
        often sits just before the sentence that repeats the question's words). Within `max_sents` and
        `max_words`; at least two sentences when the paragraph has an eligible neighbour."""
        para = bridged([s for s in chunk_sents if s.para == anchor.para])
        i = next(k for k, s in enumerate(para) if s.idx == anchor.idx)
        floor = anchor.sim - self.relevance["margin"]
        best: tuple[tuple[bool, float], int, int] | None = None
        for lo in range(i, -1, -1):
            if lo < i and not para[lo].eligible:
                break
            for hi in range(i, len(para)):
                if hi > i and not para[hi].eligible:
                    break
                span = para[lo:hi + 1]
                if len(span) > max_sents or sum(s.n_words for s in span) > max_words:
                    break
                gain = sum(s.sim - floor for s in span)
                # two sentences rather than one: the anchor alone rarely says enough
                key = (len(span) >= 2, gain)
                if best is None or key > best[0]:
                    best = (key, lo, hi)
        _, lo, hi = best
        if lo > 0 and para[lo - 1].eligible and leans(para[lo].text):
            # the sentence the span's first one builds on comes first, even at the cost of the span's tail
            top = hi
            while top > i and sum(s.n_words for s in para[lo - 1:top + 1]) > max_words:
                top -= 1
            if sum(s.n_words for s in para[lo - 1:top + 1]) <= max_words:
                lo, hi = lo - 1, top
        return para[lo:hi + 1]

    def following(self, lead: list[Sent], taken: set[str], budget: int, max_sents: int = 3) -> list[Sent]:
        """What the lead's document says next, in reading order (into its next passage, past sentences about the
        document): for an answer that would otherwise stop after a sentence or two."""
        last = max((s for s in lead if s.chunk.doc_id == lead[0].chunk.doc_id), key=lambda s: s.idx)
        out: list[Sent] = []
        words_n = 0
        seen = set(taken)
        for row in (r for r in self.rows_of_doc(last.chunk.doc_id) if r >= last.row):
            if _CORPUS_SECTION.match(self.index.chunks[row].section or ""):
                break
            for x in self.sentences_of(row, last.hit):
                if x.idx <= last.idx or x.text in seen or not x.eligible:
                    continue
                if words_n + x.n_words > budget or len(out) >= max_sents:
                    return out
                out.append(x)
                seen.add(x.text)
                words_n += x.n_words
        return out
