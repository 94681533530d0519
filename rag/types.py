"""The small data types passed between pipeline stages.

load → `Document` (made of `Section`s) → split → `Chunk` → index → retrieve → `Hit` → answer → `Answer`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Metadata carried from a document's front matter to every chunk and hit.
META_FIELDS = ("id", "title", "type", "authors", "year", "language", "url", "publisher", "countries", "topics",
               "see_also", "url_kind")  # url_kind: "miroir" when `url` is an unofficial copy (document-sharing site)

# Types and their labels live in rag/vocab.py, the one vocabulary module; re-exported here for callers.
from .vocab import RESOURCE_TYPES, TYPE_LABELS_FR  # noqa: E402,F401


@dataclass(frozen=True)
class Section:
    text: str
    page: int | None = None
    heading: str | None = None


@dataclass
class Document:
    source: str          # path as ingested
    meta: dict[str, Any]  # META_FIELDS, filled in by the loader
    sections: list[Section]
    sha256: str = ""

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    source: str
    text: str
    page: int | None
    section: str | None
    meta: dict[str, Any]
    n_tokens: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Chunk":
        return cls(**d)


@dataclass
class Hit:
    rank: int
    score: float
    chunk: Chunk
    dense_score: float | None = None
    bm25_score: float | None = None
    passages: list[Chunk] = field(default_factory=list)  # grouped mode: the resource's best passages

    def to_json(self) -> dict:
        m = self.chunk.meta
        d = {
            "rank": self.rank, "score": round(float(self.score), 6), "text": self.chunk.text,
            "doc_id": self.chunk.doc_id, "source": self.chunk.source, "title": m.get("title"),
            "type": m.get("type"), "authors": m.get("authors") or [], "year": m.get("year"),
            "url": m.get("url"), "language": m.get("language"), "page": self.chunk.page,
            "section": self.chunk.section, "chunk_id": self.chunk.chunk_id,
        }
        if self.passages:
            d["passages"] = [{"chunk_id": c.chunk_id, "text": c.text, "page": c.page} for c in self.passages]
        return d


@dataclass
class Citation:
    n: int
    chunk: Chunk
    sentences: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        m = self.chunk.meta
        return {
            "n": self.n, "doc_id": self.chunk.doc_id, "source": self.chunk.source, "title": m.get("title"),
            "type": m.get("type"), "authors": m.get("authors") or [], "year": m.get("year"),
            "url": m.get("url"), "page": self.chunk.page, "passage": self.chunk.text,
            "sentences": self.sentences,
        }


@dataclass
class Reading:
    """A resource to read after the answer (« Pour aller plus loin »): relevant, not already cited."""
    doc_id: str
    meta: dict[str, Any]

    def to_json(self) -> dict:
        m = self.meta
        return {"doc_id": self.doc_id, "title": m.get("title"), "type": m.get("type"),
                "type_label": TYPE_LABELS_FR.get(m.get("type"), m.get("type") or "document"),
                "authors": m.get("authors") or [], "year": m.get("year"), "url": m.get("url"),
                "language": m.get("language")}


@dataclass
class Answer:
    question: str
    text: str                     # the answer body with inline [n] markers
    citations: list[Citation]
    hits: list[Hit]
    found: bool = True            # False: nothing relevant, `hits` are only suggestions
    query: str = ""               # the query actually searched (rewritten for follow-ups)
    warnings: list[str] = field(default_factory=list)
    mode: str = "extractive"
    applied: list[str] = field(default_factory=list)  # filters the assistant applied on its own (« filtré : vidéos »)
    further: list[Reading] = field(default_factory=list)  # « Pour aller plus loin », grouped by type

    def sources_text(self) -> str:
        lines = []
        for c in self.citations:
            m = c.chunk.meta
            if m.get("type") == "concept":
                authors, year = "note de synthèse innosoc", "d'après les sources citées"
            else:
                authors = ", ".join(m.get("authors") or []) or "auteur inconnu"
                year = m.get("year") or "s.d."
            label = TYPE_LABELS_FR.get(m.get("type"), m.get("type") or "document")
            url = f" — {m['url']}" if m.get("url") else ""
            lines.append(f"[{c.n}] {m.get('title')} — {authors} ({year}), {label}{url}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "question": self.question, "query": self.query, "answer": self.text, "found": self.found,
            "mode": self.mode, "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits], "warnings": self.warnings,
            "applied": self.applied, "further": [r.to_json() for r in self.further],
        }

    def further_text(self) -> str:
        """« Pour aller plus loin » as plain text lines, grouped by type (empty when there is nothing)."""
        if not self.further:
            return ""
        lines = ["Pour aller plus loin :"]
        last = None
        for r in self.further:
            m = r.meta
            label = TYPE_LABELS_FR.get(m.get("type"), m.get("type") or "document")
            if label != last:
                lines.append(f"{label} :")
                last = label
            authors = ", ".join(m.get("authors") or []) or "auteur inconnu"
            lines.append(f"- {m.get('title')} — {authors} ({m.get('year') or 's.d.'})")
        return "\n".join(lines)
