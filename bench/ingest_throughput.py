"""Ingest throughput, serial vs Ray (python -m ingest vs python -m ingest --ray), on the same files.

    nice -n 10 python bench/ingest_throughput.py [--model minilm] [--workers 2] [--ray ADDRESS] [PATH ...]

Each mode rebuilds a fresh index in a temporary folder; the table gives files, chunks, tokens encoded, wall
time and tokens per second. The Ray run starts a local runtime with --workers workers (or joins ADDRESS);
its start-up is timed apart, as it is paid once per cluster, not per run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from ingest import ingest
    from ingest.distributed import connect, ingest_ray
    from rag.settings import DEFAULT_CORPUS, Settings

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    p.add_argument("--model", default="minilm")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ray", dest="address", default=None, help="adresse d'un cluster Ray (défaut : Ray local)")
    a = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="innosoc-throughput-") as tmp:
        for mode in ("serial", "ray"):
            s = Settings(index_dir=Path(tmp) / mode, model=a.model)
            extra = {}
            if mode == "ray":
                t0 = time.perf_counter()
                connect(a.address, a.workers)
                extra["ray_start_s"] = round(time.perf_counter() - t0, 1)
                run = lambda: ingest_ray(a.paths, s, rebuild=True)  # noqa: E731
            else:
                run = lambda: ingest(a.paths, s, rebuild=True)  # noqa: E731
            t0 = time.perf_counter()
            r = run()
            secs = time.perf_counter() - t0
            rows.append(dict(mode=mode, files=r.files_indexed, chunks=r.chunks, tokens=r.tokens_embedded,
                             seconds=round(secs, 1), tokens_per_s=round(r.tokens_embedded / secs), **extra))
            print(json.dumps(rows[-1]), flush=True)
    print(f"machine : {os.cpu_count()} cœurs, charge {os.getloadavg()[0]:.1f} ; modèle {a.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
