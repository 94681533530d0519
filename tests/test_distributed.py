"""Distributed ingest on a real local Ray runtime (2 workers): same index as the serial run, same progress
and bad-file report, a killed worker retried, and an index that stays old when the batches keep failing.

One Ray runtime serves the whole module (starting Ray costs several seconds); the MiniLM model keeps it quick.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray's own traffic on loopback (read at import)
ray = pytest.importorskip("ray")

from ingest import distributed, ingest  # noqa: E402
from ingest.__main__ import main  # noqa: E402
from rag.errors import InnosocError  # noqa: E402
from rag.store import current_generation, load_index  # noqa: E402

from .conftest import make_docx, make_pdf  # noqa: E402


@pytest.fixture(scope="module")
def ray_runtime():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    yield
    ray.shutdown()


@pytest.fixture
def mixed_corpus(tiny_corpus):
    """The tiny corpus plus a PDF, a DOCX, bad files and a duplicate id: enough files for several batches."""
    make_pdf(tiny_corpus / "rapport.pdf", ["Les cigales sont des clubs d'investisseurs solidaires.",
                                           "Page deux sur l'epargne solidaire."])
    make_docx(tiny_corpus / "fiche.docx", "Jardins de Cocagne", ["Des jardins maraîchers biologiques d'insertion."])
    (tiny_corpus / "vide.md").write_text("")
    (tiny_corpus / "casse.pdf").write_bytes(b"%PDF-1.7 garbage")
    sub = tiny_corpus / "zz"
    sub.mkdir()
    shutil.copy(tiny_corpus / "scop.md", sub / "scop.md")  # same id « scop » as ../scop.md: skipped
    for i in range(6):
        (tiny_corpus / f"note-{i}.md").write_text(
            f"# Note {i}\n\nLa coopérative numéro {i} réunit ses membres en assemblée générale.", encoding="utf-8")
    return tiny_corpus


def recorder():
    calls: list[tuple[str, int, int]] = []
    return calls, lambda stage, done, total: calls.append((stage, done, total))


def test_ray_ingest_gives_the_serial_index_and_report(ray_runtime, mixed_corpus, minilm, capsys):
    serial = ingest([mixed_corpus], minilm.with_(index_dir=minilm.index_dir / "serial"))
    calls, progress = recorder()
    dist = distributed.ingest_ray([mixed_corpus], minilm, progress=progress)

    assert [(s.path, s.reason) for s in dist.skipped] == [(s.path, s.reason) for s in serial.skipped]
    assert {s.path.rsplit("/", 1)[-1] for s in dist.skipped} == {"vide.md", "casse.pdf", "scop.md"}
    assert (dist.files_indexed, dist.chunks, dist.tokens_embedded) == (serial.files_indexed, serial.chunks,
                                                                        serial.tokens_embedded)
    a, b = load_index(minilm.index_dir / "serial"), load_index(minilm.index_dir)
    assert [c.to_json() for c in b.chunks] == [c.to_json() for c in a.chunks]
    assert b.manifest["files"] == a.manifest["files"]
    np.testing.assert_allclose(b.vectors, a.vectors, atol=1e-5)
    # the sentence table the answerer composes from is encoded by the workers the same way
    assert b.sentences is not None and len(b.sentences) > len(b.chunks)
    assert b.sentences.tolist() == a.sentences.tolist()
    np.testing.assert_allclose(b.sentence_vectors, a.sentence_vectors, atol=1e-5)
    # the same three stages as the serial run, each ending complete
    for stage in ("lecture", "encodage", "écriture"):
        last = [c for c in calls if c[0] == stage][-1]
        assert last[1] == last[2] > 0, (stage, last)

    # an unchanged corpus is not rewritten; a changed file is the only one sent to the workers
    assert distributed.ingest_ray([mixed_corpus], minilm).changed is False
    # through the command line: `--ray PATH` takes PATH as a path, not a cluster address (the running
    # runtime is reused); the bad files are reported as in a serial run
    (mixed_corpus / "note-0.md").write_text("# Note 0\n\nUne monnaie locale circule à Toulouse.", encoding="utf-8")
    rc = main(["--ray", str(mixed_corpus), "--index", str(minilm.index_dir), "--model", "minilm",
               "--chunk-tokens", "120", "--chunk-overlap", "20", "-q"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"Ignoré : {mixed_corpus / 'vide.md'} — fichier vide" in out.err
    assert f"(1 lu(s), {serial.files_indexed - 1} inchangé(s)" in out.out
    assert any("Toulouse" in c.text for c in load_index(minilm.index_dir).chunks)


def test_a_killed_worker_is_retried_and_the_index_is_complete(ray_runtime, tiny_corpus, minilm, tmp_path,
                                                              monkeypatch):
    ingest([tiny_corpus], minilm)
    old = current_generation(minilm.index_dir)
    (tiny_corpus / "gonette.md").write_text("# Gonette\n\nLa Gonette est la monnaie locale de Lyon.",
                                            encoding="utf-8")
    marker = tmp_path / "killed"
    monkeypatch.setenv("INNOSOC_FAULT_POINT", f"ray-batch:killonce={marker}")
    report = distributed.ingest_ray([tiny_corpus], minilm)
    assert marker.exists()  # a worker really died with the batch
    assert report.files_parsed == 1
    idx = load_index(minilm.index_dir)
    assert current_generation(minilm.index_dir) != old
    assert "gonette" in idx.documents() and len(idx.documents()) == 7


def test_batches_that_keep_failing_leave_the_old_index(ray_runtime, tiny_corpus, minilm, monkeypatch):
    ingest([tiny_corpus], minilm)
    old = current_generation(minilm.index_dir)
    (tiny_corpus / "gonette.md").write_text("# Gonette\n\nLa Gonette est la monnaie locale de Lyon.",
                                            encoding="utf-8")
    monkeypatch.setenv("INNOSOC_FAULT_POINT", "ray-batch:kill")
    monkeypatch.setattr(distributed, "MAX_RETRIES", 1)
    with pytest.raises(InnosocError, match="L'index précédent reste intact"):
        distributed.ingest_ray([tiny_corpus], minilm)
    assert current_generation(minilm.index_dir) == old
    assert "gonette" not in load_index(minilm.index_dir).documents()
    assert not list(minilm.index_dir.glob(".tmp-gen-*"))

