"""Distributed ingest on Ray: the parse+embed map of the pipeline runs as Ray tasks, the rest stays here.

The driver (this process) discovers, reads and hashes the files, decides what is unchanged, and finally
writes the new index generation atomically, exactly as the serial run does (ingest/pipeline.py). Only the
map is distributed: new or changed files are grouped into batches whose bytes go through Ray's object store
to `_map_batch` tasks. A task parses its files (in an isolated process, with the same limits), chunks them and
encodes the chunks — and their sentences — with the same functions as the serial run (`parse_and_chunk`,
`encode_parsed`). The
embedder is loaded once per Ray worker process (rag.embed caches it) and reused by every batch that worker
runs. A bounded number of batches is in flight, so reading, encoding and collecting overlap and the driver's
memory stays bounded.

A worker killed mid-batch is retried by Ray (`max_retries`); if a batch still fails the run stops with an
error before anything is written, so the index is old or new, never half-written.

Ray is an optional extra: `pip install -e '.[scale]'`.
"""
from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Iterator

from rag.errors import InnosocError
from rag.settings import Settings

from .pipeline import Encoded, IngestReport, Pending, Progress, ingest

log = logging.getLogger(__name__)

BATCH_FILES = 8                 # files per task: enough to fill encoder batches, small enough to spread
BATCH_BYTES = 32 * 1024 * 1024  # and no more than this many bytes of raw files per task
MAX_RETRIES = 3                 # a batch whose worker dies is run again this many times


class RayUnavailableError(InnosocError):
    pass


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailableError("Ray n'est pas installé. Installez l'extra : pip install -e '.[scale]'") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at `address` ("auto", "ray://host:10001", "host:6379"), or start a local one.

    Already connected (a test, a notebook): the existing runtime is used as is."""
    if not address:
        # a local runtime keeps Ray's own traffic on loopback (by default Ray binds to the machine's network
        # address, even alone); read by Ray when it is first imported
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _ray()
    if ray.is_initialized():
        return
    kwargs: dict = {"logging_level": logging.WARNING, "log_to_driver": True}
    if address:
        # a remote cluster gets this code shipped with the job; its nodes need the same Python packages
        root = Path(__file__).resolve().parent.parent
        kwargs["runtime_env"] = {"py_modules": [str(root / "ingest"), str(root / "rag")]}
    else:
        kwargs["num_cpus"] = num_cpus
        kwargs["include_dashboard"] = False
    try:
        ray.init(address=address or None, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise InnosocError(f"Connexion au cluster Ray « {address or 'local'} » impossible : {e}. Démarrez-le "
                           f"avec : ray start --head (puis ray start --address=TÊTE:6379 sur chaque nœud)") from None


def _fault(spec: str | None) -> None:
    """Test hook, inert unless INNOSOC_FAULT_POINT names "ray-batch": "ray-batch:killonce=MARKER" kills the
    worker running the first batch (the marker file records it, so the retry lives); "ray-batch:kill" kills
    every attempt."""
    if not spec or spec.partition(":")[0] != "ray-batch":
        return
    action, _, arg = spec.partition(":")[2].partition("=")
    if action == "killonce":
        try:
            os.close(os.open(arg, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)


def _map_batch(items: list[tuple[int, Pending]], settings: Settings, fault: str | None = None):
    """Runs in a Ray worker: parse, chunk and encode a batch of files with the serial run's own functions."""
    from rag.embed import load_embedder
    from rag.errors import LoaderError

    from .isolate import Parser
    from .pipeline import encode_parsed, parse_and_chunk

    _fault(fault)
    embedder = load_embedder(settings.model)  # once per worker process, then cached
    out: list[tuple[int, Encoded | str]] = []
    parsed: list[tuple[int, str, list]] = []
    with Parser(settings) as parse:
        for slot, item in items:
            try:
                doc_id, chunks = parse_and_chunk(parse, embedder, item, settings)
            except LoaderError as e:
                out.append((slot, e.reason))
                continue
            parsed.append((slot, doc_id, chunks))
    if parsed:  # chunk vectors and sentence vectors, exactly as the serial run encodes them
        out.extend(encode_parsed(embedder, parsed, settings, lambda stage, done, total: None).items())
    return out


def _batches(pending: Iterator[tuple[int, Pending]]) -> Iterator[list[tuple[int, Pending]]]:
    batch: list[tuple[int, Pending]] = []
    size = 0
    for slot, item in pending:
        batch.append((slot, item))
        size += len(item.data)
        if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def map_ray(pending: Iterator[tuple[int, Pending]], settings: Settings, progress: Progress) -> dict:
    """The pipeline's map, as Ray tasks: {slot: Encoded or skip reason}. Progress "encodage" counts files."""
    ray = _ray()
    workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(_map_batch)
    fault = os.environ.get("INNOSOC_FAULT_POINT")
    settings_ref = ray.put(settings)
    in_flight: dict = {}  # ObjectRef → number of files in the batch
    out: dict = {}
    submitted = done = 0

    def collect(block: bool) -> None:
        nonlocal done
        ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=None if block else 0)
        for ref in ready:
            n = in_flight.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as e:  # an exception inside the task: not retried
                _cancel(ray, in_flight)
                cause = getattr(e, "cause", None)
                if isinstance(cause, InnosocError):
                    raise cause from None
                raise InnosocError(f"Ingest distribué interrompu : erreur dans un worker Ray ({cause or e}). "
                                   f"L'index précédent reste intact.") from None
            except ray.exceptions.RayError as e:  # the worker died every time
                _cancel(ray, in_flight)
                raise InnosocError(f"Ingest distribué interrompu : un lot de {n} fichier(s) a échoué après "
                                   f"{MAX_RETRIES} nouvelles tentatives ({type(e).__name__}). L'index précédent "
                                   f"reste intact ; relancez la commande.") from None
            out.update(results)
            done += n
            progress("encodage", done, submitted)

    for batch in _batches(pending):
        while len(in_flight) >= 2 * workers:  # backpressure: keep every worker busy, no more
            collect(block=True)
        in_flight[task.remote(batch, settings_ref, fault)] = len(batch)
        submitted += len(batch)
        collect(block=False)
    while in_flight:
        collect(block=True)
    return out


def _cancel(ray, refs) -> None:
    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # already finished or gone: nothing to cancel
            pass


def ingest_ray(paths: list[Path] | None, settings: Settings, progress: Progress | None = None,
               rebuild: bool = False, wait_lock: bool = False, address: str | None = None,
               num_cpus: int | None = None, prune: bool = False) -> IngestReport:
    """`ingest` with the parse+embed map on a Ray cluster (`address`) or a local Ray runtime."""
    connect(address, num_cpus)
    return ingest(paths, settings, progress=progress, rebuild=rebuild, wait_lock=wait_lock, map_files=map_ray,
                  prune=prune)
