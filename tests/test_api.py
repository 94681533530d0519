"""The named API endpoints, as the README documents them, through gradio_client against the real server."""
from __future__ import annotations

from .test_security import gclient, hostile, server  # noqa: F401  (the running app on a tiny corpus)


def test_chat_endpoint_answers_with_markers_and_sources(server):
    c = gclient(server.url)
    try:
        r = c.predict("Qui détient le capital d'une SCOP ?", [], api_name="/chat")
        follow = c.predict("Et le comité d'agrément ?", ["Comment fonctionne le Sol-violette à Toulouse ?"],
                           api_name="/chat")
    finally:
        c.close()
    assert r["found"] and "[1]" in r["text"] and "Sources :" in r["text"]
    assert r["citations"][0]["doc_id"] == "scop-guide" and r["citations"][0]["n"] == 1
    # the follow-up is searched with the previous question's subject, not the concatenated questions
    assert "Sol-violette" in follow["query"] and "comité d'agrément" in follow["query"]
    assert "Comment fonctionne" not in follow["query"]
    assert follow["citations"][0]["doc_id"] == "sol-violette"


def test_search_endpoint_returns_resources_with_filters(server):
    c = gclient(server.url)
    try:
        hits = c.predict("monnaie coopérative paniers", ["etude_de_cas", "article"], [], None, None, 10,
                         api_name="/search")
    finally:
        c.close()
    assert {h["doc_id"] for h in hits} == {"sol-violette", "amap-paniers"}
    assert {"rank", "title", "type", "year", "url", "text"} <= set(hits[0])


def test_the_benchmarks_rest_client_gets_what_gradio_client_gets(server):
    # bench/answer_eval.py --app also times the endpoints over the REST API, without gradio_client's 50 ms polling
    from bench.app_bench import HttpClient

    c, h = gclient(server.url), HttpClient(server.url)
    try:
        via_client = c.predict("Qui détient le capital d'une SCOP ?", None, api_name="/chat")
        hits = c.predict("monnaie coopérative paniers", ["etude_de_cas", "article"], [], None, None, 10,
                         api_name="/search")
    finally:
        c.close()
    via_rest = h.call("chat", ["Qui détient le capital d'une SCOP ?", None], timeout=120)
    assert via_rest["text"] == via_client["text"] and via_rest["citations"] == via_client["citations"]
    assert h.call("/search", ["monnaie coopérative paniers", ["etude_de_cas", "article"], [], None, None, 10],
                  timeout=120) == hits
    try:
        h.call("chat", ["   ", None], timeout=120)
    except RuntimeError as e:
        assert "erreur du serveur" in str(e)
    else:
        raise AssertionError("an empty question is refused")
