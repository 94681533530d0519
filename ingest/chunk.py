"""Split a `Document` into `Chunk`s sized in the embedder's tokens.

Chunks never cross a section (a PDF page, a Markdown or HTML heading). Inside a section they are packed from
whole sentences (a sentence longer than a chunk is cut on spaces); consecutive chunks of a section share their
last / first whole sentences, up to `overlap` tokens, so that an idea cut at a boundary is still retrievable.
The embedded text carries the document title and the section heading.
"""
from __future__ import annotations

from typing import Callable

from rag.text import paragraphs, split_sentences
from rag.types import Chunk, Document

TokenCounter = Callable[[str], int]


def _pieces(text: str, max_tokens: int, count: TokenCounter) -> list[tuple[str, int, str]]:
    """(piece, tokens, separator before it) units no larger than max_tokens: the sentences of each paragraph.

    Sentences, not paragraphs, are the unit so that consecutive chunks can share whole sentences (a paragraph
    is usually longer than the overlap: with paragraph units almost no chunk overlapped). The separator is the
    one the text had ("\n\n" between paragraphs, a line break or a space inside one), so that a chunk of a
    single paragraph reads exactly as the paragraph does."""
    out: list[tuple[str, int, str]] = []
    for para in paragraphs(text):
        sep, pos = "\n\n", 0
        for sent in split_sentences(para):
            at = para.find(sent, pos)
            if at >= 0:
                if pos:
                    sep = "\n" if "\n" in para[pos:at] else " "
                pos = at + len(sent)
            elif pos:
                sep = " "
            for piece in _hard_split(sent, max_tokens, count):
                out.append((piece, count(piece), sep))
                sep = " "
            sep = " "
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
            i = _overlap_start(pieces, i, j, overlap)
    return chunks


def _overlap_start(pieces: list[tuple[str, int, str]], i: int, j: int, overlap: int) -> int:
    """First piece of the next chunk: step back from j over the last whole sentences that fit in `overlap`
    tokens; when even the last sentence is longer, take it anyway if it is under twice the overlap (an idea
    cut at the boundary is the case overlap is for). Always move forward (> i)."""
    back, k = 0, j
    while k - 1 > i and back + pieces[k - 1][1] <= overlap:
        k -= 1
        back += pieces[k][1]
    if k == j and overlap > 0 and j - 1 > i and pieces[j - 1][1] <= 2 * overlap:
        k = j - 1
    return k


def _join(pieces: list[tuple[str, int, str]]) -> str:
    out = ""
    for text, _, sep in pieces:
        out = text if not out else out + sep + text
    return out


def embedding_text(chunk: Chunk) -> str:
    """The text that is embedded: the document title and the section heading give each chunk its context
    (BM25 indexes both too, see rag.store.bm25_text)."""
    head = [h for h in (chunk.meta.get("title") or "", chunk.section or "") if h and not chunk.text.startswith(h)]
    if len(head) == 2 and head[0].strip().lower() == head[1].strip().lower():
        head = head[:1]
    return "\n".join(head + [chunk.text])
