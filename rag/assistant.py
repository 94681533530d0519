"""The assistant: one entry point that decides what kind of question it is given, then answers it.

- A question about the corpus as a whole (« Combien de thèses ? ») is answered exactly from the index's
  metadata by rag/catalog.py, without retrieval.
- Any other question goes to the answerer (by default the extractive one), after its intent cues
  (« une vidéo sur… », « en anglais », « depuis 2015 ») have been turned into filters by rag/intent.py.
  Filters given explicitly by the caller win over the cues. What the assistant applied on its own is listed
  in `Answer.applied`, so that the user sees it and can ask again without it (`use_intent=False`).
- Under the cue filters, the extractive answerer searches the question without its cue words
  (« une vidéo sur la crise » → « sur la crise »): measured by bench/intent_eval.py on 70 questions with cues,
  hit@5 0.971 → 0.986 and MRR@5 0.937 → 0.964 against the filtered raw question; without the filters the same
  cleaning hurts (hit@5 0.929 → 0.843), so it is never applied alone. A generative answerer gets the user's own words.
- When the cue filters leave nothing relevant, the question is asked again as it was, without them, and
  `Answer.warnings` says so: a cue narrows a search, it must never empty it.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from .answer import Answerer, ExtractiveAnswerer
from .catalog import CatalogQuery, answer_catalog, detect_catalog_query
from .errors import QueryError
from .intent import Intent, detect_intent
from .retrieve import Filters, Retriever
from .types import Answer

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """What the assistant will do with a question, before doing it (the app uses it to stream answers)."""
    question: str                            # as asked
    catalog: CatalogQuery | None = None      # set: answered from the metadata
    search_question: str = ""                # what the answerer is given (cue words removed for extraction)
    filters: Filters | None = None           # explicit filters merged with the intent's
    applied: list[str] = field(default_factory=list)  # labels of what the intent added
    explicit: Filters | None = None


class Assistant:
    def __init__(self, retriever: Retriever, answerer: Answerer | None = None):
        self.retriever = retriever
        self.answerer = answerer or ExtractiveAnswerer(retriever)

    def plan(self, question: str, filters: Filters | None = None, use_intent: bool = True,
             use_catalog: bool = True) -> Plan:
        question = (question or "").strip()
        if not question:
            raise QueryError("La question est vide : tapez quelques mots.")
        explicit = filters or Filters()
        cq = detect_catalog_query(question) if use_catalog else None
        if cq is not None:
            return Plan(question, catalog=self._with_explicit(cq, explicit), explicit=explicit)
        intent: Intent | None = detect_intent(question) if use_intent else None
        applied = intent.labels_for(explicit) if intent else []
        if not applied:
            return Plan(question, search_question=question, filters=explicit or None, explicit=explicit)
        search = intent.cleaned_query if isinstance(self.answerer, ExtractiveAnswerer) else question
        return Plan(question, search_question=search, filters=intent.filters(explicit), applied=applied,
                    explicit=explicit)

    def ask(self, question: str, history: list[str] | None = None, filters: Filters | None = None,
            use_intent: bool = True, use_catalog: bool = True) -> Answer:
        plan = self.plan(question, filters, use_intent, use_catalog)
        if plan.catalog is not None:
            ans = answer_catalog(plan.catalog, self.retriever.index)
            # a free subject the metadata and the texts do not know is better served by passage retrieval
            if ans.found or not plan.catalog.topics:
                return ans
            log.info("catalogue : rien pour %s, recherche dans les passages", plan.catalog.topics)
            retry = self.plan(plan.question, filters, use_intent, use_catalog=False)
            ans = self._answer(retry, history)
            ans.warnings.insert(0, "Aucune ressource n'a ce sujet dans ses métadonnées ni dans son texte : "
                                   "voici les passages les plus proches.")
            return ans
        return self._answer(plan, history)

    # ---------------------------------------------------------------------------------------------
    def _answer(self, plan: Plan, history: list[str] | None) -> Answer:
        if not plan.applied:
            return self.answerer.answer(plan.question, history=history, filters=plan.filters)
        log.info("intention : %s", "; ".join(plan.applied))
        ans = self.answerer.answer(plan.search_question, history=history, filters=plan.filters)
        ans.question = plan.question
        if ans.found:
            ans.applied = list(plan.applied)
            return ans
        plain = self.answerer.answer(plan.question, history=history, filters=plan.explicit or None)
        plain.warnings.append(f"Rien de pertinent avec « {' ; '.join(plan.applied)} » : réponse sans ce filtre.")
        return plain

    @staticmethod
    def _with_explicit(cq: CatalogQuery, f: Filters) -> CatalogQuery:
        """The caller's explicit filters also narrow a catalogue question, where it sets nothing itself."""
        changes = {}
        if f.types and not cq.types:
            changes["types"] = tuple(f.types)
        if f.languages and not cq.languages:
            changes["languages"] = tuple(f.languages)
        if (f.year_min or f.year_max) and not (cq.year_min or cq.year_max):
            changes["year_min"], changes["year_max"] = f.year_min, f.year_max
        return dataclasses.replace(cq, **changes) if changes else cq
