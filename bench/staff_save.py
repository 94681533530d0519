"""How long a staff save takes before the new fiche is searchable: « Ajouter une ressource » on a copy.

    python bench/staff_save.py [--corpus corpus] [--index DIR] [--model multilingual-e5-small]

Copies the corpus (and the index when given; otherwise builds one, timed) into a temporary folder, then, through
the app's own handlers (rag/staff_ui.StaffForm over InnosocApp): one save (validate, atomic write, incremental
ingest, reload_index) and a search that must return the new fiche first; then two saves at once. The fiche is a
test fiche on example.org written only in the temporary copy. Prints the timings.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import ingest  # noqa: E402
from rag.settings import Settings  # noqa: E402

BODY = ("Fiche de mesure : un atelier coopératif de réparation de vélos où les habitants apprennent à entretenir "
        "leur bicyclette avec des bénévoles, qui récupèrent des vélos abandonnés pour leur donner une seconde vie. ") * 6


def values(n: int) -> dict:
    return {"type": "etude_de_cas", "title": f"Atelier de réparation de vélos numéro {n} (mesure)",
            "authors": "Banc d'essai innosoc", "year": "2024", "language": "fr", "url": f"https://example.org/bench-{n}",
            "publisher": "", "countries": "France", "topics": "vélo, réparation, économie circulaire",
            "sources": f"https://example.org/bench-{n}", "body": BODY}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=Path("corpus"))
    p.add_argument("--index", type=Path)
    p.add_argument("--model", default="multilingual-e5-small")
    a = p.parse_args(argv)

    from app import InnosocApp
    from rag.staff_ui import StaffForm

    tmp = Path(tempfile.mkdtemp(prefix="innosoc-staff-bench-"))
    try:
        corpus = tmp / "corpus"
        shutil.copytree(a.corpus, corpus)
        settings = Settings(index_dir=tmp / "index", model=a.model)
        if a.index:
            shutil.copytree(a.index, settings.index_dir, ignore=shutil.ignore_patterns(".lock"))
        t = time.perf_counter()
        r = ingest([corpus], settings)
        print(f"index ({'copié puis ' if a.index else ''}mis à jour) : {r.summary()}")
        app = InnosocApp(settings, feedback_path=tmp / "fb" / "feedback.jsonl", corpus_dir=corpus)
        form = StaffForm(app)
        link = "innovation-sociale" if "innovation-sociale" in app.docs else next(iter(app.docs))
        values_fn = lambda n: dict(values(n), see_also=link)  # noqa: E731

        t = time.perf_counter()
        kind, msg, extra = form.submit(values_fn(1), None, None, True)
        saved = time.perf_counter() - t
        assert kind == "saved", msg
        hits = app.find("atelier de réparation de vélos avec des bénévoles")
        total = time.perf_counter() - t
        print(f"1 enregistrement : {saved:.1f} s (écriture + ingestion incrémentale + rechargement) ; "
              f"cherchable au rang {next(h.rank for h in hits if h.chunk.doc_id == extra['_id'])} après {total:.1f} s")

        times = {}

        def save(n):
            t0 = time.perf_counter()
            k, m, _ = form.submit(values_fn(n), None, None, True)
            times[n] = (k, time.perf_counter() - t0)

        t = time.perf_counter()
        th = [threading.Thread(target=save, args=(n,)) for n in (2, 3)]
        for x in th:
            x.start()
        for x in th:
            x.join()
        print(f"2 enregistrements simultanés : {', '.join(f'{k} en {s:.1f} s' for k, s in times.values())} ; "
              f"les deux terminés en {time.perf_counter() - t:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
