"""The assistant on a real index: catalogue questions from the metadata, intent cues as visible filters,
explicit filters first, and a retry without the cues when they leave nothing relevant."""
from __future__ import annotations

import json

import pytest

from rag.answer import ExtractiveAnswerer
from rag.assistant import Assistant
from rag.errors import QueryError
from rag.retrieve import Filters, Retriever

from .conftest import run_cli


@pytest.fixture(scope="module")
def assistant(tiny_index):
    return Assistant(Retriever.open(tiny_index))


def test_catalogue_question_is_answered_from_metadata(assistant):
    a = assistant.ask("Combien de thèses ?")
    assert a.mode == "catalogue" and a.found and a.hits == []
    assert a.text.startswith("Le corpus compte 1 thèse.")
    assert [c.chunk.doc_id for c in a.citations] == ["economia-solidaria-brasil"]
    assert a.applied == ["type : thèses"]
    assert a.to_json()["applied"] == ["type : thèses"] and a.to_json()["mode"] == "catalogue"


def test_ordinary_question_is_answered_from_passages_without_filters(assistant):
    a = assistant.ask("Qui détient le capital d'une SCOP ?")
    assert a.mode == "extractive" and a.found and a.applied == [] and a.warnings == []
    assert a.citations[0].chunk.doc_id == "scop-guide"
    assert {h.chunk.meta["type"] for h in a.hits} > {"publication"}    # nothing was filtered out


def test_type_cue_filters_and_is_shown(assistant):
    a = assistant.ask("Je cherche une vidéo sur les ateliers de fabrication numérique")
    assert a.applied == ["filtré : vidéos"] and a.found
    assert {h.chunk.meta["type"] for h in a.hits} == {"video"}
    assert [c.chunk.doc_id for c in a.citations] == ["tiers-lieux-video"]
    assert a.question == "Je cherche une vidéo sur les ateliers de fabrication numérique"
    assert "vidéo" not in a.query and "fabrication numérique" in a.query      # cue words left out of the search
    # the same question with the cues lifted searches everything, as asked
    b = assistant.ask("Je cherche une vidéo sur les ateliers de fabrication numérique", use_intent=False)
    assert b.applied == [] and b.query == b.question
    assert len({h.chunk.meta["type"] for h in b.hits}) > 1


def test_explicit_filters_win_over_cues(assistant):
    a = assistant.ask("Je cherche une vidéo sur la monnaie complémentaire de Toulouse",
                      filters=Filters(types=("etude_de_cas",)))
    assert a.applied == []
    assert {h.chunk.meta["type"] for h in a.hits} == {"etude_de_cas"}
    assert a.citations[0].chunk.doc_id == "sol-violette"


def test_cue_that_leaves_nothing_relevant_is_dropped_with_a_warning(assistant):
    a = assistant.ask("une vidéo sur le capital des salariés dans une SCOP")
    assert a.found and a.applied == []
    assert a.citations[0].chunk.doc_id == "scop-guide"
    assert any("filtré : vidéos" in w and "sans ce filtre" in w for w in a.warnings)


def test_explicit_filters_narrow_a_catalogue_question(assistant):
    a = assistant.ask("Combien de ressources ?", filters=Filters(languages=("fr",)))
    assert a.mode == "catalogue" and a.text.startswith("Le corpus compte 4 ressources")
    assert {c.chunk.meta["language"] for c in a.citations} == {"fr"}


def test_unknown_catalogue_subject_falls_back_to_passages(assistant):
    a = assistant.ask("Quelles vidéos parlent de la tarte tatin ?")
    assert a.mode != "catalogue" and not a.found
    assert a.warnings and "métadonnées" in a.warnings[0]


def test_empty_question_is_refused(assistant):
    with pytest.raises(QueryError):
        assistant.ask("   ")


def test_plan_exposes_what_will_be_done(assistant):
    p = assistant.plan("des ressources en portugais sur l'économie solidaire")
    assert p.catalog is None and p.applied == ["langue : portugais"] and p.filters.languages == ("pt",)
    assert p.search_question != p.question
    assert assistant.plan("Combien de vidéos ?").catalog is not None
    # a generative answerer gets the user's own words, only the filters change
    other = Assistant(assistant.retriever, answerer=_Recorder(assistant.retriever))
    other.ask("des ressources en portugais sur l'économie solidaire")
    assert other.answerer.seen == [("des ressources en portugais sur l'économie solidaire", ("pt",))]


class _Recorder:
    """Another answerer (it stands for the generative one): records what it is asked, answers extractively."""

    def __init__(self, retriever):
        self.inner = ExtractiveAnswerer(retriever)
        self.seen = []

    def answer(self, question, history=None, filters=None):
        self.seen.append((question, filters.languages if filters else ()))
        return self.inner.answer(question, history, filters)


def test_cli_ask_routes_through_the_assistant(tiny_index):
    r = run_cli("rag", "ask", "--index", str(tiny_index.index_dir), "--json", "Combien d'études de cas ?")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["mode"] == "catalogue" and out["applied"] == ["type : études de cas"]
    assert [c["doc_id"] for c in out["citations"]] == ["sol-violette"]
    r = run_cli("rag", "ask", "--index", str(tiny_index.index_dir), "Je cherche une vidéo sur les ateliers de "
                "fabrication numérique")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("(filtré : vidéos)")
    r = run_cli("rag", "ask", "--index", str(tiny_index.index_dir), "--json", "--no-intent",
                "Je cherche une vidéo sur les ateliers de fabrication numérique")
    out = json.loads(r.stdout)
    assert out["applied"] == [] and len({h["type"] for h in out["hits"]}) > 1
