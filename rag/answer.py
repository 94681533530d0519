"""Grounded answers: the question's best passages, then a span that answers it, each sentence cited [n].

The default `ExtractiveAnswerer` needs no language model: every sentence of its answer stands verbatim in the
passage it cites. It composes from spans (rag/compose.py) using the sentence vectors stored in the index, so
an answer costs one query encoding plus arithmetic. When the best passages are not relevant enough it says so
and offers the closest resources instead of citing noise. After the answer, « Pour aller plus loin » lists a
few relevant resources it did not cite, grouped by type. Follow-up questions ("Et au Brésil ?") are completed
from the previous turn.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .compose import Composer, Sent, clean_side, comparison_sides, definition_subject, how_subject, subject_forms
from .retrieve import Filters, Retriever
from .text import analyze, analyze_query, detect_language, fold, words
from .types import RESOURCE_TYPES, Answer, Citation, Hit, Reading

log = logging.getLogger(__name__)

# Relevance floors on the cosine similarity of query and best passage, per model (calibrated on the bundled
# corpus with on- and off-topic questions; see tests/test_answer.py). A passage above `strong` is relevant on
# its own; one above `weak` only if it also shares content words with the question.
# `margin`: a sentence is kept only if its similarity is within this distance of the best sentence's, so a
# weakly related passage does not slip into the answer just to fill it.
RELEVANCE = {
    "multilingual-e5-small": {"strong": 0.875, "weak": 0.845, "margin": 0.05},
    "all-MiniLM-L6-v2": {"strong": 0.55, "weak": 0.30, "margin": 0.2},
}
DEFAULT_RELEVANCE = {"strong": 0.6, "weak": 0.3, "margin": 0.2}
CROSS_LINGUAL_SHIFT = 0.04
# How far below `weak` a passage may score when it holds every proper name of the question.
NAMED_SLACK = 0.04

NOT_FOUND = ("Je n'ai pas trouvé dans le corpus de passage qui réponde à cette question. "
             "Voici les ressources les plus proches, à consulter avec prudence :")

_FOLLOW_UP_START = re.compile(
    r"^\s*(et|mais|aussi|puis|ou|and|but|what about|how about|also|y|e|pero|mas|também|tambien|también)\b", re.I)
_ANAPHORA = re.compile(r"\b(il|elle|ils|elles|cela|ça|celle|celui|ceux|leur|leurs|it|they|them|this|that|"
                       r"ella|ellos|eso|esto|ele|ela|eles|isso)\b", re.I)


def contextual_query(question: str, history: list[str] | None) -> str:
    """The query to search for a question asked after `history` (earlier queries, oldest first).

    A follow-up — short, opening with a connective or leaning on a pronoun — inherits the previous query's
    subject; a self-contained question is searched as it is."""
    question = question.strip()
    if not history:
        return question
    content = [w for w in analyze_query(question)]
    follow_up = (_FOLLOW_UP_START.match(question) is not None or len(content) <= 3
                 or (_ANAPHORA.search(question) is not None and len(content) <= 6))
    return f"{history[-1]} {question}" if follow_up else question


class Answerer(Protocol):
    def answer(self, question: str, history: list[str] | None = None, filters: Filters | None = None, *,
               hint: dict | None = None) -> Answer: ...


# « Pour aller plus loin »: how many resources, and how far below the best passage's similarity they may be.
FURTHER_MAX = 5
FURTHER_MIN = 3
FURTHER_SEARCH = 12


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever):
        self.retriever = retriever
        self.settings = retriever.settings
        self.relevance = RELEVANCE.get(retriever.index.model_id, DEFAULT_RELEVANCE)
        self.composer = Composer(retriever.index, self.relevance)

    def retrieve(self, query: str, filters: Filters | None = None) -> list[Hit]:
        """The resources an answer is drawn from (best first, two passages each), plus a few more for
        « Pour aller plus loin ». The LLM mode hands the first `answer_passages` of them to the model."""
        return self.retriever.search(query, k=max(FURTHER_SEARCH, self.settings.answer_passages), filters=filters,
                                     group=True, passages_per_doc=2)

    def answer(self, question: str, history: list[str] | None = None, filters: Filters | None = None, *,
               hint: dict | None = None) -> Answer:
        question = question.strip()[: self.settings.max_question_chars]
        query = contextual_query(question, history)
        hint = hint or {}
        found_hits = self.retrieve(query, filters)
        hits = found_hits[: self.settings.answer_passages]
        qvec = self.retriever.embedder.encode_queries([query])[0]
        if not hits or not self._relevant(query, qvec, hits):
            return Answer(question=question, text=NOT_FOUND, citations=[], hits=hits, found=False, query=query)
        within = {h.chunk.doc_id for h in hits} if filters else None
        cands = self.composer.candidates(hits, qvec, query, question, within=within)
        route = hint.get("route")
        sides = hint.get("compare") if route == "comparison" else None
        if route in (None, "comparison") and not sides:
            sides = comparison_sides(question)
        parts: list[tuple[str | None, list[Sent]]] = []
        if sides and len(sides) == 2:
            sides = [clean_side(x) or x for x in sides]
            focus = self.composer.focus(question, within)
            for name in sides:
                span = self.composer.side(name, self.retriever,
                                          lambda t: self.retriever.embedder.encode_queries([t])[0], filters,
                                          focus=focus)
                if not span:
                    parts = []
                    break
                parts.append((name, span))
            if not parts:
                # a comparison answered from passages: the sentence that contrasts the two matters, not the
                # opening of whichever note the question names first — both notes it names are read
                cands = self.composer.candidates(hits, qvec, query, question, within=within, n_focus=2)
        if not parts:
            # the subject as the question words it (« What is microcredit, and who invented it? » →
            # "microcredit"), then as the plan's topic slot, which may keep other content words
            subjects = []
            if route in (None, "definition"):
                subjects.append(definition_subject(question))
            if route == "definition":
                subjects.append(hint.get("subject"))
            lead = None
            for subject in dict.fromkeys(s for s in subjects if s):
                lead = self.composer.definition(subject, cands, qvec)
                if lead:
                    break
            if not lead:
                lead = self.composer.section_lead(question, cands, within)
            if not lead and route in (None, "passage") and (how := how_subject(question)):
                # « Comment fonctionne une Scop ? » about a subject with its own note and no section on how it
                # works: the note's opening says how it is organised
                named = [d for form in subject_forms(how) for d, kind in self.composer.named_docs(form)
                         if kind == "title"]
                if named and (within is None or named[0] in within):
                    lead = self.composer.opening_span(named[0])
            if not lead:
                lead = self.composer.general(cands)
            if not lead:
                return Answer(question=question, text=NOT_FOUND, citations=[], hits=hits, found=False, query=query)
            parts = [(None, lead)]
            extras = self.composer.extras(lead, cands, query)
            if extras:
                parts.append((None, extras))
        ans = self._compose(question, query, hits, parts)
        ans.further = self.further(found_hits, ans, qvec, authors=hint.get("authors") or ())
        return ans

    # -- relevance --------------------------------------------------------------------------------
    def _relevant(self, query: str, qvec: np.ndarray, hits: list[Hit]) -> bool:
        idx = self.retriever.index
        rows = self.composer.row_of
        sims = [float(idx.vectors[rows[h.chunk.chunk_id]] @ qvec) for h in hits]
        best = max(sims)
        best_hit = hits[sims.index(best)]
        # A question in another language than the passage scores lower for the same relevance (measured:
        # about 0.03-0.05 with e5 between English questions and French fiches).
        # The corpus is mostly French, so a question in another language is treated as cross-lingual.
        lang = detect_language(query)
        shift = CROSS_LINGUAL_SHIFT if lang != "fr" or lang != best_hit.chunk.meta.get("language") else 0.0
        if best >= self.relevance["strong"] - shift:
            return True
        terms = set(analyze_query(query))
        names = {fold(w).lower() for w in re.findall(r"(?<!^)(?<![.?!] )\b[A-ZÀ-Ý][\w-]{3,}", query)}
        if best < self.relevance["weak"] - shift:
            # a question about a person or an organisation (« Qui est Maria Nowak ? ») is short and scores low;
            # every name it asks about standing in the best passage's title or text anchors it
            if names and best >= self.relevance["weak"] - shift - NAMED_SLACK:
                passage = fold(f"{best_hit.chunk.meta.get('title', '')} {best_hit.chunk.text}").lower()
                if all(re.search(rf"\b{re.escape(n)}\b", passage) for n in names):
                    return True
            return False
        for h in hits[:3]:
            passage = f"{h.chunk.meta.get('title', '')} {h.chunk.text}"
            text_terms = set(analyze(passage, h.chunk.meta.get("language")))
            if terms and len(terms & text_terms) / len(terms) >= 0.34:
                return True
            # a shared proper noun (a place, an organisation) anchors a question asked in another language
            if names & {fold(w) for w in words(passage)}:
                return True
        return False

    # -- the answer -------------------------------------------------------------------------------
    def _compose(self, question: str, query: str, hits: list[Hit], parts: list[tuple[str | None, list[Sent]]]) -> Answer:
        """Sources numbered in order of first appearance; each sentence followed by its source's [n]. A labelled
        part (a side of a comparison) is a paragraph of its own that opens with its name."""
        number: dict[str, int] = {}
        citations: dict[int, Citation] = {}
        paras: list[str] = []
        for label, sents in parts:
            pieces = []
            for snt in sents:
                key = snt.chunk.chunk_id
                if key not in number:
                    number[key] = len(number) + 1
                n = number[key]
                cit = citations.setdefault(n, Citation(n=n, chunk=snt.chunk))
                if snt.text not in cit.sentences:
                    cit.sentences.append(snt.text)
                pieces.append(f"{snt.text} [{n}]")
            text = " ".join(pieces)
            paras.append(f"{label} :\n{text}" if label else text)
        sep = "\n\n" if any(label for label, _ in parts) else " "
        return Answer(question=question, text=sep.join(paras), citations=[citations[n] for n in sorted(citations)],
                      hits=hits, found=True, query=query)

    def further(self, hits: list[Hit], ans: Answer, qvec: np.ndarray, authors=()) -> list[Reading]:
        """3–5 resources relevant to the question and not cited, grouped by type (in the corpus's type order),
        best first inside a type; none when fewer than three pass the relevance floor. `authors`: people the
        question asks about (« Qui est Nancy Neamtan ? »): their own resources come first, whatever the floor."""
        cited = {c.chunk.doc_id for c in ans.citations}
        idx = self.retriever.index
        rows = self.composer.row_of
        floor = self.relevance["weak"] - CROSS_LINGUAL_SHIFT - self.relevance["margin"]
        picked: list[Hit] = []
        own = _by_authors(idx, authors, cited) if authors else []
        if own:
            readings = own[:FURTHER_MAX]
            seen = {r.doc_id for r in readings}
            for h in hits:
                if len(readings) >= FURTHER_MAX:
                    break
                if h.chunk.doc_id not in cited | seen and h.chunk.meta.get("type") in RESOURCE_TYPES and \
                        max(float(idx.vectors[rows[c.chunk_id]] @ qvec) for c in (h.passages or [h.chunk])) >= floor:
                    readings.append(Reading(doc_id=h.chunk.doc_id, meta=dict(h.chunk.meta)))
                    seen.add(h.chunk.doc_id)
            order = {t: i for i, t in enumerate(RESOURCE_TYPES)}
            return sorted(readings, key=lambda r: (r not in own, order.get(r.meta.get("type"), 99)))
        for h in hits:
            if h.chunk.doc_id in cited or h.chunk.meta.get("type") not in RESOURCE_TYPES:
                continue
            sim = max(float(idx.vectors[rows[c.chunk_id]] @ qvec) for c in (h.passages or [h.chunk]))
            if sim < floor:
                continue
            picked.append(h)
            if len(picked) >= FURTHER_MAX:
                break
        if len(picked) < FURTHER_MIN:
            return []
        order = {t: i for i, t in enumerate(RESOURCE_TYPES)}
        picked.sort(key=lambda h: (order.get(h.chunk.meta.get("type"), 99), h.rank))
        return [Reading(doc_id=h.chunk.doc_id, meta=dict(h.chunk.meta)) for h in picked]


def _by_authors(index, authors, cited: set[str]) -> list[Reading]:
    """The resources of the index signed by one of `authors` (names compared without accents or case)."""
    wanted = {fold(a).lower() for a in authors}
    out = []
    for doc_id, m in index.documents().items():
        if doc_id in cited or m.get("type") not in RESOURCE_TYPES:
            continue
        if wanted & {fold(str(a)).lower() for a in (m.get("authors") or [])}:
            out.append(Reading(doc_id=doc_id, meta=dict(m)))
    return sorted(out, key=lambda r: -(r.meta.get("year") or 0))
