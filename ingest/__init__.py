"""Ingest: turn a folder of documents into an innosoc index (`python -m ingest`)."""
from .pipeline import IngestReport, Skipped, ingest

__all__ = ["ingest", "IngestReport", "Skipped"]
