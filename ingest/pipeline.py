"""Ingest: find files → load → chunk → embed → write a new index generation, incrementally.

Unchanged files (same content hash, same model and chunking) keep their chunks, vectors and sentence vectors;
new or changed files are parsed and embedded (their chunks, then each distinct sentence of their
chunks: rag/sentences.py); files deleted from a folder being scanned are dropped, and documents from other
source roots are kept unless `prune` (see `ingest`). A bad file is reported with its reason and skipped.
Progress goes to a callback `progress(stage, done, total)`; drawing bars is the caller's business. The files
are found and read by ingest/discover.py; sentences are encoded and their table assembled by ingest/sentences.py.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from rag.embed import canonical_model_id, load_embedder
from rag.errors import IndexCorruptError, IndexIncompatibleError, IndexMissingError, LoaderError
from rag.settings import DEFAULT_CORPUS, Settings
from rag.sentences import about_rules, pooled_vectors
from rag.store import load_index, read_manifest, write_index, writer_lock
from rag.types import Chunk

from .chunk import chunk_document, embedding_text
from .discover import Skipped, discover, read_bounded
from .isolate import Parser
from .load import PARSER_VERSION, slugify
from .sentences import _assemble_sentences, _scattered, embed_sentences, file_sentences

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


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
    sentences_embedded: int = 0  # distinct sentences encoded in this run
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
        elif self.rebuild_reason:
            s += f" — {self.rebuild_reason}"
        return s


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


def _renamed(chunks: list[Chunk], doc_id: str) -> list[Chunk]:
    import dataclasses

    return [dataclasses.replace(c, doc_id=doc_id, chunk_id=f"{doc_id}#{i}", meta=dict(c.meta, id=doc_id))
            for i, c in enumerate(chunks)]


@dataclass
class Pending:
    """A new or changed file, read once and hashed: to be parsed, chunked and embedded (the "map")."""
    real: Path
    source: str
    data: bytes
    digest: str


@dataclass
class Encoded:
    """What the map makes of one file: its document id, chunks and their vectors (row i = chunk i), and the
    sentence records of its chunks (chunk and vec fields local to this file) with their vectors. A map that does
    not encode sentences leaves them None: the assembly encodes them then."""
    doc_id: str
    chunks: list[Chunk]
    vectors: np.ndarray
    sentences: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


# A map takes (slot, Pending) pairs, lazily (reading and hashing go on while it consumes them), and returns
# {slot: Encoded, or the reason the file was skipped}. ingest_serial uses map_serial; ingest/distributed.py
# runs the same per-file functions (parse_and_chunk, embed_chunks) as Ray tasks.
MapFiles = Callable[[Iterator[tuple[int, Pending]], Settings, Progress], dict[int, "Encoded | str"]]


def parse_and_chunk(parse: Parser, embedder, item: Pending, settings: Settings) -> tuple[str, list[Chunk]]:
    """Parse one file (raises LoaderError) and cut it into chunks sized in the embedder's tokens."""
    doc = parse(item.real, item.source, item.data)
    return doc.id, chunk_document(doc, embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)


def embed_chunks(embedder, chunks: list[Chunk], settings: Settings,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The one place chunks are encoded at ingest, in the serial run and in each distributed worker alike."""
    if not chunks:
        return np.zeros((0, embedder.dim), np.float32)
    return embedder.encode_documents([embedding_text(c) for c in chunks], progress=progress,
                                     batch_size=settings.embed_batch)


def map_serial(pending: Iterator[tuple[int, Pending]], settings: Settings, progress: Progress) -> dict:
    """Parse every file (in an isolated worker process), then encode all new chunks in one batched pass."""
    out: dict[int, Encoded | str] = {}
    parsed: list[tuple[int, str, list[Chunk]]] = []
    embedder = None
    with Parser(settings) as parse:
        for slot, item in pending:
            if embedder is None:
                embedder = load_embedder(settings.model)
            try:
                doc_id, chunks = parse_and_chunk(parse, embedder, item, settings)
            except LoaderError as e:
                out[slot] = e.reason
                continue
            parsed.append((slot, doc_id, chunks))
    # the parser's worker process is gone: its memory is not needed while encoding
    if parsed:
        out.update(encode_parsed(embedder, parsed, settings, progress))
    return out


def encode_parsed(embedder, parsed: list[tuple[int, str, list[Chunk]]], settings: Settings,
                  progress: Progress) -> dict[int, Encoded]:
    """Encode the chunks of parsed files in one pass and split the result per file: {slot: Encoded}. The
    serial map calls it once for the whole run, each distributed worker once per batch of files."""
    out: dict[int, Encoded] = {}
    vectors, recs, svecs = embed_new(embedder, [c for _, _, chunks in parsed for c in chunks], settings, progress)
    cursor = 0
    for slot, doc_id, chunks in parsed:
        r, v = file_sentences(recs, svecs, cursor, len(chunks))
        out[slot] = Encoded(doc_id, chunks, vectors[cursor:cursor + len(chunks)], r, v)
        cursor += len(chunks)
    return out


def embed_new(embedder, chunks: list[Chunk], settings: Settings,
              progress: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chunk vectors, sentence records and sentence vectors of new chunks. With settings.chunk_vectors ==
    "pooled" the chunk vectors are not encoded but derived from their sentences' and their title's vectors."""
    if settings.chunk_vectors == "pooled":
        titles = sorted({c.meta.get("title") or "" for c in chunks} - {""})
        records, svecs, tvecs = embed_sentences(embedder, chunks, settings, progress, extra=titles)
        title_vec = dict(zip(titles, tvecs))
        zero = np.zeros(embedder.dim, np.float32)
        extra = np.stack([title_vec.get(c.meta.get("title") or "", zero) for c in chunks]) if chunks else None
        return pooled_vectors(records, svecs, len(chunks), extra=extra), records, svecs
    vectors = embed_chunks(embedder, chunks, settings, progress=lambda done, total: progress("encodage", done, total))
    records, svecs, _ = embed_sentences(embedder, chunks, settings, progress)
    return vectors, records, svecs


def ingest(paths: list[Path] | None, settings: Settings, progress: Progress | None = None,
           rebuild: bool = False, wait_lock: bool = False, map_files: MapFiles | None = None,
           prune: bool = False) -> IngestReport:
    """Add or update `paths` in the index of `settings.index_dir`. `map_files` does the parse+embed work
    (default: this process).

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
    map_files = map_files or map_serial

    with writer_lock(index_dir, wait=wait_lock):
        previous = _previous_index(index_dir, settings, model_id, rebuild, report)
        # what the index held, even when its vectors cannot be reused: a rebuild re-reads those files too
        prior = previous.manifest if previous is not None else _readable_manifest(index_dir)
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
        scan_paths = list(given)
        if previous is None and not prune:
            # a rebuild cannot reuse vectors: documents of the other roots are read again from their files
            scan_paths += [Path(rec["source"]) for key, rec in prior_files.items() if not in_scope(key)]
        files = discover(scan_paths, settings, report.skipped)
        present = {str(real) for real, _ in files}
        outside = {} if prune else {key: rec for key, rec in old_files.items()
                                    if key not in present and not in_scope(key)}
        # ids of documents already indexed and kept stay theirs, even when a new file with the same name sorts
        # before them (its id is then made unique, see _unique_id)
        reserved = {rec["doc_id"]: key for key, rec in old_files.items() if key in present or key in outside}
        max_bytes = int(settings.max_file_mb * 1024 * 1024)
        # One slot per file, in file order: (key, source, what became of it). The map fills in the pending
        # ones; the slots are then assembled in order, so that serial and distributed runs give the same index.
        slots: list[tuple[str, str, object]] = []

        def scan() -> Iterator[tuple[int, Pending]]:
            for n, (real, source) in enumerate(files, start=1):
                progress("lecture", n, len(files))
                key = str(real)
                try:
                    data = read_bounded(real, max_bytes)
                except LoaderError as e:
                    slots.append((key, source, Skipped(source, e.reason)))
                    continue
                except OSError as e:
                    slots.append((key, source, Skipped(source, f"lecture impossible ({e.strerror or e})")))
                    continue
                digest = hashlib.sha256(data).hexdigest()
                rec = old_files.get(key)
                if previous is not None and rec and rec["sha256"] == digest and rec["source"] in old_rows:
                    rows = old_rows[rec["source"]]
                    # the file's chunks are contiguous rows of the previous index, and so are their sentences
                    srecs, svecs = file_sentences(previous.sentences, previous.sentence_vectors, rows[0], len(rows)) \
                        if rows == list(range(rows[0], rows[0] + len(rows))) else _scattered(previous, rows)
                    slots.append((key, source, (rec, [previous.chunks[i] for i in rows], previous.vectors[rows],
                                                srecs, svecs)))
                    continue
                slots.append((key, source, digest))
                yield len(slots) - 1, Pending(real, source, data, digest)

        mapped = map_files(scan(), settings, progress)

        # (key, file record, chunks, chunk vectors, sentence records, sentence vectors, encoded in this run)
        kept: list[tuple[str, dict, list[Chunk], np.ndarray, np.ndarray | None, np.ndarray | None, bool]] = []
        seen_ids: dict[str, str] = {}
        to_embed: list[Chunk] = []
        for slot, (key, source, what) in enumerate(slots):
            if isinstance(what, Skipped):
                report.skipped.append(what)
                continue
            if isinstance(what, tuple):  # unchanged file: chunks and vectors reused
                rec, chunks, vecs, srecs, svecs = what
                doc_id, fresh = rec["doc_id"], False
            else:
                result = mapped[slot]
                if isinstance(result, str):
                    report.skipped.append(Skipped(source, result))
                    continue
                doc_id, chunks, vecs, fresh = result.doc_id, result.chunks, result.vectors, True
                srecs, svecs = result.sentences, result.sentence_vectors

                def taken(i: str) -> bool:
                    return i in seen_ids or reserved.get(i, key) != key

                if taken(doc_id) and doc_id in (slugify(Path(key).stem), slugify(Path(source).stem)):
                    # an id made from the file name (no id in a front matter): a/rapport.pdf and b/rapport.pdf
                    # are two documents
                    new_id = _unique_id(doc_id, source, key, taken)
                    log.info("%s : identifiant « %s » déjà pris, « %s » à la place", source, doc_id, new_id)
                    doc_id, chunks = new_id, _renamed(chunks, new_id)
                rec = {"sha256": what, "source": source, "doc_id": doc_id, "chunks": len(chunks)}
                if reserved.get(doc_id, key) != key:
                    # an id written in a front matter that an indexed document already holds: authoring error
                    owner = old_files[reserved[doc_id]]["source"]
                    report.skipped.append(Skipped(source, f"identifiant « {doc_id} » déjà utilisé par {owner}"))
                    continue
            if doc_id in seen_ids:
                report.skipped.append(Skipped(source, f"identifiant « {doc_id} » déjà utilisé par {seen_ids[doc_id]}"))
                continue
            seen_ids[doc_id] = source
            kept.append((key, rec, chunks, vecs, srecs, svecs, fresh))
            if fresh:
                report.files_parsed += 1
                to_embed.extend(chunks)
            else:
                report.files_reused += 1

        # documents of the roots not scanned in this run stay as they are (never dropped without --prune)
        for key, rec in outside.items():
            if rec["doc_id"] in seen_ids or rec["source"] not in old_rows:
                continue
            rows = old_rows[rec["source"]]
            seen_ids[rec["doc_id"]] = rec["source"]
            srecs, svecs = _scattered(previous, rows)
            kept.append((key, rec, [previous.chunks[i] for i in rows], previous.vectors[rows], srecs, svecs, False))
            report.files_kept_outside += 1
            if not Path(key).exists():
                report.skipped.append(Skipped(rec["source"], "introuvable, gardé dans l'index (--prune pour le "
                                                             "retirer)"))
        kept.sort(key=lambda t: t[1]["source"])  # rows in path order, whichever run added each file
        kept_keys = {k[0] for k in kept}
        report.removed = sorted(rec["source"] for k, rec in old_files.items() if k not in kept_keys)
        report.files_removed = len(report.removed)
        report.files_indexed = len(kept)
        report.chunks_embedded = len(to_embed)
        report.tokens_embedded = sum(c.n_tokens for c in to_embed) if settings.chunk_vectors != "pooled" else 0
        if prune:
            roots = sorted({str(r) for r, _ in scopes})
        else:
            roots = sorted({str(r) for r in remembered} | {str(Path(g).resolve()) for g in given
                                                           if Path(g).exists()})
        report.roots = roots

        # (files kept from the previous index have the current « about » flags: load_index flags a table written
        # under other rules again; such an index is written anew, so that the next load need not)
        if (previous is not None and not report.rebuild_reason and not to_embed and report.files_removed == 0
                and len(kept) == len(old_files) and roots == sorted(previous.manifest.get("roots", []))
                and previous.manifest.get("about_rules") == about_rules()):
            report.changed = False
            report.chunks = len(previous.chunks)
            report.seconds = time.perf_counter() - t0
            return report

        all_chunks = [c for _, _, chunks, *_ in kept for c in chunks]
        if kept:
            vectors = np.concatenate([k[3] for k in kept])
            dim = vectors.shape[1]
        else:
            dim = previous.manifest["model"]["dim"] if previous else load_embedder(settings.model).dim
            vectors = np.zeros((0, dim), np.float32)
        records, sentence_vectors = _assemble_sentences(kept, dim, settings, progress, report)
        progress("écriture", 0, 1)
        write_index(index_dir, all_chunks, vectors, {
            "model": {"id": model_id, "dim": int(dim)},
            "chunking": settings.chunking,
            "chunk_vectors": settings.chunk_vectors,
            "n_sentences": int(len(records)),
            "faiss": settings.faiss_index,
            "parser_version": PARSER_VERSION,
            "bm25": {"analyzer": "lower+stopwords+snowball+fold", "k1": 1.5, "b": 0.75},
            "files": {k[0]: k[1] for k in kept},
            "roots": roots,
            "n_docs": len(kept),
        }, sentences=records, sentence_vectors=sentence_vectors)
        progress("écriture", 1, 1)
        report.chunks = len(all_chunks)
    report.seconds = time.perf_counter() - t0
    return report


def _previous_index(index_dir: Path, settings: Settings, model_id: str, rebuild: bool, report: IngestReport):
    """The current index if its chunks and vectors may be reused, else None (with the reason in the report)."""
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
    return previous
