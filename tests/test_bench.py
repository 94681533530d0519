"""bench/piaf.py on a tiny SQuAD-style file made here: real ingest, real MiniLM index, metrics we can predict."""
from __future__ import annotations

import json

import pytest

from bench.piaf import (Config, build_index, evaluate, gold_rank, load_squad, markdown, metrics,
                        paragraph_ranking, run)
from rag.settings import Settings
from rag.store import load_index

from .conftest import MINILM

SCOP = ("Une société coopérative et participative, ou SCOP, appartient à ses salariés, qui détiennent la "
        "majorité du capital et élisent le dirigeant selon le principe une personne, une voix.")
VOLCANO = ("Le Piton de la Fournaise est un volcan bouclier de l'île de La Réunion ; ses éruptions effusives "
           "produisent des coulées de lave basaltique qui descendent parfois jusqu'à l'océan Indien.")
# Long enough to be cut into several chunks at 40 tokens: its chunks must count as one paragraph.
CHESS = " ".join([
    "Le jeu d'échecs oppose deux joueurs sur un échiquier de soixante-quatre cases.",
    "Chaque joueur dispose de seize pièces : un roi, une dame, deux tours, deux fous, deux cavaliers et huit pions.",
    "Le but est de mettre le roi adverse en échec et mat.",
    "Les tournois sont arbitrés et les parties se jouent souvent avec une pendule.",
    "Le roque permet de mettre le roi à l'abri tout en activant une tour.",
])


def squad_file(path):
    data = {"version": "test", "data": [
        {"title": "Économie sociale", "paragraphs": [{"context": SCOP, "qas": [
            {"id": "q1", "question": "Qui détient le capital d'une SCOP ?", "answers": []}]}]},
        {"title": "Volcans", "paragraphs": [{"context": VOLCANO, "qas": [
            {"id": "q2", "question": "Sur quelle île se trouve le Piton de la Fournaise ?", "answers": []},
            # Labelled with the volcano paragraph but asking about chess: no method can put it first.
            {"id": "q4", "question": "Combien de pièces a chaque joueur aux échecs au début d'une partie ?",
             "answers": []}]}]},
        {"title": "Échecs", "paragraphs": [{"context": CHESS, "qas": [
            {"id": "q3", "question": "Comment s'appelle le coup qui met le roi à l'abri avec une tour ?",
             "answers": []}]}]},
    ]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_metrics_from_known_ranks():
    m = metrics([1, 2, None, 11, 6])
    assert m == pytest.approx({"R@1": 1 / 5, "R@5": 2 / 5, "R@10": 3 / 5, "MRR@10": (1 + 1 / 2 + 1 / 6) / 5})
    with pytest.raises(ValueError):
        metrics([])


def test_paragraph_ranking_merges_chunks_of_one_paragraph():
    pid_of_row = ["a", "a", "b", "c", "b"]
    assert paragraph_ranking([1, 0, 4, 2, 3], pid_of_row) == ["a", "b", "c"]
    assert gold_rank(["a", "b", "c"], "c") == 3
    assert gold_rank(["a", "b"], "z") is None


def test_bench_refuses_to_rebuild_a_foreign_index_folder(tmp_path):
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "CURRENT").write_text("gen-1\n")
    paragraphs = load_squad(squad_file(tmp_path / "mini.json"))
    with pytest.raises(FileExistsError):
        build_index(paragraphs, Settings(index_dir=folder, model=MINILM), tmp_path / "work")
    assert (folder / "CURRENT").read_text() == "gen-1\n"


def test_piaf_bench_on_a_tiny_squad_file(tmp_path):
    path = squad_file(tmp_path / "mini.json")
    paragraphs = load_squad(path)
    assert [p.pid for p in paragraphs] == ["p00000", "p00001", "p00002"]
    assert [len(p.questions) for p in paragraphs] == [1, 2, 1]
    assert paragraphs[0].title == "Économie sociale"

    settings = Settings(index_dir=tmp_path / "index", model=MINILM, chunk_tokens=40, chunk_overlap=0)
    stats = build_index(paragraphs, settings, tmp_path / "work")
    index = load_index(settings.index_dir)
    assert stats["documents"] == 3 and stats["chunks"] == len(index.chunks) > 3
    assert {c.doc_id for c in index.chunks} == {"p00000", "p00001", "p00002"}
    assert sum(1 for c in index.chunks if c.doc_id == "p00002") >= 2  # the chess paragraph was split
    assert all(c.meta["title"] for c in index.chunks)

    questions = [(q, p.pid) for p in paragraphs for _, q in p.questions]
    configs = [Config("dense", "dense"), Config("bm25", "bm25"), Config("rrf", "hybrid", "rrf"),
               Config("w", "hybrid", "weighted", dense_weight=0.5)]
    results, ranks = evaluate(index, settings, questions, configs)
    for cfg in configs:
        # three questions find their paragraph first; the mislabelled one (chess, gold = volcano) cannot
        assert ranks[cfg.name][0] == ranks[cfg.name][1] == ranks[cfg.name][3] == 1, cfg.name
        assert ranks[cfg.name][2] != 1, cfg.name
        assert results[cfg.name]["R@1"] == pytest.approx(0.75)
        assert results[cfg.name]["MRR@10"] == pytest.approx(metrics(ranks[cfg.name])["MRR@10"], abs=1e-4)
    # dense search always ranks every paragraph of this 3-paragraph index, so the gold is within the top 3
    assert ranks["dense"][2] in (2, 3)
    assert results["dense"]["R@5"] == 1.0
    # BM25 only returns paragraphs sharing a term with the question: the volcano paragraph shares none
    assert ranks["bm25"][2] is None and results["bm25"]["R@5"] == pytest.approx(0.75)


def test_run_reports_every_measure(tmp_path):
    path = squad_file(tmp_path / "mini.json")
    res = run(path, model=MINILM, latency_n=4,
              settings=Settings(chunk_tokens=40, chunk_overlap=0))
    assert res["dataset"] == {"path": str(path), "paragraphs": 3, "questions": 4, "articles": 3}
    assert {"dense", "bm25"} <= set(res["retrieval"])
    assert sum(r["default"] for r in res["retrieval"].values()) == 1
    assert res["ingest"]["chunks_per_s"] > 0 and res["ingest"]["tokens_per_s"] > 0
    assert res["latency_hybrid"]["queries"] == 4
    assert 0 < res["latency_hybrid"]["p50_ms"] <= res["latency_hybrid"]["p95_ms"]
    assert res["search_consistency"]["same_top1_outcome"] == 4
    assert res["peak_rss_mb"] > 0
    table = markdown(res)
    assert "| dense |" in table and "R@5" in table
