"""One frozen settings object, built once (from defaults, CLI flags or the app) and passed explicitly."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INDEX = PROJECT_ROOT / "index"
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"

# Bumped whenever the on-disk layout changes; an index of another version is refused (and rebuilt by the
# app and by `python -m ingest`), with the reason below.
FORMAT_VERSION = 2
FORMAT_CHANGES = {
    2: "les phrases des passages et leurs vecteurs sont désormais calculés à l'indexation",
}


@dataclass(frozen=True)
class Settings:
    index_dir: Path = DEFAULT_INDEX
    model: str = "multilingual-e5-small"
    # Chunking, in the embedder's own tokens.
    chunk_tokens: int = 220
    chunk_overlap: int = 40
    # Chunk vectors: "encoded" (each chunk encoded with its title) or "pooled" (the re-normalised mean of its
    # sentences' vectors and its title's, so that ingest encodes each sentence once and nothing else).
    chunk_vectors: str = "encoded"
    # "flat" = exact inner product; "ann" = large-index mode (rag/ann.py: IVF-SQ8 from 50k chunks, vectors
    # memory-mapped); "hnsw" = approximate graph, all vectors in RAM.
    faiss_index: str = "flat"
    # Fusion of dense and BM25 rankings. Weighted (min-max normalised scores, equal weights) is the default:
    # measured by bench/piaf.py (PIAF, 3,835 French questions, e5), it has the best R@1 (0.739) and MRR@10
    # (0.813), an R@5 (0.909) level with RRF k=10 (0.912) and above RRF k=60 (0.896), dense (0.855) and BM25
    # (0.860); on bench/corpus_eval.py all three reach hit@5 1.0 and it has the higher hit@1 (0.788 vs 0.776).
    # For RRF, k=10 beat the usual k=60 on PIAF and was level with it on the corpus suite.
    fusion: str = "weighted"
    rrf_k: int = 10
    dense_weight: float = 0.5
    # How the weighted fusion puts both scores on one scale (rag.retrieve.normalise): z-score with a floor on
    # the deviation, stable on short lists. On bench/corpus_eval.py (old chunking) it is level with min-max
    # (hit@1 0.800, hit@5 1.0, MRR 0.888 vs 0.891); "tmm" (theoretical min-max) was clearly worse (hit@1 0.706).
    # Re-measured with z-score and sentence chunking (README): PIAF R@5 0.911, R@1 0.749, MRR@10 0.819 at w=0.5.
    fusion_norm: str = "zscore"
    candidates: int = 100
    # Ingest limits: a file over these is skipped with a reason.
    max_file_mb: float = 50.0           # bytes read from one file
    max_pdf_pages: int = 1500           # checked before any page is extracted
    max_text_chars: int = 10_000_000    # text extracted from one file (~2.5 M tokens to embed)
    # Each file is parsed in a worker process (ingest/isolate.py) that is killed past parse_timeout_s and
    # whose memory is capped at parse_memory_mb beyond its own footprint: a hostile file costs one skip.
    isolate: bool = True
    parse_timeout_s: float = 60.0
    parse_memory_mb: float = 2048.0
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
        # "scheme" names how chunks are cut and embedded (2: sentence units and overlap, heading embedded):
        # an index cut another way is rebuilt.
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap, "scheme": 2}
