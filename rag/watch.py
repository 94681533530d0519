"""Notice a new index generation, so that app instances sharing one index folder switch to it without restart.

An ingest writes a complete generation aside and then replaces the CURRENT file (rag/store.py). Readers only
need to look at CURRENT: a `stat` per poll (inode and mtime change with each os.replace), and a read of its
few bytes only when the stat changed. The callback loads the new generation in this background thread while
requests keep being served by the old one; a generation that fails to load is logged and skipped, and the
old one stays in service.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from .errors import InnosocError
from .store import current_generation

log = logging.getLogger(__name__)


class GenerationWatcher:
    def __init__(self, index_dir: Path, on_change: Callable[[], object], interval: float = 1.0,
                 current: str | None = None):
        self.index_dir = Path(index_dir)
        self.on_change = on_change
        self.interval = interval
        self._stat = self._pointer_stat()
        self.generation = current if current is not None else self._read()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pointer_stat(self):
        try:
            st = os.stat(self.index_dir / "CURRENT")
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read(self) -> str | None:
        try:
            gen = current_generation(self.index_dir)
        except InnosocError:
            return None
        return gen.name if gen else None

    def check(self) -> bool:
        """One poll: call `on_change` if CURRENT names another generation. True when it did."""
        st = self._pointer_stat()
        if st == self._stat:
            return False
        self._stat = st
        name = self._read()
        if name is None or name == self.generation:
            return False
        log.info("nouvelle génération d'index %s (était %s)", name, self.generation)
        try:
            self.on_change()
        except InnosocError as e:
            log.warning("nouvelle génération %s ignorée, l'ancienne reste en service : %s", name, e)
            return False
        finally:
            self.generation = name  # a broken generation is not retried at every poll, only when CURRENT moves
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watcher must outlive any surprise; the app keeps its current index
                log.exception("surveillance de l'index « %s »", self.index_dir)

    def start(self) -> "GenerationWatcher":
        self._thread = threading.Thread(target=self._run, name="innosoc-index-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
