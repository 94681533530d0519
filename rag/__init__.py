"""innosoc engine: hybrid retrieval over an ESS / social-innovation corpus and grounded, cited answers.

Library entry points: `Settings`, `Retriever`, `Filters`, `ExtractiveAnswerer`; the command line is
`python -m rag search|ask`, and indexes are built by `python -m ingest`.
"""
from .settings import Settings

__all__ = ["Settings"]
