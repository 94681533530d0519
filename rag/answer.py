"""Grounded answers: the question's best passages, then a span that answers it, each sentence cited [n].

The default `ExtractiveAnswerer` needs no language model: every sentence of its answer stands verbatim in the
passage it cites. It composes from spans (rag/compose.py) using the sentence vectors stored in the index, so
an answer costs one query encoding plus arithmetic. When the best passages are not relevant enough (the gate,
rag/gate.py) it says so and offers the closest resources instead of citing noise. After the answer, « Pour
aller plus loin » lists a few relevant resources it did not cite, grouped by type. Follow-up questions ("Et au
Brésil ?") are completed from the previous turn.
"""
from __future__ import annotations

import logging
import re
from typing import Protocol

import numpy as np

from .compose import ANSWER_WORDS, FILL_UNDER, Composer, Sent
from .further import FurtherReading
from .gate import CROSS_LINGUAL_SHIFT, DEFAULT_RELEVANCE, RELEVANCE, Evidence, RelevanceGate  # noqa: F401
from .question import (_CRITIQUE_Q, SEEN_BY, asks_about, asks_results, clean_side, comparison_sides, critique_subject,
                       definition_subject, does_subject, how_subject, person_subject, subject_forms)
from .parts import part_answer, second_part
from .profile import profile, stays_on
from .retrieve import Filters, Retriever
from .text import analyze_query, detect_language, fold
from .types import Answer, Citation, Hit

log = logging.getLogger(__name__)

# A definition question in another language names a concept note when its similarity to the note's title (both
# encoded as queries) reaches TITLE_MATCH and beats the next title by TITLE_MARGIN (e5; chosen on 16 hand
# questions: 10 definitions in EN/ES/PT at 0.85–0.93, everyday questions at 0.76–0.80 — see tests/test_compose.py).
TITLE_MATCH = 0.84
TITLE_MARGIN = 0.01
TITLE_SURE = 0.90      # this close, the note counts even when retrieval did not return it
# The definition's subject alone, encoded as a query, against the same titles (bare phrases score ~0.04 higher;
# chosen on 21 subjects: notes' subjects in EN/ES at 0.856–0.967, 0.03 ahead; « a bank », "Bitcoin" within 0.02)
SUBJECT_MATCH = 0.85
SUBJECT_MARGIN = 0.03
NAMED_HITS = 5         # a resource named by a rare word counts when retrieval ranks it this high
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


ANNOUNCE_WORDS = 10    # a sentence this short, with words that point ahead, announces rather than says
PART_SLACK = 20        # what an answer to a question's second part may add past the answer's usual length
ANNOUNCE_SLACK = 30    # what an announcement's follow-up may add past the answer's usual length
_ANNOUNCES = re.compile(r"\b(?:ensuite|suivante?s?|deux|trois|quatre|cinq|plusieurs|quelques|certaine?s|ce qui)\b|:\s*$",
                        re.I)


class Answerer(Protocol):
    def answer(self, question: str, history: list[str] | None = None, filters: Filters | None = None, *,
               hint: dict | None = None) -> Answer: ...


# « Pour aller plus loin »: how many resources, and how far below the best passage's similarity they may be.
FURTHER_SEARCH = 12


class ExtractiveAnswerer(FurtherReading):
    def __init__(self, retriever: Retriever):
        self.retriever = retriever
        self.settings = retriever.settings
        self.relevance = RELEVANCE.get(retriever.index.model_id, DEFAULT_RELEVANCE)
        self.composer = Composer(retriever.index, self.relevance)
        self.gate = RelevanceGate(retriever, self.composer)

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
        within = {h.chunk.doc_id for h in hits} if filters else None
        route = hint.get("route")
        if route == "passage" and does_subject(question):
            route = "definition"     # « Que fait l'Institut Godin ? »: what it is and does, from what defines it
        person = person_subject(question)        # « Qui est X ? », « X, c'est qui ? » → X
        defined = definition_subject(question) or person   # « Qu'est-ce que X ? » → X; None for other questions
        # a person is not a notion: no note is titled after them (« Quem é Maria Nowak…? » is not the note on
        # microcredit)
        titled = None if person else self._titled_note(
            question, defined if route in (None, "definition") else None, hits, found_hits, qvec, within)
        if not (titled or person) and route in (None, "passage") and (how := how_subject(question)):
            # « ¿Cómo funciona una moneda local? »: the note on the subject, named in another language, says how
            # it is organised from its opening (as « Comment fonctionne une Scop ? » gets the Scop note's)
            titled = self._titled_note(question, how, hits, found_hits, qvec, within)
            # …but not for a name the note's title does not carry ("How does the Eusko local currency work?")
            title = fold((self.composer.names.documents.get(titled) or {}).get("title", "")).lower() if titled else ""
            if titled and any(fold(n).lower() not in title for n in re.findall(r"\b[A-ZÀ-Ý][\w'-]+", how)):
                titled = None
        # « ¿Qué críticas se le hacen al comercio justo? »: the note on the subject criticised, named in another
        # language — read whole, its debate section first
        debated = None if titled else self._titled_note(question, critique_subject(question), hits, found_hits,
                                                        qvec, within, critique=True)
        cands = self.composer.candidates(hits, qvec, query, question, within=within,
                                         focus=[debated] if debated else None) if hits else []
        named, named_surely = self._named_resource(question, found_hits, within)
        if not hits or not (titled or debated or named_surely
                            or self._relevant(query, qvec, hits, cands, hint.get("lang"))
                            or self._relevant_in_parts(question, hits)):
            return Answer(question=question, text=NOT_FOUND, citations=[], hits=hits, found=False, query=query)
        # The sides as the question words them when it can (the plan's slots keep the frame's words: « Scop et
        # SCIC, je les confonds » → "SCIC confonds toujours"), else the plan's. A comparison seen by a resource
        # the question names (« …, selon Dacheux et Goujon ») is answered from that resource's passages.
        seen_by = bool(named and SEEN_BY.search(question))
        sides = comparison_sides(question) if route in (None, "comparison") and not seen_by else None
        if route == "comparison" and not sides and not seen_by:
            sides = hint.get("compare")
        parts: list[tuple[str | None, list[Sent]]] = []
        if sides and len(sides) == 2:
            parts = self._comparison(question, sides, qvec, cands, filters, within)
            if not parts:
                # a comparison answered from passages: the sentence that contrasts the two matters, not the
                # opening of whichever note the question names first — both notes it names are read
                cands = self.composer.candidates(hits, qvec, query, question, within=within, n_focus=2)
        if not parts:
            lead = self.composer.section_lead(question, cands, within, focus=[debated]) if debated else None
            lead = lead or self._lead(question, defined, route, hint, cands, qvec, titled, named, within,
                                      named_surely)
            if not lead:
                return Answer(question=question, text=NOT_FOUND, citations=[], hits=hits, found=False, query=query)
            if person:
                lead = stays_on(lead, person)
            parts = self._completed(question, defined, query, lead, cands, named, qvec, person, titled)
        parts = self._kept_promises(self._filled(parts, person))
        second = second_part(question)
        if second and not any(label for label, _ in parts):
            parts = self._with_second_part(second, qvec, parts, cands)
        ans = self._compose(question, query, hits, parts)
        mentions = self.composer.names.mentioning(question) if named else set()
        ans.further = self.further(found_hits, ans, qvec, authors=hint.get("authors") or (), mentions=mentions)
        return ans

    # -- the documents a question names -------------------------------------------------------------
    def _titled_note(self, question: str, subject: str | None, hits: list[Hit], found_hits: list[Hit],
                     qvec: np.ndarray, within: set[str] | None, critique: bool = False) -> str | None:
        """"What is a local currency?": a definition asked in another language than the notes, whose words cannot
        meet their titles — the note whose title the question is closest to, when it stands out and retrieval
        found it too. `subject`: the definition's subject, when the question is routed as one (`critique`: the
        subject a question on criticisms is about)."""
        forms = subject_forms(subject) if subject else []
        subject = forms[-1] if forms else None
        if not (hits and subject and len(subject.split()) <= 4 and bool(_CRITIQUE_Q.search(question)) == critique
                and detect_language(question) != "fr"):
            return None
        names, embedder = self.composer.names, self.retriever.embedder
        if len(forms) > 1:
            # « gobernanza democrática en la economía social y solidaria »: the frame around the subject pulls the
            # question towards another note's title — the subject's head alone is matched
            match = names.note_by_title(embedder.encode_queries([subject])[0], embedder, SUBJECT_MATCH, SUBJECT_MARGIN)
        else:
            match = names.note_by_title(qvec, embedder, TITLE_MATCH, TITLE_MARGIN)
        if not match and len(forms) == 1:
            # the subject alone ("fair trade") meets its title better than the question around it; titles
            # score higher against a bare phrase, so the floors are higher, and both must point at one note
            svec = embedder.encode_queries([subject])[0]
            loose = names.note_by_title(qvec, embedder, 0.0, 0.0)
            match = names.note_by_title(svec, embedder, SUBJECT_MATCH, SUBJECT_MARGIN)
            if match and (not loose or loose[0] != match[0]):
                match = None
        if not match or (within and match[0] not in within):
            return None
        if match[0] in {h.chunk.doc_id for h in found_hits} or match[1] >= TITLE_SURE:
            return match[0]
        if len(forms) == 1:
            # retrieval ranks a question in another language poorly (« ¿Qué es la economía social y
            # solidaria? » did not return the note on the ESS): the subject alone pointing at the same note
            # first confirms it
            alone = names.note_by_title(embedder.encode_queries([subject])[0], embedder, SUBJECT_MATCH, 0.0)
            if alone and alone[0] == match[0]:
                return match[0]
        return None

    def _named_resource(self, question: str, found_hits: list[Hit],
                        within: set[str] | None) -> tuple[str | None, bool]:
        """A resource the question names by a rare word that is not a place (« Tell me about Ellyx. ») and that
        retrieval found: the question is about it — and, when the name is in its title or authors (second
        value), relevant however low an English question scores on a French fiche."""
        found = self.composer.names.named_resource(question)
        if not found and found_hits:
            # authors who signed several resources together: the one retrieval ranks first, when it is one of them
            top = found_hits[0].chunk.doc_id
            if top in self.composer.names.signed_by_all(question):
                found = (top, True)
        if not found:
            return None, False
        doc, titled = found
        if within is not None and doc not in within or doc not in {h.chunk.doc_id for h in found_hits[:NAMED_HITS]}:
            return None, False
        return doc, titled

    # -- the compositions -----------------------------------------------------------------------------
    def _comparison(self, question: str, sides: list[str], qvec: np.ndarray, cands: list[Sent], filters,
                    within: set[str] | None) -> list[tuple[str | None, list[Sent]]]:
        """One short span per side, introduced by its name; opened by a sentence that sets both apart when the
        corpus has one (and the sides do not both come from the one note that tells them apart). [] when a
        side is not found."""
        sides = [clean_side(x) or x for x in sides]
        focus = self.composer.names.focus(question, within)
        both = self.composer.contrast(sides, qvec, cands)
        parts: list[tuple[str | None, list[Sent]]] = []
        for name in sides:
            span = self.composer.side(name, self.retriever, lambda t: self.retriever.embedder.encode_queries([t])[0],
                                      filters, focus=focus)
            if not span:
                return []
            taken = {x.text for _, sp in parts for x in sp}
            parts.append((name, span + self.composer.side_detail(name, span, qvec, taken)))
        docs = {x.chunk.doc_id for _, span in parts for x in span}
        one_note = len(docs) == 1 and docs <= set(focus[:1])
        if not both or one_note:   # a note that tells both apart says it better
            return parts
        kept: list[tuple[str | None, list[Sent]]] = [(None, both)]
        words_n = sum(x.n_words for x in both)
        for name, span in parts:
            # each side's own span follows while the answer stays short
            if {x.text for x in span} & {x.text for x in both}:
                continue
            if words_n + sum(x.n_words for x in span) <= ANSWER_WORDS:
                kept.append((name, span))
                words_n += sum(x.n_words for x in span)
        if len(kept) - 1 < len(parts):
            # one side alone under its name reads as if the other were missing: what is kept follows the
            # sentence that sets both apart, in one paragraph
            return [(None, [x for _, span in kept for x in span])]
        return kept

    def _lead(self, question: str, defined: str | None, route: str | None, hint: dict, cands: list[Sent],
              qvec: np.ndarray, titled: str | None, named: str | None, within: set[str] | None,
              named_surely: bool = False) -> list[Sent] | None:
        """The span the answer opens with."""
        # the subject as the question words it (« What is microcredit, and who invented it? » → "microcredit"),
        # then as the plan's topic slot, which may keep other content words
        subjects = []
        if route in (None, "definition"):
            subjects.append(defined)
        if route == "definition":
            subjects.append(hint.get("subject"))
        lead = self.composer.opening_span(titled) if titled else None
        for subject in dict.fromkeys(s for s in subjects if s and not lead):
            lead = self.composer.definition(subject, cands, qvec)
            if lead:
                break
        if not lead and named and (asks_about(question) or defined):
            # « C'était quoi, CaféLaboQUARTIERS ? »: what the resource that names it says first
            lead = self.composer.opening_span(named)
        if not lead:
            lead = self.composer.section_lead(question, cands, within)
        if not lead and route in (None, "passage") and (how := how_subject(question)):
            # « Comment fonctionne une Scop ? » about a subject with its own note and no section on how it
            # works: the note's opening says how it is organised
            noted = [d for form in subject_forms(how) for d, kind in self.composer.names.named_docs(form)
                     if kind == "title"]
            if noted and (within is None or noted[0] in within):
                lead = self.composer.opening_span(noted[0])
        if not lead and named and named_surely:
            # « Quels chiffres Vando Borghi donne-t-il… ? »: the question is about the resource its title or
            # authors name — its own best span, not a sentence of another source that shares its words
            lead = self.composer.general([c for c in cands if c.chunk.doc_id == named])
        return self.composer.with_antecedent(lead or self.composer.general(cands, hint.get("places")))

    def _completed(self, question: str, defined: str | None, query: str, lead: list[Sent], cands: list[Sent],
                   named: str | None, qvec: np.ndarray, person: str | None = None,
                   titled: str | None = None) -> list[tuple[str | None, list[Sent]]]:
        """The lead, then more of its own document when it is short (its figures, how it works) — first when the
        question names that document, else within what sentences from other sources leave of the length —
        and at most two sentences from other sources that add content."""
        own = lead[0].chunk.doc_id == named
        results = asks_results(question)
        critique = bool(_CRITIQUE_Q.search(question)) and not results
        if (defined or how_subject(question)) and not person and not (results or critique) \
                and self._opens_document(lead, titled):
            # « Le RIPESS, qu'est-ce que c'est ? » answered by a note's opening: the note read on (its next paragraph:
            # where it comes from, how it works) says more than sentences of other sources that share the question's
            # words (+9 facts on the fifteen sets, +4 on the blind ones); so for « Comment fonctionne la Banco
            # Palmas ? » (+1, three answers changed)
            lead = lead + self.composer.substance(lead, cands, named=True, in_order=True, qvec=qvec,
                                                  under=ANSWER_WORDS)
        if own or results or critique:
            # the document the question names, or the figures or criticisms it asks for, come before other sources
            bare = asks_about(question) or bool(defined)
            lead = lead + self.composer.substance(lead, cands, named=own, in_order=bare and not results,
                                                  results=results, qvec=qvec, critique=critique)
        if person:
            # who they are, as other resources say it, rather than sentences that only share the question's words
            # or what the lead's document says next of someone else
            extras = profile(self.composer, person, lead, qvec, ANSWER_WORDS - sum(x.n_words for x in lead))
            return [(None, lead)] + ([(None, extras)] if extras else [])
        extras = self.composer.extras(lead, cands, query)
        if not (own or results or critique):
            lead = lead + self.composer.substance(lead, cands, budget=ANSWER_WORDS - sum(x.n_words for x in extras))
        return [(None, lead)] + ([(None, extras)] if extras else [])

    def _opens_document(self, lead: list[Sent], titled: str | None) -> bool:
        """Whether a lead is a document's opening (the note a definition question names, or the first sentences
        of a document's first passage)."""
        first = lead[0]
        return first.chunk.doc_id == titled or (first.row == self.composer.first_row(first.chunk.doc_id)
                                                 and first.pos <= 1)

    def _filled(self, parts: list[tuple[str | None, list[Sent]]], person: str | None = None) \
            -> list[tuple[str | None, list[Sent]]]:
        """A sentence or two says too little: the answer goes on with what its lead's document says next."""
        words_n = sum(x.n_words for _, sents in parts for x in sents)
        label, lead = parts[0]
        if words_n < FILL_UNDER and len(parts) == 2 and all(lab for lab, _ in parts):
            # a comparison whose sides are short (two notes' first sentences): each side reads on in its document
            # by a sentence, while the answer stays within its length — the shorter side first
            taken = {x.text for _, sents in parts for x in sents}
            out = list(parts)
            for i in sorted(range(len(out)), key=lambda k: sum(x.n_words for x in out[k][1])):
                lab, sents = out[i]
                more = self.composer.following(sents, taken, ANSWER_WORDS - words_n, max_sents=1) if sents else []
                taken |= {x.text for x in more}
                words_n += sum(x.n_words for x in more)
                out[i] = (lab, sents + more)
            return out
        if words_n >= FILL_UNDER or label or not lead:
            return parts
        taken = {x.text for _, sents in parts for x in sents}
        more = self.composer.following(lead, taken, ANSWER_WORDS - words_n)
        if person:
            more = stays_on(lead + more, person)[len(lead):]
        return [(None, lead + more)] + parts[1:]

    def _kept_promises(self, parts: list[tuple[str | None, list[Sent]]]) -> list[tuple[str | None, list[Sent]]]:
        """A short sentence that announces what its document says next (« Gadrey élargit ensuite la
        perspective. », « On distingue deux familles. ») and closes its run in the answer is followed by that
        next sentence when it fits: quoted alone, it promises and says nothing."""
        words_n = sum(x.n_words for _, sents in parts for x in sents)
        taken = {x.text for _, sents in parts for x in sents}
        out = []
        for label, sents in parts:
            kept: list[Sent] = []
            for i, x in enumerate(sents):
                kept.append(x)
                nxt = sents[i + 1] if i + 1 < len(sents) else None
                if x.n_words > ANNOUNCE_WORDS or not _ANNOUNCES.search(x.text) or \
                        (nxt is not None and nxt.row == x.row and nxt.idx == x.idx + 1):
                    continue
                more = self.composer.following([x], taken, ANSWER_WORDS + ANNOUNCE_SLACK - words_n, max_sents=1)
                # the next sentence in its paragraph, or the first of the next passage (passages overlap)
                if more and more[0].chunk.doc_id == x.chunk.doc_id and (more[0].row != x.row or more[0].para == x.para):
                    kept.append(more[0])
                    taken.add(more[0].text)
                    words_n += more[0].n_words
            out.append((label, kept))
        return out

    def _with_second_part(self, second: str, qvec: np.ndarray, parts: list[tuple[str | None, list[Sent]]],
                          cands: list[Sent]) -> list[tuple[str | None, list[Sent]]]:
        """The answer, closed by what answers the question's second part; its last sentences make room for it
        (never the lead's first two)."""
        vec = self.retriever.embedder.encode_queries([second])[0]
        quoted = [x for _, sents in parts for x in sents]
        add = part_answer(self.composer, vec, qvec, quoted, cands)
        if not add:
            return parts
        need = sum(x.n_words for x in add)
        out = [(label, list(sents)) for label, sents in parts]
        words_n = sum(x.n_words for x in quoted)
        while words_n + need > ANSWER_WORDS + PART_SLACK:
            k = len(out) - 1
            if k == 0 and len(out[0][1]) <= 2:
                break
            words_n -= out[k][1].pop().n_words
            if not out[k][1]:
                out.pop()
        return out + [(None, add)]

    # -- relevance --------------------------------------------------------------------------------
    def _relevant(self, query: str, qvec: np.ndarray, hits: list[Hit], cands: list[Sent] | None = None,
                  lang: str | None = None) -> bool:
        return self.evidence(query, qvec, hits, cands, th=self.relevance, lang=lang).relevant(self.relevance)

    def _relevant_in_parts(self, question: str, hits: list[Hit]) -> bool:
        """« L'ESS est-elle aussi vertueuse qu'elle le prétend ? Il y a des critiques venues de l'intérieur ? »: two
        questions in one message dilute each other's words; either one, weighed alone, may hold the evidence.
        (The question as typed, not with the conversation before it: an earlier question is no evidence.)"""
        parts = [p for p in re.split(r"(?<=[?？])\s+", question.strip()) if len(p.split()) >= 3]
        if len(parts) < 2:
            return False
        vecs = self.retriever.embedder.encode_queries(parts)
        return any(self._relevant(p, v, hits) for p, v in zip(parts, vecs))

    def evidence(self, query: str, qvec: np.ndarray, hits: list[Hit], cands: list[Sent] | None = None,
                 th: dict | None = None, lang: str | None = None) -> Evidence:
        """What the relevance gate decides on (rag/gate.py)."""
        return self.gate.evidence(query, qvec, hits, cands, th, lang)

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
