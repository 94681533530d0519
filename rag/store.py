"""The index on disk: FAISS vectors + BM25 + chunk records + a manifest, written atomically.

Layout of an index folder:

    CURRENT            name of the live generation (replaced atomically with os.replace)
    gen-<ns>/          one complete, immutable generation
        manifest.json  format version, model id and dimension, chunking, per-file hashes, file checksums
        chunks.jsonl   one chunk (text + metadata) per line, row i = vector i
        vectors.npy    float32 embeddings, L2-normalised (kept so that unchanged files are not re-embedded)
        sentences.npy  one record per sentence of every chunk (chunk row, offsets, vector row, flags;
                       rag/sentences.py), memory-mapped
        sentence_vectors.npy  float32 sentence embeddings computed at ingest, memory-mapped: an answer costs
                       one query encoding plus arithmetic
        faiss.index    inner-product index over the vectors
        bm25/          bm25s index over the analysed chunk texts
    .lock              held by the one ingest that may write

A new generation is written under a temporary name, fsynced, renamed, and only then named in CURRENT, so a
reader always sees either the old or the new complete generation, whenever a writer is killed.

Fault injection: with the environment variable INNOSOC_FAULT_POINT="STEP:ACTION" (see `_fault`), write_index
kills itself, sleeps or fails at a named step. Unset — always, outside bench/faults.py and tests/test_faults.py
— it does nothing.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ann
from .errors import (IndexCorruptError, IndexIncompatibleError, IndexLockedError, IndexMissingError,
                     InnosocError)
from .settings import FORMAT_CHANGES, FORMAT_VERSION
from .text import analyze
from .types import Chunk

log = logging.getLogger(__name__)

_DATA_FILES = ("chunks.jsonl", "vectors.npy", "faiss.index", "sentences.npy", "sentence_vectors.npy")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bm25_text(chunk: Chunk) -> str:
    parts = [chunk.meta.get("title") or "", chunk.section or "", chunk.text]
    return "\n".join(p for p in parts if p)


@dataclass
class Index:
    path: Path
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss: object
    bm25: object
    sentences: np.ndarray | None = None         # rag.sentences.RECORD rows, sorted by chunk
    sentence_vectors: np.ndarray | None = None  # float32, L2-normalised
    sentence_bounds: np.ndarray | None = None   # sentences of chunk i: sentence_bounds[i]:sentence_bounds[i+1]

    @property
    def model_id(self) -> str:
        return self.manifest["model"]["id"]

    @property
    def built_at(self) -> str:
        return self.manifest.get("created_at", "")

    def documents(self) -> dict[str, dict]:
        """doc_id → metadata of every document in the index (first chunk's copy)."""
        out: dict[str, dict] = {}
        for c in self.chunks:
            out.setdefault(c.doc_id, dict(c.meta, source=c.source))
        return out


# ---------------------------------------------------------------- reading

def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (Path(index_dir) / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IndexCorruptError(f"Index « {index_dir} » : fichier CURRENT illisible ({e}).") from None
    if not name.startswith("gen-") or "/" in name:
        raise IndexCorruptError(f"Index « {index_dir} » : fichier CURRENT altéré. "
                                f"Reconstruisez : python -m ingest --index {index_dir} --rebuild")
    return Path(index_dir) / name


def read_manifest(index_dir: Path) -> dict | None:
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_index(index_dir: Path, expect_model: str | None = None, verify: bool = True) -> Index:
    index_dir = Path(index_dir)
    attempts = 0
    while True:
        gen = current_generation(index_dir)
        if gen is None:
            raise IndexMissingError(index_dir)
        try:
            return _load_generation(index_dir, gen, expect_model, verify)
        except (FileNotFoundError, IndexCorruptError) as e:
            # A writer may have swapped generations and removed this one while we read it: its files vanish
            # mid-read (FileNotFoundError, a missing checksummed file, FAISS or bm25s failing to open one).
            # Then CURRENT names another generation: read that one. If CURRENT still names this generation,
            # the damage is real.
            attempts += 1
            try:
                now = current_generation(index_dir)
            except IndexCorruptError:
                now = gen
            if now is not None and now != gen and attempts < 20:
                log.debug("génération %s remplacée pendant la lecture, lecture de %s", gen.name, now.name)
                continue
            if isinstance(e, IndexCorruptError):
                raise
            raise IndexCorruptError(f"Index « {index_dir} » : {gen.name} ({Path(e.filename or gen).name}) "
                                    f"introuvable. {_rebuild_hint(index_dir)}") from None


def _rebuild_hint(index_dir: Path) -> str:
    return f"Reconstruisez-le : python -m ingest --index {index_dir} --rebuild"


def _load_generation(index_dir: Path, gen: Path, expect_model: str | None, verify: bool) -> Index:
    import bm25s

    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"Index « {index_dir} » : manifeste illisible ({e}). {_rebuild_hint(index_dir)}")
    if manifest.get("format_version") != FORMAT_VERSION:
        why = FORMAT_CHANGES.get(FORMAT_VERSION, "") if (manifest.get("format_version") or 0) < FORMAT_VERSION else ""
        raise IndexIncompatibleError(
            f"Index « {index_dir} » au format {manifest.get('format_version')}, ce programme lit le format "
            f"{FORMAT_VERSION}{' (' + why + ')' if why else ''}. {_rebuild_hint(index_dir)} "
            f"(l'application le reconstruit d'elle-même à partir du corpus)")
    if expect_model is not None:
        from .embed import canonical_model_id
        if canonical_model_id(expect_model) != manifest["model"]["id"]:
            raise IndexIncompatibleError(
                f"Index « {index_dir} » construit avec le modèle « {manifest['model']['id']} », pas avec "
                f"« {canonical_model_id(expect_model)} ». Omettez --model, ou reconstruisez l'index : "
                f"python -m ingest --index {index_dir} --model {expect_model}")
    if verify:
        for name, digest in manifest.get("checksums", {}).items():
            p = gen / name
            if not p.exists():
                raise IndexCorruptError(f"Index « {index_dir} » : fichier manquant {name}. {_rebuild_hint(index_dir)}")
            if _sha256(p) != digest:
                raise IndexCorruptError(
                    f"Index « {index_dir} » : {name} est altéré ou tronqué (somme de contrôle différente). "
                    f"{_rebuild_hint(index_dir)}")
    try:
        with open(gen / "chunks.jsonl", encoding="utf-8") as f:
            chunks = [Chunk.from_json(json.loads(line)) for line in f if line.strip()]
        # large-index mode (rag/ann.py): vectors and BM25 arrays stay on disk, mapped, not copied into RAM
        large = manifest.get("faiss") == "ann"
        vectors = ann.open_vectors(gen / "vectors.npy") if large else np.load(gen / "vectors.npy", allow_pickle=False)
        index = _faiss_of(index_dir, gen, manifest, vectors, verified=verify)
        bm25 = bm25s.BM25.load(str(gen / "bm25"), load_corpus=False, mmap=large) if chunks else None
        # memory-mapped: the pages are shared by every process serving this generation and read on demand
        sentences = np.load(gen / "sentences.npy", mmap_mode="r", allow_pickle=False)
        sentence_vectors = np.load(gen / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError, KeyError) as e:
        raise IndexCorruptError(f"Index « {index_dir} » illisible ({type(e).__name__}: {e}). {_rebuild_hint(index_dir)}")
    n = manifest.get("n_chunks")
    if not (len(chunks) == n == vectors.shape[0] == index.ntotal) or (n and vectors.shape[1] != manifest["model"]["dim"]):
        raise IndexCorruptError(
            f"Index « {index_dir} » incohérent : {len(chunks)} passages, {vectors.shape[0]} vecteurs, "
            f"{index.ntotal} dans FAISS, {n} annoncés. {_rebuild_hint(index_dir)}")
    from .sentences import RECORD, about_rules, chunk_bounds, reflag
    if sentences.dtype != RECORD or (len(sentences) and (int(sentences["chunk"].max()) >= len(chunks)
                                                         or int(sentences["vec"].max()) >= len(sentence_vectors))):
        raise IndexCorruptError(f"Index « {index_dir} » : table des phrases incohérente. {_rebuild_hint(index_dir)}")
    if len(sentences) and manifest.get("about_rules") != about_rules():
        # flagged by other rules than this program's (« about the document »): flagged again, in memory only —
        # the index may be read-only or shared; the next ingest writes the new flags
        log.info("Index %s : phrases « sur un document » marquées par d'autres règles, marquées à nouveau "
                 "(%d phrases)", index_dir, len(sentences))
        sentences = reflag(sentences, [c.text for c in chunks])
    return Index(path=gen, manifest=manifest, chunks=chunks, vectors=vectors, faiss=index, bm25=bm25,
                 sentences=sentences, sentence_vectors=sentence_vectors,
                 sentence_bounds=chunk_bounds(sentences, len(chunks)))


def _faiss_of(index_dir: Path, gen: Path, manifest: dict, vectors: np.ndarray, verified: bool):
    """The FAISS index of a generation. A flat index is rebuilt from vectors.npy (exact, and fast: one copy of
    the vectors) rather than handed to FAISS's C++ file parser; an ANN graph is costly to rebuild, so it is
    read from disk, but only once its checksum has been verified."""
    import faiss

    kind = manifest.get("faiss", "flat")
    if kind == "flat" or (kind == "ann" and len(vectors) < ann.ANN_MIN_CHUNKS):  # "ann" below it is flat too
        if vectors.ndim != 2:
            raise ValueError(f"vectors.npy de forme {vectors.shape}")
        return build_faiss(vectors, "flat")
    path = gen / "faiss.index"
    if not verified:
        digest = manifest.get("checksums", {}).get("faiss.index")
        if digest is None or _sha256(path) != digest:
            raise IndexCorruptError(f"Index « {index_dir} » : faiss.index est altéré ou tronqué (somme de "
                                    f"contrôle différente). {_rebuild_hint(index_dir)}")
    return faiss.read_index(str(path))


# ---------------------------------------------------------------- writing

@contextlib.contextmanager
def writer_lock(index_dir: Path, wait: bool = False):
    """Only one ingest writes an index at a time; the lock dies with its process, so a kill frees it."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise IndexLockedError(index_dir) from None
        _clean_after_killed_writers(index_dir)
        yield
    finally:
        os.close(fd)


def build_faiss(vectors: np.ndarray, kind: str):
    import faiss

    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    elif kind == "ann" and len(vectors) >= ann.ANN_MIN_CHUNKS:
        return ann.build(vectors)
    elif kind in ("flat", "ann"):  # "ann" below its threshold: exact is small and fast enough
        index = faiss.IndexFlatIP(dim)
    else:
        raise InnosocError(f"Type d'index FAISS inconnu « {kind} » (choix : flat, hnsw, ann)")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(index_dir: Path, chunks: list[Chunk], vectors: np.ndarray, manifest: dict,
                sentences: np.ndarray | None = None, sentence_vectors: np.ndarray | None = None) -> Path:
    """Write a complete new generation aside, then make it current. Caller holds `writer_lock`.

    `sentences` (rag.sentences.RECORD) and `sentence_vectors` are the sentence table; empty when not given."""
    from .sentences import RECORD, about_rules
    import faiss
    import bm25s

    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.time_ns()}"
    tmp = index_dir / f".tmp-{name}"
    final = index_dir / name
    pointer = index_dir / ".CURRENT.tmp"
    renamed = swapped = False
    tmp.mkdir()
    try:
        _fault("begin")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(c.to_json(), ensure_ascii=False) + "\n")
        _fault("chunks")
        with open(tmp / "vectors.npy", "wb") as f:
            np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        if sentences is None:
            sentences = np.zeros(0, dtype=RECORD)
        if sentence_vectors is None:
            sentence_vectors = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
        for fn, arr in (("sentences.npy", np.ascontiguousarray(sentences, dtype=RECORD)),
                        ("sentence_vectors.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float32))):
            with open(tmp / fn, "wb") as f:
                np.save(f, arr, allow_pickle=False)
        _fault("vectors")
        try:
            faiss.write_index(build_faiss(vectors, manifest["faiss"]), str(tmp / "faiss.index"))
        except RuntimeError as e:  # FAISS reports a failed fwrite (a full disk) as RuntimeError
            raise OSError(errno.ENOSPC if _disk_full(tmp) else errno.EIO,
                          f"FAISS : {str(e).splitlines()[0][:160]}") from None
        _fault("faiss")
        files = list(_DATA_FILES)
        if chunks:
            bm = bm25s.BM25()
            bm.index([analyze(bm25_text(c), c.meta.get("language")) or [""] for c in chunks], show_progress=False)
            bm.save(str(tmp / "bm25"))
            files += [f"bm25/{p.name}" for p in sorted((tmp / "bm25").iterdir())]
        _fault("bm25")
        manifest = dict(manifest, format_version=FORMAT_VERSION, n_chunks=len(chunks), about_rules=about_rules(),
                        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        checksums={fn: _sha256(tmp / fn) for fn in files})
        with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
        _fault("manifest")
        for fn in files + ["manifest.json"]:
            with open(tmp / fn, "rb") as f:
                os.fsync(f.fileno())
        for d in (tmp / "bm25", tmp):
            if d.exists():
                fsync_dir(d)
        _fault("fsync")
        os.rename(tmp, final)
        renamed = True
        _fault("rename")
        with open(pointer, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        _fault("pointer")
        os.replace(pointer, index_dir / "CURRENT")
        swapped = True
        _fault("swap")
        fsync_dir(index_dir)
    except OSError as e:
        if swapped:
            # CURRENT already names the new, complete generation: only the folder's fsync failed
            log.warning("index « %s » écrit, mais synchronisation du dossier impossible : %s", index_dir, e)
        else:
            # measured before the discard frees space; numpy reports a short write with no errno at all
            full = e.errno == errno.ENOSPC or _disk_full(index_dir)
            _discard(tmp, final if renamed else None, pointer)
            raise InnosocError(f"Écriture de l'index « {index_dir} » impossible{' (disque plein)' if full else ''} : "
                               f"{e}. L'index précédent reste intact.") from None
    except BaseException:
        if not swapped:
            _discard(tmp, final if renamed else None, pointer)
        raise
    _fault("gc")
    _collect_garbage(index_dir, keep=name)
    return final


def _discard(tmp: Path, final: Path | None, pointer: Path) -> None:
    """Remove what a failed write left, so that a full disk gets its space back."""
    shutil.rmtree(tmp, ignore_errors=True)
    if final is not None:
        shutil.rmtree(final, ignore_errors=True)
    with contextlib.suppress(OSError):
        pointer.unlink()


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < 64 * 1024
    except OSError:
        return False


# ---------------------------------------------------------------- fault injection (tests and bench only)

FAULT_STEPS = ("begin", "chunks", "vectors", "faiss", "bm25", "manifest", "fsync", "rename", "pointer", "swap", "gc")


def _fault(step: str) -> None:
    """Inert unless INNOSOC_FAULT_POINT="STEP:ACTION" names this step of write_index (see FAULT_STEPS).

    ACTION: kill (SIGKILL now), killafter=S (SIGKILL in S seconds, wherever the write is by then), sleep=S,
    error (OSError EIO here), enospc (OSError ENOSPC here). Used by tests/test_faults.py and bench/faults.py
    to prove that a write killed or failing at any step leaves the previous index whole."""
    spec = os.environ.get("INNOSOC_FAULT_POINT")
    if not spec or spec.partition(":")[0] != step:
        return
    action, _, arg = spec.partition(":")[2].partition("=")
    log.warning("INNOSOC_FAULT_POINT : %s à l'étape %s", action, step)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "killafter":
        threading.Timer(float(arg), os.kill, (os.getpid(), signal.SIGKILL)).start()
    elif action == "sleep":
        time.sleep(float(arg))
    elif action == "error":
        raise OSError(errno.EIO, f"erreur d'écriture injectée à l'étape {step}")
    elif action == "enospc":
        raise OSError(errno.ENOSPC, f"disque plein simulé à l'étape {step}")


def _clean_after_killed_writers(index_dir: Path) -> None:
    """A writer killed mid-write leaves a temporary generation, or an old one it had no time to remove; the
    next lock holder clears them, even when it then finds nothing to rewrite."""
    try:
        gen = current_generation(index_dir)
    except IndexCorruptError:
        return  # keep everything for whoever repairs it
    if gen is None:
        for p in index_dir.glob(".tmp-gen-*"):
            shutil.rmtree(p, ignore_errors=True)
    else:
        _collect_garbage(index_dir, keep=gen.name)
    with contextlib.suppress(OSError):
        (index_dir / ".CURRENT.tmp").unlink()


def _collect_garbage(index_dir: Path, keep: str) -> None:
    for p in index_dir.iterdir():
        if p.name != keep and (p.name.startswith("gen-") or p.name.startswith(".tmp-gen-")):
            shutil.rmtree(p, ignore_errors=True)
