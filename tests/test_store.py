"""The index store on its own (no embedding model needed): readers during generation swaps, and how FAISS is
brought back at load (rebuilt from vectors.npy for the flat index; read from disk only for --ann, once its
checksum is verified)."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError
from rag.store import current_generation, load_index, write_index, writer_lock
from rag.types import Chunk

DIM = 32


def _generation(n: int, seed: int):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    chunks = [Chunk(chunk_id=f"d{i % 50}#{i}", doc_id=f"d{i % 50}", source=f"d{i % 50}.md",
                    text=f"passage {i} de la génération {seed} sur les coopératives et la monnaie locale",
                    page=None, section=None, meta={"title": f"Document {i % 50}", "language": "fr"}) for i in range(n)]
    return chunks, v


def _write(index_dir: Path, n: int, seed: int, kind: str = "flat") -> Path:
    chunks, v = _generation(n, seed)
    with writer_lock(index_dir):
        return write_index(index_dir, chunks, v, {"model": {"id": "test", "dim": DIM}, "faiss": kind, "files": {}})


def test_reader_looping_during_swaps_always_gets_a_whole_generation(tmp_path):
    """An ingest removes the previous generation right after the swap; a reader that was loading it must
    retry on the new one, not be told that the index is corrupt."""
    index_dir = tmp_path / "index"
    _write(index_dir, 2000, 0)
    errors: list[BaseException] = []
    loads = 0
    stop = threading.Event()

    def reader():
        nonlocal loads
        while not stop.is_set():
            try:
                idx = load_index(index_dir)
                assert idx.faiss.ntotal == len(idx.chunks) == idx.vectors.shape[0]
                loads += 1
            except BaseException as e:  # noqa: BLE001 — any failure is the test's finding
                errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for seed in range(1, 16):
            _write(index_dir, 2000, seed)
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, f"{len(errors)} lecture(s) en échec sur {loads + len(errors)} : {errors[0]!r}"
    assert loads > 0


def test_flat_index_is_rebuilt_from_vectors_not_parsed_from_disk(tmp_path):
    index_dir = tmp_path / "index"
    gen = _write(index_dir, 40, 1)
    chunks, v = _generation(40, 1)
    # faiss.index replaced by bytes FAISS cannot parse, its checksum updated: a flat index never reads it
    (gen / "faiss.index").write_bytes(b"not a faiss index")
    manifest = json.loads((gen / "manifest.json").read_text())
    import hashlib
    manifest["checksums"]["faiss.index"] = hashlib.sha256(b"not a faiss index").hexdigest()
    (gen / "manifest.json").write_text(json.dumps(manifest))
    idx = load_index(index_dir)
    assert idx.faiss.ntotal == 40
    scores, rows = idx.faiss.search(v[7:8], 1)
    assert rows[0][0] == 7 and scores[0][0] == pytest.approx(1.0, abs=1e-5)


def test_ann_index_is_read_only_after_its_checksum_is_verified(tmp_path):
    index_dir = tmp_path / "index"
    gen = _write(index_dir, 40, 2, kind="hnsw")
    idx = load_index(index_dir)
    import faiss
    assert isinstance(idx.faiss, faiss.IndexHNSW) and idx.faiss.ntotal == 40
    data = bytearray((gen / "faiss.index").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (gen / "faiss.index").write_bytes(bytes(data))
    # even a reader that skips verification of the other files never hands a tampered file to FAISS's parser
    with pytest.raises(IndexCorruptError, match="faiss.index"):
        load_index(index_dir, verify=False)


def test_a_vanished_file_in_the_current_generation_is_still_reported_as_corrupt(tmp_path):
    index_dir = tmp_path / "index"
    gen = _write(index_dir, 10, 3)
    (gen / "chunks.jsonl").unlink()
    with pytest.raises(IndexCorruptError, match="chunks.jsonl"):
        load_index(index_dir)
    assert current_generation(index_dir) == gen
