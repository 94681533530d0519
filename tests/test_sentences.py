"""Sentence table of the index (format 2): stored at ingest, reused for unchanged files, older formats rebuilt."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ingest import ingest
from rag.errors import IndexIncompatibleError
from rag.sentences import about_rules, passage_sentences
from rag.settings import FORMAT_VERSION
from rag.store import current_generation, load_index


def _sentence_texts(ix):
    return [ix.chunks[int(r["chunk"])].text[int(r["start"]):int(r["end"])] for r in ix.sentences]


def test_sentences_are_stored_verbatim_and_unchanged_files_keep_their_vectors(tiny_corpus, minilm):
    first = ingest([tiny_corpus], minilm)
    ix = load_index(minilm.index_dir)
    assert first.sentences_embedded == len(ix.sentence_vectors) > 0
    for row, chunk in enumerate(ix.chunks):
        b = ix.sentence_bounds
        got = [chunk.text[int(r["start"]):int(r["end"])] for r in ix.sentences[b[row]:b[row + 1]]]
        assert got == [chunk.text[s.start:s.end] for s in passage_sentences(chunk.text)]
        assert all(g.strip() == g and g in chunk.text for g in got)
    norms = np.linalg.norm(np.asarray(ix.sentence_vectors), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)
    before = {t: np.asarray(ix.sentence_vectors[int(r["vec"])]).copy()
              for t, r in zip(_sentence_texts(ix), ix.sentences) if ix.chunks[int(r["chunk"])].doc_id != "amap-paniers"}

    amap = tiny_corpus / "amap.md"
    amap.write_text(amap.read_text(encoding="utf-8") + "\nLes paniers sont distribués chaque jeudi soir à la ferme.\n",
                    encoding="utf-8")
    second = ingest([tiny_corpus], minilm)
    assert second.files_parsed == 1 and second.files_reused == 5
    ix2 = load_index(minilm.index_dir)
    amap_sentences = {t for t, r in zip(_sentence_texts(ix2), ix2.sentences)
                      if ix2.chunks[int(r["chunk"])].doc_id == "amap-paniers"}
    assert "Les paniers sont distribués chaque jeudi soir à la ferme." in amap_sentences
    assert second.sentences_embedded == len(amap_sentences)  # only the changed file's sentences were encoded
    after = {t: np.asarray(ix2.sentence_vectors[int(r["vec"])])
             for t, r in zip(_sentence_texts(ix2), ix2.sentences) if ix2.chunks[int(r["chunk"])].doc_id != "amap-paniers"}
    assert after.keys() == before.keys()
    for t in before:
        assert np.array_equal(before[t], after[t]), t  # reused bit for bit, not re-encoded


def test_older_format_is_refused_with_the_reason_and_rebuilt_by_ingest(tiny_corpus, minilm):
    ingest([tiny_corpus], minilm)
    gen = current_generation(minilm.index_dir)
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    m["format_version"] = 1
    (gen / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexIncompatibleError) as e:
        load_index(minilm.index_dir)
    msg = str(e.value)
    assert "format 1" in msg and "phrases" in msg and "python -m ingest" in msg and "--rebuild" in msg
    report = ingest([tiny_corpus], minilm)
    assert report.rebuild_reason and "format" in report.rebuild_reason and report.files_parsed == 6
    assert "reconstruction" in report.summary()
    assert load_index(minilm.index_dir).manifest["format_version"] == FORMAT_VERSION == 2


def test_flags_written_under_other_rules_are_redone_on_load_and_by_the_next_ingest(tiny_corpus, minilm):
    # a program whose « about the document » rules changed since the index was written (or files an incremental
    # ingest keeps) must not quote what the current rules flag, nor hide what they no longer flag
    ingest([tiny_corpus], minilm)
    gen = current_generation(minilm.index_dir)
    fresh = load_index(minilm.index_dir)
    assert fresh.manifest["about_rules"] == about_rules()
    expected = np.array(fresh.sentences["about"])           # a copy: the table is mapped from the file
    stale = np.load(gen / "sentences.npy")
    assert stale["about"].any() and not stale["about"].all()
    stale["about"] = ~stale["about"]                       # as if flagged by other rules
    np.save(gen / "sentences.npy", stale)
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    m["about_rules"] = "older"
    m["checksums"].pop("sentences.npy", None)
    (gen / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    again = load_index(minilm.index_dir)
    assert np.array_equal(again.sentences["about"], expected)
    assert np.array_equal(np.load(gen / "sentences.npy")["about"], stale["about"])   # the files are left as they are
    # the next ingest writes the current flags, even with no file changed; then an unchanged corpus is left alone
    assert ingest([tiny_corpus], minilm).changed
    written = np.load(current_generation(minilm.index_dir) / "sentences.npy")
    assert load_index(minilm.index_dir).manifest["about_rules"] == about_rules()
    assert np.array_equal(written["about"], expected)
    assert not ingest([tiny_corpus], minilm).changed
