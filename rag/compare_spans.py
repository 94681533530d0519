"""The spans of a comparison (« différence entre A et B », « A ou B ? », « A vs B »): what each side is, and the
passage that sets both apart in one sentence.

A mixin of the composer (rag/compose.py): it reads with the composer's sentence table, scoring and spans.
"""
from __future__ import annotations

import re

import numpy as np

from .question import definition_rank, defines, mentions, norm
from .spans import _CORPUS_SECTION, Sent
from .text import analyze

SIDE_SENTS = 3         # one side of a comparison: a short span
SIDE_WORDS = 65
SIDE_DETAIL_UNDER = 45   # a side shorter than this gets the sentence of its document closest to the comparison
CONTRAST_ROWS = 300    # a contrast is looked for across the whole index only among this many passages

# Words that set two things apart in one sentence.
_CONTRAST = re.compile(r"\b(?:à la fois|tandis que|alors que|les unes|les uns|les autres|d'un côté|de l'autre|"
                       r"contrairement|à la différence|différence|diffère\w*|plutôt que|s'oppos\w*|opposé\w*|"
                       r"distingu\w+|en revanche|au contraire|whereas|unlike|in contrast|differ\w*|mientras que|"
                       r"a diferencia|enquanto|ao contrário)\b|\s;\s", re.I)


class ComparisonSpans:
    """Comparison spans for the composer, which provides the sentence table (`sentences_of`, `rows_of_doc`,
    `index`), the names (`names`), scoring (`score`, `candidates`, `relevance`) and spans (`opening_span`,
    `span_around`, `window_around`, `continued`, `defining_sentences`)."""

    def side(self, name: str, retriever, qvec_of, filters, focus: list[str] | None = None) -> list[Sent] | None:
        """A short span saying what one side of a comparison is. `focus`: the notes the question names — when
        both sides are told apart in one note (« économie sociale » and « économie solidaire »), its sentences
        are the ones that contrast them."""
        docs = self.names.documents
        named = self.names.named_docs(name)
        # a note titled by the side's name says what it is; then a note the question names that defines it;
        # then any resource titled by it
        for doc_id, kind in named:
            if kind == "title" and (docs.get(doc_id) or {}).get("type") == "concept":
                span = self.opening_span(doc_id, max_sents=SIDE_SENTS, max_words=SIDE_WORDS)
                if span:
                    return span
        qv = qvec_of(name)
        focus = focus or []
        defs = sorted(self.defining_sentences(name, qv),
                      key=lambda d: (d.chunk.doc_id not in focus, definition_rank(d.text, name), -d.sim))
        if defs and defs[0].chunk.doc_id in focus and definition_rank(defs[0].text, name) <= 1:
            return self._defining_side(defs[0])
        for doc_id, kind in named:
            span = self.opening_span(doc_id, max_sents=SIDE_SENTS, max_words=SIDE_WORDS)
            if span and (kind == "title" or defines(span[0].text, name)):
                return span
        if defs:
            return self._defining_side(defs[0])
        hits = retriever.search(name, k=3, filters=filters, group=True, passages_per_doc=1)
        read = self.candidates(hits, qv, name)
        cands = [c for c in read if c.eligible and mentions(norm(c.text), norm(name))]
        if not cands:
            return None
        best = max(cands, key=lambda c: c.score)
        return self.span_around(best, [c for c in read if c.row == best.row], max_sents=2, max_words=60)

    def _defining_side(self, anchor: Sent) -> list[Sent]:
        """A side read around the sentence that defines it; the paragraph may go on in the next passage
        (« L'économie solidaire apparaît… » ends one, « Elle se définit moins par des statuts… » opens the next)."""
        return self.continued(self.span_around(anchor, self.sentences_of(anchor.row), max_sents=SIDE_SENTS,
                                               max_words=SIDE_WORDS), SIDE_SENTS, SIDE_WORDS)

    def side_detail(self, name: str, span: list[Sent], qvec: np.ndarray, taken: set[str]) -> list[Sent]:
        """After a short side (a note's first two sentences), the sentence of the same document that names the
        side and is closest to the comparison asked (« Une SCIC réunit au moins trois catégories d'associés… »)."""
        words_n = sum(x.n_words for x in span)
        if not span or words_n >= SIDE_DETAIL_UNDER:
            return []
        doc = span[0].chunk.doc_id
        used = taken | {x.text for x in span}
        pool = [x for row in self.rows_of_doc(doc) if not _CORPUS_SECTION.match(self.index.chunks[row].section or "")
                for x in self.sentences_of(row) if x.eligible and x.text not in used
                and mentions(norm(x.text), norm(name)) and words_n + x.n_words <= SIDE_WORDS + 20]
        if not pool:
            return []
        self.score(pool, qvec, set())
        return [max(pool, key=lambda x: x.sim)]

    def contrast(self, sides: list[str], qvec: np.ndarray, cands: list[Sent]) -> list[Sent] | None:
        """The passage that sets the two sides of a comparison against each other in one sentence (« Les unes
        sont « réparatrices »… ; les autres sont « transformatrices »… »): a sentence holding a word that only
        the one side has and a word that only the other has, close to the question; read in its paragraph."""
        langs = {s.chunk.meta.get("language") for s in cands} | {"fr"}
        terms = [set().union(*(analyze(x, lg) for lg in langs)) for x in sides]
        only = [terms[0] - terms[1], terms[1] - terms[0]]
        if not all(only):
            return None
        rows = set.intersection(*(set().union(*(self.names.rows_with_term(t) for t in o)) for o in only))
        if len(rows) > CONTRAST_ROWS:
            # common words on both sides in a large index: the passages already read are enough
            rows &= {c.row for c in cands}
        pool = []
        for row in sorted(rows):
            for x in self.sentences_of(row):
                got = set(analyze(x.text, x.chunk.meta.get("language")))
                # both sides' words meet in many sentences that contrast nothing (« l'économie sociale et
                # solidaire »): the sentence must also set them apart
                if x.eligible and got & only[0] and got & only[1] and _CONTRAST.search(x.text):
                    pool.append(x)
        if not pool:
            return None
        self.score(pool, qvec, set())
        best_sim = max((c.sim for c in cands), default=0.0)
        anchor = max(pool, key=lambda c: c.sim)
        if anchor.sim < best_sim - 2 * self.relevance["margin"]:
            return None
        sents = self.sentences_of(anchor.row)
        self.score(sents, qvec, set())
        return self.window_around(next(x for x in sents if x.idx == anchor.idx), sents, max_sents=3,
                                  max_words=SIDE_WORDS + 15)
