"""Staff edits to the corpus from the app: add, edit and withdraw a fiche, then update the index incrementally.

Every change goes through one lock (a `flock` on `<corpus>/.staff.lock`, so it holds across threads and app
instances): validate → write the file atomically → run the ordinary incremental ingest over the corpus root
(only the new or changed file is embedded). Two staff saving at once are served one after the other and both
fiches end up in the corpus and the index. Editing refuses to overwrite a fiche changed by someone else since
it was opened; withdrawing moves the file to `<corpus>/.retirees/` (ingest skips hidden folders) rather than
deleting it, so nothing typed by staff is ever lost.
"""
from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from . import fiche
from .errors import InnosocError
from .settings import Settings
from .store import load_index

log = logging.getLogger(__name__)

TITLE_SIMILARITY = 0.9  # difflib ratio of normalised titles above which two resources look like one
WITHDRAWN = ".retirees"


@dataclass
class SaveResult:
    status: str                      # "saved", "withdrawn", "invalid", "duplicate", "conflict"
    doc_id: str | None = None
    path: Path | None = None
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("saved", "withdrawn")


def index_settings(settings: Settings) -> Settings:
    """The settings the index was built with (model, chunking, FAISS kind), so an update from the app never
    triggers a rebuild with the app's defaults."""
    m = load_index(settings.index_dir, verify=False).manifest
    return settings.with_(model=m["model"]["id"], chunk_tokens=m["chunking"]["chunk_tokens"],
                          chunk_overlap=m["chunking"]["chunk_overlap"], faiss_index=m.get("faiss", settings.faiss_index))


def norm_title(title: str) -> str:
    t = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", t))


def norm_url(url: str) -> str:
    u = (url or "").strip().lower()
    u = re.sub(r"^https?://(www\.)?", "", u)
    return u.rstrip("/")


def duplicates(meta: dict, docs: dict[str, dict], exclude_id: str | None = None) -> list[str]:
    """French warnings for resources of the index with the same URL or a near-identical title."""
    out = []
    url, title = norm_url(meta.get("url") or ""), norm_title(meta.get("title") or "")
    for doc_id, d in docs.items():
        if doc_id == exclude_id:
            continue
        if url and norm_url(d.get("url") or "") == url:
            out.append(f"Même lien que « {d.get('title')} » ({doc_id}).")
        elif title and difflib.SequenceMatcher(None, title, norm_title(d.get("title") or "")).ratio() >= TITLE_SIMILARITY:
            out.append(f"Titre presque identique à « {d.get('title')} » ({doc_id}).")
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class CorpusEditor:
    """Add, edit and withdraw fiches of `corpus_dir` and keep the index of `settings.index_dir` in step."""

    def __init__(self, corpus_dir: Path, settings: Settings, progress=None):
        self.root = Path(corpus_dir).resolve()
        self.settings = settings
        self.progress = progress

    # -- reading ---------------------------------------------------------------------------------------
    def fiches(self) -> dict[str, Path]:
        out = {}
        for p in fiche.corpus_files(self.root):
            try:
                meta, _ = fiche.read(p)
            except (InnosocError, OSError, UnicodeDecodeError):
                continue
            if isinstance(meta.get("id"), str):
                out[meta["id"]] = p
        return out

    def load(self, doc_id: str) -> tuple[dict, str, str]:
        """(meta, body, version) of a fiche; `version` is passed back to `save` to detect concurrent edits."""
        path = self.fiches().get(doc_id)
        if path is None:
            raise InnosocError(f"Fiche « {doc_id} » introuvable dans {self.root}.")
        meta, body = fiche.read(path)
        return meta, body, _sha(path)

    # -- writing ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self):
        # one open file description per call: threads of one app and other app instances all wait in turn
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".staff.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self, meta: dict, body: str, *, docs: dict[str, dict] | None = None, editing: str | None = None,
             version: str | None = None, confirm_duplicate: bool = False) -> SaveResult:
        """Validate, warn about duplicates (unless confirmed), write atomically and update the index.

        `editing`: id of the fiche being edited (None for a new one); `version`: what `load` returned."""
        with self._lock():
            files = self.fiches()
            known = set(files) | set(docs or {})
            meta = dict(meta)
            if editing:
                if editing not in files:
                    return SaveResult("conflict", editing, errors={"id": "cette fiche a été retirée entre-temps"})
                if version and _sha(files[editing]) != version:
                    return SaveResult("conflict", editing, errors={
                        "id": "cette fiche a été modifiée par quelqu'un d'autre depuis son ouverture : rechargez-la, "
                              "puis refaites vos changements"})
                meta["id"] = editing
                # front-matter keys the form does not show (e.g. url_kind) are kept as they were
                for k, v in fiche.read(files[editing])[0].items():
                    if k not in fiche.REQUIRED:
                        meta.setdefault(k, v)
            elif not meta.get("id"):
                meta["id"] = fiche.make_id(meta, known)
            elif meta["id"] in known:
                return SaveResult("invalid", meta["id"], errors={"id": f"l'identifiant « {meta['id']} » existe déjà"})
            errors = fiche.validate(meta, body, known_ids=known | {meta["id"]})
            if errors:
                return SaveResult("invalid", meta["id"], errors=errors)
            warnings = duplicates(meta, docs or {}, exclude_id=editing)
            if warnings and not confirm_duplicate:
                return SaveResult("duplicate", meta["id"], warnings=warnings)
            path = fiche.path_for(self.root, meta)
            fiche.atomic_write(path, fiche.render(meta, body))
            if editing and files[editing].resolve() != path.resolve():  # type changed: the file moved folder
                files[editing].unlink()
                fiche.fsync_dir(files[editing].parent)
            summary = self._ingest()
            log.info("fiche %s enregistrée (%s)", meta["id"], summary)
            return SaveResult("saved", meta["id"], path, warnings=warnings, summary=summary)

    def withdraw(self, doc_id: str, version: str | None = None) -> SaveResult:
        with self._lock():
            files = self.fiches()
            path = files.get(doc_id)
            if path is None:
                return SaveResult("conflict", doc_id, errors={"id": "cette fiche n'existe plus dans le corpus"})
            if version and _sha(path) != version:
                return SaveResult("conflict", doc_id, errors={
                    "id": "cette fiche a été modifiée par quelqu'un d'autre depuis son ouverture : rechargez-la"})
            linking = sorted(other for other, p in files.items()
                             if other != doc_id and doc_id in fiche.see_also(fiche.read(p)[1]))
            if linking:
                return SaveResult("invalid", doc_id, errors={
                    "see_also": "d'autres fiches renvoient à celle-ci (« Voir aussi ») : retirez d'abord le lien de "
                                + ", ".join(linking)})
            dest = self.root / WITHDRAWN / path.relative_to(self.root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
            fiche.fsync_dir(path.parent)
            summary = self._ingest()
            return SaveResult("withdrawn", doc_id, dest, summary=summary)

    def _ingest(self) -> str:
        from ingest import ingest

        report = ingest([self.root], index_settings(self.settings), progress=self.progress, wait_lock=True)
        for s in report.skipped:
            log.warning("ignoré : %s — %s", s.path, s.reason)
        return report.summary()
