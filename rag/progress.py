"""Terminal progress bars for the command-line front ends (the library itself only calls back)."""
from __future__ import annotations

import sys

from tqdm import tqdm

_LABELS = {"lecture": "Lecture des fichiers", "encodage": "Encodage des passages",
           "encodage des phrases": "Encodage des phrases", "écriture": "Écriture de l'index"}


class Bars:
    """A `progress(stage, done, total)` callback that draws one tqdm bar per stage on stderr."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=_LABELS.get(stage, stage), unit="", file=sys.stderr,
                                          leave=True, dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)  # update() honours tqdm's refresh rate; a log file gets a few lines, not 1000s
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
