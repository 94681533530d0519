"""The relevance gate: is what retrieval found an answer to the question, or should the answer say « not
found » and offer the closest resources? It measures (`Evidence`) the best passage's similarity, the question's
proper names and rare words found in the passages, and the best sentence's similarity and lexical cover, and
decides against per-model floors (`RELEVANCE`, calibrated by bench/gate_eval.py). Used by rag/answer.py (and,
through it, to keep irrelevant passages away from a language model).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .compose import Sent
from .question import word_cover
from .text import analyze, detect_language, fold, words
from .types import Hit
from .vocab import RESOURCE_NOUN_RE, find_places

# Relevance floors per model (Evidence.relevant). On the cosine of the question and its best passage:
# above `strong` it is relevant on its own; above `weak` if it also holds `passage_cover` of the question's
# words (IDF-weighted: rare words count most) or one of its proper names. On the best sentence: relevant if it
# is above `sentence` and holds `sentence_cover` of the question's words — a factual question (« En quelle année
# … ? ») is close to the one sentence that answers it, not to the passage around it.
# e5 floors chosen on the calibration half of bench/gate_eval.py (off-topic questions and PIAF trivia asked of
# the ESS corpus must be refused, the bench's ESS questions found, PIAF questions on their own index found);
# the README gives both halves. MiniLM keeps the passage rules only (tests/test_answer.py).
# `margin`: a sentence is kept only if its similarity is within this distance of the best sentence's, so a
# weakly related passage does not slip into the answer just to fill it. `further`: the « Pour aller plus loin »
# floor before the margin and the language allowance.
RELEVANCE = {
    "multilingual-e5-small": {"strong": 0.875, "weak": 0.855, "passage_cover": 0.45, "sentence": 0.81,
                              "sentence_cover": 0.35, "margin": 0.05, "further": 0.845},
    "all-MiniLM-L6-v2": {"strong": 0.55, "weak": 0.30, "passage_cover": 0.34, "margin": 0.2},
}
DEFAULT_RELEVANCE = {"strong": 0.6, "weak": 0.3, "margin": 0.2}
CROSS_LINGUAL_SHIFT = 0.04
# How far below `weak` a passage may score when it holds every proper name of the question.
NAMED_SLACK = 0.04

# Words that ask rather than say (folded): they are no evidence of what a passage is about.
_ASKING = frozenset(fold(w) for w in (
    "a comment pourquoi quand combien quel quelle quels quelles quoi où lequel laquelle lesquels lesquelles "
    "how why what when which who whom whose where does do did "
    "cómo por qué cuándo cuánto cuántos cuántas cuál cuáles quién quiénes dónde "
    "como porque quando quanto quantos quantas qual quais quem onde").split())
# How much the lexical cover of a sentence counts beside its similarity when the gate picks its best sentence.
LEXICAL_GATE = 0.1


@dataclass
class Evidence:
    """The numbers the relevance gate decides on (bench/gate_eval.py reports them)."""
    passage_sim: float            # cosine of the question and the best retrieved passage
    shift: float                  # allowance for a question in another language than that passage
    all_names: bool = False       # every proper name of the question stands in the best passage
    shared_name: bool = False     # a proper name of the question stands in one of the three best passages
    shared_thing: bool = False    # the same, for a name that is not a place (« Cigales », not « Canadá »)
    passage_cover: float = 0.0    # IDF-weighted share of the question's words in the best-covered passage
    sentence_sim: float = 0.0     # cosine of the question and the best sentence (similarity + lexical cover)
    sentence_cover: float = 0.0   # IDF-weighted share of the question's words in that sentence

    def relevant(self, th: dict) -> bool:
        """Relevant when the best passage is close on its own (`strong`); or close enough (`weak`) and sharing
        the question's words or names; or when one sentence is both close (`sentence`) and holds most of the
        question's rare words (`sentence_cover`). All floors drop by `shift` across languages."""
        s = self.shift
        if self.passage_sim >= th["strong"] - s:
            return True
        if self.passage_sim < th["weak"] - s:
            # a question naming something (« Les Cigales, comment ça marche ? ») is short and scores low: every
            # name in the best passage, or a name in the three best with most of the question's words, anchors it
            named = self.all_names or (self.shared_thing and self.passage_cover >= th.get("passage_cover", 0.34))
            if named and self.passage_sim >= th["weak"] - s - NAMED_SLACK:
                return True
        elif self.passage_cover >= th.get("passage_cover", 0.34) or self.shared_name:
            return True
        return "sentence" in th and self.sentence_sim >= th["sentence"] - s \
            and self.sentence_cover >= th["sentence_cover"]


class RelevanceGate:
    """Measures the evidence for a question over an index's passages and sentences."""

    def __init__(self, retriever, composer):
        self.retriever = retriever
        self.composer = composer

    def evidence(self, query: str, qvec: np.ndarray, hits: list[Hit], cands: list[Sent] | None = None,
                 th: dict | None = None, lang: str | None = None) -> Evidence:
        """What the gate decides on: the best passage's similarity, the question's proper names found there,
        the words of the question the passages hold, and the best sentence's similarity and lexical cover (see
        `Evidence.relevant`). Given the floors `th`, it stops measuring as soon as they are met. `lang`: the
        question's language when the caller knows it better than its text tells (a follow-up completed from an
        English subject, « local currency au Québec », reads as French)."""
        idx = self.retriever.index
        rows = self.composer.row_of
        sims = [float(idx.vectors[rows[h.chunk.chunk_id]] @ qvec) for h in hits]
        best = max(sims)
        best_hit = hits[sims.index(best)]
        # A question in another language than the passage scores lower for the same relevance (measured:
        # about 0.03-0.05 with e5 between English questions and French fiches).
        lang = lang or detect_language(query)
        shift = CROSS_LINGUAL_SHIFT if lang != "fr" or lang != best_hit.chunk.meta.get("language") else 0.0
        ev = Evidence(passage_sim=best, shift=shift)
        if th is not None and ev.relevant(th):
            return ev
        names = {fold(w).lower() for w in re.findall(r"(?<!^)(?<![.?!] )\b[A-ZÀ-Ý][\w-]{3,}", query)}
        # places anchor nothing on their own: the corpus names many countries (« Quelle est la capitale de
        # l'Australie ? » finds a passage listing Australia)
        places = {w for w in names if find_places(w)}
        if names - places:
            # a question about a person or an organisation (« Qui est Maria Nowak ? ») is short and scores low;
            # every name it asks about standing in the best passage's title or text anchors it
            passage = fold(f"{best_hit.chunk.meta.get('title', '')} {best_hit.chunk.text}").lower()
            ev.all_names = all(re.search(rf"\b{re.escape(n)}\b", passage) for n in names)
        qwords = self.question_words(query, lang)
        if th is None or best >= th["weak"] - shift - (NAMED_SLACK if names else 0.0):
            for h in hits[:3]:
                passage = f"{h.chunk.meta.get('title', '')} {h.chunk.text}"
                ev.passage_cover = max(ev.passage_cover,
                                       word_cover(qwords, set(analyze(passage, h.chunk.meta.get("language")))))
                # a shared proper noun (a place, an organisation) anchors a question asked in another language
                shared = names & set(words(fold(passage))) if names else set()
                ev.shared_name = ev.shared_name or bool(shared)
                ev.shared_thing = ev.shared_thing or bool(shared - places)
        if th is not None and (ev.relevant(th) or "sentence" not in th):
            return ev
        if cands is None:
            # the passages retrieval returned only (a note the question names is not evidence that a filtered
            # search found anything)
            cands = self.composer.candidates(hits, qvec, query, query, within={h.chunk.doc_id for h in hits})
        # the sentence with the best similarity plus lexical cover, among those holding two of the question's
        # words (one for a one-word question)
        need = min(2, len(qwords))
        for c in cands:
            if not c.eligible:
                continue
            terms = set(analyze(c.text, c.chunk.meta.get("language")))
            if sum(1 for forms, _ in qwords if forms & terms) < need:
                continue
            cov = word_cover(qwords, terms)
            if c.sim + LEXICAL_GATE * cov > ev.sentence_sim + LEXICAL_GATE * ev.sentence_cover:
                ev.sentence_sim, ev.sentence_cover = c.sim, cov
        return ev

    def question_words(self, query: str, lang: str) -> list[tuple[set[str], float]]:
        """The question's content words, each as its analysed forms in every index language and its weight:
        the IDF of its most common form, so that a word no passage holds (« tatin », « Böhme ») weighs most
        and a question whose rare words the corpus never uses has little cover."""
        out = []
        # an acronym or a capitalised name (« ¿Qué es un SEL? ») is kept however short its stem
        tokens = re.findall(r"[\w-]+", query) if lang != "fr" else []
        named = {t.lower() for i, t in enumerate(tokens) if t[:1].isupper() and (i > 0 or t.isupper())}
        for w in dict.fromkeys(words(query)):
            # nor do the words naming a kind of resource (« une vidéo sur… »): they match sentences describing
            # videos, not the subject asked about
            if fold(w) in _ASKING or RESOURCE_NOUN_RE.fullmatch(fold(w).lower()):
                continue
            own = analyze(w, lang)
            if not own:  # a stop word of the question's language
                continue
            if lang != "fr" and min(len(f) for f in own) < 4 and w not in named:
                # a short stem of a question in another language than the fiches meets unrelated French words
                # (« ¿Qué hora es? »: « hora » and « hors » both stem to « hor »)
                continue
            forms = set(own)
            for lg in self.retriever.languages:
                forms |= set(analyze(w, lg))
            out.append((forms, min(self.composer.names.idf(f) for f in forms)))
        return out
