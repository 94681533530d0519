"""HTML loader: the main text of a web page, without its furniture (menus, breadcrumbs, sidebars, banners).

trafilatura reads the page; our own walk over its text blocks takes over when trafilatura keeps little of it,
and a streaming parser when the page nests too deep for libxml2. Called by the dispatcher in ingest/load.py,
which this module shares its text decoding and Markdown sectioning with.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from rag.errors import LoaderError
from rag.types import Section

log = logging.getLogger(__name__)

_DROP_TAGS = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "iframe", "svg",
              "button", "menu", "template")


def _html_text(data: bytes) -> str:
    """UTF-8 if it decodes, else the charset the page declares, else cp1252 (old pages from Windows tools)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", data[:4096], re.I)
    for enc in ([m.group(1).decode("ascii")] if m else []) + ["cp1252"]:
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


_XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


# Class and id tokens of page furniture (menus, breadcrumbs, sidebars, share buttons, comments, cookie
# banners) in common CMS themes: WordPress, Drupal, SPIP (« arbo », « forum »), Bootstrap. Matched as whole
# tokens of the attribute, never as substrings: `no-sidebar` on a WordPress <body> or `has-megamenu` on a
# <main> describe the page, they are not furniture.
_FURNITURE = frozenset("""
menu menus navbar navigation nav-links breadcrumb breadcrumbs arbo sidebar sidebars widget-area widget
cookie cookies cookie-banner cookie-notice share sharing social-share sharedaddy comments comment-respond
forum skip-link screen-reader-text visually-hidden pagination post-navigation related-posts
""".split())
# Never dropped whatever their class: the containers of the text itself.
_KEEP_TAGS = frozenset({"html", "body", "main", "article"})


def _is_furniture(el) -> bool:
    if el.tag in _KEEP_TAGS or not isinstance(el.tag, str):
        return False
    if el.get("role") in ("navigation", "banner", "contentinfo") or el.get("aria-hidden") == "true":
        return True
    tokens = (el.get("class") or "").lower().split() + (el.get("id") or "").lower().split()
    return any(t in _FURNITURE for t in tokens)


def _furniture_texts(tree) -> set[str]:
    """Texts of the furniture elements and of their blocks (a furniture element over 3,000 characters is
    probably misclassified: its text is not listed)."""
    out: set[str] = set()
    for el in tree.iter():
        if isinstance(el.tag, str) and (el.tag in ("nav", "header", "footer", "aside") or _is_furniture(el)):
            whole = _norm(el.text_content())
            if not whole or len(whole) > 3000:
                continue
            out.add(whole)
            out.update(t for t in (_norm(b.text_content()) for b in el.iter("p", "li", "div", "a", "span")) if t)
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _drop_furniture(tree) -> None:
    for el in list(tree.iter(*_DROP_TAGS)):
        # ASP.NET and some portals wrap the whole page in one <form>: keep a form that holds the text
        if el.tag == "form" and (el.find(".//main") is not None or el.find(".//article") is not None
                                 or el.find(".//h1") is not None):
            continue
        if el.getparent() is not None:
            el.drop_tree()
    for el in [e for e in tree.iter() if _is_furniture(e)]:
        if el.getparent() is not None:
            el.drop_tree()


def _html(path: Path, data: bytes):
    """Main text of a page: trafilatura (a maintained main-content extractor) on the page without its
    furniture, our own block walk when trafilatura finds nothing or far less than the page's text."""
    import lxml.html
    from lxml import etree

    # imported here, not at the top: ingest.load imports this module
    from .load import decode_text

    text = decode_text(path, data) if not data.lstrip()[:1] == b"<" else _html_text(data)
    # libxml2 keeps control characters in text nodes, and lxml then refuses to write that text back
    text = _XML_INCOMPATIBLE.sub(" ", text)
    parser = lxml.html.HTMLParser()
    try:
        tree = lxml.html.fromstring(text, parser=parser)
    except (etree.LxmlError, ValueError) as e:
        raise LoaderError(path, f"HTML illisible ({type(e).__name__}: {e})") from None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # libxml2 stops building the tree past 256 nested elements and silently drops the rest of the page;
        # a streaming parser keeps all the text, without the structure.
        log.info("%s : HTML imbriqué sur plus de 256 niveaux, texte lu sans la structure", path)
        return _html_flat(path, text)
    title_el = tree.find(".//title")
    title = re.sub(r"\s+", " ", title_el.text_content()).strip() if title_el is not None else None
    h1 = tree.find(".//h1")
    h1_text = re.sub(r"\s+", " ", h1.text_content()).strip() if h1 is not None else None
    # trafilatura reads the page as served (cleaning it first changes which container it picks as the
    # content, and it then missed a SPIP « chapo »); the blocks it keeps that are page furniture are removed
    furniture = _furniture_texts(tree)
    extracted = _trafilatura(path, tree, h1_text or None, furniture)
    _drop_furniture(tree)
    own = _html_blocks(tree, h1_text or None)
    own_chars = sum(len(s.text) for s in own)
    got = sum(len(s.text) for s in extracted)
    # trafilatura drops what does not look like prose; when it keeps under a fifth of the page's text (a page
    # made of lists or tables, a very short page) our own walk is the better reading
    sections = extracted if extracted and got >= 0.2 * own_chars else own
    return {"title": title or h1_text or None}, sections


def _trafilatura(path: Path, tree, h1: str | None, furniture: set[str]) -> list[Section]:
    import copy

    # imported here, not at the top: ingest.load imports this module
    from .load import _sections_from_markdown

    try:
        import trafilatura

        md = trafilatura.extract(copy.deepcopy(tree), output_format="markdown", include_comments=False,
                                 include_tables=True, include_links=False, include_images=False,
                                 favor_recall=True, with_metadata=False, deduplicate=False)
    except Exception as e:  # noqa: BLE001 — a third-party extractor failing on a page costs its reading only
        log.info("%s : trafilatura a échoué (%s: %s), lecture par blocs", path, type(e).__name__, e)
        return []
    if not md or not md.strip():
        return []
    md = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~])", r"\1", md)  # markdown escapes: the text is quoted verbatim
    out = []
    for sec in _sections_from_markdown(md):
        kept = [b for b in sec.text.split("\n\n") if _norm(b) not in furniture]
        lines = "\n\n".join(kept)
        kept_lines = "\n".join(ln for ln in lines.split("\n") if _norm(ln) not in furniture or not ln.strip())
        if kept_lines.strip():
            out.append(Section(kept_lines.strip(), sec.page, sec.heading or h1))
    return out


def _html_blocks(tree, heading: str | None) -> list[Section]:
    """Our own reading: text blocks of <main>, else <article>, else <body>, split at h1-h4."""
    main = tree.xpath("//main") or tree.xpath("//article") or tree.xpath("//body") or [tree]
    sections: list[Section] = []
    buf: list[str] = []
    taken: set = set()
    for el in main[0].iter("h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre", "td", "dd", "dt"):
        # an element inside one already taken (nested lists, quotes) is in its text already: taking it again
        # would repeat the text once per level of nesting
        if any(a in taken for a in el.iterancestors()):
            continue
        t = re.sub(r"\s+", " ", el.text_content()).strip()
        if not t:
            continue
        taken.add(el)
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
    return sections


class _FlatHTML:
    """Text of an HTML page from the standard library's event parser, which keeps no tree (no depth limit)."""

    _BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th", "section",
               "article", "blockquote", "pre", "dd", "dt", "main", "body", "table", "ul", "ol"}

    def __init__(self, text: str):
        from html.parser import HTMLParser

        self.parts: list[str] = []
        self.title: list[str] = []
        self.skip = 0
        self.in_title = False
        p = HTMLParser(convert_charrefs=True)
        p.handle_starttag = self.start
        p.handle_startendtag = lambda tag, attrs: self.start(tag, attrs, void=True)
        p.handle_endtag = self.end
        p.handle_data = self.data
        p.feed(text)
        p.close()

    def start(self, tag, attrs, void=False):
        if tag in _DROP_TAGS and not void:
            self.skip += 1
        elif tag == "title":
            self.in_title = not void
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def end(self, tag):
        if tag in _DROP_TAGS and self.skip:
            self.skip -= 1
        elif tag == "title":
            self.in_title = False
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def data(self, d):
        if self.in_title:
            self.title.append(d)
        elif not self.skip:
            self.parts.append(d)


def _html_flat(path: Path, text: str):
    flat = _FlatHTML(text)
    paras = [re.sub(r"\s+", " ", p).strip() for p in "".join(flat.parts).split("\n\n")]
    body = "\n\n".join(p for p in paras if p)
    title = re.sub(r"\s+", " ", "".join(flat.title)).strip() or None
    return {"title": title}, [Section(body, heading=title)] if body else []
