"""Long fuzz run of every loader: how many inputs were tried per format, and what came out.

    python bench/fuzz.py [--examples 2000] [--formats pdf,docx,html,md,txt] [--hang 30] [--big] [--out FILE]

Same inputs as tests/test_fuzz.py (random bytes, mutations of valid seed files, spliced seeds, DOCX with one
mutated XML part), many more of them, and no stop at the first failure: each input is parsed by the real
`ingest.load.load` in the isolated worker (ingest/isolate.py) and classified as

    document      parsed into a Document
    loader_error  refused with a LoaderError (the only refusal allowed)
    other_error   any other exception — a bug
    hang          still parsing after --hang seconds — a bug
    crash         the worker died (signal or exit) — a bug
    memory        hit the worker's memory cap — a bug at these input sizes

Prints a table (per format: inputs, outcomes, time) and the first failing inputs' reasons; --out writes it all
as JSON, with the failing inputs in hex for replay. Exit status 1 when any bug outcome was seen.

--big also times, at full size, the hostile inputs that used to hang (a 5 MB single line, a run of
abbreviations, a line of "[[a", 100,000 nested <div>, 2,000-page PDFs): parse in the worker, then chunking.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from ingest.isolate import Worker, WorkerCrashed, WorkerError, WorkerMemoryError, WorkerTimeout  # noqa: E402
from rag.errors import LoaderError  # noqa: E402
from tests.test_fuzz import FORMATS, inputs, seed_files  # noqa: E402

BUGS = ("other_error", "hang", "crash", "memory")


def classify(worker: Worker, fmt: str, data: bytes, hang_s: float) -> tuple[str, str]:
    path = Path(f"fuzz.{fmt}")
    try:
        worker.call("ingest.load:load", path, path.name, data, timeout=hang_s)
        return "document", ""
    except LoaderError as e:
        return "loader_error", e.reason
    except WorkerTimeout:
        return "hang", f"> {hang_s:g} s"
    except WorkerCrashed as e:
        return "crash", f"code {e.returncode}"
    except WorkerMemoryError:
        return "memory", ""
    except WorkerError as e:
        return "other_error", str(e)


def fuzz_format(worker: Worker, fmt: str, seeds: list[bytes], n: int, hang_s: float) -> dict:
    counts: Counter = Counter()
    failures: list[dict] = []
    sizes: list[int] = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(data=inputs(seeds, fmt))
    def run(data):
        outcome, detail = classify(worker, fmt, data, hang_s)
        counts[outcome] += 1
        sizes.append(len(data))
        if outcome in BUGS and len(failures) < 20:
            failures.append({"outcome": outcome, "detail": detail, "size": len(data), "hex": data.hex()})

    t0 = time.perf_counter()
    run()
    return {"format": fmt, "inputs": sum(counts.values()), "outcomes": dict(counts),
            "max_size": max(sizes, default=0), "seconds": round(time.perf_counter() - t0, 1), "failures": failures}


def big_inputs() -> list[tuple[str, str, bytes]]:
    """The hostile inputs of tests/test_hostile.py that used to hang or explode, at full size."""
    from tests.test_hostile import HEAVY_PAGE, PAGE, _one_line, raw_pdf

    return [
        ("une-ligne-5mo.txt", "5 Mo de texte sur une seule ligne", _one_line(5 * 1024 * 1024)),
        ("abreviations.txt", "« M. » × 1 600 000 (4,8 Mo)", b"M. " * 1_600_000),
        ("crochets.md", "ligne Markdown de 1,8 Mo de « [[a »", b"# T\n\n" + b"[[a" * 600_000),
        ("profond.html", "100 000 <div> imbriqués", b"<html><body>" + b"<div>" * 100_000 + b"texte"
         + b"</div>" * 100_000 + b"</body></html>"),
        ("annuaire.pdf", "PDF de 2 000 pages lourdes (refus)", raw_pdf(2000, HEAVY_PAGE)),
        ("annuaire-leger.pdf", "PDF de 2 000 pages (limite relevée à 2 500)", raw_pdf(2000, PAGE, shared=False)),
    ]


def run_big() -> None:
    """Time to parse (isolated worker, default limits) and to chunk (MiniLM tokenizer) each big input."""
    from ingest.chunk import chunk_document
    from ingest.isolate import Parser
    from rag.embed import load_embedder
    from rag.settings import Settings

    count = load_embedder("all-MiniLM-L6-v2").count_tokens
    print("\n| entrée | taille | lecture isolée | découpage | résultat |\n|---|---:|---:|---:|---|")
    for name, label, data in big_inputs():
        settings = Settings(max_pdf_pages=2500) if "leger" in name else Settings()
        with Parser(settings) as parse:
            t0 = time.perf_counter()
            try:
                doc = parse(Path(name), name, data)
            except LoaderError as e:
                print(f"| {label} | {len(data) / 1e6:.1f} Mo | {time.perf_counter() - t0:.1f} s | — | ignoré : "
                      f"{e.reason} |", flush=True)
                continue
            t1 = time.perf_counter()
        chunks = chunk_document(doc, count, 120, 20)
        t2 = time.perf_counter()
        print(f"| {label} | {len(data) / 1e6:.1f} Mo | {t1 - t0:.1f} s | {t2 - t1:.1f} s | {len(chunks)} passages |",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000, help="inputs per format")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--hang", type=float, default=30.0, help="seconds after which a parse counts as a hang")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--big", action="store_true", help="also time the big hostile inputs (parse and chunk)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        seeds = seed_files(Path(tmp))
    results = []
    with Worker() as worker:
        for fmt in a.formats.split(","):
            r = fuzz_format(worker, fmt, seeds[fmt], a.examples, a.hang)
            results.append(r)
            o = r["outcomes"]
            print(f"{fmt:5} {r['inputs']:6d} entrées  document {o.get('document', 0):5d}  "
                  f"LoaderError {o.get('loader_error', 0):5d}  bugs {sum(o.get(b, 0) for b in BUGS):3d}  "
                  f"({r['seconds']} s, jusqu'à {r['max_size']} octets)", flush=True)
        starts = worker.starts
    total = sum(r["inputs"] for r in results)
    bugs = sum(r["outcomes"].get(b, 0) for r in results for b in BUGS)
    print()
    print("| format | entrées | Document | LoaderError | autre exception | blocage | plantage | mémoire |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        o = r["outcomes"]
        print(f"| {r['format']} | {r['inputs']} | {o.get('document', 0)} | {o.get('loader_error', 0)} | "
              f"{o.get('other_error', 0)} | {o.get('hang', 0)} | {o.get('crash', 0)} | {o.get('memory', 0)} |")
    print(f"\n{total} entrées, {bugs} résultat(s) hors contrat, {starts} démarrage(s) du processus lecteur")
    for r in results:
        for f in r["failures"][:5]:
            print(f"  {r['format']} : {f['outcome']} — {f['detail']} ({f['size']} octets)")
    if a.big:
        run_big()
    if a.out:
        a.out.write_text(json.dumps({"examples_per_format": a.examples, "hang_s": a.hang, "results": results},
                                    indent=1), encoding="utf-8")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
