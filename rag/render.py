"""Safe rendering of untrusted text for the app: Markdown neutralisation, CSV cells, mirror-link labels.

Everything shown in the chat comes from documents, questions or a language model, all untrusted. The app
escapes HTML already; this module also neutralises the *Markdown* that the chat window would otherwise turn
into an image (fetched by every browser that shows it, so a passage could beacon to an outside address) or into
a link to somewhere other than one of the answer's own resources. Kept apart from app.py so that the rules are
small, testable and shared by every place that renders text.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable

# A citation marker the answer writes itself: [3], [1, 2], [2–4]. Kept as is unless it could open a link
# (followed by `(`) or a link reference definition (followed by `:`).
_CITATION = re.compile(r"\[\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\](?![(:])")
# Bare addresses that GitHub-flavoured Markdown (the chat's renderer) turns into links on its own.
_BARE_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\]\[()]*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TRAILING = ".,;:!?'\"»)"

MIRROR_KINDS = {"miroir"}
MIRROR_LABEL = "copie non officielle"


def esc(value) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def neutralise_markdown(text: str, allowed: Iterable[str] = ()) -> str:
    """`text` (already HTML-escaped) with every Markdown image, link and link definition turned into plain
    text, except bare addresses listed in `allowed` (the answer's own resource links). What is shown keeps
    its characters: `![x](http://h/)` reads `![x](http://h/)`, and no browser fetches or links it."""
    allowed = {a for a in allowed if a}
    # 1. backslashes first, so that an escape we add below cannot be cancelled by one in the text
    text = text.replace("\\", "\\\\")
    # 2. every `[` that is not a plain citation marker: no link, image, or reference definition can open
    out, i = [], 0
    for m in re.finditer(r"\[", text):
        out.append(text[i:m.start()])
        out.append("[" if _CITATION.match(text, m.start()) else "\\[")
        i = m.end()
    out.append(text[i:])
    text = "".join(out)

    # 3. bare addresses and e-mails, which the renderer would link by itself
    def bare(m: re.Match) -> str:
        url = m.group(0)
        core = url.rstrip(_TRAILING)
        if html.unescape(core) in allowed:
            return url
        if "://" in url:
            return url.replace("://", "\\://", 1)
        return url[:3] + "\\." + url[4:]  # www.

    text = _BARE_URL.sub(bare, text)
    return _EMAIL.sub(lambda m: m.group(0).replace("@", "\\@", 1), text)


def md(value, allowed: Iterable[str] = ()) -> str:
    """Untrusted text for a Markdown component: HTML escaped, then Markdown neutralised."""
    return neutralise_markdown(esc(value), allowed)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell that a spreadsheet will not run as a formula (CSV/formula injection): text starting with
    = + - @ (also after spaces), a tab or a carriage return gets a leading apostrophe, which spreadsheets
    show as text. Numbers pass unchanged."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) or value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def is_mirror(meta: dict) -> bool:
    """True when the resource's link is a copy on a document-sharing site, not the publisher's page."""
    return str(meta.get("url_kind") or "").strip().lower() in MIRROR_KINDS
