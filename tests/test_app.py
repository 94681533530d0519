"""The app's handlers called directly (no server): chat, feedback, finder, export, dossier, rendering safety."""
from __future__ import annotations

import csv
import json

import pytest

from app import Conversation, InnosocApp, answer_markdown, clean_message, highlight_terms, sources_panel
from rag.errors import QueryError


@pytest.fixture(scope="module")
def app(tiny_index, tmp_path_factory):
    return InnosocApp(tiny_index, feedback_path=tmp_path_factory.mktemp("fb") / "feedback.jsonl")


def test_chat_answer_has_markers_sources_and_a_card(app):
    conv = Conversation()
    ans, notice = app.ask("Qui détient le capital d'une SCOP ?", conv)
    assert notice is None and ans.found
    md = answer_markdown(ans)
    assert "[1]" in md and "**Sources**" in md and "1. Guide des sociétés coopératives et participatives" in md
    panel = sources_panel(ans)
    assert 'data-doc-id="scop-guide"' in panel and "<mark>Dans une SCOP, les salariés détiennent" in panel
    assert conv.turns[0]["cited"] == ["scop-guide"] and conv.queries == ["Qui détient le capital d'une SCOP ?"]


def test_follow_up_keeps_the_conversation(app):
    conv = Conversation()
    app.ask("Comment fonctionne le Sol-violette à Toulouse ?", conv)
    ans, _ = app.ask("Et le comité d'agrément ?", conv)
    # completed from the previous standalone subject (not the concatenated questions), and said so
    assert ans.query == "Sol-violette Toulouse le comité d'agrément"
    assert ans.warnings[0].startswith("Question comprise comme : « Sol-violette Toulouse le comité d'agrément »")
    assert ans.citations and ans.citations[0].chunk.doc_id == "sol-violette"


def test_no_answer_offers_closest_resources(app):
    ans, _ = app.ask("Quelle est la recette de la tarte tatin ?", Conversation())
    assert not ans.found
    assert "Ressources les plus proches" in sources_panel(ans)


def test_feedback_is_appended_as_jsonl(app):
    conv = Conversation()
    app.ask("paniers de légumes payés à l'avance", conv)
    app.record_feedback(conv, 0, liked=False)
    app.record_feedback(conv, 0, liked=True)
    rows = [json.loads(ln) for ln in app.feedback_path.read_text(encoding="utf-8").splitlines()]
    assert [r["liked"] for r in rows[-2:]] == [False, True]
    assert rows[-1]["question"] == "paniers de légumes payés à l'avance" and rows[-1]["cited_ids"] == ["amap-paniers"]
    with pytest.raises(QueryError):
        app.record_feedback(conv, 5, liked=True)


def test_finder_filters_by_type_and_returns_resources_not_chunks(app):
    hits = app.find("monnaie coopérative paniers", types=["etude_de_cas", "article"])
    assert {h.chunk.doc_id for h in hits} == {"sol-violette", "amap-paniers"}
    assert len({h.chunk.doc_id for h in hits}) == len(hits)
    html = app.results_html(hits, "monnaie coopérative paniers")
    assert "<mark>monnaie</mark>" in html and "<mark>paniers</mark>" in html


def test_finder_year_range_and_language(app):
    assert {h.chunk.doc_id for h in app.find("économie", year_min=2012, year_max=2015)} == {
        "scop-guide", "economia-solidaria-brasil"}
    assert {h.chunk.doc_id for h in app.find("bank", languages=["en"])} == {"grameen-microcredit"}


def test_similar_resources_and_csv_export(app):
    hits = app.similar("amap-paniers", k=3)
    assert len(hits) == 3 and "amap-paniers" not in [h.chunk.doc_id for h in hits]
    path = app.export_csv(hits)
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == ["rang", "id", "titre", "type"] and [r[1] for r in rows[1:]] == [h.chunk.doc_id for h in hits]


def test_dossier_counts_equal_the_index(app):
    assert app.type_counts() == {"publication": 1, "these": 1, "video": 1, "outil_pedagogique": 0,
                                 "etude_de_cas": 1, "document_analyse": 1, "intervention_publique": 0, "article": 1}
    md = app.counts_markdown()
    assert "| Études de cas | 1 |" in md and "| **Total** | **6** |" in md
    assert "all-MiniLM-L6-v2" in app.index_facts()
    assert "Microcredit and the Grameen Bank" in app.list_type("document_analyse")


def test_html_in_a_question_is_escaped(app):
    ans, _ = app.ask("<script>alert('x')</script> Qui détient le capital d'une SCOP ?", Conversation())
    md = answer_markdown(ans)
    assert "<script>" not in md


def test_overlong_and_control_characters_are_cleaned():
    text, notice = clean_message("a\x00b\x1bc" + "x" * 5000)
    assert "\x00" not in text and "\x1b" not in text and len(text) == 2000 and "2000" in notice
    assert clean_message("   ")[0] == ""


def test_empty_question_is_refused(app):
    with pytest.raises(QueryError):
        app.ask("  \x00 ", Conversation())


def test_highlight_escapes_document_html():
    out = highlight_terms("Une <b>coopérative</b> & ses membres", "coopérative", "fr")
    assert "<b>" not in out and "&lt;b&gt;<mark>coopérative</mark>&lt;/b&gt;" in out and "&amp;" in out


# ---------------------------------------------------------------- intent cues and a language model in the app

def test_intent_filter_is_shown_and_can_be_lifted(app):
    conv = Conversation()
    ans, _ = app.ask("une vidéo sur les espaces partagés", conv)
    assert ans.applied == ["filtré : vidéos"] and {c.chunk.doc_id for c in ans.citations} == {"tiers-lieux-video"}
    assert "filtré : vidéos" in answer_markdown(ans) and "Reposer sans filtre" in answer_markdown(ans)
    plain, _ = app.ask("une vidéo sur les espaces partagés", Conversation(), use_intent=False)
    assert plain.applied == []


def test_catalogue_question_is_answered_from_metadata(app):
    ans, _ = app.ask("Combien d'études de cas ?", Conversation())
    assert ans.mode == "catalogue" and "1" in ans.text and "Le Sol-violette" in ans.text


def test_language_model_answer_streams_then_is_checked(tiny_index, tmp_path):
    from rag.llm import LLMAnswerer, LLMClient
    from rag.retrieve import Retriever

    import threading
    from http.server import ThreadingHTTPServer

    from .test_llm import _Handler  # the fake OpenAI-compatible model server of the LLM tests

    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads, srv.requests = True, []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = Retriever.open(tiny_index)
        llm_app = InnosocApp(tiny_index, feedback_path=tmp_path / "fb.jsonl",
                             answerer=LLMAnswerer(r, LLMClient(f"http://127.0.0.1:{srv.server_address[1]}/v1", "inventive", 30)))
        items = list(llm_app.ask_stream("Qui détient le capital d'une SCOP ?", Conversation()))
        pieces, (ans, _) = [x for x in items if isinstance(x, str)], items[-1]
        assert pieces and "[7]" in "".join(pieces)       # the raw draft streamed as written…
        assert ans.mode == "llm" and "[7]" not in ans.text  # …then replaced by the checked answer
        assert any("[7]" in w for w in ans.warnings)
    finally:
        srv.shutdown()
        srv.server_close()
