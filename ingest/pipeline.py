"""Ingest: find files → load → chunk → embed → write a new index generation, incrementally.

Unchanged files (same content hash, same model and chunking) keep their chunks and vectors; new or changed
files are parsed and embedded; files deleted from a folder being scanned are dropped, and documents from other
source roots are kept unless `prune` (see `ingest`). A bad file is reported with its reason and skipped.
Progress goes to a callback `progress(stage, done, total)`; drawing bars is the caller's business.
"""
from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from rag.embed import canonical_model_id, load_embedder
from rag.errors import IndexCorruptError, IndexIncompatibleError, IndexMissingError, LoaderError
from rag.settings import DEFAULT_CORPUS, Settings
from rag.store import load_index, read_manifest, write_index, writer_lock
from rag.types import Chunk

from .chunk import chunk_document, embedding_text
from .isolate import Parser
from .load import PARSER_VERSION, slugify, supported

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IngestReport:
    index_dir: str
    files_indexed: int = 0       # files in the index after this run
    files_parsed: int = 0        # new or changed files read in this run
    files_reused: int = 0        # unchanged files whose chunks were kept
    files_removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    chunks_embedded: int = 0
    tokens_embedded: int = 0
    seconds: float = 0.0
    rebuild_reason: str | None = None
    changed: bool = True
    files_kept_outside: int = 0  # documents of other roots, kept without being scanned
    removed: list[str] = field(default_factory=list)  # sources of the documents removed from the index
    roots: list[str] = field(default_factory=list)    # source roots the index remembers after this run

    def summary(self) -> str:
        s = (f"{self.files_indexed} fichier(s) indexé(s) ({self.files_parsed} lu(s), {self.files_reused} inchangé(s), "
             f"{self.files_removed} retiré(s)), {len(self.skipped)} ignoré(s), {self.chunks} passages, "
             f"{self.seconds:.1f} s")
        if self.files_kept_outside:
            s += f" ; {self.files_kept_outside} document(s) d'autres chemins gardé(s) tels quels"
        if not self.changed:
            s += " — index déjà à jour, rien à réécrire"
        return s


def discover(paths: list[Path], settings: Settings, skipped: list[Skipped]) -> list[tuple[Path, str]]:
    """(resolved path, path as ingested) for every supported file under `paths`, sorted, without duplicates.

    Symbolic links are followed only when they stay inside the folder being ingested."""
    found: dict[Path, str] = {}

    def excluded(name: str) -> bool:
        return name.startswith(".") or any(fnmatch.fnmatch(name, pat) for pat in settings.exclude)

    for given in paths:
        given = Path(given)
        if not given.exists() and not given.is_symlink():
            skipped.append(Skipped(str(given), "introuvable"))
            continue
        if given.is_file():
            if _bad_name(given):
                skipped.append(Skipped(str(given), _BAD_NAME))
            elif supported(given):
                found.setdefault(given.resolve(), str(given))
            else:
                skipped.append(Skipped(str(given), f"format non pris en charge ({given.suffix or 'sans extension'})"))
            continue
        root = given.resolve()
        for dirpath, dirnames, filenames in os.walk(given, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for d in dirnames:  # os.walk does not enter linked folders; say so when they lead outside
                link = Path(dirpath) / d
                if link.is_symlink() and not _inside(link, root):
                    skipped.append(Skipped(str(link), "lien symbolique vers un dossier extérieur : non suivi"))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if excluded(name) or not supported(p):
                    continue
                try:
                    real = p.resolve()
                except (RuntimeError, OSError):  # RuntimeError: a loop of symbolic links
                    skipped.append(Skipped(str(p), "lien symbolique en boucle : non suivi"))
                    continue
                if _bad_name(p) or _bad_name(real):
                    skipped.append(Skipped(str(p), _BAD_NAME))
                    continue
                if p.is_symlink() and not real.is_relative_to(root):
                    skipped.append(Skipped(str(p), "lien symbolique vers l'extérieur du dossier : non suivi"))
                    continue
                found.setdefault(real, str(p))
    return sorted(found.items(), key=lambda kv: kv[1])


def _inside(link: Path, root: Path) -> bool:
    try:
        return link.resolve().is_relative_to(root)
    except (RuntimeError, OSError):
        return False


_BAD_NAME = "nom de fichier qui n'est pas en UTF-8 : renommez le fichier (par exemple avec convmv)"


def _bad_name(p: Path) -> bool:
    try:
        str(p).encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes come back from the OS as lone surrogates
        return True
    return False


def _readable_manifest(index_dir: Path) -> dict | None:
    try:
        return read_manifest(index_dir)
    except (IndexCorruptError, OSError):
        return None


def _unique_id(doc_id: str, source: str, key: str, taken: Callable[[str], bool]) -> str:
    """An id named after the file (no id in a front matter) that another file of the same name already holds:
    prefixed with the file's folder (a/rapport.pdf → a-rapport), else with a hash of its path."""
    parent = Path(source).parent.name
    if parent and parent not in (".", "/"):
        candidate = f"{slugify(parent)}-{doc_id}"
        if not taken(candidate):
            return candidate
    return f"{doc_id}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}"


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """Read a file once (its hash and its parse use the same bytes, even if it changes meanwhile)."""
    # O_NONBLOCK: a FIFO named like a document must not block the run waiting for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LoaderError(path, "pas un fichier ordinaire (tube, périphérique ou socket) : ignoré")
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LoaderError(path, f"fichier trop volumineux (plus de {max_bytes // 1024 // 1024} Mo : réglage max_file_mb)")
    return data


def ingest(paths: list[Path] | None, settings: Settings, progress: Progress | None = None,
           rebuild: bool = False, wait_lock: bool = False, prune: bool = False) -> IngestReport:
    """Add or update `paths` in the index of `settings.index_dir`.

    Semantics (README « Mettre à jour l'index »): the index remembers its source roots (every path ever
    ingested). `paths` are scanned: new and changed files there are (re)indexed, and files that vanished from a
    scanned folder are removed (and reported). Documents from the other roots are kept as they are, so that
    `ingest nouveau.pdf` adds one document to the index instead of leaving an index of one document. With
    no `paths`, every remembered root is scanned (the corpus folder for a new index). A root that no longer
    exists keeps its documents, unless `prune`: then the index keeps only what is found under `paths` (or,
    with no `paths`, under the remembered roots that still exist), and forgets the other roots."""
    t0 = time.perf_counter()
    index_dir = Path(settings.index_dir)
    report = IngestReport(index_dir=str(index_dir))
    model_id = canonical_model_id(settings.model)
    progress = progress or (lambda stage, done, total: None)

    # Parser: each file parsed in a worker process with time and memory limits (settings.isolate).
    with writer_lock(index_dir, wait=wait_lock), Parser(settings) as parse:
        previous = None
        if not rebuild:
            try:
                previous = load_index(index_dir)
            except IndexMissingError:
                previous = None
            except (IndexCorruptError, IndexIncompatibleError) as e:
                report.rebuild_reason = f"index précédent inutilisable, reconstruction complète ({e})"
                log.warning(report.rebuild_reason)
        else:
            report.rebuild_reason = "reconstruction demandée"
        # what the index held, even when its vectors cannot be reused: a rebuild re-reads those files too
        prior = previous.manifest if previous is not None else _readable_manifest(index_dir)
        if previous is not None:
            pm = previous.manifest
            if pm["model"]["id"] != model_id:
                report.rebuild_reason = (f"modèle changé ({pm['model']['id']} → {model_id}) : "
                                         f"reconstruction complète")
                previous = None
            elif pm.get("chunking") != settings.chunking:
                report.rebuild_reason = f"découpage changé ({pm.get('chunking')} → {settings.chunking}) : reconstruction complète"
                previous = None
            elif pm.get("parser_version") != PARSER_VERSION:
                report.rebuild_reason = (f"lecture des documents modifiée (version {pm.get('parser_version')} → "
                                         f"{PARSER_VERSION}) : tous les fichiers sont relus")
                previous = None
            elif pm.get("faiss") != settings.faiss_index:
                report.rebuild_reason = f"type d'index FAISS changé ({pm.get('faiss')} → {settings.faiss_index})"
        if report.rebuild_reason:
            log.info(report.rebuild_reason)

        old_files: dict[str, dict] = previous.manifest.get("files", {}) if previous else {}
        old_rows: dict[str, list[int]] = {}
        if previous is not None:
            for i, c in enumerate(previous.chunks):
                old_rows.setdefault(c.source, []).append(i)

        remembered = [Path(r) for r in (prior or {}).get("roots", [])]
        given = [Path(p) for p in paths] if paths else (remembered or [DEFAULT_CORPUS])
        scopes = [(Path(g).resolve(), Path(g).is_dir()) for g in given if Path(g).exists()]

        def in_scope(key: str) -> bool:  # under a path scanned in this run (which exists)
            return any(key == str(r) or (is_dir and key.startswith(str(r) + os.sep)) for r, is_dir in scopes)

        prior_files: dict[str, dict] = (prior or {}).get("files", {})
        scan = list(given)
        if previous is None and not prune:
            # a rebuild cannot reuse vectors: documents of the other roots are read again from their files
            scan += [Path(rec["source"]) for key, rec in prior_files.items() if not in_scope(key)]
        files = discover(scan, settings, report.skipped)
        max_bytes = int(settings.max_file_mb * 1024 * 1024)
        kept: list[tuple[str, dict, list[Chunk], np.ndarray | None]] = []  # (key, file record, chunks, vectors)
        seen_ids: dict[str, str] = {}
        # ids of documents already indexed and still present stay theirs, even when a new file with the same
        # name sorts before them (its id is then made unique, see _unique_id)
        present = {str(real) for real, _ in files}
        outside = {} if prune else {key: rec for key, rec in old_files.items()
                                    if key not in present and not in_scope(key)}
        reserved = {rec["doc_id"]: key for key, rec in old_files.items() if key in present or key in outside}
        embedder = None
        to_embed: list[Chunk] = []
        for n, (real, source) in enumerate(files, start=1):
            progress("lecture", n, len(files))
            key = str(real)
            try:
                data = read_bounded(real, max_bytes)
            except LoaderError as e:
                report.skipped.append(Skipped(source, e.reason))
                continue
            except OSError as e:
                report.skipped.append(Skipped(source, f"lecture impossible ({e.strerror or e})"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            rec = old_files.get(key)
            if previous is not None and rec and rec["sha256"] == digest and rec["source"] in old_rows:
                rows = old_rows[rec["source"]]
                chunks = [previous.chunks[i] for i in rows]
                doc_id = rec["doc_id"]
                if doc_id in seen_ids:
                    report.skipped.append(Skipped(source, f"identifiant « {doc_id} » déjà utilisé par {seen_ids[doc_id]}"))
                    continue
                seen_ids[doc_id] = source
                kept.append((key, rec, chunks, previous.vectors[rows]))
                report.files_reused += 1
                continue
            try:
                doc = parse(real, source, data)
            except LoaderError as e:
                report.skipped.append(Skipped(source, e.reason))
                continue
            def taken(doc_id: str) -> bool:
                return doc_id in seen_ids or reserved.get(doc_id, key) != key

            if taken(doc.id):
                if doc.id != slugify(real.stem) and doc.id != slugify(Path(source).stem):
                    # an id written in the front matter: two documents claim it, which is an authoring error
                    owner = seen_ids.get(doc.id) or old_files[reserved[doc.id]]["source"]
                    report.skipped.append(Skipped(source, f"identifiant « {doc.id} » déjà utilisé par {owner}"))
                    continue
                doc.meta["id"] = _unique_id(doc.id, source, key, taken)
                log.info("%s : identifiant « %s » déjà pris, « %s » à la place", source, slugify(real.stem), doc.id)
            seen_ids[doc.id] = source
            if embedder is None:
                embedder = load_embedder(settings.model)
            chunks = chunk_document(doc, embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
            to_embed.extend(chunks)
            kept.append((key, {"sha256": digest, "source": source, "doc_id": doc.id, "chunks": len(chunks)},
                         chunks, None))
            report.files_parsed += 1

        parse.close()  # the worker's memory is not needed while embedding
        # documents of the roots not scanned in this run stay as they are (never dropped without --prune)
        for key, rec in outside.items():
            if rec["doc_id"] in seen_ids or rec["source"] not in old_rows:
                continue
            rows = old_rows[rec["source"]]
            seen_ids[rec["doc_id"]] = rec["source"]
            kept.append((key, rec, [previous.chunks[i] for i in rows], previous.vectors[rows]))
            report.files_kept_outside += 1
            if not Path(key).exists():
                report.skipped.append(Skipped(rec["source"], "introuvable, gardé dans l'index (--prune pour le "
                                                             "retirer)"))
        kept_keys = {k for k, *_ in kept}
        report.removed = sorted(rec["source"] for k, rec in old_files.items() if k not in kept_keys)
        report.files_removed = len(report.removed)
        report.files_indexed = len(kept)
        if prune:
            roots = sorted({str(r) for r, _ in scopes})
        else:
            roots = sorted({str(r) for r in remembered} | {str(Path(g).resolve()) for g in given
                                                           if Path(g).exists()})
        report.roots = roots

        if (previous is not None and not report.rebuild_reason and not to_embed and report.files_removed == 0
                and len(kept) == len(old_files) and roots == sorted(previous.manifest.get("roots", []))):
            report.changed = False
            report.chunks = len(previous.chunks)
            report.seconds = time.perf_counter() - t0
            return report

        if embedder is None:
            embedder = load_embedder(settings.model)
        new_vectors = embedder.encode_documents(
            [embedding_text(c) for c in to_embed],
            progress=lambda done, total: progress("encodage", done, total),
            batch_size=settings.embed_batch,
        ) if to_embed else np.zeros((0, embedder.dim), np.float32)
        report.chunks_embedded = len(to_embed)
        report.tokens_embedded = sum(c.n_tokens for c in to_embed)

        all_chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        cursor = 0
        files_manifest = {}
        filled = []
        for key, rec, chunks, vecs in kept:
            if vecs is None:
                vecs = new_vectors[cursor:cursor + len(chunks)]
                cursor += len(chunks)
            filled.append((key, rec, chunks, vecs))
        filled.sort(key=lambda t: t[1]["source"])  # rows in path order, whichever run added each file
        for key, rec, chunks, vecs in filled:
            all_chunks.extend(chunks)
            parts.append(vecs)
            files_manifest[key] = rec
        vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
        progress("écriture", 0, 1)
        write_index(index_dir, all_chunks, vectors, {
            "model": {"id": model_id, "dim": int(embedder.dim)},
            "chunking": settings.chunking,
            "faiss": settings.faiss_index,
            "parser_version": PARSER_VERSION,
            "bm25": {"analyzer": "lower+stopwords+snowball+fold", "k1": 1.5, "b": 0.75},
            "files": files_manifest,
            "roots": roots,
            "n_docs": len(kept),
        })
        progress("écriture", 1, 1)
        report.chunks = len(all_chunks)
    report.seconds = time.perf_counter() - t0
    return report
