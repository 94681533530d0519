"""Grounded answers: the question's best passages, then their most relevant sentences, each cited [n].

The default `ExtractiveAnswerer` needs no language model: every sentence of its answer stands verbatim in the
passage it cites. When the best passages are not relevant enough it says so and offers the closest resources
instead of citing noise. Follow-up questions ("Et au Brésil ?") are completed from the previous turn.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .retrieve import Filters, Retriever
from .text import analyze, analyze_query, detect_language, fold, paragraphs, split_sentences, words
from .types import Answer, Citation, Hit

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

# Fiche sentences about the resource's audience or reading list say nothing about the question's subject.
_META = re.compile(r"\b(intéresser\w*|s'adress\w*|sert aux|servira\w*|peut servir|pourra servir|sera utile|"
                   r"utile (?:aux|à|pour)|porte d'entrée|bonne introduction|pour un lecteur|à lire avec|"
                   r"peut le lire|peut la lire|se lit avec|on peut la rapprocher|on peut le rapprocher|"
                   r"on les rapprochera|on le rapprochera|on la rapprochera|would use|useful for)\b", re.I)
# Definition questions are best answered by the concept notes, written to explain.
_DEFINITION = re.compile(r"^\s*(qu['’]est[- ]ce (?:que|qu['’])|c['’]est quoi|que (?:veut dire|signifie)|"
                         r"d[ée]fini|what (?:is|are|does)|define|qu[ée] (?:es|son|significa)|o que (?:é|são)|"
                         r"comment d[ée]finir)", re.I)

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
    def answer(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Answer: ...


@dataclass
class _Candidate:
    sentence: str
    hit: Hit
    position: int
    score: float = 0.0
    sim: float = 0.0


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever):
        self.retriever = retriever
        self.settings = retriever.settings
        self.relevance = RELEVANCE.get(retriever.index.model_id, DEFAULT_RELEVANCE)

    def answer(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Answer:
        question = question.strip()[: self.settings.max_question_chars]
        query = contextual_query(question, history)
        hits = self.retriever.search(query, k=self.settings.answer_passages, filters=filters, group=True,
                                     passages_per_doc=1)
        if _DEFINITION.match(question):
            hits = self._concepts_first(hits)
        qvec = self.retriever.embedder.encode_queries([query])[0]
        if not hits or not self._relevant(query, qvec, hits):
            return Answer(question=question, text=NOT_FOUND, citations=[], hits=hits, found=False, query=query)
        cands = self._candidates(hits)
        if not cands:
            return Answer(question=question, text=NOT_FOUND, citations=[], hits=hits, found=False, query=query)
        self._score(query, qvec, cands)
        chosen = self._select(cands)
        return self._compose(question, query, hits, chosen)

    @staticmethod
    def _concepts_first(hits: list[Hit]) -> list[Hit]:
        ordered = sorted(hits, key=lambda h: (h.chunk.meta.get("type") not in ("concept", "dossier"), h.rank))
        for i, h in enumerate(ordered, start=1):
            h.rank = i
        return ordered

    # -- relevance --------------------------------------------------------------------------------
    def _relevant(self, query: str, qvec: np.ndarray, hits: list[Hit]) -> bool:
        idx = self.retriever.index
        rows = {c.chunk_id: i for i, c in enumerate(idx.chunks)}
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
        if best < self.relevance["weak"] - shift:
            return False
        terms = set(analyze_query(query))
        names = {fold(w).lower() for w in re.findall(r"(?<!^)(?<![.?!] )\b[A-ZÀ-Ý][\w-]{3,}", query)}
        for h in hits[:3]:
            passage = f"{h.chunk.meta.get('title', '')} {h.chunk.text}"
            text_terms = set(analyze(passage, h.chunk.meta.get("language")))
            if terms and len(terms & text_terms) / len(terms) >= 0.34:
                return True
            # a shared proper noun (a place, an organisation) anchors a question asked in another language
            if names & {fold(w) for w in words(passage)}:
                return True
        return False

    # -- sentences --------------------------------------------------------------------------------
    def _candidates(self, hits: list[Hit]) -> list[_Candidate]:
        out = []
        for h in hits:
            pos = 0
            for para in paragraphs(h.chunk.text):
                for s in split_sentences(para):
                    n = len(s.split())
                    # headings, captions and list stubs make poor answer sentences
                    if (6 <= n <= 90 and not s.startswith(("Voir aussi", "Résumé (", "Resumen (", "Resumo (", "Riassunto ("))
                            and not _META.search(s)):
                        out.append(_Candidate(s, h, pos))
                    pos += 1
        return out

    def _score(self, query: str, qvec: np.ndarray, cands: list[_Candidate]) -> None:
        vecs = self.retriever.embedder.encode_documents([c.sentence for c in cands])
        sims = vecs @ qvec
        terms = set(analyze_query(query))
        for c, sim in zip(cands, sims):
            c.sim = float(sim)
            overlap = 0.0
            if terms:
                st = set(analyze(c.sentence, c.hit.chunk.meta.get("language")))
                overlap = len(terms & st) / len(terms)
            # a small prior for better-ranked passages and for sentences that open a passage
            c.score = float(sim) + 0.08 * overlap \
                - 0.004 * (c.hit.rank - 1) - 0.002 * min(c.position, 5)

    def _select(self, cands: list[_Candidate]) -> list[_Candidate]:
        chosen: list[_Candidate] = []
        per_doc: dict[str, int] = {}
        floor = max(c.sim for c in cands) - self.relevance["margin"]
        for c in sorted(cands, key=lambda c: -c.score):
            if c.sim < floor:
                continue
            if len(chosen) >= self.settings.answer_sentences:
                break
            if per_doc.get(c.hit.chunk.doc_id, 0) >= 2:
                continue
            ws = set(words(c.sentence))
            if any(len(ws & set(words(o.sentence))) / max(1, len(ws | set(words(o.sentence)))) > 0.5 for o in chosen):
                continue
            chosen.append(c)
            per_doc[c.hit.chunk.doc_id] = per_doc.get(c.hit.chunk.doc_id, 0) + 1
        return chosen

    def _compose(self, question: str, query: str, hits: list[Hit], chosen: list[_Candidate]) -> Answer:
        # Sources are numbered in the order of their best-ranked passage; sentences read source by source,
        # in their order inside the passage.
        order = sorted({c.hit.rank for c in chosen})
        number = {rank: n for n, rank in enumerate(order, start=1)}
        citations: dict[int, Citation] = {}
        parts = []
        for c in sorted(chosen, key=lambda c: (number[c.hit.rank], c.position)):
            n = number[c.hit.rank]
            cit = citations.setdefault(n, Citation(n=n, chunk=c.hit.chunk))
            cit.sentences.append(c.sentence)
            parts.append(f"{c.sentence} [{n}]")
        return Answer(question=question, text=" ".join(parts), citations=[citations[n] for n in sorted(citations)],
                      hits=hits, found=True, query=query)
