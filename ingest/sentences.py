"""Sentence vectors at ingest: the sentences of new chunks encoded, and the index's sentence table assembled.

Each file carries its own sentence records (chunk and vector numbers local to the file), whether encoded in
this run or taken from the previous index; the table of the new index is these parts shifted to the file's
rows (rag/sentences.py defines the records).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rag.embed import load_embedder
from rag.sentences import RECORD, sentence_table
from rag.settings import Settings
from rag.types import Chunk

if TYPE_CHECKING:
    from .pipeline import IngestReport, Progress


def embed_sentences(embedder, chunks: list[Chunk], settings: Settings, progress: Progress,
                    extra: list[str] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentence records of `chunks` (chunk field = position in the list), the vectors of their distinct
    sentences, and the vectors of `extra` texts encoded in the same pass."""
    records, texts = sentence_table([c.text for c in chunks])
    vecs = embedder.encode_documents(texts + list(extra), batch_size=settings.embed_batch,
                                     progress=lambda done, total: progress("encodage des phrases", done, total)) \
        if texts or extra else np.zeros((0, embedder.dim), np.float32)
    return records, vecs[:len(texts)], vecs[len(texts):]


def file_sentences(records: np.ndarray, svecs: np.ndarray, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The records of chunks start..start+n-1 renumbered from 0, with only the sentence vectors they use."""
    lo, hi = np.searchsorted(records["chunk"], [start, start + n])
    recs = np.array(records[lo:hi], copy=True)
    if not len(recs):
        return recs, np.zeros((0, svecs.shape[1]), np.float32)
    recs["chunk"] -= start
    used, inverse = np.unique(recs["vec"], return_inverse=True)
    recs["vec"] = inverse.reshape(-1)
    return recs, np.asarray(svecs[used], dtype=np.float32)


def _assemble_sentences(kept, dim: int, settings: Settings, progress: Progress,
                        report: IngestReport) -> tuple[np.ndarray, np.ndarray]:
    """The index's sentence table: each file's records shifted to its chunk rows and vector rows. Files mapped
    without their sentences (a map that only encodes chunks) get them encoded here, in one pass."""
    missing = [c for k in kept if k[4] is None for c in k[2]]
    fill_recs = fill_vecs = None
    if missing:
        embedder = load_embedder(settings.model)
        fill_recs, fill_vecs, _ = embed_sentences(embedder, missing, settings, progress)
    rec_parts, vec_parts = [], []
    row = nvec = cursor = 0
    for k in kept:
        chunks, srecs, svecs = k[2], k[4], k[5]
        if srecs is None:
            srecs, svecs = file_sentences(fill_recs, fill_vecs, cursor, len(chunks))
            cursor += len(chunks)
        srecs = np.array(srecs, copy=True)
        srecs["chunk"] += row
        srecs["vec"] += nvec
        rec_parts.append(srecs)
        vec_parts.append(np.asarray(svecs, dtype=np.float32))
        row += len(chunks)
        nvec += len(svecs)
    records = np.concatenate(rec_parts) if rec_parts else np.zeros(0, dtype=RECORD)
    vecs = np.concatenate(vec_parts) if vec_parts else np.zeros((0, dim), np.float32)
    report.sentences_embedded = len(fill_vecs) if fill_vecs is not None else 0
    report.sentences_embedded += sum(len(k[5]) for k in kept if k[6] and k[5] is not None)
    return records, vecs


def _scattered(previous, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sentence records and vectors of chunks at arbitrary rows of the previous index, renumbered from 0."""
    b = previous.sentence_bounds
    recs = np.concatenate([np.array(previous.sentences[b[r]:b[r + 1]], copy=True) for r in rows]) \
        if rows else np.zeros(0, dtype=RECORD)
    if not len(recs):
        return recs, np.zeros((0, previous.sentence_vectors.shape[1]), np.float32)
    new = {r: i for i, r in enumerate(rows)}
    recs["chunk"] = [new[int(c)] for c in recs["chunk"]]
    used, inverse = np.unique(recs["vec"], return_inverse=True)
    recs["vec"] = inverse.reshape(-1)
    return recs, np.asarray(previous.sentence_vectors[used], dtype=np.float32)
