"""The assistant: the one owner of a turn. It understands the question, plans, answers and streams.

1. Understanding (rag/understand.py): one step turns the question into a route and slots.
2. Conversation (rag/conversation.py): a follow-up is completed from the previous turn's standalone subject
   (« Et au Québec ? » after « Qu'est-ce qu'un PTCE ? » → PTCE + Québec), and the answer says so.
3. Plan: a catalogue route becomes a `CatalogQuery` answered exactly from the index's metadata
   (rag/catalog.py), without retrieval; any other route goes to the answerer with the slots that qualify
   resources (type, language, period) as filters, a `hint` (route, subject, the two things compared), and
   the standalone question (history=None: the follow-up is already completed). Filters given explicitly by
   the caller win over the slots. What the assistant applied on its own is listed in `Answer.applied`, so the
   user sees it and can ask again without it (`use_intent=False`).
4. Under the cue filters, the extractive answerer searches the question without its cue words
   (« une vidéo sur la crise » → « sur la crise »): measured by bench/intent_eval.py on 70 questions with cues,
   hit@5 0.971 → 0.986 and MRR@5 0.937 → 0.964 against the filtered raw question; without the filters the same
   cleaning hurts (hit@5 0.929 → 0.843), so it is never applied alone. A generative answerer gets the
   user's own words.
5. A cue narrows a search, it must never empty it: when the cue filters leave nothing relevant the question is
   answered again without them and `Answer.warnings` says so. With a language model this is decided by the
   relevance gate before the model is called, so the model is called once.

`ask()` and `stream()` share all of this: `ask()` is `stream()` drained. The app only renders.
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import re
from dataclasses import dataclass, field
from typing import Iterator

from .answer import Answerer, ExtractiveAnswerer
from .catalog import CatalogQuery, _has_phrase, _place_aliases, answer_catalog
from .conversation import Conversation, Turn, complete
from .errors import QueryError
from .intent import RECENT_YEARS, detect_intent, period_label, this_year
from .question import comparison_sides
from .retrieve import Filters, Retriever
from .router import CATALOG_ROUTES, Router
from .text import analyze, detect_language, fold, words
from .types import Answer
from .understand import Slots, Understanding, Vocabulary, understand
from .vocab import LANG_NAMES_FR, type_label

log = logging.getLogger(__name__)

# Cross-language cognates share their first letters (« cooperativa » / « coopératives », « solidaria » / « solidaire »).
COGNATE = 5

# What `Assistant.warm_up` asks: a definition in French and one in English (the second needs the notes' titles).
WARM_UP = ("Qu'est-ce que l'innovation sociale ?", "What is a cooperative?")


@dataclass
class Plan:
    """What the assistant will do with a question, before doing it."""
    question: str                            # as asked
    route: str = "passage"
    slots: Slots = field(default_factory=Slots)
    standalone: str = ""                     # the question completed from the conversation (follow-ups)
    followup: bool = False
    rule: str | None = None                  # the hand rule that chose the route, if any
    catalog: CatalogQuery | None = None      # set: answered from the metadata
    search_question: str = ""                # what the answerer is given (cue words removed for extraction)
    filters: Filters | None = None           # explicit filters merged with the slots'
    applied: list[str] = field(default_factory=list)  # labels of what the slots added
    explicit: Filters | None = None
    place_docs: tuple[str, ...] = ()         # follow-up on a place: the resources that mention it
    hint: dict | None = None                 # for the answerer (route, subject, compare)
    lang: str = ""                           # the language of the subject searched
    subject_doc: str | None = None           # follow-up: the document the previous answer opened on

    def notes(self) -> list[str]:
        if self.followup:
            return [f"Question comprise comme : « {self.standalone} » (suite de la question précédente)."]
        return []


class Assistant:
    def __init__(self, retriever: Retriever, answerer: Answerer | None = None):
        self.retriever = retriever
        self.answerer = answerer or ExtractiveAnswerer(retriever)
        self.router = Router(retriever.embedder)
        self.documents = retriever.index.documents()
        self.vocab = Vocabulary(self.documents)

    def warm_up(self) -> None:
        """Pay a first question's one-time costs (language identifier, the index's name and word tables, the
        concept notes' title vectors, pages of the memory-mapped index) before a participant does: a French and
        an English question are understood and answered extractively, then forgotten (a language model is never
        called)."""
        extractive = self.answerer if isinstance(self.answerer, ExtractiveAnswerer) \
            else getattr(self.answerer, "fallback", None)
        names = getattr(getattr(extractive, "composer", None), "names", None)
        if names is not None:
            names.title_vectors(self.retriever.embedder)
        for q in WARM_UP:
            plan = self.plan(q)
            if isinstance(extractive, ExtractiveAnswerer):
                extractive.answer(plan.search_question, hint=plan.hint)

    # -- understanding and planning -----------------------------------------------------------------
    def understand(self, question: str) -> Understanding:
        return understand(question, self.retriever.embedder, self.router, self.vocab)

    def plan(self, question: str, filters: Filters | None = None, use_intent: bool = True,
             use_catalog: bool = True, conversation: Conversation | None = None) -> Plan:
        question = " ".join((question or "").split())
        if not question:
            raise QueryError("La question est vide : tapez quelques mots.")
        question = question[: self.retriever.settings.max_question_chars]
        u = self.understand(question)
        route, slots, standalone, followup = u.route, u.slots, question, False
        last = conversation.last if conversation is not None else None
        done, merged = complete(question, u, last)
        if merged is not None:
            followup, standalone, slots = True, done, merged
            if not u.rule:
                # the follow-up asks the same kind of thing about something else; a definition or comparison
                # followed by « et au Québec ? » asks for passages on that subject there
                # — unless it names a second thing to set against the first (« Et la différence avec une Scop ? »)
                route = last.route if last.route in CATALOG_ROUTES or last.route == "resource_request" \
                    else "comparison" if comparison_sides(standalone) else "passage"
        explicit = filters or Filters()
        # a follow-up's subject comes from the previous turn, and so does its language: « Et au Québec ? » after
        # "How does a local currency work?" searches « local currency au Québec », which reads as French
        lang = (last.lang if followup and last.lang else "") or detect_language(standalone)
        plan = Plan(question, route=route, slots=slots, standalone=standalone, followup=followup, rule=u.rule,
                    explicit=explicit, lang=lang)
        if route in CATALOG_ROUTES and use_catalog:
            cu = dataclasses.replace(u, route=route, slots=slots, question=question)
            plan.catalog = self._with_explicit(CatalogQuery.from_understanding(cu), explicit)
            return plan
        if route in CATALOG_ROUTES:
            plan.route = route = "resource_request" if slots.types else "passage"
        plan.hint = self._hint(route, slots)
        if followup:
            plan.hint["lang"] = lang
            plan.subject_doc = last.cited[0] if last.cited else None
        if followup and slots.places and use_intent:
            plan.place_docs = self._docs_about(slots.places)
        applied, f = self._slot_filters(slots, explicit) if use_intent else ([], explicit)
        plan.applied, plan.filters = applied, (f or None)
        plan.search_question = standalone
        if applied and isinstance(self.answerer, ExtractiveAnswerer) and not followup:
            plan.search_question = detect_intent(standalone).cleaned_query or standalone
        return plan

    @staticmethod
    def _slot_filters(s: Slots, explicit: Filters) -> tuple[list[str], Filters]:
        applied = []
        types, langs = explicit.types, explicit.languages
        ymin, ymax = explicit.year_min, explicit.year_max
        if s.types and not explicit.types:
            types = tuple(s.types)
            applied.append("filtré : " + ", ".join(type_label(t) for t in s.types))
        if s.languages and not explicit.languages:
            langs = tuple(s.languages)
            applied.append("langue : " + ", ".join(LANG_NAMES_FR.get(lg, lg) for lg in s.languages))
        if not (explicit.year_min or explicit.year_max):
            lo, hi = s.year_min, s.year_max
            if s.recent and not (lo or hi):
                lo = this_year() - RECENT_YEARS
            if lo or hi:
                ymin, ymax = lo, hi
                applied.append("période : " + period_label(lo, hi, s.recent))
        return applied, Filters(types=types, languages=langs, year_min=ymin, year_max=ymax,
                                doc_ids=explicit.doc_ids)

    @staticmethod
    def _hint(route: str, s: Slots) -> dict:
        hint = {"route": route}
        if s.topic:
            hint["subject"] = s.topic
        if route == "comparison" and len(s.compare) == 2:
            hint["compare"] = list(s.compare)
        if route == "definition" and s.authors:
            hint["authors"] = list(s.authors)     # « Qui est X ? »: X's own resources to read next
        if s.places:
            hint["places"] = list(s.places)       # « … au Sénégal »: the answer opens where the place is
        return hint

    def _names_subject(self, ans: Answer, plan: Plan) -> bool:
        """Whether the passage a follow-up's answer opens with names its subject: the subject's words in the
        passage's language (`_holds_topic`); or, for a subject worded in another language than the passage
        (« local currency », « la cooperativa », and a French fiche on the place), its words as cognates
        (« cooperativa » / « coopératives ») or most words of the title of the document the previous answer opened
        on (« Monnaies locales complémentaires »), the subject's wording in the corpus."""
        if _holds_topic(ans, plan.slots.topic):
            return True
        if not ans.citations:
            return False
        chunk = ans.citations[0].chunk
        lg = chunk.meta.get("language")
        if not plan.lang or plan.lang == lg:
            return False    # same language: the subject's own words have decided
        text = f"{chunk.meta.get('title') or ''} {chunk.text}"
        stems = {w[:COGNATE] for w in words(fold(text).lower()) if len(w) >= COGNATE}
        asked = [w for w in words(fold(plan.slots.topic or "").lower()) if len(w) >= COGNATE]
        if asked and all(w[:COGNATE] in stems for w in asked):
            return True
        title = (self.documents.get(plan.subject_doc) or {}).get("title") or "" if plan.subject_doc else ""
        want = set(analyze(re.sub(r"\(.*?\)", " ", title), lg))
        have = set(analyze(text, lg))
        return bool(want) and len(want & have) * 2 >= len(want) + 1

    def _docs_about(self, places) -> tuple[str, ...]:
        aliases = [a for p in places for a in _place_aliases(p)]
        out = set()
        for c in self.retriever.index.chunks:
            if c.doc_id in out:
                continue
            m = c.meta
            values = [*(m.get("countries") or []), *(m.get("topics") or []), m.get("title") or "", c.text]
            if any(_has_phrase(v, aliases) for v in values):
                out.add(c.doc_id)
        return tuple(sorted(out))

    # -- answering -----------------------------------------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None, filters: Filters | None = None,
            use_intent: bool = True, use_catalog: bool = True,
            conversation: Conversation | None = None) -> Answer:
        ans = None
        for item in self.stream(question, history, filters, use_intent, use_catalog, conversation):
            if isinstance(item, Answer):
                ans = item
        return ans

    def stream(self, question: str, history: list[str] | None = None, filters: Filters | None = None,
               use_intent: bool = True, use_catalog: bool = True,
               conversation: Conversation | None = None) -> Iterator[str | Answer]:
        """Yield the text as a language model writes it (nothing for the extractive or catalogue answers),
        then the final `Answer`. `history` (earlier questions, oldest first) is replayed into a conversation
        when no `conversation` is given; the turn is recorded in `conversation`."""
        if conversation is None:
            conversation = self.replay(history)
        plan = self.plan(question, filters, use_intent, use_catalog, conversation)
        ans = None
        for item in self._execute(plan, filters, use_intent):
            if isinstance(item, Answer):
                ans = item
            else:
                yield item
        ans.question = plan.question
        ans.query = ans.query or plan.standalone
        if plan.followup:
            ans.query = plan.standalone
        ans.warnings[:0] = plan.notes()
        conversation.add(Turn(plan.question, plan.standalone, plan.route, plan.slots,
                              [c.chunk.doc_id for c in ans.citations], plan.followup, plan.lang))
        yield ans

    def replay(self, history: list[str] | None) -> Conversation:
        """A conversation rebuilt from earlier questions (understood again, not answered)."""
        conv = Conversation()
        for q in Conversation.check_history(history)[-conv.max_turns:]:
            try:
                p = self.plan(q, conversation=conv)
            except QueryError:
                continue
            conv.add(Turn(p.question, p.standalone, p.route, p.slots, [], p.followup, p.lang))
        return conv

    def _execute(self, plan: Plan, filters: Filters | None, use_intent: bool) -> Iterator[str | Answer]:
        if plan.catalog is not None:
            ans = answer_catalog(plan.catalog, self.retriever.index)
            if not ans.found and plan.catalog.authors and plan.catalog.types and plan.catalog.action == "list":
                # « Quels articles Laville a-t-il écrits ? » when he signed none: his resources of other types
                other = answer_catalog(dataclasses.replace(plan.catalog, types=()), self.retriever.index)
                if other.found:
                    kinds = " ou ".join(type_label(t, 1) for t in plan.catalog.types)
                    other.warnings.insert(0, f"Aucune ressource de type « {kinds} » signée "
                                             f"{' et '.join(plan.catalog.authors)} : voici ses autres ressources.")
                    yield other
                    return
            # a free subject the metadata and the texts do not know is better served by passage retrieval
            if ans.found or not (plan.catalog.topics or plan.catalog.places or plan.catalog.authors):
                yield ans
                return
            log.info("catalogue : rien pour %s, recherche dans les passages", plan.catalog.labels())
            retry = dataclasses.replace(plan, catalog=None)
            retry = self._replan_as_passages(retry, filters, use_intent)
            warning = ("Aucune ressource n'a ce sujet dans ses métadonnées ni dans son texte : "
                       "voici les passages les plus proches.")
            for item in self._execute(retry, filters, use_intent):
                if isinstance(item, Answer):
                    item.warnings.insert(0, warning)
                yield item
            return
        if plan.place_docs:
            # « Et au Québec ? »: the passages of the resources about that place first, when any is relevant
            narrowed = dataclasses.replace(plan.filters or Filters(), doc_ids=plan.place_docs)
            first = yield from self._stream_answer(plan.search_question, narrowed, plan.hint, stop_if_not_found=True)
            if first is not None and first.found and first.mode != "llm" and not self._names_subject(first, plan):
                # « Et au Québec ? » after « Qu'est-ce qu'un PTCE ? »: a passage on Québec that never names the
                # PTCE (the CRISES) does not answer; the subject in general does, with a warning
                log.info("lieu : aucun passage cité ne nomme « %s »", plan.slots.topic)
                first = dataclasses.replace(first, found=False)
                unnamed = True
            else:
                unnamed = False
            if first is not None and first.found:
                first.applied = list(plan.applied) + ["lieu : " + " ou ".join(plan.slots.places)]
                yield first
                return
            if first is not None and first.mode == "llm":
                yield first   # the model has already written: it is not asked twice
                return
            # the subject in general: the place no longer steers the answer's opening
            plan = dataclasses.replace(plan, place_docs=(), hint={k: v for k, v in (plan.hint or {}).items()
                                                                   if k != "places"})
            after = yield from self._collect(self._execute(plan, filters, use_intent))
            places = " ou ".join(plan.slots.places)
            if not after.found:
                # no general answer either: the warning must not promise one
                after.warnings.append(f"Rien de pertinent dans les ressources sur {places}, ni sur le sujet en général.")
            elif unnamed:
                after.warnings.append(f"Les ressources sur {places} ne parlent pas de « {plan.slots.topic} » : "
                                      "réponse sur le sujet en général.")
            else:
                after.warnings.append(f"Aucun passage pertinent ne parle de {places} : réponse sur le sujet en général.")
            yield after
            return
        if not plan.applied:
            yield from self._stream_answer(plan.search_question, plan.filters, plan.hint)
            return
        log.info("intention : %s", "; ".join(plan.applied))
        ans = yield from self._stream_answer(plan.search_question, plan.filters, plan.hint, stop_if_not_found=True)
        if ans is not None and ans.found:
            ans.applied = list(plan.applied)
            yield ans
            return
        if ans is not None and ans.mode == "llm":
            yield ans   # the model has already written (and been checked): it is not asked twice
            return
        plain = yield from self._collect(self._stream_answer(plan.standalone, plan.explicit or None, plan.hint))
        plain.warnings.append(f"Rien de pertinent avec « {' ; '.join(plan.applied)} » : réponse sans ce filtre.")
        yield plain

    def _replan_as_passages(self, plan: Plan, filters, use_intent) -> Plan:
        route = "resource_request" if plan.slots.types else "passage"
        applied, f = self._slot_filters(plan.slots, plan.explicit or Filters()) if use_intent \
            else ([], plan.explicit or Filters())
        search = plan.standalone
        if applied and isinstance(self.answerer, ExtractiveAnswerer):
            search = detect_intent(plan.standalone).cleaned_query or plan.standalone
        return dataclasses.replace(plan, route=route, applied=applied, filters=f or None, search_question=search,
                                   hint=self._hint(route, plan.slots))

    @staticmethod
    def _collect(gen) -> Iterator[str]:
        """Pass text pieces through and return the final Answer (use with `yield from`)."""
        final = None
        for item in gen:
            if isinstance(item, Answer):
                final = item
            else:
                yield item
        return final

    def _stream_answer(self, question: str, filters: Filters | None, hint: dict | None,
                       stop_if_not_found: bool = False):
        """Run the answerer (streaming when it can); text pieces are yielded, the Answer is returned when
        `stop_if_not_found` (so the caller decides), else yielded."""
        kwargs = {"hint": hint} if hint and _accepts_hint(self.answerer) else {}
        final = None
        if hasattr(self.answerer, "stream"):
            for item in self.answerer.stream(question, history=None, filters=filters, **kwargs):
                if isinstance(item, Answer):
                    final = item
                else:
                    yield item
        else:
            final = self.answerer.answer(question, history=None, filters=filters, **kwargs)
        if stop_if_not_found:
            return final
        yield final
        return final

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


def _accepts_hint(answerer) -> bool:
    for name in ("stream", "answer"):
        fn = getattr(answerer, name, None)
        if fn is not None:
            try:
                return "hint" in inspect.signature(fn).parameters
            except (TypeError, ValueError):
                return False
    return False


def _holds_topic(ans: Answer, topic: str) -> bool:
    """Whether the passage an answer opens with, or its document's title, holds every word of `topic` (in that
    passage's language)."""
    if not topic or not ans.citations:
        return True
    chunk = ans.citations[0].chunk
    lg = chunk.meta.get("language")
    want = set(analyze(topic, lg))
    return not want or want <= set(analyze(f"{chunk.meta.get('title') or ''} {chunk.text}", lg))
