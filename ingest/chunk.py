"""Split a `Document` into `Chunk`s sized in the embedder's tokens.

Chunks never cross a section (a PDF page, a Markdown or HTML heading). Inside a section they are packed from
whole paragraphs, and from whole sentences when a paragraph is too long; consecutive chunks overlap by a few
sentences so that an idea cut at a boundary is still retrievable.
"""
from __future__ import annotations

from typing import Callable

from rag.text import paragraphs, split_sentences
from rag.types import Chunk, Document

TokenCounter = Callable[[str], int]


def _pieces(text: str, max_tokens: int, count: TokenCounter) -> list[tuple[str, int, bool]]:
    """(piece, tokens, starts_paragraph) units no larger than max_tokens."""
    out: list[tuple[str, int, bool]] = []
    for para in paragraphs(text):
        n = count(para) if len(para) < max_tokens * 12 else max_tokens + 1
        if n <= max_tokens:
            out.append((para, n, True))
            continue
        first = True
        for sent in split_sentences(para):
            for piece in _hard_split(sent, max_tokens, count):
                out.append((piece, count(piece), first))
                first = False
    return out


def _hard_split(sentence: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """A sentence longer than a chunk (tables, a text with no punctuation) is cut on spaces."""
    if len(sentence) < max_tokens * 3 and count(sentence) <= max_tokens:
        return [sentence]
    words = sentence.split()
    out, cur = [], []
    # ~3 characters per token is a safe under-estimate for the languages of the corpus
    budget = max_tokens * 3
    size = 0
    for w in words:
        if cur and size + len(w) + 1 > budget:
            out.append(" ".join(cur))
            cur, size = [], 0
        cur.append(w[:budget])
        size += len(w) + 1
    if cur:
        out.append(" ".join(cur))
    return out


def chunk_document(doc: Document, count: TokenCounter, max_tokens: int, overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in doc.sections:
        pieces = _pieces(section.text, max_tokens, count)
        i = 0
        while i < len(pieces):
            size, j = 0, i
            while j < len(pieces) and (j == i or size + pieces[j][1] <= max_tokens):
                size += pieces[j][1]
                j += 1
            text = _join(pieces[i:j])
            chunks.append(Chunk(
                chunk_id=f"{doc.id}#{len(chunks)}", doc_id=doc.id, source=doc.source, text=text,
                page=section.page, section=section.heading, meta=dict(doc.meta), n_tokens=size,
            ))
            if j >= len(pieces):
                break
            # step back over the last pieces that fit in the overlap, but always move forward
            back, k = 0, j
            while k - 1 > i and back + pieces[k - 1][1] <= overlap:
                k -= 1
                back += pieces[k][1]
            i = k
    return chunks


def _join(pieces: list[tuple[str, int, bool]]) -> str:
    out = ""
    for text, _, starts_para in pieces:
        if not out:
            out = text
        else:
            out += ("\n\n" if starts_para else " ") + text
    return out


def embedding_text(chunk: Chunk) -> str:
    """The text that is embedded: the document title gives each chunk its context."""
    title = chunk.meta.get("title") or ""
    return f"{title}\n{chunk.text}" if title and not chunk.text.startswith(title) else chunk.text
