"""Ingest and the on-disk index: manifest, incremental updates, rebuilds, atomicity, corruption, locking."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest
from rag.errors import IndexCorruptError, IndexIncompatibleError, IndexLockedError, IndexMissingError
from rag.store import current_generation, load_index, writer_lock
from rag.settings import FORMAT_VERSION

from .conftest import MINILM, ROOT, make_docx, make_html, make_pdf, run_cli

TINY_IDS = {"sol-violette", "scop-guide", "amap-paniers", "grameen-microcredit", "economia-solidaria-brasil",
            "tiers-lieux-video"}


def test_index_holds_every_document_with_its_metadata(tiny_index):
    idx = load_index(tiny_index.index_dir)
    assert set(idx.documents()) == TINY_IDS
    m = idx.manifest
    assert m["model"] == {"id": "all-MiniLM-L6-v2", "dim": 384}
    assert m["chunking"] == {"chunk_tokens": 120, "chunk_overlap": 20, "scheme": 2}
    assert m["format_version"] == FORMAT_VERSION and m["n_chunks"] == len(idx.chunks) == idx.vectors.shape[0] == idx.faiss.ntotal
    assert len(m["files"]) == 6 and all(len(f["sha256"]) == 64 for f in m["files"].values())
    c = next(c for c in idx.chunks if c.doc_id == "grameen-microcredit")
    assert c.meta["language"] == "en" and c.meta["year"] == 2006 and c.meta["type"] == "document_analyse"
    assert c.source.endswith("grameen.md")
    # vectors are normalised, so inner product is cosine
    assert np.allclose(np.linalg.norm(idx.vectors, axis=1), 1.0, atol=1e-4)


def test_all_formats_are_indexed_and_bad_files_are_skipped_with_reasons(tmp_path, minilm):
    d = tmp_path / "mixed"
    d.mkdir()
    make_pdf(d / "rapport.pdf", ["Les cigales sont des clubs d'investisseurs solidaires.", "Page deux sur l'epargne."])
    make_docx(d / "fiche.docx", "Jardins de Cocagne", ["Des jardins maraîchers biologiques d'insertion."])
    make_html(d / "page.html", "Monnaies locales", ["La Gonette circule à Lyon depuis 2015."])
    (d / "notes.txt").write_bytes("Régie de quartier à Lille : entretien et lien social.".encode("cp1252"))
    (d / "vide.md").write_text("")
    (d / "binaire.txt").write_bytes(b"\x00\x01\x02" * 100)
    (d / "casse.pdf").write_bytes(b"%PDF-1.7 garbage")
    make_pdf(d / "scan.pdf", [""])
    report = ingest([d], minilm)
    assert report.files_indexed == 4
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(skipped) == {"vide.md", "binaire.txt", "casse.pdf", "scan.pdf"}
    assert "OCR" in skipped["scan.pdf"] and "vide" in skipped["vide.md"]
    idx = load_index(minilm.index_dir)
    pages = {c.page for c in idx.chunks if c.doc_id == "rapport"}
    assert pages == {1, 2}
    assert {c.doc_id for c in idx.chunks} == {"rapport", "fiche", "page", "notes"}


def test_chunks_respect_token_budget_and_overlap(tmp_path, minilm):
    d = tmp_path / "long"
    d.mkdir()
    sentences = [f"La coopérative numéro {i} organise une assemblée générale où chaque membre vote une fois." for i in range(60)]
    (d / "long.md").write_text("# Long\n\n" + " ".join(sentences), encoding="utf-8")
    minilm = minilm.with_(chunk_overlap=40)  # one sentence here is ~25 tokens: room for one in the overlap
    ingest([d], minilm)
    idx = load_index(minilm.index_dir)
    from rag.embed import load_embedder
    count = load_embedder(minilm.model).count_tokens
    assert len(idx.chunks) > 3
    for c in idx.chunks:
        assert count(c.text) <= minilm.chunk_tokens + 10  # pieces are counted alone; joins add a few tokens
        assert c.text.endswith(".")  # never cut inside a sentence
    # consecutive chunks share their boundary sentence(s)
    for a, b in zip(idx.chunks, idx.chunks[1:]):
        assert a.text.split(". ")[-1] in b.text


def test_second_run_reembeds_only_changed_files_and_drops_deleted(tiny_corpus, minilm):
    first = ingest([tiny_corpus], minilm)
    assert (first.files_parsed, first.files_reused) == (6, 0)
    gen1 = current_generation(minilm.index_dir)

    again = ingest([tiny_corpus], minilm)
    assert not again.changed and again.files_parsed == 0 and again.files_reused == 6
    assert current_generation(minilm.index_dir) == gen1  # nothing rewritten

    p = tiny_corpus / "amap.md"
    p.write_text(p.read_text(encoding="utf-8").replace("paysan de proximité", "maraîcher du village"), encoding="utf-8")
    (tiny_corpus / "tiers-lieux.md").unlink()
    third = ingest([tiny_corpus], minilm)
    assert (third.files_parsed, third.files_reused, third.files_removed) == (1, 4, 1)
    assert third.chunks_embedded == len([c for c in load_index(minilm.index_dir).chunks if c.doc_id == "amap-paniers"])
    idx = load_index(minilm.index_dir)
    assert "tiers-lieux-video" not in idx.documents()
    assert any("maraîcher du village" in c.text for c in idx.chunks)
    assert len({c.chunk_id for c in idx.chunks}) == len(idx.chunks)  # re-ingest never duplicates chunks


def test_model_or_chunking_change_rebuilds_with_a_message(tiny_corpus, minilm):
    ingest([tiny_corpus], minilm)
    r = ingest([tiny_corpus], minilm.with_(chunk_tokens=80))
    assert r.rebuild_reason and "découpage" in r.rebuild_reason and r.files_parsed == 6


def test_search_refuses_an_index_built_with_another_model(tiny_index):
    with pytest.raises(IndexIncompatibleError, match="all-MiniLM-L6-v2"):
        load_index(tiny_index.index_dir, expect_model="multilingual-e5-small")


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="python -m ingest"):
        load_index(tmp_path / "nowhere")


def test_corrupted_or_truncated_files_are_detected(tiny_corpus, minilm):
    ingest([tiny_corpus], minilm)
    gen = current_generation(minilm.index_dir)
    with open(gen / "vectors.npy", "r+b") as f:
        f.seek(200)
        f.write(b"\xff\xff\xff\xff")
    with pytest.raises(IndexCorruptError, match="vectors.npy"):
        load_index(minilm.index_dir)
    # a rebuild-from-scratch on the next ingest repairs it
    r = ingest([tiny_corpus], minilm)
    assert r.rebuild_reason and "inutilisable" in r.rebuild_reason
    load_index(minilm.index_dir)
    with open(current_generation(minilm.index_dir) / "chunks.jsonl", "r+b") as f:
        f.truncate(100)
    with pytest.raises(IndexCorruptError, match="chunks.jsonl"):
        load_index(minilm.index_dir)


def test_other_format_version_is_refused(tiny_corpus, minilm):
    ingest([tiny_corpus], minilm)
    mpath = current_generation(minilm.index_dir) / "manifest.json"
    m = json.loads(mpath.read_text())
    m["format_version"] = 99
    mpath.write_text(json.dumps(m))
    with pytest.raises(IndexIncompatibleError, match="format 99"):
        load_index(minilm.index_dir)


def test_second_writer_is_refused_while_one_holds_the_lock(tiny_corpus, minilm):
    with writer_lock(minilm.index_dir):
        with pytest.raises(IndexLockedError, match="Un autre ingest"):
            ingest([tiny_corpus], minilm)
    ingest([tiny_corpus], minilm)  # lock released


def test_symlink_outside_the_corpus_is_not_followed(tmp_path, tiny_corpus, minilm):
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\n\nMot de passe de la banque coopérative.", encoding="utf-8")
    (tiny_corpus / "lien.md").symlink_to(outside)
    r = ingest([tiny_corpus], minilm)
    assert any("lien symbolique" in s.reason for s in r.skipped)
    assert "secret" not in load_index(minilm.index_dir).documents()


def test_killed_ingest_leaves_previous_index_intact(tmp_path, tiny_corpus, minilm):
    """SIGKILL an ingest at several moments while it rebuilds: the old generation always loads, whole."""
    ingest([tiny_corpus], minilm)
    before = load_index(minilm.index_dir)
    before_ids = [c.chunk_id for c in before.chunks]
    big = tiny_corpus / "gros"
    big.mkdir()
    for i in range(40):
        (big / f"doc{i}.md").write_text(f"# Document {i}\n\n" + " ".join(
            f"Phrase {j} du document {i} sur les coopératives et la finance solidaire." for j in range(40)),
            encoding="utf-8")
    outcomes = set()
    for delay in (0.5, 2.0, 3.5, 5.0, 6.5):
        proc = subprocess.Popen([sys.executable, "-m", "ingest", "-q", "--model", minilm.model, "--chunk-tokens",
                                 str(minilm.chunk_tokens), "--chunk-overlap", str(minilm.chunk_overlap),
                                 "--index", str(minilm.index_dir), str(tiny_corpus)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        idx = load_index(minilm.index_dir)  # verifies checksums and counts
        ids = [c.chunk_id for c in idx.chunks]
        if ids == before_ids:
            outcomes.add("old")
        else:
            assert len(idx.documents()) == 46, "a generation is either the old one or the new complete one"
            outcomes.add("new")
            break
    assert "old" in outcomes
    # leftovers of killed runs are cleaned by the next successful ingest
    ingest([tiny_corpus], minilm)
    assert not [p for p in Path(minilm.index_dir).iterdir() if p.name.startswith(".tmp-")]
    assert len(load_index(minilm.index_dir).documents()) == 46


def test_chunks_of_many_paragraphs_overlap_by_whole_sentences_and_embed_their_heading():
    """Paragraphs are longer than the overlap: with paragraph units, consecutive chunks shared nothing."""
    from ingest.chunk import chunk_document, embedding_text
    from rag.embed import load_embedder
    from rag.text import split_sentences
    from rag.types import Document, Section

    paras = [f"La coopérative {i} réunit {i + 3} producteurs d'un même village. Ses membres votent une fois "
             f"chacun en assemblée générale. Les excédents de l'année {2000 + i} sont mis en réserve pour "
             f"investir." for i in range(10)]
    doc = Document(source="x.md", meta={"id": "x", "title": "Guide des coopératives"},
                   sections=[Section("\n\n".join(paras), heading="Gouvernance et réserves")])
    count = load_embedder(MINILM).count_tokens
    chunks = chunk_document(doc, count, 120, 30)
    assert len(chunks) >= 4
    for a, b in zip(chunks, chunks[1:]):
        last = split_sentences(a.text.split("\n\n")[-1])[-1]
        assert b.text.startswith(last), (a.text[-80:], b.text[:80])
    # the text of a chunk is the document's own text (paragraph breaks kept)
    assert all(c.text in "\n\n".join(paras) for c in chunks)
    assert chunks[0].text.count("\n\n") >= 1
    emb = embedding_text(chunks[2])
    assert emb.startswith("Guide des coopératives\nGouvernance et réserves\n") and emb.endswith(chunks[2].text)


def test_same_file_name_in_two_folders_gives_two_documents(tmp_path, minilm):
    corpus = tmp_path / "corpus"
    (corpus / "b").mkdir(parents=True)
    (corpus / "b" / "rapport.txt").write_text("Rapport B\n\nLes régies de quartier emploient des habitants.",
                                              encoding="utf-8")
    first = ingest([corpus], minilm)
    assert not first.skipped and set(load_index(minilm.index_dir).documents()) == {"rapport"}
    # a second rapport.txt sorted before the first one: the indexed one keeps its id, the new one gets another
    (corpus / "a").mkdir()
    (corpus / "a" / "rapport.txt").write_text("Rapport A\n\nLes monnaies locales circulent entre commerçants.",
                                              encoding="utf-8")
    (corpus / "fiche.md").write_text("---\nid: ma-fiche\n---\n# Fiche\n\nUne fiche au nom choisi.", encoding="utf-8")
    second = ingest([corpus], minilm)
    assert not second.skipped and second.files_reused == 1
    docs = load_index(minilm.index_dir).documents()
    assert set(docs) == {"rapport", "a-rapport", "ma-fiche"}  # front-matter ids are kept as written
    assert docs["rapport"]["source"].endswith("b/rapport.txt") and docs["a-rapport"]["source"].endswith("a/rapport.txt")
    # a fresh build names them in path order: the first keeps the plain name
    rebuilt = ingest([corpus], minilm.with_(index_dir=tmp_path / "fresh"))
    docs = load_index(tmp_path / "fresh").documents()
    assert not rebuilt.skipped and set(docs) == {"rapport", "b-rapport", "ma-fiche"}
    assert docs["rapport"]["source"].endswith("a/rapport.txt")


def test_ingesting_one_new_file_adds_it_and_keeps_the_rest(tmp_path, tiny_corpus, minilm):
    """`python -m ingest --index index nouveau.pdf` used to leave an index of one document; the app's start-up
    sync of corpus/ then dropped nouveau.pdf. The index remembers its roots; removal needs --prune."""
    ingest([tiny_corpus], minilm)
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    pdf = make_pdf(outside / "nouveau.pdf", ["Les jardins partagés de Nantes sont gérés par une association."])
    r = run_cli("ingest", "-q", "--model", minilm.model, "--chunk-tokens", "120", "--chunk-overlap", "20",
                "--index", str(minilm.index_dir), str(pdf))
    assert r.returncode == 0, r.stderr
    assert set(load_index(minilm.index_dir).documents()) == TINY_IDS | {"nouveau"}
    assert load_index(minilm.index_dir).manifest["roots"] == sorted([str(tiny_corpus.resolve()), str(pdf.resolve())])

    # the app's start-up sync of the corpus folder keeps it, and removes (and names) a file deleted from corpus/
    (tiny_corpus / "tiers-lieux.md").unlink()
    synced = ingest([tiny_corpus], minilm)
    assert synced.removed == [str(tiny_corpus / "tiers-lieux.md")] and synced.files_kept_outside == 1
    assert set(load_index(minilm.index_dir).documents()) == TINY_IDS - {"tiers-lieux-video"} | {"nouveau"}

    # a remembered file that vanished stays (reported) until --prune; no path = every remembered root
    pdf.unlink()
    again = ingest(None, minilm)
    assert "nouveau" in load_index(minilm.index_dir).documents()
    assert any(s.path == str(pdf) and "--prune" in s.reason for s in again.skipped)
    pruned = ingest(None, minilm, prune=True)
    assert pruned.removed == [str(pdf)] and pruned.files_reused == 5 and pruned.files_parsed == 0
    assert set(load_index(minilm.index_dir).documents()) == TINY_IDS - {"tiers-lieux-video"}
    assert load_index(minilm.index_dir).manifest["roots"] == [str(tiny_corpus.resolve())]


def test_a_rebuild_keeps_the_documents_of_every_root(tmp_path, tiny_corpus, minilm):
    ingest([tiny_corpus], minilm)
    other = tmp_path / "autre"
    other.mkdir()
    (other / "note.md").write_text("# Note\n\nUne note sur les cantines scolaires bio.", encoding="utf-8")
    ingest([other], minilm)
    # a chunking change re-embeds everything; a sync of one root must still not lose the other root
    r = ingest([tiny_corpus], minilm.with_(chunk_tokens=100))
    assert r.rebuild_reason and not r.skipped
    assert set(load_index(minilm.index_dir).documents()) == TINY_IDS | {"note"}
