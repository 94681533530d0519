"""Finding and reading the files of an ingest: which files under the given paths are documents, and their bytes.

`discover` reports the paths it cannot take (missing, unsupported, a name not in UTF-8, a symbolic link
leading outside the folder) as `Skipped` with their reason; `read_bounded` raises `LoaderError` for a file
that is not a regular file or is too large.
"""
from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from rag.errors import LoaderError
from rag.settings import Settings

from .load import supported


@dataclass
class Skipped:
    path: str
    reason: str


def discover(paths: list[Path], settings: Settings, skipped: list[Skipped]) -> list[tuple[Path, str]]:
    """(resolved path, path as ingested) for every supported file under `paths`, sorted, without duplicates.

    Symbolic links are followed only when they stay inside the folder being ingested."""
    found: dict[Path, str] = {}

    def excluded(name: str) -> bool:
        return name.startswith(".") or any(fnmatch.fnmatch(name, pat) for pat in settings.exclude)

    for given in paths:
        given = Path(given)
        if not given.exists() and not given.is_symlink():
            skipped.append(Skipped(str(given), "introuvable"))
            continue
        if given.is_file():
            if _bad_name(given):
                skipped.append(Skipped(str(given), _BAD_NAME))
            elif supported(given):
                found.setdefault(given.resolve(), str(given))
            else:
                skipped.append(Skipped(str(given), f"format non pris en charge ({given.suffix or 'sans extension'})"))
            continue
        root = given.resolve()
        for dirpath, dirnames, filenames in os.walk(given, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for d in dirnames:  # os.walk does not enter linked folders; say so when they lead outside
                link = Path(dirpath) / d
                if link.is_symlink() and not _inside(link, root):
                    skipped.append(Skipped(str(link), "lien symbolique vers un dossier extérieur : non suivi"))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if excluded(name) or not supported(p):
                    continue
                try:
                    real = p.resolve()
                except (RuntimeError, OSError):  # RuntimeError: a loop of symbolic links
                    skipped.append(Skipped(str(p), "lien symbolique en boucle : non suivi"))
                    continue
                if _bad_name(p) or _bad_name(real):
                    skipped.append(Skipped(str(p), _BAD_NAME))
                    continue
                if p.is_symlink() and not real.is_relative_to(root):
                    skipped.append(Skipped(str(p), "lien symbolique vers l'extérieur du dossier : non suivi"))
                    continue
                found.setdefault(real, str(p))
    return sorted(found.items(), key=lambda kv: kv[1])


def _inside(link: Path, root: Path) -> bool:
    try:
        return link.resolve().is_relative_to(root)
    except (RuntimeError, OSError):
        return False


_BAD_NAME = "nom de fichier qui n'est pas en UTF-8 : renommez le fichier (par exemple avec convmv)"


def _bad_name(p: Path) -> bool:
    try:
        str(p).encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes come back from the OS as lone surrogates
        return True
    return False


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """Read a file once (its hash and its parse use the same bytes, even if it changes meanwhile)."""
    # O_NONBLOCK: a FIFO named like a document must not block the run waiting for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LoaderError(path, "pas un fichier ordinaire (tube, périphérique ou socket) : ignoré")
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LoaderError(path, f"fichier trop volumineux (plus de {max_bytes // 1024 // 1024} Mo : réglage max_file_mb)")
    return data
