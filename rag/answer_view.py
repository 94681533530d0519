"""How an answer and its sources look in the app: the chat message (Markdown, with [n] markers, « Sources »
and « Pour aller plus loin »), the source cards with the quoted sentences highlighted, and the cards of a
resource search. Pure functions of an `Answer` or a document's metadata; every piece of text is escaped or
Markdown-neutralised by rag/render.py. Kept apart from app.py's handlers and Gradio wiring.
"""
from __future__ import annotations

import re

from .render import MIRROR_LABEL, esc, is_mirror, md
from .text import analyze, analyze_query
from .types import TYPE_LABELS_FR, Answer
from .vocab import LANG_LABELS_FR, TYPE_SINGULAR_FR



def safe_url(url) -> str | None:
    url = str(url or "").strip()
    return url if re.match(r"^https?://[^\s\"'<>]+$", url) else None


def authors_text(meta: dict) -> str:
    if meta.get("type") == "concept":
        return "note de synthèse innosoc"
    return ", ".join(meta.get("authors") or []) or "auteur inconnu"


def highlight_sentences(passage: str, sentences: list[str]) -> str:
    """Escaped passage with the answer's supporting sentences wrapped in <mark>."""
    out = esc(passage)
    for s in sentences:
        e = esc(s)
        out = out.replace(e, f"<mark>{e}</mark>", 1)
    return out.replace("\n\n", "<br><br>")


_TOKEN = re.compile(r"([^\W_]+)", re.UNICODE)


def highlight_terms(passage: str, query: str, language: str | None) -> str:
    """Escaped passage with the words that match the query's terms (same stem) wrapped in <mark>."""
    terms = set(analyze_query(query))
    parts = _TOKEN.split(passage)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1 and terms and set(analyze(part, language)) & terms:
            out.append(f"<mark>{esc(part)}</mark>")
        else:
            out.append(esc(part))
    return "".join(out).replace("\n\n", "<br><br>")


def card(meta: dict, passage_html: str, *, number: int | None = None, extra: str = "") -> str:
    kind = meta.get("type") or "document"
    label = TYPE_SINGULAR_FR.get(kind, kind)
    url = safe_url(meta.get("url"))
    link = (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">Ouvrir la ressource ↗</a>'
            if url else "")
    if link and is_mirror(meta):  # a copy on a document-sharing site, not the publisher's page
        link += f' <span class="mirror">({MIRROR_LABEL})</span>'
    num = f'<span class="num">[{number}]</span> ' if number is not None else ""
    year = "note" if kind == "concept" else (meta.get("year") or "s.d.")
    lang = LANG_LABELS_FR.get(meta.get("language"), meta.get("language") or "")
    return (f'<div class="card" data-doc-id="{esc(meta.get("id"))}" data-type="{esc(kind)}">'
            f'<div class="card-head">{num}<span class="badge badge-{esc(kind)}">{esc(label)}</span> '
            f'<span class="meta">{esc(year)} · {esc(lang)}</span></div>'
            f'<div class="title">{esc(meta.get("title"))}</div>'
            f'<div class="authors">{esc(authors_text(meta))}</div>'
            f'<div class="passage">{passage_html}</div>{extra}<div class="link">{link}</div></div>')


def answer_markdown(ans: Answer, notice: str | None = None) -> str:
    """The chat message: the answer with its [n] markers, then the numbered sources. Text is HTML-escaped and
    Markdown-neutralised (rag/render.py): HTML or Markdown images and links in a question, a document or a
    language model's answer are shown as text, never fetched; only the answer's resource links stay links."""
    metas = [c.chunk.meta for c in ans.citations] + [h.chunk.meta for h in ans.hits]
    allowed = {u for u in (safe_url(m.get("url")) for m in metas) if u}
    lines = []
    if notice:
        lines.append(f"_{md(notice)}_\n")
    if ans.applied:
        lines.append(f"_{md(' · '.join(ans.applied))} — « Reposer sans filtre » pour les retirer._\n")
    if ans.query and ans.query != ans.question:
        lines.append(f"_Recherche : {md(ans.query)}_\n")
    lines.append(md(ans.text, allowed))
    if ans.found and ans.citations:
        lines.append("\n**Sources**")
        for c in ans.citations:
            m = c.chunk.meta
            url = safe_url(m.get("url"))
            link = f" — <{url}>" if url else ""
            if link and is_mirror(m):
                link += f" ({MIRROR_LABEL})"
            year = "" if m.get("type") == "concept" else f" ({md(m.get('year') or 's.d.')})"
            lines.append(f"{c.n}. {md(m.get('title'))} — {md(authors_text(m))}{year}, "
                         f"{md(TYPE_SINGULAR_FR.get(m.get('type'), m.get('type')))}{link}")
        if ans.further:
            lines.append("\n**Pour aller plus loin**")
            for r in ans.further:
                m = r.meta
                lines.append(f"- {md(m.get('title'))} — {md(authors_text(m))} ({md(m.get('year') or 's.d.')}), "
                             f"{md(TYPE_SINGULAR_FR.get(m.get('type'), m.get('type')))}")
    elif not ans.found and ans.hits:
        for h in ans.hits[:5]:
            m = h.chunk.meta
            lines.append(f"- {md(m.get('title'))} ({md(TYPE_SINGULAR_FR.get(m.get('type'), m.get('type')))}, "
                         f"{md(m.get('year') or 's.d.')})")
    for w in ans.warnings:
        lines.append(f"\n_{md(w)}_")
    return "\n".join(lines)


def sources_panel(ans: Answer) -> str:
    if ans.found and ans.citations:
        cards = [card(c.chunk.meta, highlight_sentences(c.chunk.text, c.sentences), number=c.n) for c in ans.citations]
        return '<div class="cards">' + "".join(cards) + further_cards(ans) + "</div>"
    if ans.hits:
        cards = [card(h.chunk.meta, esc(snippet(h.chunk.text))) for h in ans.hits[:5]]
        return ('<div class="cards"><p class="hint">Ressources les plus proches (aucune ne répond directement) :</p>'
                + "".join(cards) + "</div>")
    return '<p class="hint">Les sources citées apparaîtront ici.</p>'


def further_cards(ans: Answer) -> str:
    """« Pour aller plus loin »: the resources the answer did not cite, grouped by type, one small card each."""
    if not ans.further:
        return ""
    out = ['<div class="further"><p class="hint"><strong>Pour aller plus loin</strong></p>']
    last = None
    for r in ans.further:
        label = TYPE_LABELS_FR.get(r.meta.get("type"), r.meta.get("type") or "document")
        if label != last:
            out.append(f'<p class="further-type">{esc(label)}</p>')
            last = label
        out.append(card(r.meta, ""))
    return "".join(out) + "</div>"


def snippet(text: str, n: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + " …"
