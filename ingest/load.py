"""Loaders: one file → one `Document` (metadata + sections with page or heading), or a `LoaderError`.

Formats: Markdown with YAML front matter, plain text (UTF-8, then cp1252, then Latin-1), PDF (page numbers
kept), HTML (main text only, read by ingest/html.py) and DOCX. A loader never returns an empty document: no
text is an error, so the file is reported and skipped.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from pathlib import Path

import yaml

from rag.errors import LoaderError
from rag.text import detect_language, normalise_language
from rag.types import META_FIELDS, Document, Section

from .html import _html

log = logging.getLogger(__name__)

# Bumped when a loader changes what text or metadata it extracts: an index made by an older version is re-read
# whole, since unchanged files would otherwise keep their old extraction.
PARSER_VERSION = 4

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".pdf": "pdf",
            ".html": "html", ".htm": "html", ".docx": "docx"}


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def slugify(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-") or "document"


def load(path: Path, source: str, data: bytes, max_pdf_pages: int = 1500,
         max_text_chars: int = 10_000_000) -> Document:
    """Parse `data` (the bytes of `path`) into a Document; `source` is the path as ingested.

    Only `LoaderError` comes out for a bad file (tests/test_fuzz.py holds every loader to it)."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LoaderError(path, f"format non pris en charge ({path.suffix or 'sans extension'})")
    if not data.strip():
        raise LoaderError(path, "fichier vide")
    parser = {"markdown": _markdown, "text": _text, "pdf": _pdf, "html": _html, "docx": _docx}[kind]
    if kind == "pdf":
        meta, sections = _pdf(path, data, max_pdf_pages)
    else:
        meta, sections = parser(path, data)
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise LoaderError(path, "aucun texte exploitable")
    n_chars = sum(len(s.text) for s in sections)
    if n_chars > max_text_chars:
        raise LoaderError(path, f"texte trop long ({_thousands(n_chars)} caractères, limite "
                                f"{_thousands(max_text_chars)} : réglage max_text_chars)")
    doc = Document(source=source, meta=_complete_meta(meta, path, sections), sections=sections,
                   sha256=hashlib.sha256(data).hexdigest())
    return doc


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def _complete_meta(meta: dict, path: Path, sections: list[Section]) -> dict:
    out = {k: meta.get(k) for k in META_FIELDS}
    if not out["title"]:
        out["title"] = next((s.heading for s in sections if s.heading), None) or path.stem.replace("_", " ")
    out["title"] = str(out["title"]).strip()
    out["id"] = str(out["id"]) if out["id"] else slugify(path.stem)
    out["type"] = out["type"] or "document"
    for k in ("authors", "countries", "topics", "see_also"):
        v = out[k]
        out[k] = [str(x) for x in v] if isinstance(v, list) else ([str(v)] if v else [])
    if out["year"] is not None:
        try:
            out["year"] = int(out["year"])
        except (TypeError, ValueError):
            out["year"] = None
    given = out["language"]
    # filters compare ISO codes: "FR", "French" or "français" in a front matter would never match "fr"
    out["language"] = normalise_language(given)
    if given not in (None, "") and out["language"] is None:
        log.warning("%s : langue « %s » non reconnue (codes attendus : fr, en, es, pt, it), détectée dans le "
                    "texte à la place", path, given)
    if not out["language"]:
        out["language"] = detect_language(" ".join(s.text for s in sections)[:3000])
    return out


# ---------------------------------------------------------------- text and Markdown

def _check_binary(path: Path, data: bytes) -> None:
    sample = data[:8192]
    if b"\x00" in sample:
        raise LoaderError(path, "fichier binaire (octets nuls), pas du texte")
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if sample and controls / len(sample) > 0.05:
        raise LoaderError(path, "fichier binaire (caractères de contrôle), pas du texte")


def decode_text(path: Path, data: bytes) -> str:
    _check_binary(path, data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # A UTF-8 file with a few damaged bytes stays UTF-8 (the damage becomes U+FFFD): decoding it all as
    # cp1252 would garble every accented letter. Text in cp1252 or Latin-1 has (almost) no valid sequences.
    replaced = data.decode("utf-8", "replace")
    bad = replaced.count("\ufffd")
    good = sum(1 for c in replaced if c > "\x7f") - bad
    if good > bad:
        return replaced
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # Latin-1 decodes any byte string; C1 controls betray bytes that were never text in these encodings.
    if sum(1 for c in text if "\x80" <= c <= "\x9f") > max(3, len(text) // 100):
        raise LoaderError(path, "encodage illisible (ni UTF-8, ni cp1252, ni Latin-1)")
    return text


# No pattern may backtrack across an unbounded run (a hostile line of 5 MB of "[[a" took hours): link texts
# and targets stop at the next bracket, and the closing hashes of a heading are stripped without a regex.
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_LINK = re.compile(r"\[([^\[\]]*)\]\([^()\[\]]*\)")
_WIKI = re.compile(r"\[\[([^\[\]|]+)(?:\|([^\[\]|]+))?\]\]")


def _md_inline(line: str) -> str:
    # Markup is removed so that answer sentences can be quoted verbatim from the passage text.
    line = _WIKI.sub(lambda m: m.group(2) or m.group(1), line)
    line = _LINK.sub(r"\1", line)
    line = re.sub(r"(\*\*|__|`)", "", line)
    line = re.sub(r"(?<![\w*])\*(?!\s)([^*]+)(?<!\s)\*(?!\w)", r"\1", line)
    line = re.sub(r"^\s*[-*+]\s+", "", line)
    line = re.sub(r"^\s*>\s?", "", line)
    return line


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases: front matter never needs them, and nested aliases (a "billion
    laughs") turn a few hundred bytes into a structure whose str() is gigabytes long."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError(None, None, "alias YAML (*nom) non accepté", event.start_mark)
        return super().compose_node(parent, index)


def _split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    m = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?", text, re.S)
    if not m:
        raise LoaderError(path, "front matter YAML non fermé (ligne « --- » manquante)")
    try:
        meta = yaml.load(m.group(1), Loader=_FrontMatterLoader) or {}
    except RecursionError:
        raise LoaderError(path, "front matter YAML trop imbriqué") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" ligne {mark.line + 2}" if mark else ""
        raise LoaderError(path, f"front matter YAML invalide{where} : {getattr(e, 'problem', e)}") from None
    if not isinstance(meta, dict):
        raise LoaderError(path, "front matter YAML : un dictionnaire clé: valeur est attendu")
    return meta, text[m.end():]


def _sections_from_markdown(body: str) -> list[Section]:
    sections: list[Section] = []
    heading: str | None = None
    buf: list[str] = []
    title: str | None = None

    def flush():
        text = "\n".join(buf).strip()
        text = re.sub(r"\n{3,}", "\n\n", text)
        if text:
            sections.append(Section(text=text, heading=heading or title))
        buf.clear()

    for raw in body.splitlines():
        m = _HEADING.match(raw)
        if m:
            flush()
            heading = _md_inline(m.group(2).rstrip().rstrip("#").rstrip()).strip()
            if len(m.group(1)) == 1 and title is None:
                title = heading
            continue
        buf.append(_md_inline(raw.rstrip()))
    flush()
    if title and not any(s.heading == title for s in sections):
        # keep the H1 visible to callers that take the first heading as the title
        sections = [Section(s.text, s.page, s.heading or title) for s in sections]
    return sections


_SEE_ALSO = re.compile(r"^\s*\**Voir aussi\**\s*:?\s*(.*)$", re.I | re.M)


def _markdown(path: Path, data: bytes):
    meta, body = _split_front_matter(path, decode_text(path, data))
    # « Voir aussi : [[id]], … » is navigation, not content: as text it made every fiche match the words of
    # the ids it links to. The ids become metadata.
    see_also: list[str] = []
    for m in _SEE_ALSO.finditer(body):
        see_also += [target.strip() for target, _label in _WIKI.findall(m.group(1))]
    body = _SEE_ALSO.sub("", body) if see_also else body
    if see_also and not meta.get("see_also"):
        meta = dict(meta, see_also=see_also)
    return meta, _sections_from_markdown(body)


def _text(path: Path, data: bytes):
    text = decode_text(path, data).replace("\r\n", "\n")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    title = first if 0 < len(first) <= 120 else None
    return {"title": title}, [Section(text=text.strip(), heading=None)]


# ---------------------------------------------------------------- PDF

# What pypdf raises on broken files, besides its own PyPdfError family.
_PDF_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError,
               AssertionError, ZeroDivisionError, OverflowError, LookupError, NotImplementedError, EOFError)


def _pdf(path: Path, data: bytes, max_pages: int):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    errors = (PyPdfError, *_PDF_ERRORS)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (DependencyError, NotImplementedError) as e:
                raise LoaderError(path, f"PDF chiffré (algorithme non pris en charge : {e})") from None
            if not ok:
                raise LoaderError(path, "PDF chiffré, protégé par un mot de passe")
        # the page count comes from the page tree, before any page is extracted
        n = len(reader.pages)
        if n > max_pages:
            raise LoaderError(path, f"PDF trop long ({n} pages, limite {max_pages} : réglage max_pdf_pages)")
        sections = []
        failed: list[str] = []
        for i in range(n):
            # one broken page costs that page, not the document
            try:
                text = (reader.pages[i].extract_text() or "").strip()
            except errors as e:
                failed.append(f"page {i + 1} : {type(e).__name__}: {e}"[:200])
                continue
            if text:
                sections.append(Section(text=_tidy_pdf_text(text), page=i + 1))
        if failed:
            log.warning("%s : %d page(s) illisible(s), ignorée(s) (%s)", path, len(failed), failed[0])
        title = None
        try:
            info = reader.metadata
            title = str(info.title) if info and info.title else None
        except Exception:  # broken info dictionaries are common and harmless
            title = None
    except LoaderError:
        raise
    except DependencyError as e:  # AES without the `cryptography` package, at decrypt() or when reading a page
        raise LoaderError(path, f"PDF chiffré (algorithme non pris en charge : {e})") from None
    except errors as e:
        raise LoaderError(path, f"PDF corrompu ou illisible ({type(e).__name__}: {e})") from None
    if not sections and failed:
        raise LoaderError(path, f"PDF corrompu : aucune page lisible ({failed[0]})")
    if not sections:
        raise LoaderError(path, "PDF sans texte (document scanné ou images seules) : il faut d'abord un OCR")
    return {"title": title}, sections


def _tidy_pdf_text(text: str) -> str:
    text = re.sub(r"-\n(?=[a-zà-ÿ])", "", text)      # re-join hyphenated line breaks
    text = re.sub(r"(?<![.!?:;])\n(?!\n)", " ", text)  # lines of one paragraph
    return re.sub(r"[ \t]+", " ", text).strip()


# ---------------------------------------------------------------- DOCX

def _docx(path: Path, data: bytes):
    import zipfile
    import zlib
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(i.file_size for i in zf.infolist())
        packed = sum(i.compress_size for i in zf.infolist()) or 1
        if total > 200 * 1024 * 1024 or total / packed > 200:
            raise LoaderError(path, f"DOCX suspect (archive de {total // 1024 // 1024} Mo décompressés, "
                                    f"taux {total // packed}:1) : refusé comme bombe zip")
        document = docx.Document(io.BytesIO(data))
        return _docx_sections(document)
    except LoaderError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, PackageNotFoundError, etree.LxmlError, KeyError,
            ValueError, TypeError, AttributeError, IndexError, NotImplementedError, EOFError, OSError) as e:
        raise LoaderError(path, f"DOCX corrompu ({type(e).__name__}: {e})") from None


def _docx_sections(document):
    sections: list[Section] = []
    heading: str | None = None
    buf: list[str] = []
    title = document.core_properties.title or None
    # Paragraph.style scans every style of the document on each call (hours for 60,000 paragraphs);
    # the style id of a paragraph is enough to look its name up once.
    style_names: dict[str | None, str] = {}
    for p in document.paragraphs:
        t = p.text.strip()
        if not t:
            continue
        sid = p._p.style
        if sid not in style_names:
            style_names[sid] = (p.style.name or "").lower() if p.style is not None else ""
        style = style_names[sid]
        if style.startswith("heading") or style.startswith("titre") or style == "title":
            if buf:
                sections.append(Section("\n\n".join(buf), heading=heading))
                buf = []
            heading = t
            if title is None:
                title = t
        else:
            buf.append(t)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                buf.append(" | ".join(cells))
    if buf:
        sections.append(Section("\n\n".join(buf), heading=heading))
    return {"title": title}, sections
