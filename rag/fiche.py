"""Corpus fiches: the one schema, validator, renderer and atomic writer for `corpus/**/<id>.md`.

A fiche is a Markdown file with a YAML front matter (see corpus/README.md). `validate` returns one French
message per faulty field, so the same rules serve tests/test_corpus.py (every bundled file) and the staff
form of the app (« Ajouter une ressource »), which shows each message under its field.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path

import yaml

from .errors import InnosocError
from .store import fsync_dir  # one directory-fsync helper for the index and the fiches
from .types import RESOURCE_TYPES

REQUIRED = ("id", "title", "type", "authors", "year", "language", "url", "publisher", "countries", "topics",
            "sources")
LANGUAGES = ("fr", "en", "es", "pt", "it")
SUMMARY_LABELS = {"en": "Résumé (en)", "es": "Resumen (es)", "pt": "Resumo (pt)", "it": "Riassunto (it)"}
# corpus/README.md says 150–400 words for a resource and 300–700 for a concept note; resources get a small
# tolerance above 400 because the heading and summary lines make exact counts brittle.
WORDS = {"resource": (150, 420), "concept": (300, 700)}
TOPICS = (3, 8)
MIN_YEAR = 1801
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT = re.compile(r"^---\n(.*?)\n---\n(.*)$", re.S)
_SEE_ALSO = re.compile(r"^\s*Voir aussi\s*:?(.*)$", re.I)
_WIKI = re.compile(r"\[\[([^\]|]+)(?:\|[^\]]*)?\]\]")
_URL = re.compile(r'^https?://[^\s"<>]+\.[^\s"<>]+$')

# Labels of the form's fields, used in messages that name a field.
FIELD_LABELS = {
    "id": "Identifiant", "title": "Titre", "type": "Type", "authors": "Auteurs", "year": "Année",
    "language": "Langue", "url": "Lien (URL)", "publisher": "Éditeur", "countries": "Pays", "topics": "Mots-clés",
    "sources": "Sources consultées", "body": "Texte de la fiche", "see_also": "Voir aussi",
}


class FicheError(InnosocError):
    """A fiche that does not follow the schema; `errors` maps each faulty field to its French message."""

    def __init__(self, errors: dict[str, str], path: Path | str | None = None):
        self.errors = dict(errors)
        where = f"{path} : " if path else ""
        super().__init__(where + " ; ".join(f"{FIELD_LABELS.get(k, k)} — {v}" for k, v in self.errors.items()))


def max_year() -> int:
    return _dt.date.today().year


# ------------------------------------------------------------------------------------------------ reading

def split(text: str, path: Path | str | None = None) -> tuple[dict, str]:
    """(front matter, body) of a fiche's text."""
    m = _FRONT.match(text.replace("\r\n", "\n"))
    if not m:
        raise FicheError({"front_matter": "front matter YAML manquant (le fichier doit commencer par « --- »)"}, path)
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        raise FicheError({"front_matter": f"front matter YAML invalide ({getattr(e, 'problem', e)})"}, path) from None
    if not isinstance(meta, dict):
        raise FicheError({"front_matter": "front matter YAML : un dictionnaire clé: valeur est attendu"}, path)
    return meta, m.group(2)


def read(path: Path) -> tuple[dict, str]:
    return split(Path(path).read_text(encoding="utf-8"), path)


def corpus_files(root: Path) -> list[Path]:
    """The fiches of a corpus folder, as ingest sees them: README.md and hidden folders left out."""
    root = Path(root)
    return sorted(p for p in root.rglob("*.md")
                  if p.name != "README.md" and not any(part.startswith(".") for part in p.relative_to(root).parts))


def body_words(body: str) -> int:
    body = re.sub(r"^#.*$", "", body, flags=re.M)
    body = re.sub(r"^Voir aussi.*$", "", body, flags=re.M)
    return len(body.split())


def see_also(body: str) -> list[str]:
    """Ids linked from the last non-empty line when it is « Voir aussi : [[id]], … »."""
    lines = [ln for ln in body.strip().splitlines() if ln.strip()]
    if not lines or not _SEE_ALSO.match(lines[-1]):
        return []
    return [t.strip() for t in _WIKI.findall(lines[-1])]


def text_of(body: str) -> str:
    """The body without its leading « # title » line and its final « Voir aussi » line (what the form edits)."""
    lines = body.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and _SEE_ALSO.match(lines[-1]):
        lines = lines[:-1]
    return "\n".join(lines).strip()


# ------------------------------------------------------------------------------------------------ validation

def _is_url(v) -> bool:
    return isinstance(v, str) and bool(_URL.match(v.strip()))


def _str_list(v) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v)


def validate(meta: dict, body: str, *, known_ids: set[str] | None = None, path: Path | None = None,
             root: Path | None = None) -> dict[str, str]:
    """Field → French message for each rule the fiche breaks (empty when valid).

    `known_ids`: ids of the corpus, for the « Voir aussi » links (not checked when None). `path` and `root`:
    where the file lives, for the folder/type and file-name/id agreement."""
    e: dict[str, str] = {}
    for k in REQUIRED:
        if k not in meta:
            e[k] = "champ manquant dans le front matter"
    kind = meta.get("type")
    fid = meta.get("id")
    if "id" in meta and not (isinstance(fid, str) and ID_RE.match(fid)):
        e["id"] = "en minuscules sans accents, chiffres et tirets seulement (ex. : dupont-2020-scop-rurales)"
    title = meta.get("title")
    if "title" in meta:
        if not isinstance(title, str) or not title.strip():
            e["title"] = "le titre est obligatoire"
        elif len(title) > 300:
            e["title"] = f"titre trop long ({len(title)} caractères, 300 au plus)"
    if "type" in meta and kind not in (*RESOURCE_TYPES, "concept", "dossier"):
        e["type"] = "choisissez l'un des types : " + ", ".join(RESOURCE_TYPES)
    if "authors" in meta and not (isinstance(meta["authors"], list) and _str_list(meta["authors"])):
        e["authors"] = "une liste de personnes ou d'organisations (vide si inconnu)"
    if "year" in meta:
        y = meta["year"]
        if y is not None and not (isinstance(y, int) and not isinstance(y, bool) and MIN_YEAR <= y <= max_year()):
            e["year"] = (f"une année entre {MIN_YEAR} et {max_year()}, ou vide si elle n'a pas pu être vérifiée")
    if "language" in meta and meta["language"] not in LANGUAGES:
        e["language"] = "la langue de la ressource elle-même : fr, en, es, pt ou it"
    if "url" in meta and not _is_url(meta["url"]):
        e["url"] = "un lien qui commence par http:// ou https:// (de préférence la page de l'éditeur)"
    if "publisher" in meta and meta["publisher"] is not None and not (
            isinstance(meta["publisher"], str) and meta["publisher"].strip()):
        e["publisher"] = "un nom d'éditeur, de revue ou d'organisateur, ou vide"
    if "countries" in meta and not _str_list(meta["countries"]):
        e["countries"] = "une liste de pays (vide si aucun)"
    if "topics" in meta:
        t = meta["topics"]
        if not _str_list(t) or not TOPICS[0] <= len(t) <= TOPICS[1]:
            e["topics"] = f"de {TOPICS[0]} à {TOPICS[1]} mots-clés en français, séparés par des virgules"
    if "sources" in meta:
        s = meta["sources"]
        if not (isinstance(s, list) and s and all(_is_url(x) for x in s)):
            e["sources"] = "au moins une adresse réellement consultée, chacune commençant par http(s)://"
    if kind != "dossier":
        n = body_words(body)
        lo, hi = WORDS["concept" if kind == "concept" else "resource"]
        if not lo <= n <= hi:
            e["body"] = f"{n} mots : il en faut de {lo} à {hi}, écrits avec vos propres mots"
        lang = meta.get("language")
        if kind in RESOURCE_TYPES and lang in SUMMARY_LABELS and SUMMARY_LABELS[lang] not in body:
            e.setdefault("body", f"une ressource en « {lang} » se termine par un résumé de deux phrases "
                                 f"commençant par « {SUMMARY_LABELS[lang]} : »")
        links = see_also(body)
        if not links:
            e["see_also"] = "au moins un lien « [[id]] » vers une fiche ou une note existante, en dernière ligne"
        elif known_ids is not None:
            dead = [x for x in links if x not in known_ids]
            if dead:
                e["see_also"] = "identifiant(s) inconnu(s) dans le corpus : " + ", ".join(dead)
    if path is not None and root is not None:
        rel = Path(path).relative_to(root).parts
        if rel[0] == "resources":
            if len(rel) != 3 or rel[1] != kind:
                e["type"] = f"le dossier resources/{rel[1]}/ ne correspond pas au type « {kind} »"
        elif rel[0] == "concepts" and kind != "concept":
            e["type"] = "une fiche du dossier concepts/ a le type « concept »"
        elif rel[0] not in ("resources", "concepts") and not (rel[0] == "dossier" and kind == "dossier"):
            e["type"] = "une fiche va dans resources/<type>/, concepts/ ou dossier/"
        if rel[0] != "dossier" and Path(path).stem != fid:
            e["id"] = f"le nom du fichier ({Path(path).name}) doit être l'identifiant suivi de .md"
    return e


def check(meta: dict, body: str, **kw) -> None:
    errors = validate(meta, body, **kw)
    if errors:
        raise FicheError(errors, kw.get("path"))


# ------------------------------------------------------------------------------------------------ form values

def _items(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        parts = re.split(r"[\n;]|,(?![^()]*\))", str(value))
    return [p.strip() for p in parts if p.strip()]


def from_form(values: dict) -> tuple[dict, str, dict[str, str]]:
    """(meta, body, errors) from the form's raw strings: lists are comma-, semicolon- or line-separated;
    sources one per line; the body is the text without its title line and « Voir aussi », added here."""
    e: dict[str, str] = {}
    title = " ".join(str(values.get("title") or "").split())
    year_raw = str(values.get("year") if values.get("year") is not None else "").strip()
    year = None
    if year_raw:
        try:
            year = int(float(year_raw)) if re.fullmatch(r"\d{1,4}(\.0)?", year_raw) else None
        except ValueError:
            year = None
        if year is None:
            e["year"] = "une année en chiffres (ex. : 2019), ou vide si elle n'a pas pu être vérifiée"
    publisher = " ".join(str(values.get("publisher") or "").split()) or None
    links = []
    for x in _items(values.get("see_also")):
        m = _WIKI.fullmatch(x)
        links.append((m.group(1) if m else x).strip())
    meta = {
        "id": str(values.get("id") or "").strip(),
        "title": title,
        "type": values.get("type") or "",
        "authors": _items(values.get("authors")),
        "year": year,
        "language": values.get("language") or "",
        "url": str(values.get("url") or "").strip(),
        "publisher": publisher,
        "countries": _items(values.get("countries")),
        "topics": _items(values.get("topics")),
        "sources": [s.strip() for s in re.split(r"[\s]+", str(values.get("sources") or "")) if s.strip()],
    }
    text = str(values.get("body") or "").replace("\r\n", "\n").strip()
    body = compose_body(title, text, links)
    return meta, body, e


def compose_body(title: str, text: str, links: list[str]) -> str:
    parts = [f"# {title}", "", text.strip(), ""]
    if links:
        parts.append("Voir aussi : " + ", ".join(f"[[{x}]]" for x in links))
    return "\n".join(parts).rstrip() + "\n"


def slug(text: str, max_words: int = 5) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", text)
    stop = {"de", "la", "le", "les", "des", "du", "et", "en", "un", "une", "l", "d", "a", "au", "aux", "the",
            "of", "and", "in", "for", "on", "el", "los", "las", "y", "do", "da", "dos", "das", "e", "o", "il",
            "di", "per"}
    return "-".join([w for w in words if w not in stop][:max_words])


def make_id(meta: dict, taken: set[str]) -> str:
    """An id in the corpus's style: <first author>-<year>-<title words>, made unique with a suffix."""
    author = (meta.get("authors") or [""])[0]
    head = slug(author.split("(")[0].split()[-1] if author.split() else "", 1)
    base = "-".join(x for x in (head, str(meta.get("year") or ""), slug(meta.get("title") or "")) if x)[:80]
    base = base.strip("-") or "ressource"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}-{n}", n + 1
    return out


# ------------------------------------------------------------------------------------------------ writing

def _q(v) -> str:
    # JSON strings and lists are valid YAML flow scalars/sequences: the corpus's own quoting style
    return json.dumps(v, ensure_ascii=False)


def render(meta: dict, body: str) -> str:
    lines = ["---"]
    keys = list(REQUIRED) + [k for k in meta if k not in REQUIRED]
    for k in keys:
        if k not in meta:
            continue
        v = meta[k]
        if v is None:
            lines.append(f"{k}: null")
        elif isinstance(v, bool) or isinstance(v, int):
            lines.append(f"{k}: {_q(v)}")
        elif k in ("id", "type", "language"):
            lines.append(f"{k}: {v}")
        else:
            lines.append(f"{k}: {_q(v)}")
    lines.append("---")
    return "\n".join(lines) + "\n" + body.lstrip("\n")


def path_for(root: Path, meta: dict) -> Path:
    return Path(root) / "resources" / meta["type"] / f"{meta['id']}.md"


def atomic_write(path: Path, text: str) -> None:
    """Write then rename: a reader (or ingest) sees the old file or the new one, never half of one; fsync of
    the file and of its folder so a power cut after the rename keeps the new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


