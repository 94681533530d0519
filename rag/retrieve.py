"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused, with metadata filters and per-resource grouping.

Fusion is a weighted sum of normalised scores by default (`weighted`; `normalise` says how, and why not
min-max), or reciprocal-rank (`rrf`); bench/piaf.py and bench/corpus_eval.py measure them. Filters are applied inside each ranking (FAISS ID selector, BM25 weight mask)
so that a narrow filter still fills the top-k.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ann
from .embed import load_embedder
from .errors import QueryError
from .settings import Settings
from .store import Index, load_index
from .text import analyze_query, index_languages
from .types import Hit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Filters:
    types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    doc_ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.types or self.languages or self.year_min or self.year_max or self.doc_ids)

    def mask(self, index: Index) -> np.ndarray:
        keep = np.ones(len(index.chunks), dtype=bool)
        for i, c in enumerate(index.chunks):
            m = c.meta
            if self.types and m.get("type") not in self.types:
                keep[i] = False
            elif self.languages and m.get("language") not in self.languages:
                keep[i] = False
            elif self.doc_ids and c.doc_id not in self.doc_ids:
                keep[i] = False
            elif self.year_min or self.year_max:
                y = m.get("year")
                if y is None or (self.year_min and y < self.year_min) or (self.year_max and y > self.year_max):
                    keep[i] = False
        return keep


# Theoretical minimum of each score, for the "tmm" normalisation: cosine similarity ≥ -1, BM25 ≥ 0.
_FLOOR = {"dense": -1.0, "bm25": 0.0}


def normalise(scores, how: str, side: str) -> tuple[np.ndarray, float]:
    """Scores of one ranking put on a common scale; also the value given to a row absent from the ranking.

    - "minmax": (s - min) / (max - min) over the list. Unstable on short lists: two candidates 0.2 % apart
      become 0 and 1, and a single candidate gets 1.
    - "tmm": theoretical min-max, (s - floor) / (max - floor) with the score's own floor (BM25 0, cosine -1):
      continuous in the scores whatever the list's length; a row absent from the list counts as the floor.
    - "zscore": (s - mean) / max(std, 1 % of |max|); the floor on the deviation keeps near-ties near-tied; an
      absent row counts as the list's worst.
    """
    a = np.asarray(scores, dtype=np.float64)
    if how == "minmax":
        lo, hi = a.min(), a.max()
        return ((a - lo) / (hi - lo) if hi > lo else np.ones_like(a)), 0.0
    if how == "tmm":
        lo, hi = _FLOOR[side], a.max()
        span = hi - lo
        return ((a - lo) / span if span > 1e-12 else np.zeros_like(a)), 0.0
    if how == "zscore":
        sd = max(float(a.std()), 0.01 * abs(float(a.max())), 1e-12)
        z = (a - a.mean()) / sd
        return z, float(z.min())
    raise QueryError(f"Normalisation inconnue « {how} » (choix : tmm, zscore, minmax)")


def fuse(d_rows, d_scores, b_rows, b_scores, settings: Settings) -> list[tuple[int, float]]:
    """Rows of the dense and BM25 rankings merged into one ranking, best first; ties go to the lower row."""
    scores: dict[int, float] = {}
    if settings.fusion == "rrf":
        kk = settings.rrf_k
        for ranking in (d_rows, b_rows):
            for r, row in enumerate(ranking):
                scores[row] = scores.get(row, 0.0) + 1.0 / (kk + r + 1)
    elif settings.fusion == "weighted":
        w = settings.dense_weight
        sides = [(list(rows), sc, weight, side) for rows, sc, weight, side in
                 ((d_rows, d_scores, w, "dense"), (b_rows, b_scores, 1 - w, "bm25")) if len(rows)]
        normed = []
        for rows, sc, weight, side in sides:
            norm, absent = normalise(sc, settings.fusion_norm, side)
            normed.append((dict(zip(rows, norm.tolist())), absent, weight))
        for row in {r for rows, *_ in sides for r in rows}:
            scores[row] = sum(weight * of.get(row, absent) for of, absent, weight in normed)
    else:
        raise QueryError(f"Fusion inconnue « {settings.fusion} » (choix : rrf, weighted)")
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class Retriever:
    def __init__(self, index: Index, settings: Settings):
        self.index = index
        self.settings = settings
        self.embedder = load_embedder(index.model_id)
        # queries are analysed in every language of the indexed documents (see analyze_query)
        self.languages = index_languages(c.meta.get("language") for c in index.chunks) or ("fr",)
        if self.embedder.dim != index.manifest["model"]["dim"]:
            from .errors import IndexIncompatibleError
            raise IndexIncompatibleError(
                f"Le modèle « {index.model_id} » donne des vecteurs de dimension {self.embedder.dim}, l'index en "
                f"attend {index.manifest['model']['dim']}. Reconstruisez : python -m ingest --rebuild")

    @classmethod
    def open(cls, settings: Settings, expect_model: str | None = None) -> "Retriever":
        return cls(load_index(Path(settings.index_dir), expect_model=expect_model), settings)

    # -- the two rankings -------------------------------------------------------------------------
    def dense(self, query: str, n: int, mask: np.ndarray | None = None, qvec: np.ndarray | None = None):
        import faiss

        total = len(self.index.chunks)
        if total == 0:
            return [], []
        if qvec is None:
            qvec = self.embedder.encode_queries([query])[0]
        if ann.is_ann(self.index.faiss):  # large-index mode: approximate candidates, exact scores, filters
            return ann.search(self.index.faiss, self.index.vectors, qvec, n, mask)
        params = None
        if mask is not None:
            ids = np.flatnonzero(mask).astype(np.int64)
            if len(ids) == 0:
                return [], []
            sel = faiss.IDSelectorBatch(ids)
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, n))
                      if isinstance(self.index.faiss, faiss.IndexHNSW) else faiss.SearchParameters(sel=sel))
            n = min(n, len(ids))
        scores, rows = self.index.faiss.search(qvec.reshape(1, -1).astype(np.float32), min(n, total), params=params)
        keep = rows[0] >= 0
        return rows[0][keep].tolist(), scores[0][keep].tolist()

    def bm25(self, query: str, n: int, mask: np.ndarray | None = None):
        if self.index.bm25 is None:
            return [], []
        terms = analyze_query(query, self.languages)
        if not terms:
            return [], []
        scores = self.index.bm25.get_scores(terms)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        order = np.argsort(-scores, kind="stable")[:n]
        order = [int(i) for i in order if scores[i] > 0]
        return order, [float(scores[i]) for i in order]

    # -- fused search -----------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid",
               group: bool = False, passages_per_doc: int = 2) -> list[Hit]:
        query = (query or "").strip()
        if not query:
            raise QueryError("La requête est vide : tapez quelques mots.")
        if len(query) > self.settings.max_question_chars:
            query = query[: self.settings.max_question_chars]
        if k < 1:
            raise QueryError("k doit être au moins 1.")
        mask = filters.mask(self.index) if filters else None
        n = max(self.settings.candidates, k * (8 if group else 3))
        d_rows, d_scores = self.dense(query, n, mask) if mode in ("hybrid", "dense") else ([], [])
        b_rows, b_scores = self.bm25(query, n, mask) if mode in ("hybrid", "bm25") else ([], [])
        fused = self.fuse(d_rows, d_scores, b_rows, b_scores)
        dense_of = dict(zip(d_rows, d_scores))
        bm25_of = dict(zip(b_rows, b_scores))
        hits: list[Hit] = []
        by_doc: dict[str, Hit] = {}
        for row, score in fused:
            chunk = self.index.chunks[row]
            if group:
                h = by_doc.get(chunk.doc_id)
                if h is not None:
                    if len(h.passages) < passages_per_doc:
                        h.passages.append(chunk)
                    continue
            h = Hit(rank=len(hits) + 1, score=score, chunk=chunk, dense_score=dense_of.get(row),
                    bm25_score=bm25_of.get(row), passages=[chunk] if group else [])
            hits.append(h)
            by_doc[chunk.doc_id] = h
            if len(hits) >= k and not group:
                break
        return hits[:k]

    def fuse(self, d_rows, d_scores, b_rows, b_scores) -> list[tuple[int, float]]:
        return fuse(d_rows, d_scores, b_rows, b_scores, self.settings)

    def similar(self, doc_id: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Resources close to a given one: the mean of its chunk vectors as the query."""
        rows = [i for i, c in enumerate(self.index.chunks) if c.doc_id == doc_id]
        if not rows:
            raise QueryError(f"Ressource inconnue : {doc_id}")
        v = self.index.vectors[rows].mean(axis=0)
        v = v / (np.linalg.norm(v) or 1.0)
        mask = filters.mask(self.index) if filters else np.ones(len(self.index.chunks), bool)
        mask[rows] = False
        d_rows, d_scores = self.dense("", self.settings.candidates, mask, qvec=v)
        hits: list[Hit] = []
        seen: set[str] = set()
        for row, s in zip(d_rows, d_scores):
            c = self.index.chunks[row]
            if c.doc_id in seen:
                continue
            seen.add(c.doc_id)
            hits.append(Hit(rank=len(hits) + 1, score=float(s), chunk=c, dense_score=float(s), passages=[c]))
            if len(hits) >= k:
                break
        return hits
