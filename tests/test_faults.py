"""Nothing lost: an ingest killed during the swap, failing writes, a full disk, two ingests at once, re-ingests
and damaged index files — the index is always a whole version, and says how to rebuild when it is not.

A handful of trials; `python bench/faults.py` runs many more (random kills over whole runs included).
Faults inside write_index are placed with its INNOSOC_FAULT_POINT hook (rag/store.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest
from rag.errors import IndexCorruptError, IndexLockedError, InnosocError
from rag.retrieve import Retriever
from rag.store import current_generation, load_index

from .conftest import ROOT

QUERIES = ["monnaie locale complémentaire à Toulouse", "Qui possède une Scop ?", "paniers de légumes d'une AMAP",
           "régie de quartier à Lille"]


def snapshot(settings, index_dir: Path) -> dict:
    """Everything a reader gets from an index: chunks, vectors, files, and its answers to QUERIES."""
    idx = load_index(index_dir)
    r = Retriever(idx, settings.with_(index_dir=index_dir))
    return {"chunks": [(c.chunk_id, c.text) for c in idx.chunks], "files": idx.manifest["files"],
            "vectors": idx.vectors,
            "answers": [[(h.chunk.chunk_id, round(float(h.score), 4)) for h in r.search(q, k=5)] for q in QUERIES]}


def same(a: dict, b: dict) -> bool:
    return (a["chunks"] == b["chunks"] and a["files"] == b["files"] and np.allclose(a["vectors"], b["vectors"], atol=1e-5)
            and [[i for i, _ in x] for x in a["answers"]] == [[i for i, _ in x] for x in b["answers"]])


def leftovers(index_dir: Path) -> list[str]:
    current = current_generation(index_dir).name
    return sorted(p.name for p in Path(index_dir).iterdir() if p.name.startswith(".tmp-")
                  or p.name == ".CURRENT.tmp" or (p.name.startswith("gen-") and p.name != current))


@pytest.fixture
def versions(tmp_path, tiny_corpus, minilm):
    """Old index A of the tiny corpus at minilm.index_dir (and a pristine copy), the corpus then edited, and
    the reference B that an ingest of the edited corpus gives."""
    ingest([tiny_corpus], minilm)
    ref_a = tmp_path / "ref-a"
    shutil.copytree(minilm.index_dir, ref_a)
    p = tiny_corpus / "amap.md"
    p.write_text(p.read_text(encoding="utf-8").replace("paysan", "maraîcher du village"), encoding="utf-8")
    (tiny_corpus / "tiers-lieux.md").unlink()
    (tiny_corpus / "regie.md").write_text("# Régie de quartier\n\nUne régie de quartier à Lille emploie des "
                                          "habitants pour l'entretien des immeubles.", encoding="utf-8")
    ref_b = tmp_path / "ref-b"
    shutil.copytree(ref_a, ref_b)
    ingest([tiny_corpus], minilm.with_(index_dir=ref_b))
    old, new = snapshot(minilm, ref_a), snapshot(minilm, ref_b)
    assert not same(old, new)

    def restore(index_dir: Path = minilm.index_dir) -> Path:
        shutil.rmtree(index_dir, ignore_errors=True)
        shutil.copytree(ref_a, index_dir)
        return index_dir

    return {"corpus": tiny_corpus, "settings": minilm, "old": old, "new": new, "restore": restore, "ref_b": ref_b}


def run_cli_ingest(settings, corpus: Path, fault: str | None = None, wait: bool = False) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "INNOSOC_FAULT_POINT"}
    if fault:
        env["INNOSOC_FAULT_POINT"] = fault
    cmd = [sys.executable, "-m", "ingest", "-q", "--model", settings.model, "--chunk-tokens",
           str(settings.chunk_tokens), "--chunk-overlap", str(settings.chunk_overlap), "--index",
           str(settings.index_dir), str(corpus)] + (["--wait"] if wait else [])
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("step,expected", [("rename", "old"), ("pointer", "old"), ("swap", "new")])
def test_sigkill_during_the_swap_leaves_the_old_or_the_new_whole_index(versions, step, expected):
    """Killed after the new generation is renamed into place, after the new CURRENT is written aside, and
    right after it replaced the old one: the index loads as exactly one version and answers as it does."""
    s = versions["settings"]
    versions["restore"]()
    proc = run_cli_ingest(s, versions["corpus"], fault=f"{step}:kill")
    proc.communicate(timeout=600)
    assert proc.returncode == -9
    got = snapshot(s, s.index_dir)
    assert same(got, versions[expected])
    # the next ingest finishes the job and clears what the killed one left
    ingest([versions["corpus"]], s)
    assert same(snapshot(s, s.index_dir), versions["new"]) and not leftovers(s.index_dir)


@pytest.mark.parametrize("fault,message", [("vectors:error", "erreur d'écriture injectée"),
                                           ("pointer:error", "erreur d'écriture injectée"),
                                           ("manifest:enospc", "(disque plein)")])
def test_a_failed_write_is_a_clear_error_and_the_previous_index_is_intact(versions, monkeypatch, fault, message):
    s = versions["settings"]
    versions["restore"]()
    monkeypatch.setenv("INNOSOC_FAULT_POINT", fault)
    with pytest.raises(InnosocError) as e:
        ingest([versions["corpus"]], s)
    assert message in str(e.value) and "L'index précédent reste intact" in str(e.value)
    assert same(snapshot(s, s.index_dir), versions["old"])
    assert not leftovers(s.index_dir)  # even the generation already renamed into place ("pointer") is removed


def test_full_disk_gives_a_clear_error_and_keeps_the_previous_index(versions, tmp_path):
    """The index folder on a real tmpfs with room for the old index and a fifth of the new one."""
    if os.geteuid() != 0:
        pytest.skip("monter un tmpfs demande d'être root")
    s = versions["settings"]
    ref_a = tmp_path / "ref-a"
    size_a = sum((p.stat().st_size + 4095) // 4096 * 4 for p in ref_a.rglob("*") if p.is_file())
    gen_b = next(versions["ref_b"].glob("gen-*"))
    size_b = sum((p.stat().st_size + 4095) // 4096 * 4 for p in gen_b.rglob("*") if p.is_file())
    mnt = tmp_path / "disque"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_a + 16 + size_b // 5}k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"mount -t tmpfs impossible ici : {r.stderr.strip()}")
    try:
        shutil.copytree(ref_a, mnt, dirs_exist_ok=True)
        on_disk = s.with_(index_dir=mnt)
        with pytest.raises(InnosocError) as e:
            ingest([versions["corpus"]], on_disk)
        assert "(disque plein)" in str(e.value) and "L'index précédent reste intact" in str(e.value)
        assert same(snapshot(s, mnt), versions["old"])
        assert not leftovers(mnt)
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_two_ingests_at_once_one_fails_clearly_the_other_waits(versions):
    s = versions["settings"]
    versions["restore"]()
    # the first one holds the lock and pauses inside write_index
    first = run_cli_ingest(s, versions["corpus"], fault="begin:sleep=25")
    deadline = time.monotonic() + 300
    while not any(p.name.startswith(".tmp-gen-") for p in Path(s.index_dir).iterdir()):
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(IndexLockedError, match="Un autre ingest écrit déjà"):
        ingest([versions["corpus"]], s)
    second = run_cli_ingest(s, versions["corpus"])
    out, err = second.communicate(timeout=600)
    assert second.returncode == 2 and "Un autre ingest écrit déjà" in err
    assert first.poll() is None  # still writing: the refusals did not disturb it
    # this one waits for the lock; it then finds the index already brought up to date by the first one
    report = ingest([versions["corpus"]], s, wait_lock=True)
    assert first.wait(timeout=600) == 0
    assert not report.changed and report.files_reused == 6
    assert same(snapshot(s, s.index_dir), versions["new"]) and not leftovers(s.index_dir)


def test_reingesting_the_same_files_never_duplicates_chunks(tiny_corpus, minilm):
    first = ingest([tiny_corpus], minilm)
    ids = [c.chunk_id for c in load_index(minilm.index_dir).chunks]
    assert len(ids) == len(set(ids)) == first.chunks
    # the same files again, named several ways at once: the folder twice, a file inside it, a link to it
    (tiny_corpus / "lien-scop.md").symlink_to(tiny_corpus / "scop.md")
    again = ingest([tiny_corpus, tiny_corpus, tiny_corpus / "scop.md"], minilm)
    assert [c.chunk_id for c in load_index(minilm.index_dir).chunks] == ids and again.files_indexed == 6
    # a copy of a file under another name carries the same id: refused, not indexed twice
    shutil.copy(tiny_corpus / "scop.md", tiny_corpus / "scop-copie.md")
    third = ingest([tiny_corpus], minilm)
    assert any("scop-copie.md" in s.path and "déjà utilisé" in s.reason for s in third.skipped)
    assert [c.chunk_id for c in load_index(minilm.index_dir).chunks] == ids
    rebuilt = ingest([tiny_corpus], minilm, rebuild=True)
    assert sorted(c.chunk_id for c in load_index(minilm.index_dir).chunks) == sorted(ids) and rebuilt.chunks == len(ids)


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _flip(p: Path) -> None:
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0xFF
    p.write_bytes(bytes(b))


def _edit_manifest(gen: Path, change) -> None:
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    change(m)
    (gen / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


DAMAGE = {
    "faiss.index tronqué": (lambda g, d: _truncate(g / "faiss.index"), "faiss.index est altéré ou tronqué"),
    "fichier BM25 altéré": (lambda g, d: _flip(next((g / "bm25").glob("*.npy"))), "bm25/"),
    "manifeste tronqué": (lambda g, d: _truncate(g / "manifest.json"), "manifeste illisible"),
    "vecteurs supprimés": (lambda g, d: (g / "vectors.npy").unlink(), "fichier manquant vectors.npy"),
    "génération disparue": (lambda g, d: shutil.rmtree(g), "introuvable"),
    "CURRENT altéré": (lambda g, d: (d / "CURRENT").write_text("../../etc\n"), "CURRENT altéré"),
    "nombre de passages faux": (lambda g, d: _edit_manifest(g, lambda m: m.update(n_chunks=m["n_chunks"] + 1)),
                                "incohérent"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_index_is_detected_on_load_with_how_to_rebuild(tiny_index, tmp_path, damage):
    d = tmp_path / "index"
    shutil.copytree(tiny_index.index_dir, d)
    do, message = DAMAGE[damage]
    do(current_generation(d), d)
    with pytest.raises(IndexCorruptError) as e:
        load_index(d)
    assert message in str(e.value) and f"python -m ingest --index {d} --rebuild" in str(e.value)


def test_next_ingest_rebuilds_a_damaged_index(tiny_corpus, minilm):
    ingest([tiny_corpus], minilm)
    before = [c.chunk_id for c in load_index(minilm.index_dir).chunks]
    _truncate(current_generation(minilm.index_dir) / "faiss.index")
    r = ingest([tiny_corpus], minilm)
    assert r.rebuild_reason and "inutilisable" in r.rebuild_reason and r.files_parsed == 6
    assert [c.chunk_id for c in load_index(minilm.index_dir).chunks] == before
