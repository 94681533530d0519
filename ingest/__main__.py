"""`python -m ingest [--index DIR] [--model NAME] [--prune] [PATH ...]`: build or update an index."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rag.errors import InnosocError
from rag.progress import Bars
from rag.settings import DEFAULT_CORPUS, DEFAULT_INDEX, Settings

from .pipeline import ingest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ingest", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Construit ou met à jour l'index innosoc.",
        epilog="L'index retient ses chemins sources. « python -m ingest CHEMIN » ajoute ou met à jour CHEMIN : "
               "fichiers nouveaux ou modifiés\nindexés, fichiers supprimés de ce dossier retirés ; les documents "
               "venus d'autres chemins restent tels quels.\nSans CHEMIN : tous les chemins retenus sont relus "
               f"(pour un nouvel index : {DEFAULT_CORPUS}).\n--prune : ne garder que ce qui se trouve "
               "sous les chemins donnés (ou retenus) et existe encore.")
    p.add_argument("paths", nargs="*", type=Path,
                   help="fichiers ou dossiers à ajouter ou mettre à jour (défaut : les chemins retenus par l'index)")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="dossier de l'index")
    p.add_argument("--model", default=Settings.model, help="modèle sentence-transformers (nom, alias ou chemin)")
    p.add_argument("--chunk-tokens", type=int, default=Settings.chunk_tokens)
    p.add_argument("--chunk-overlap", type=int, default=Settings.chunk_overlap)
    p.add_argument("--ann", action="store_true",
                   help="gros corpus : index FAISS approximatif (IVF-SQ8) au-delà de 50 000 passages, vecteurs "
                        "laissés sur disque (voir README « Passer à l'échelle »)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADRESSE",
                   help="lire et encoder sur un cluster Ray (ADRESSE, ex. auto ou tête:6379 ; sans ADRESSE : Ray "
                        "local sur cette machine). Extra : pip install -e '.[scale]'")
    p.add_argument("--ray-cpus", type=int, default=None, help="Ray local : nombre de workers (défaut : tous les cœurs)")
    p.add_argument("--rebuild", action="store_true", help="tout reconstruire, sans réutiliser l'index existant")
    p.add_argument("--prune", action="store_true",
                   help="retirer de l'index tout document qui n'est plus sous les chemins donnés (ou retenus)")
    p.add_argument("--wait", action="store_true", help="attendre si un autre ingest écrit déjà")
    p.add_argument("--max-file-mb", type=float, default=Settings.max_file_mb)
    p.add_argument("-q", "--quiet", action="store_true", help="pas de barres de progression")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = Settings(index_dir=a.index, model=a.model, chunk_tokens=a.chunk_tokens, chunk_overlap=a.chunk_overlap,
                        faiss_index="ann" if a.ann else "flat", max_file_mb=a.max_file_mb)
    bars = Bars(enabled=not a.quiet and sys.stderr.isatty() or not a.quiet)
    try:
        if a.ray and ":" not in a.ray and a.ray not in ("auto", "local"):
            # `--ray corpus/`: argparse gave the path to --ray; a Ray address is auto, local or host:port
            a.paths.insert(0, Path(a.ray))
            a.ray = ""
        if a.ray is not None:
            from .distributed import ingest_ray
            report = ingest_ray(a.paths or None, settings, progress=bars, rebuild=a.rebuild, wait_lock=a.wait,
                                address=None if a.ray in ("", "local") else a.ray, num_cpus=a.ray_cpus,
                                prune=a.prune)
        else:
            report = ingest(a.paths or None, settings, progress=bars, rebuild=a.rebuild, wait_lock=a.wait,
                            prune=a.prune)
    except InnosocError as e:
        bars.close()
        print(f"Erreur : {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        bars.close()
        print("Interrompu : l'index précédent est intact.", file=sys.stderr)
        return 130
    bars.close()
    if report.rebuild_reason:
        print(f"Note : {report.rebuild_reason}", file=sys.stderr)
    for s in report.skipped:
        print(f"Ignoré : {s.path} — {s.reason}", file=sys.stderr)
    for path in report.removed:
        print(f"Retiré : {path}", file=sys.stderr)
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
