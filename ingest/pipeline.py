"""Ingest: find files → load → chunk → embed → write a new index generation, incrementally.

Unchanged files (same content hash, same model and chunking) keep their chunks, vectors and sentence vectors;
new or changed files are parsed and embedded — their chunks, then each distinct sentence of their chunks
(rag/sentences.py: the answerer composes from those without encoding anything at question time); deleted files
are dropped. A bad file is reported with its reason and skipped.
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
from rag.settings import Settings
from rag.sentences import RECORD, pooled_vectors, sentence_table
from rag.store import load_index, write_index, writer_lock
from rag.types import Chunk

from .chunk import chunk_document, embedding_text
from .isolate import Parser
from .load import PARSER_VERSION, supported

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
    sentences_embedded: int = 0
    sentence_tokens_embedded: int = 0
    embed_seconds: float = 0.0   # chunk and sentence encoding
    seconds: float = 0.0
    rebuild_reason: str | None = None
    changed: bool = True

    def summary(self) -> str:
        s = (f"{self.files_indexed} fichier(s) indexé(s) ({self.files_parsed} lu(s), {self.files_reused} inchangé(s), "
             f"{self.files_removed} retiré(s)), {len(self.skipped)} ignoré(s), {self.chunks} passages, "
             f"{self.seconds:.1f} s")
        if not self.changed:
            s += " — index déjà à jour, rien à réécrire"
        elif self.rebuild_reason:
            s += f" — {self.rebuild_reason}"
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


def ingest(paths: list[Path], settings: Settings, progress: Progress | None = None,
           rebuild: bool = False, wait_lock: bool = False) -> IngestReport:
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
            elif pm.get("chunk_vectors", "encoded") != settings.chunk_vectors:
                report.rebuild_reason = (f"vecteurs de passages changés ({pm.get('chunk_vectors', 'encoded')} → "
                                         f"{settings.chunk_vectors}) : reconstruction complète")
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

        files = discover(paths, settings, report.skipped)
        max_bytes = int(settings.max_file_mb * 1024 * 1024)
        # (key, file record, chunks, chunk vectors, previous rows) — vectors None: new, to be embedded
        kept: list[tuple[str, dict, list[Chunk], np.ndarray | None, list[int] | None]] = []
        seen_ids: dict[str, str] = {}
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
                kept.append((key, rec, chunks, previous.vectors[rows], rows))
                report.files_reused += 1
                continue
            try:
                doc = parse(real, source, data)
            except LoaderError as e:
                report.skipped.append(Skipped(source, e.reason))
                continue
            if doc.id in seen_ids:
                report.skipped.append(Skipped(source, f"identifiant « {doc.id} » déjà utilisé par {seen_ids[doc.id]}"))
                continue
            seen_ids[doc.id] = source
            if embedder is None:
                embedder = load_embedder(settings.model)
            chunks = chunk_document(doc, embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
            to_embed.extend(chunks)
            kept.append((key, {"sha256": digest, "source": source, "doc_id": doc.id, "chunks": len(chunks)},
                         chunks, None, None))
            report.files_parsed += 1

        parse.close()  # the worker's memory is not needed while embedding
        kept_keys = {k[0] for k in kept}
        report.files_removed = sum(1 for k in old_files if k not in kept_keys)
        report.files_indexed = len(kept)

        if (previous is not None and not report.rebuild_reason and not to_embed and report.files_removed == 0
                and len(kept) == len(old_files)):
            report.changed = False
            report.chunks = len(previous.chunks)
            report.seconds = time.perf_counter() - t0
            return report

        if embedder is None:
            embedder = load_embedder(settings.model)
        t_embed = time.perf_counter()
        new_vectors, new_recs, new_svecs = _embed_new(to_embed, embedder, settings, progress, report)
        report.embed_seconds = time.perf_counter() - t_embed

        all_chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        rec_parts: list[np.ndarray] = []
        svec_parts: list[np.ndarray] = [new_svecs]
        n_svecs = len(new_svecs)
        new_row_of = np.zeros(len(to_embed), dtype=np.int64)  # position in to_embed → row in the new index
        cursor = 0
        files_manifest = {}
        for key, rec, chunks, vecs, prev_rows in kept:
            base = len(all_chunks)
            if vecs is None:
                vecs = new_vectors[cursor:cursor + len(chunks)]
                new_row_of[cursor:cursor + len(chunks)] = np.arange(base, base + len(chunks))
                cursor += len(chunks)
            else:  # an unchanged file keeps its sentences and their vectors, renumbered
                r, v = _reused_sentences(previous, prev_rows, base, n_svecs)
                rec_parts.append(r)
                svec_parts.append(v)
                n_svecs += len(v)
            all_chunks.extend(chunks)
            parts.append(vecs)
            files_manifest[key] = rec
        if len(new_recs):
            new_recs["chunk"] = new_row_of[new_recs["chunk"]]
            rec_parts.append(new_recs)
        vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
        records = np.concatenate(rec_parts) if rec_parts else np.zeros(0, dtype=RECORD)
        records = records[np.argsort(records["chunk"], kind="stable")]
        sentence_vectors = np.concatenate(svec_parts).astype(np.float32, copy=False)
        progress("écriture", 0, 1)
        write_index(index_dir, all_chunks, vectors, {
            "model": {"id": model_id, "dim": int(embedder.dim)},
            "chunking": settings.chunking,
            "chunk_vectors": settings.chunk_vectors,
            "n_sentences": int(len(records)),
            "faiss": settings.faiss_index,
            "parser_version": PARSER_VERSION,
            "bm25": {"analyzer": "lower+stopwords+snowball+fold", "k1": 1.5, "b": 0.75},
            "files": files_manifest,
            "n_docs": len(kept),
        }, sentences=records, sentence_vectors=sentence_vectors)
        progress("écriture", 1, 1)
        report.chunks = len(all_chunks)
    report.seconds = time.perf_counter() - t0
    return report


def _embed_new(to_embed: list[Chunk], embedder, settings: Settings, progress: Progress,
               report: IngestReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors of the new chunks, their sentence records (chunk field = position in `to_embed`) and the
    vectors of their distinct sentences. With settings.chunk_vectors == "pooled" the chunk vectors are not
    encoded but derived from their sentences' (and their title's) vectors."""
    dim = embedder.dim
    if not to_embed:
        return np.zeros((0, dim), np.float32), np.zeros(0, dtype=RECORD), np.zeros((0, dim), np.float32)
    records, texts = sentence_table([c.text for c in to_embed])
    report.chunks_embedded = len(to_embed)
    report.sentences_embedded = len(texts)
    report.sentence_tokens_embedded = sum(embedder.count_tokens(t) for t in texts)
    if settings.chunk_vectors == "pooled":
        titles = sorted({c.meta.get("title") or "" for c in to_embed} - {""})
        svecs = embedder.encode_documents(texts + titles, batch_size=settings.embed_batch,
                                          progress=lambda done, total: progress("encodage des phrases", done, total))
        title_vec = dict(zip(titles, svecs[len(texts):]))
        svecs = svecs[:len(texts)]
        extra = np.stack([title_vec.get(c.meta.get("title") or "", np.zeros(dim, np.float32)) for c in to_embed])
        vectors = pooled_vectors(records, svecs, len(to_embed), extra=extra)
        report.tokens_embedded = 0
        return vectors, records, svecs
    vectors = embedder.encode_documents([embedding_text(c) for c in to_embed], batch_size=settings.embed_batch,
                                        progress=lambda done, total: progress("encodage", done, total))
    report.tokens_embedded = sum(c.n_tokens for c in to_embed)
    svecs = embedder.encode_documents(texts, batch_size=settings.embed_batch,
                                      progress=lambda done, total: progress("encodage des phrases", done, total))
    return vectors, records, svecs


def _reused_sentences(previous, prev_rows: list[int], base: int, vec_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """The sentence records and vectors of an unchanged file's chunks, renumbered for their new rows."""
    b = previous.sentence_bounds
    recs = np.concatenate([np.asarray(previous.sentences[b[r]:b[r + 1]]) for r in prev_rows]) \
        if prev_rows else np.zeros(0, dtype=RECORD)
    recs = recs.copy()
    if not len(recs):
        return recs, np.zeros((0, previous.sentence_vectors.shape[1]), np.float32)
    new_chunk = {r: base + i for i, r in enumerate(prev_rows)}
    recs["chunk"] = [new_chunk[int(c)] for c in recs["chunk"]]
    used, inverse = np.unique(recs["vec"], return_inverse=True)
    recs["vec"] = inverse.reshape(-1) + vec_offset
    return recs, np.asarray(previous.sentence_vectors[used], dtype=np.float32)
