"""One frozen settings object, built once (from defaults, CLI flags or the app) and passed explicitly."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = PROJECT_ROOT / "index"
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"

# Bumped whenever the on-disk layout changes; an index of another version is refused.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Settings:
    index_dir: Path = DEFAULT_INDEX
    model: str = "multilingual-e5-small"
    # Chunking, in the embedder's own tokens.
    chunk_tokens: int = 220
    chunk_overlap: int = 40
    # "flat" = exact inner product; "hnsw" = approximate, for large corpora.
    faiss_index: str = "flat"
    # Fusion of dense and BM25 rankings.
    fusion: str = "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5
    candidates: int = 100
    # Ingest limits: a file over these is skipped with a reason.
    max_file_mb: float = 50.0
    max_pdf_pages: int = 1500
    parse_timeout_s: float = 60.0
    exclude: tuple[str, ...] = ("README.md", "README.txt")
    # Answers.
    answer_passages: int = 5
    answer_sentences: int = 4
    max_question_chars: int = 2000
    embed_batch: int = 32

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def chunking(self) -> dict:
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap}
