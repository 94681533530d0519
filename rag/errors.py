"""Typed errors of innosoc, each with a message a person can act on.

The CLI and the app catch `InnosocError` and show `str(error)`; anything else is a bug.
"""
from __future__ import annotations


class InnosocError(Exception):
    """Base class: every error the library raises on purpose."""


class IndexMissingError(InnosocError):
    def __init__(self, index_dir):
        super().__init__(
            f"Aucun index dans « {index_dir} ». Construisez-le avec : python -m ingest --index {index_dir} corpus/"
        )
        self.index_dir = index_dir


class IndexIncompatibleError(InnosocError):
    """The index was written by another model, chunking or format version."""


class IndexCorruptError(InnosocError):
    """An index file is truncated, altered or missing."""


class IndexLockedError(InnosocError):
    def __init__(self, index_dir):
        super().__init__(
            f"Un autre ingest écrit déjà dans « {index_dir} ». Attendez qu'il se termine puis relancez."
        )
        self.index_dir = index_dir


class ModelError(InnosocError):
    """The embedding model cannot be loaded."""


class LoaderError(InnosocError):
    """One input file cannot be read; it is skipped, the rest of the run goes on."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path} : {reason}")
        self.path = str(path)
        self.reason = reason


class QueryError(InnosocError):
    """The question or search request itself is unusable (empty, too long, bad filter)."""


class LLMError(InnosocError):
    """The optional language model could not answer (unreachable, timeout, bad reply)."""
