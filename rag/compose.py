"""Composing an extractive answer from spans: the passage that answers, then at most two sentences that add.

The sentences and their vectors come from the index (rag/sentences.py, computed at ingest), so composing costs
arithmetic only. What a question gets:

- any question: the best contiguous span (2–4 sentences, reading order, one paragraph) around the sentence
  that best matches the question in the retrieved passages;
- a definition question (« qu'est-ce que X », « c'est quoi X », "what is X", « ¿qué es X? », « o que é X? »):
  when X names a concept note or a fiche (title, acronym, topics), that document's opening definition; else
  the sentence of the corpus that defines X (« X, créé en… », « X est… ») with its neighbours;
- a comparison (« différence entre A et B », « A ou B ? », « A vs B »): one short span per side, introduced by
  its name (rag/compare_spans.py);
- a question naming a note or a resource (`DocumentNames.focus`, rag/naming.py): the whole document is read; limits open with its debate section,
  « comment… » with its methods section or the paragraph announcing how it works.

The forms of a question (subject, sides, « comment fonctionne X ») are read by rag/question.py.
Sentences about documents (flagged at ingest) are never quoted. Every quoted sentence stands verbatim in the
chunk it cites.
"""
from __future__ import annotations

import re

import numpy as np

from .catalog import _has_phrase, _place_aliases
from .compare_spans import ComparisonSpans
from .naming import DocumentNames
from .question import _CRITIQUE_Q, _HOW_Q, definition_rank, defines, subject_forms
from .spans import (_CORPUS_SECTION, _POSSESSIVE, SPAN_MAX, SPAN_WORDS, Sent,  # noqa: F401
                    SentenceTable, bridged, leans, quantities)
from .text import analyze, analyze_query, fold, words
from .types import Hit

_EXAMPLE = re.compile(r"\b(?:par exemple|exemple|for example|for instance|por ejemplo|por exemplo|à l'image de)\b", re.I)
_CRITIQUE_S = re.compile(r"\b(?:limites?|critiqu\w*|d[ée]bat\w*|discut[ée]\w*|risques?|d[ée]nonc\w*|reproch\w*|"
                         r"d[ée]rives?|tensions?|controvers\w*|fragilit\w*|ambigu\w*|se demander|questionn\w*|"
                         r"d[ée]pendance|insuffis\w*|criticism\w*|critics?|limits?)\b", re.I)
_HOW_SEC = re.compile(r"\b(?:m[ée]thodes?|fonctionnement|fonctionne|formes? concr[èe]tes?|comment|dispositifs?|"
                      r"instruments?|mise en (?:œ|oe)uvre|outils?|gouvernance|organisation|principes?|"
                      r"d[ée]marches?)\b", re.I)
_HOW_OPENER = re.compile(r"\b(?:fonctionnement|fonctionne|principe|concr[èe]tement|en pratique|works|funciona\w*)\b",
                         re.I)
_DEBATE_SEC = re.compile(r"\b(?:d[ée]bats?|limites?|critiques?|enjeux|r[ée]parer ou transformer|controverses?)\b", re.I)

# a sentence that asks rather than tells (« Elle soulève aussi des questions : comment faire vivre… ») is close to
# any question in the embedding space, yet answers none (one ending in « ? » is never quoted: `Sent.eligible`). Outside
# questions on limits and debates it comes only when nothing else is near (0.03 let it follow the SCIC note's
# definition in answer to « Comment est organisée la gouvernance dans une SCIC ? »; 0.2: +3 facts on the fifteen
# sets, +2 on the blind ones)
_ASKS = re.compile(r"\bquestions?\s*:|\bse demand\w*|s'interroge\w*|\bsoul[èe]v\w* [^.]{0,30}\bquestions?\b|"
                   r"\bpos\w* (?:la|une|des) questions?\b", re.I)
ASKING_MALUS = 0.2


def _critiques(text: str) -> int:
    """How many words of criticism or debate a sentence holds (« limites », « critique », « dérives »…)."""
    return len(_CRITIQUE_S.findall(text))


# How much a sentence of the note the question names is preferred (cosine similarities sit within ~0.1).
FOCUS_BONUS = 0.02

PLACE_COMMON = 0.2     # a place this share of the resources are about does not steer the lead
ANSWER_WORDS = 130     # extras are added only while the answer stays about this long
SUBSTANCE_UNDER = 70   # a lead shorter than this is followed by more of its own document
FILL_UNDER = ANSWER_WORDS - 10   # an answer with room for another sentence goes on reading its lead's document
FIGURE_BONUS = 0.02
RESULT_BONUS = 0.03         # when a question asks for results: half of this per figure in the sentence (up to
                            # three) and per figure in its paragraph (up to six)
NAMED_FIGURE_BONUS = 0.05   # when the question only names the document, its similarity tells its sentences apart less


class Composer(ComparisonSpans, SentenceTable):
    """Picks spans from the sentence table of an index for a question vector."""

    def __init__(self, index, relevance: dict):
        super().__init__(index, relevance)
        self.names = DocumentNames(index)

    # -- sentences ------------------------------------------------------------------------------------
    def score(self, sents: list[Sent], qvec: np.ndarray, terms: set[str], critique: bool = False) -> None:
        if not sents:
            return
        heading: dict[int, float] = {}
        vecs = np.asarray(self.index.sentence_vectors[[s.vec for s in sents]])
        sims = vecs @ qvec
        for s, sim in zip(sents, sims):
            s.sim = float(sim)
            overlap = 0.0
            if terms:
                overlap = len(terms & set(analyze(s.text, s.chunk.meta.get("language")))) / len(terms)
            if s.row not in heading:
                sec = s.chunk.section or ""
                h = set(analyze(sec, s.chunk.meta.get("language"))) if sec else set()
                heading[s.row] = (len(terms & h) / len(terms) if terms else 0.0) + \
                    (1.25 if critique and _CRITIQUE_S.search(sec) else 0.0)
            rank = s.hit.rank if s.hit else 3
            # a small prior for better-ranked passages and for sentences that open a passage; a section whose
            # heading names the question's terms (or, for a question on limits, a debate) holds the answer
            s.score = s.sim + 0.08 * overlap - 0.01 * (rank - 1) - 0.002 * min(s.pos, 5) + 0.04 * heading[s.row]
            if critique and _CRITIQUE_S.search(s.text):
                s.score += 0.03
            elif not critique and _ASKS.search(s.text):
                s.score -= ASKING_MALUS

    def candidates(self, hits: list[Hit], qvec: np.ndarray, query: str, question: str | None = None,
                   within: set[str] | None = None, n_focus: int = 1, focus: list[str] | None = None) -> list[Sent]:
        """The sentences an answer may quote. `within`: when the search was filtered (a type, a place…), the
        documents that passed — a note the question names is read only if it is one of them. `focus`: the notes
        read whole, when the caller knows them (a note named in another language); else the notes the question
        names."""
        out: list[Sent] = []
        seen: set[int] = set()
        terms = set(analyze_query(query))
        critique = bool(_CRITIQUE_Q.search(question or query))
        if focus is None:
            focus = self.names.focus(question or query, within)[:n_focus]
        for doc_id in focus:
            # the note the question names is the corpus's own explanation of it: all of it is read, not only
            # the passages retrieval happened to return (its list of the corpus's resources excepted)
            for row in self.rows_of_doc(doc_id):
                if row not in seen and not _CORPUS_SECTION.match(self.index.chunks[row].section or ""):
                    seen.add(row)
                    out.extend(self.sentences_of(row, next((h for h in hits if h.chunk.doc_id == doc_id), None)))
        for h in hits:
            for c in (h.passages or [h.chunk]):
                row = self.row_of.get(c.chunk_id)
                if row is None or row in seen:
                    continue
                seen.add(row)
                out.extend(self.sentences_of(row, h))
        # the sections of the best resources whose heading names what is asked (« Débats » for a question on
        # limits) are read too, even when their passage was not retrieved
        for h in hits[:3]:
            for row in self.rows_of_doc(h.chunk.doc_id):
                if row in seen:
                    continue
                sec = self.index.chunks[row].section or ""
                if sec and ((critique and _CRITIQUE_S.search(sec))
                            or terms & set(analyze(sec, h.chunk.meta.get("language"))) - self._title_terms(h)):
                    seen.add(row)
                    out.extend(self.sentences_of(row, h))
        self.score(out, qvec, terms, critique=critique)
        for snt in out:
            if snt.chunk.doc_id in focus:
                snt.score += FOCUS_BONUS
        return out

    @staticmethod
    def _title_terms(h: Hit) -> set[str]:
        # a document's own title words say nothing about which of its sections answers
        return set(analyze(h.chunk.meta.get("title") or "", h.chunk.meta.get("language")))

    # -- definitions ----------------------------------------------------------------------------------
    def defining_sentences(self, subject: str, qvec: np.ndarray) -> list[Sent]:
        """Sentences anywhere in the index that define the subject (« X, créé en 2007… », « X est… »)."""
        s = fold(subject).lower()
        if len(s) < 3:
            return []
        # the passages holding every word of the subject (BM25 postings, in each language's stemming), then
        # those that hold it as written — not a scan of every passage
        rows: set[int] = set()
        for lg in self.languages():
            terms = analyze(subject, lg)
            if terms:
                rows |= set.intersection(*(self.names.rows_with_term(t) for t in terms))
        out: list[Sent] = []
        for row in sorted(rows):
            if s in self.norm_text(row):
                out.extend(x for x in self.sentences_of(row) if x.eligible and defines(x.text, subject))
        self.score(out, qvec, set())
        return out

    # -- the three compositions -----------------------------------------------------------------------
    def definition(self, subject: str, cands: list[Sent], qvec: np.ndarray) -> list[Sent] | None:
        """The lead span for a definition question, or None when nothing in the corpus defines the subject."""
        forms = subject_forms(subject)
        naming = {form: self.names.naming(form) for form in forms}
        for form in forms:
            for _, doc_id, kind in naming[form]:
                span = self.opening_span(doc_id)
                if span and (kind == "title" or defines(span[0].text, form)):
                    return span
        # at equal rank, a sentence of a document whose title holds the subject (the note on the ESS for
        # « l'économie sociale »), then of one that has it among its topics, before one met elsewhere, however close
        named: dict[str, int] = {}
        for form in forms:
            for p, doc_id, _ in naming[form]:
                named[doc_id] = min(named.get(doc_id, p), p)
        defs = sorted((d for form in forms for d in self.defining_sentences(form, qvec)),
                      key=lambda d: (min(definition_rank(d.text, form) for form in forms), named.get(d.chunk.doc_id, 9),
                                     -d.sim))
        if defs and defs[0].sim >= max((c.sim for c in cands), default=0.0) - 2 * self.relevance["margin"]:
            return self.forward_span(defs[0], qvec)
        return None

    def forward_span(self, anchor: Sent, qvec: np.ndarray, max_sents: int = 3, max_words: int = SPAN_WORDS) -> list[Sent]:
        """A defining sentence and what follows it in its paragraph (the next one always, then while it stays
        on the question): what comes before is usually about something else (« …, elle a dirigé… » before « Sa rencontre avec Yunus… »),
        unless the sentence leans on it."""
        sents = bridged([x for x in self.sentences_of(anchor.row) if x.para == anchor.para])
        self.score(sents, qvec, set())
        i = next(k for k, x in enumerate(sents) if x.idx == anchor.idx)
        span = [sents[i]]
        words_n = sents[i].n_words
        if i > 0 and leans(anchor.text) and sents[i - 1].eligible:
            span.insert(0, sents[i - 1])
            words_n += sents[i - 1].n_words
        for x in sents[i + 1:]:
            # a sentence that goes on about the same subject (« Son programme… », « Il… ») is kept however it
            # scores against the question
            goes_on = leans(x.text) or _POSSESSIVE.match(x.text)
            if len(span) >= max_sents or not x.eligible or words_n + x.n_words > max_words \
                    or (len(span) >= 2 and x.sim < anchor.sim - self.relevance["margin"] and not goes_on):
                break
            span.append(x)
            words_n += x.n_words
        if span[-1].idx == sents[-1].idx:
            # the paragraph goes on past its chunk's end (« L'économie solidaire apparaît dans le dernier quart du
            # XXe siècle. » closes one chunk, « Elle se définit… » opens the next)
            span = self.continued(span, max_sents, max_words)
        return span

    def section_lead(self, question: str, cands: list[Sent], within: set[str] | None = None,
                     focus: list[str] | None = None) -> list[Sent] | None:
        """For a question on limits or on how something works about a subject that has its own note: the
        note's section that discusses it (« Débats », « Méthodes »…), from its paragraph's opening when the
        best sentence is near it — a debate is framed by its first sentences."""
        critique = bool(_CRITIQUE_Q.search(question))
        if not critique and not _HOW_Q.search(question):
            return None
        focus = focus or self.names.focus(question, within)
        if not focus:
            return None
        mine = [c for c in cands if c.chunk.doc_id == focus[0] and c.eligible]
        if critique:
            # a debate is framed by its section's first sentences
            rows = sorted({c.row for c in mine if _DEBATE_SEC.search(c.chunk.section or "")})
            if rows:
                return self.section_opening(rows[0])
            return None
        # how it works: the section that tells it (measured: falling back on the note's definition section
        # loses more than it gains — the passages retrieval found for the question's own words do better)
        pool = [c for c in mine if _HOW_SEC.search(c.chunk.section or "")]
        if not pool:
            # a fiche without sections often announces it in a paragraph's first words
            # (« Le fonctionnement est le suivant. »): that paragraph, from its start
            for c in sorted(mine, key=lambda c: c.idx):
                first = min((x for x in cands if x.row == c.row and x.para == c.para), key=lambda x: x.idx)
                if first.idx == c.idx and _HOW_OPENER.search(c.text):
                    para = [x for x in cands if x.row == c.row and x.para == c.para]
                    if c.n_words <= 7:
                        para = [x for x in para if x.idx != c.idx]   # the announcement itself says nothing
                    span = self.continued(self.paragraph_opening(para))
                    if len(span) >= 2:
                        return span
            return None
        anchor = max(pool, key=lambda c: c.score)
        chunk_sents = [c for c in cands if c.row == anchor.row]
        para = [c for c in chunk_sents if c.para == anchor.para]
        if [c.idx for c in para].index(anchor.idx) <= 2:
            span = self.paragraph_opening(para, skip_before=anchor.idx)
            if any(c.idx == anchor.idx for c in span):
                return span
        return self.span_around(anchor, chunk_sents)

    def general(self, cands: list[Sent], places: list[str] | None = None) -> list[Sent]:
        """The best passage's span around its best sentence. `places`: places the question names (« Parle-moi
        des entreprises sociales au Sénégal ») — a sentence that names one leads when it is nearly as close."""
        pool = [c for c in cands if c.eligible]
        if not pool:
            return []
        best = max(pool, key=lambda c: c.score)
        # a place many resources are about (« en France ») tells nothing apart; a passage of a resource about
        # the place (« Benoît Lévesque… mes lectures sur le Québec ») is there already
        aliases = [a for p in places or () if self.names.share_about(p) < PLACE_COMMON for a in _place_aliases(p)]
        if aliases and not _has_phrase(" ".join(best.chunk.meta.get("countries") or []), aliases):
            there = [c for c in pool if _has_phrase(c.text, aliases)]
            if there and max(c.score for c in there) >= best.score - 2 * self.relevance["margin"]:
                pool = there
        anchor = max(pool, key=lambda c: c.score)
        anchor = self._where_before(anchor, pool, cands)
        chunk_sents = [c for c in cands if c.row == anchor.row]
        return self.window_around(anchor, chunk_sents)

    def _where_before(self, anchor: Sent, pool: list[Sent], cands: list[Sent]) -> Sent:
        """Passages overlap by a sentence: an anchor that builds on the sentence before it is read where that
        sentence is (« Une deuxième partie… » after « La première partie… »)."""
        if leans(anchor.text) and not self._before(anchor, cands):
            return next((c for c in pool if c.text == anchor.text and self._before(c, cands)), anchor)
        return anchor

    def with_antecedent(self, span: list[Sent]) -> list[Sent]:
        """A span that opens on a sentence building on the one before (« L'Institut Godin a ensuite développé… »)
        and has it in no passage it was read from: that sentence, from the passage that overlaps it, comes first."""
        if not span or not leans(span[0].text):
            return span
        first = span[0]
        if any(x.para == first.para and x.idx == first.idx - 1 for x in self.sentences_of(first.row)):
            return span     # the window had it and chose to leave it out (the words' limit)
        words_n = sum(x.n_words for x in span)
        for row in self.rows_of_doc(first.chunk.doc_id):
            sents = self.sentences_of(row)
            for prev, x in zip(sents, sents[1:]):
                if x.text == first.text and prev.para == x.para and prev.eligible \
                        and words_n + prev.n_words <= SPAN_WORDS + 20:
                    return [prev] + span
        return span

    @staticmethod
    def previous(s: Sent, cands: list[Sent]) -> Sent | None:
        """The sentence before `s` in its paragraph of its passage, among `cands`."""
        return next((c for c in cands if c.row == s.row and c.para == s.para and c.idx == s.idx - 1), None)

    @classmethod
    def _before(cls, s: Sent, cands: list[Sent]) -> bool:
        """Whether a sentence has an eligible sentence before it in its paragraph of its passage."""
        prev = cls.previous(s, cands)
        return prev is not None and prev.eligible

    def substance(self, lead: list[Sent], cands: list[Sent], named: bool = False, in_order: bool = False,
                  budget: int = ANSWER_WORDS, results: bool = False, qvec: np.ndarray | None = None,
                  critique: bool = False, under: int = SUBSTANCE_UNDER) -> list[Sent]:
        """After a short lead (a document's opening: what and where), the span of the same document that says
        the most on the question — how it works, its figures, its results — read in its paragraph, within the
        answer's length. `named`: the question names that document, so every one of its sentences is on it
        (the question's vector, « Tell me about Ellyx. », says little more than the name). `in_order`: the
        question asks what the document is about and nothing more — its next paragraph is read. `results`: the
        question asks for its results or figures — the passage that measures the most comes next, even after a
        longer lead that has none. `under`: a lead this long or longer gets nothing (but figures or criticisms
        it lacks); a definition read on from a document's opening passes the answer's whole length."""
        if not lead:
            return []
        doc = lead[0].chunk.doc_id
        words_n = sum(s.n_words for s in lead)
        count = quantities if results else _critiques
        measured = (results or critique) and not any(count(s.text) for s in lead)
        if any(s.chunk.doc_id != doc for s in lead) or (words_n >= under and not measured):
            return []
        have = {s.text for s in lead}
        lead_rows = {(s.row, s.para) for s in lead}
        if results or critique:
            span = self._densest(lead, cands, have, lead_rows, budget - words_n, qvec, count)
            if span is not None:
                return span
        best_sim = max((c.sim for c in cands), default=0.0)
        floor = -1.0 if named else best_sim - 2 * self.relevance["margin"]
        pool = [c for c in cands if c.chunk.doc_id == doc and c.eligible and c.text not in have
                and (c.row, c.para) not in lead_rows and c.sim >= floor and words_n + c.n_words <= budget]
        if not pool:
            return []
        if in_order:
            # the question asks nothing but what the document is about: its next paragraph, as the document reads
            after = [c for c in pool if (c.row, c.para) > max(lead_rows)]
            if after:
                first = min(after, key=lambda c: (c.row, c.para, c.idx))
                para = [c for c in pool if c.row == first.row and c.para == first.para]
                span = self.paragraph_opening(para, max_sents=3, max_words=budget - words_n)
                if span:
                    return span
        # figures and mechanisms are what an opening lacks
        bonus = NAMED_FIGURE_BONUS if named else FIGURE_BONUS
        anchor = max(pool, key=lambda c: c.score + (bonus if re.search(r"\d", c.text) else 0.0))
        anchor = self._where_before(anchor, pool, cands)
        chunk_sents = [c for c in cands if c.row == anchor.row and c.text not in have]
        span = self.window_around(anchor, chunk_sents, max_sents=3, max_words=budget - words_n)
        return [c for c in span if c.eligible]

    def _densest(self, lead: list[Sent], cands: list[Sent], have: set[str], lead_rows: set[tuple[int, int]],
                 room: int, qvec: np.ndarray | None, count=quantities) -> list[Sent] | None:
        """For a question on results (`count` = figures) or on criticisms (`count` = words of criticism): the span
        of the lead's document around its sentence with the most of them (in a paragraph with the most), read
        wherever it stands in the document — retrieval may have returned only the passage that names the
        question's words. None when the document has none left to add."""
        doc = lead[0].chunk.doc_id
        if qvec is not None:
            read = {c.row for c in cands}
            more = [x for row in self.rows_of_doc(doc) if row not in read for x in self.sentences_of(row, lead[0].hit)]
            self.score(more, qvec, set())
            cands = cands + more
        mine = [c for c in cands if c.chunk.doc_id == doc and c.eligible]
        counted = [c for c in mine if c.text not in have and (c.row, c.para) not in lead_rows
                   and count(c.text) and c.n_words <= room]
        if not counted:
            return None
        # a paragraph of figures (or of criticisms) says more than one in passing
        per_para: dict[tuple[int, int], int] = {}
        for c in mine:
            per_para[(c.row, c.para)] = per_para.get((c.row, c.para), 0) + count(c.text)
        anchor = max(counted, key=lambda c: c.score + RESULT_BONUS * (min(count(c.text), 3)
                                                                     + min(per_para[(c.row, c.para)], 6)) / 2)
        chunk_sents = [c for c in cands if c.row == anchor.row and c.text not in have]
        return [c for c in self.window_around(anchor, chunk_sents, max_sents=3, max_words=room) if c.eligible]

    def extras(self, lead: list[Sent], cands: list[Sent], query: str = "", limit: int = 2) -> list[Sent]:
        """At most `limit` sentences from other sources that bring content the lead lacks: close to the question
        (near the lead's similarity, sharing one of its content words), new words, not a question itself."""
        if not lead:
            return []
        qterms = set(analyze_query(query)) if query else set()
        lead_docs = {s.chunk.doc_id for s in lead}
        have = set()
        for s in lead:
            have |= set(analyze(s.text, s.chunk.meta.get("language")))
        floor = max(s.sim for s in lead) - self.relevance["margin"]
        best_sim = max((c.sim for c in cands), default=0.0)
        floor = max(floor, best_sim - self.relevance["margin"])
        words_n = sum(s.n_words for s in lead)
        chosen: list[Sent] = []
        taken_texts = {s.text for s in lead}
        for c in sorted(cands, key=lambda c: -c.score):
            if len(chosen) >= limit:
                break
            if not c.eligible or c.chunk.doc_id in lead_docs or c.text in taken_texts or c.sim < floor:
                continue
            if c.text.rstrip().endswith(("?", "？")):
                continue
            if c.n_words > 60 or words_n + c.n_words > ANSWER_WORDS:
                continue
            if any(o.chunk.doc_id == c.chunk.doc_id for o in chosen):
                continue
            terms = set(analyze(c.text, c.chunk.meta.get("language")))
            if qterms and not qterms & terms:
                continue
            new = terms - have
            if len(new) < 4 or len(new) < 0.5 * len(terms):
                continue
            ws = set(words(c.text))
            if any(len(ws & set(words(o.text))) / max(1, len(ws | set(words(o.text)))) > 0.4 for o in lead + chosen):
                continue
            chosen.append(c)
            have |= terms
            words_n += c.n_words
            taken_texts.add(c.text)
        # what it is → how it works / figures → an example
        return sorted(chosen, key=lambda c: (bool(_EXAMPLE.search(c.text)), not re.search(r"\d", c.text)))
