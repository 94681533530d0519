"""Loaders: one file → one `Document` (metadata + sections with page or heading), or a `LoaderError`.

Formats: Markdown with YAML front matter, plain text (UTF-8, then cp1252, then Latin-1), PDF (page numbers
kept), HTML (main text only) and DOCX. A loader never returns an empty document: no text is an error, so the
file is reported and skipped.
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
from rag.text import detect_language
from rag.types import META_FIELDS, Document, Section

log = logging.getLogger(__name__)

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".pdf": "pdf",
            ".html": "html", ".htm": "html", ".docx": "docx"}


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def slugify(text: str) -> str:
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-") or "document"


def load(path: Path, source: str, data: bytes, max_pdf_pages: int = 1500) -> Document:
    """Parse `data` (the bytes of `path`) into a Document; `source` is the path as ingested."""
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
    doc = Document(source=source, meta=_complete_meta(meta, path, sections), sections=sections,
                   sha256=hashlib.sha256(data).hexdigest())
    return doc


def _complete_meta(meta: dict, path: Path, sections: list[Section]) -> dict:
    out = {k: meta.get(k) for k in META_FIELDS}
    if not out["title"]:
        out["title"] = next((s.heading for s in sections if s.heading), None) or path.stem.replace("_", " ")
    out["title"] = str(out["title"]).strip()
    out["id"] = str(out["id"]) if out["id"] else slugify(path.stem)
    out["type"] = out["type"] or "document"
    for k in ("authors", "countries", "topics"):
        v = out[k]
        out[k] = [str(x) for x in v] if isinstance(v, list) else ([str(v)] if v else [])
    if out["year"] is not None:
        try:
            out["year"] = int(out["year"])
        except (TypeError, ValueError):
            out["year"] = None
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
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # Latin-1 decodes any byte string; C1 controls betray bytes that were never text in these encodings.
    if sum(1 for c in text if "\x80" <= c <= "\x9f") > max(3, len(text) // 100):
        raise LoaderError(path, "encodage illisible (ni UTF-8, ni cp1252, ni Latin-1)")
    return text


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_WIKI = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")


def _md_inline(line: str) -> str:
    # Markup is removed so that answer sentences can be quoted verbatim from the passage text.
    line = _WIKI.sub(lambda m: m.group(2) or m.group(1), line)
    line = _LINK.sub(r"\1", line)
    line = re.sub(r"(\*\*|__|`)", "", line)
    line = re.sub(r"(?<![\w*])\*(?!\s)([^*]+)(?<!\s)\*(?!\w)", r"\1", line)
    line = re.sub(r"^\s*[-*+]\s+", "", line)
    line = re.sub(r"^\s*>\s?", "", line)
    return line


def _split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        return {}, text
    m = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?", text, re.S)
    if not m:
        raise LoaderError(path, "front matter YAML non fermé (ligne « --- » manquante)")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
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
            heading = _md_inline(m.group(2)).strip()
            if len(m.group(1)) == 1 and title is None:
                title = heading
            continue
        buf.append(_md_inline(raw.rstrip()))
    flush()
    if title and not any(s.heading == title for s in sections):
        # keep the H1 visible to callers that take the first heading as the title
        sections = [Section(s.text, s.page, s.heading or title) for s in sections]
    return sections


def _markdown(path: Path, data: bytes):
    meta, body = _split_front_matter(path, decode_text(path, data))
    return meta, _sections_from_markdown(body)


def _text(path: Path, data: bytes):
    text = decode_text(path, data).replace("\r\n", "\n")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    title = first if 0 < len(first) <= 120 else None
    return {"title": title}, [Section(text=text.strip(), heading=None)]


# ---------------------------------------------------------------- PDF

def _pdf(path: Path, data: bytes, max_pages: int):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, DependencyError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (DependencyError, NotImplementedError) as e:
                raise LoaderError(path, f"PDF chiffré (algorithme non pris en charge : {e})") from None
            if not ok:
                raise LoaderError(path, "PDF chiffré, protégé par un mot de passe")
        n = len(reader.pages)
        if n > max_pages:
            raise LoaderError(path, f"PDF trop long ({n} pages, limite {max_pages} : réglage max_pdf_pages)")
        sections = []
        for i, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            if text:
                sections.append(Section(text=_tidy_pdf_text(text), page=i))
        title = None
        try:
            info = reader.metadata
            title = info.title if info and info.title else None
        except Exception:  # broken info dictionaries are common and harmless
            title = None
    except LoaderError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            OSError, AssertionError, ZeroDivisionError) as e:
        raise LoaderError(path, f"PDF corrompu ou illisible ({type(e).__name__}: {e})") from None
    if not sections:
        raise LoaderError(path, "PDF sans texte (document scanné ou images seules) : il faut d'abord un OCR")
    return {"title": title}, sections


def _tidy_pdf_text(text: str) -> str:
    text = re.sub(r"-\n(?=[a-zà-ÿ])", "", text)      # re-join hyphenated line breaks
    text = re.sub(r"(?<![.!?:;])\n(?!\n)", " ", text)  # lines of one paragraph
    return re.sub(r"[ \t]+", " ", text).strip()


# ---------------------------------------------------------------- HTML

_DROP_TAGS = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "iframe", "svg",
              "button", "menu", "template")


def _html(path: Path, data: bytes):
    import lxml.html
    from lxml import etree

    text = decode_text(path, data) if not data.lstrip()[:1] == b"<" else data.decode("utf-8", "replace")
    try:
        tree = lxml.html.fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise LoaderError(path, f"HTML illisible ({e})") from None
    title_el = tree.find(".//title")
    title = title_el.text_content().strip() if title_el is not None else None
    h1 = tree.find(".//h1")
    for el in list(tree.iter(*_DROP_TAGS)):
        el.drop_tree()
    for el in list(tree.xpath('//*[@role="navigation" or @role="banner" or @role="contentinfo" or '
                              '@aria-hidden="true" or contains(@class, "menu") or contains(@id, "menu") or '
                              'contains(@class, "cookie") or contains(@class, "sidebar")]')):
        el.drop_tree()
    main = tree.xpath("//main") or tree.xpath("//article") or tree.xpath("//body") or [tree]
    sections: list[Section] = []
    heading = h1.text_content().strip() if h1 is not None else None
    buf: list[str] = []
    for el in main[0].iter("h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre", "td", "dd", "dt"):
        t = re.sub(r"\s+", " ", el.text_content()).strip()
        if not t:
            continue
        if el.tag in ("h1", "h2", "h3", "h4"):
            if buf:
                sections.append(Section("\n\n".join(buf), heading=heading))
                buf = []
            heading = t
        else:
            buf.append(t)
    if buf:
        sections.append(Section("\n\n".join(buf), heading=heading))
    if not sections:
        t = re.sub(r"\s+", " ", main[0].text_content()).strip()
        if t:
            sections = [Section(t, heading=heading)]
    return {"title": title or (h1.text_content().strip() if h1 is not None else None)}, sections


# ---------------------------------------------------------------- DOCX

def _docx(path: Path, data: bytes):
    import zipfile
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(i.file_size for i in zf.infolist())
        packed = sum(i.compress_size for i in zf.infolist()) or 1
        if total > 200 * 1024 * 1024 or total / packed > 200:
            raise LoaderError(path, f"DOCX suspect (archive de {total // 1024 // 1024} Mo décompressés, "
                                    f"taux {total // packed}:1) : refusé comme bombe zip")
        document = docx.Document(io.BytesIO(data))
    except LoaderError:
        raise
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError) as e:
        raise LoaderError(path, f"DOCX corrompu ({type(e).__name__}: {e})") from None
    sections: list[Section] = []
    heading: str | None = None
    buf: list[str] = []
    title = document.core_properties.title or None
    for p in document.paragraphs:
        t = p.text.strip()
        if not t:
            continue
        style = (p.style.name or "").lower() if p.style is not None else ""
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
