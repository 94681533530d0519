"""Parse each file in a separate worker process, with a time limit and a memory limit.

A parser that hangs, crashes the interpreter (a segfault in a C library) or explodes in memory on one hostile
file must cost that one file, never the ingest run. `Parser` sends the bytes of each file to a long-lived
worker (`ingest.isolate.worker_main`), which runs `ingest.load.load` on them and sends back the `Document` as
JSON. The worker is reused from file to file (starting one costs about a second); it is killed when a parse
outlives `parse_timeout_s`, and restarted after a crash or a `MemoryError`. Its address space is capped with
RLIMIT_AS at its own footprint plus `parse_memory_mb`.

Protocol over the worker's stdin/stdout: frames of an 8-byte big-endian length and a payload. Requests are
pickles (they come from this trusted process: function reference, arguments); replies are JSON only, so that
a worker taken over by a malicious file cannot make the parent unpickle anything.

`Worker.call("module:function", *args)` runs any importable function under the same limits; the tests use it
to check the mechanism itself (a function that sleeps, aborts or allocates without end).
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from rag.errors import InnosocError, LoaderError
from rag.settings import Settings
from rag.types import Document, Section

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">Q")
# The worker reaches its prompt after importing the parsers; a busy laptop can take several seconds.
_START_TIMEOUT_S = 60.0


class WorkerTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    def __init__(self, returncode: int | None):
        super().__init__(returncode)
        self.returncode = returncode


class WorkerMemoryError(Exception):
    pass


class WorkerError(Exception):
    """The function raised an exception that is not a LoaderError (a bug in a loader)."""


def _fmt_seconds(s: float) -> str:
    return f"{s:g}"


def crash_reason(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "?"
        return f"le lecteur a planté (signal {-returncode}, {name})"
    return f"le lecteur s'est arrêté brutalement (code de sortie {returncode})"


# ---------------------------------------------------------------- parent side

class Worker:
    """One worker process, started on first use, restarted whenever it had to be killed or died."""

    def __init__(self, memory_mb: float | None = 2048, recycle_after: int = 500):
        self.memory_mb = memory_mb
        self.recycle_after = recycle_after
        self.proc: subprocess.Popen | None = None
        self.calls = 0
        self.starts = 0

    # -- lifecycle
    def _start(self) -> None:
        env = dict(os.environ)
        # The worker must import what this process imports (the tests pass functions of their own modules).
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        # One thread per native library keeps the address space (RLIMIT_AS) about the parser alone.
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        # -c rather than -m: the package `ingest` imports this module, which runpy would then run twice
        args = [sys.executable, "-c", "import ingest.isolate as w; w.worker_main(%d, %d)"
                % (int(self.memory_mb or 0), os.getpid())]
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                         close_fds=True)
        except OSError as e:
            raise InnosocError(f"Impossible de lancer le processus de lecture isolé ({e}). Réglage isolate=False "
                               f"pour lire les fichiers dans le processus principal.") from None
        try:
            reply = self._receive(_START_TIMEOUT_S)
        except (WorkerTimeout, WorkerCrashed, ValueError) as e:  # ValueError: something printed on its stdout
            self.kill()
            raise InnosocError(f"Le processus de lecture isolé ne démarre pas ({type(e).__name__}). Réglage "
                               f"isolate=False pour lire les fichiers dans le processus principal.") from None
        if reply.get("ready") is not True:
            self.kill()
            raise InnosocError(f"Le processus de lecture isolé ne démarre pas : {reply.get('error', reply)}")
        self.calls = 0
        self.starts += 1

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a process stuck in the kernel; nothing more can be done from here
            log.warning("processus de lecture %s non terminé après SIGKILL", proc.pid)
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop the worker (politely: closing its stdin ends its loop; then SIGKILL if it lingers)."""
        proc = self.proc
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- frames
    def _send(self, obj) -> None:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(payload)))
        self.proc.stdin.write(payload)
        self.proc.stdin.flush()

    def _read_exactly(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        parts: list[bytes] = []
        while n > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise WorkerTimeout()
            block = os.read(fd, min(n, 1 << 20))
            if not block:
                try:
                    rc = self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    rc = None
                raise WorkerCrashed(rc)
            parts.append(block)
            n -= len(block)
        return b"".join(parts)

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        (n,) = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
        return json.loads(self._read_exactly(n, deadline))

    # -- calls
    def call(self, fn: str, *args, timeout: float = 60.0, **kwargs):
        """Run `fn` ("module:function") in the worker and return its result (JSON value, or a Document).

        Raises LoaderError as the function raised it, and WorkerTimeout, WorkerCrashed, WorkerMemoryError or
        WorkerError when the function hung, killed the worker, ran out of memory or raised anything else."""
        if self.proc is not None and self.calls >= self.recycle_after:
            self.close()  # a fresh heap now and then: fragmentation from big files does not pile up
        for attempt in (1, 2):
            if self.proc is None:
                self._start()
            try:
                self._send({"fn": fn, "args": args, "kwargs": kwargs})
                break
            except (BrokenPipeError, ConnectionResetError, ValueError):
                # died while idle (killed from outside): one fresh worker, one more try
                self.kill()
                if attempt == 2:
                    raise WorkerCrashed(None) from None
        self.calls += 1
        try:
            reply = self._receive(timeout)
        except WorkerTimeout:
            self.kill()
            raise
        except WorkerCrashed:
            self.kill()
            raise
        except ValueError:  # not JSON: the worker is not in a sane state
            self.kill()
            raise WorkerCrashed(None) from None
        for rec in reply.get("logs", ()):
            log.debug("lecteur : %s", rec)
        if "document" in reply:
            d = reply["document"]
            return Document(source=d["source"], meta=d["meta"], sha256=d["sha256"],
                            sections=[Section(**s) for s in d["sections"]])
        if "result" in reply:
            return reply["result"]
        if "loader_error" in reply:
            e = reply["loader_error"]
            raise LoaderError(e["path"], e["reason"])
        if "memory" in reply:
            self.kill()  # a heap that hit its limit may be left in a strange state
            raise WorkerMemoryError()
        self.kill()
        raise WorkerError(reply.get("error", "réponse inattendue"))


class Parser:
    """`parse(path, source, data)` → Document, with the limits of `settings`; every failure is a LoaderError.

    With `settings.isolate` false the file is parsed in this process (faster to start, no protection)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.worker = Worker(settings.parse_memory_mb) if settings.isolate else None

    def _kwargs(self) -> dict:
        return {"max_pdf_pages": self.settings.max_pdf_pages, "max_text_chars": self.settings.max_text_chars}

    def __call__(self, path: Path, source: str, data: bytes) -> Document:
        if self.worker is None:
            from .load import load
            return load(path, source, data, **self._kwargs())
        timeout = self.settings.parse_timeout_s
        try:
            return self.worker.call("ingest.load:load", Path(path), source, data, timeout=timeout,
                                    **self._kwargs())
        except WorkerTimeout:
            reason = f"délai dépassé ({_fmt_seconds(timeout)} s) : lecture abandonnée (réglage parse_timeout_s)"
        except WorkerMemoryError:
            reason = (f"mémoire dépassée (limite {_fmt_seconds(self.settings.parse_memory_mb)} Mo) : lecture "
                      f"abandonnée (réglage parse_memory_mb)")
        except WorkerCrashed as e:
            reason = crash_reason(e.returncode)
        except WorkerError as e:
            reason = f"erreur inattendue du lecteur ({e})"
        log.warning("%s : %s", source, reason)
        raise LoaderError(path, reason)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()

    def __enter__(self) -> "Parser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- worker side

def _resolve(ref: str):
    module, _, name = ref.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _encode(result) -> dict:
    if isinstance(result, Document):
        return {"document": {"source": result.source, "meta": result.meta, "sha256": result.sha256,
                             "sections": [dataclasses.asdict(s) for s in result.sections]}}
    try:
        json.dumps(result)
        return {"result": result}
    except (TypeError, ValueError):
        return {"result": f"<{type(result).__name__}>"}  # not repr(): it can be far larger than the value


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        if len(self.records) < 50:
            try:
                self.records.append(f"{record.name}: {record.getMessage()}"[:500])
            except Exception:  # a record whose arguments cannot be formatted is not worth a crash
                pass


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when its parent dies, even when the parent is SIGKILLed itself."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def worker_main(memory_mb: int, parent_pid: int | None = None) -> None:
    _die_with_parent()
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before prctl took effect
        return
    # Ctrl-C is the parent's to handle; it then closes this worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol owns the real stdout; anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer

    def reply(obj: dict) -> None:
        # ASCII JSON: file names that are not valid UTF-8 (lone surrogates) survive the trip
        payload = json.dumps(obj).encode("ascii")
        out.write(_HEADER.pack(len(payload)) + payload)
        out.flush()

    try:
        # imported now, so that the time limit measures parsing, not the first import
        import ingest.load  # noqa: F401
        import docx  # noqa: F401
        import lxml.html  # noqa: F401
        import pypdf  # noqa: F401
        import trafilatura  # noqa: F401 — HTML main text; its import alone takes seconds
        import yaml  # noqa: F401
        from rag.text import detect_language
        # the language model is loaded on first use: load it before the memory cap, it is not the file's
        detect_language("Les coopératives d'activité et d'emploi accueillent des entrepreneurs salariés.")
    except Exception as e:  # a broken installation: the parent reports it and stops
        reply({"ready": False, "error": f"{type(e).__name__}: {e}"})
        return
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    logging.getLogger().setLevel(logging.WARNING)
    if memory_mb > 0:
        limit = _vm_size() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    reply({"ready": True, "pid": os.getpid()})
    while True:
        header = inp.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return  # the parent closed the pipe: done
        (n,) = _HEADER.unpack(header)
        try:
            request = pickle.loads(inp.read(n))
        except MemoryError:  # the file alone does not fit: say so, and leave (the stream is out of step)
            reply({"memory": True, "logs": []})
            return
        collect.records = []
        try:
            fn = _resolve(request["fn"])
            answer = _encode(fn(*request["args"], **request["kwargs"]))
        except LoaderError as e:
            answer = {"loader_error": {"path": e.path, "reason": e.reason}}
        except MemoryError:
            answer = {"memory": True}
        except BaseException as e:  # noqa: BLE001 — a loader bug: reported as a skipped file, not a dead run
            answer = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
        del request
        answer["logs"] = collect.records
        try:
            reply(answer)
        except MemoryError:
            reply({"memory": True})

