"""Questions in two parts: « Une AMAP, concrètement, c'est quoi ? Et d'où vient l'idée ? », "Who is Nancy Neamtan,
and what institutions did she help create in Quebec?".

The answer's lead follows the first part (a definition, a person); the second part's words are lost in the
question's vector. Its own vector (one more encoding, only for such questions) picks the sentence that answers
it in the documents the answer already quotes, and it closes the answer, in place of the answer's last
sentences when the answer has no room left.
"""
from __future__ import annotations

import re

import numpy as np

from .spans import _POSSESSIVE, Sent, leans

# the second question: after a question mark, or after « et / and / y / e » and a question word
_SECOND = re.compile(
    r"(?:\?\s*(?:(?:et|and|y|e|mais|but)\s+)?|[\s,;]+(?:et|and|y|e)\s+)"
    r"(?P<q>(?:comment|pourquoi|quel(?:le)?s?|qui|que|qu['’]|où|d['’]où|combien|quand|à quoi|how|why|what|who|"
    r"which|where|when|c[óo]mo|por ?qu[ée]|qu[ée]|qui[ée]n(?:es)?|cu[áa]l(?:es)?|d[óo]nde|cu[áa]nt[oa]s?|como|quem|"
    r"qua(?:l|is)|onde|quant[oa]s?|o que)\b[^?]{6,}\??)\s*$", re.I)
PART_WORDS = 45          # what the second part's answer may take
ANSWERED_MARGIN = 0.01  # a quoted sentence this close to the best one already answers the second part
PART_MIN_WORDS = 8


def second_part(question: str) -> str | None:
    """The second question of a message that asks two (« …, et d'où vient-il ? » → "d'où vient-il ?"), or None."""
    m = _SECOND.search(question.strip())
    if not m or m.start() < 8:
        return None
    return m.group("q").strip()


def part_answer(composer, vec: np.ndarray, qvec: np.ndarray, quoted: list[Sent], cands: list[Sent]) -> list[Sent]:
    """The sentence that answers the second part best — closer to it than to the whole question, so that it
    brings what the answer lacks — with the sentence it builds on when it leans on one."""
    have = {s.text for s in quoted}
    docs = {s.chunk.doc_id for s in quoted}
    # in the documents the answer quotes: the second part asks more of the same subject (« …et qui l'a fondé ? »),
    # and a sentence of another document that shares its words is more often about something else; an
    # announcement (« Le fonctionnement est le suivant. ») says nothing alone
    pool = [c for c in cands if c.eligible and c.text not in have and c.chunk.doc_id in docs
            and PART_MIN_WORDS <= c.n_words <= PART_WORDS and not c.text.rstrip().endswith(":")]
    if not pool:
        return []
    vecs = np.asarray(composer.index.sentence_vectors[[c.vec for c in pool]])
    part_sims, whole_sims = vecs @ vec, vecs @ qvec
    # the answer may already answer it (« …d'où vient l'idée ? » after a note that tells its origin)
    told = float(np.max(np.asarray(composer.index.sentence_vectors[[s.vec for s in quoted]]) @ vec)) if quoted else 0.0
    if told >= float(part_sims.max()) - ANSWERED_MARGIN:
        return []
    scored = sorted(((float(p), float(p) - float(w), c) for c, p, w in zip(pool, part_sims, whole_sims)),
                    key=lambda t: -t[0])
    for _, gain, c in scored[:5]:
        if gain <= 0:
            continue
        if leans(c.text) or _POSSESSIVE.match(c.text):
            prev = composer.previous(c, cands)
            if prev is None or not prev.eligible or prev.text in have or prev.n_words + c.n_words > PART_WORDS:
                continue
            return [prev, c]
        return [c]
    return []
