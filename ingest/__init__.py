"""Ingest: turn a folder of documents into an innosoc index (`python -m ingest`)."""
from .discover import Skipped
from .pipeline import IngestReport, ingest

__all__ = ["ingest", "IngestReport", "Skipped"]
