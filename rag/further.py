"""« Pour aller plus loin »: the 3–5 resources a student may read after an answer — relevant to the question, not
already cited, grouped by type. Mixed into the extractive answerer, whose retriever, composer and relevance
thresholds it uses."""
from __future__ import annotations

import numpy as np

from .catalog import author_matches
from .gate import CROSS_LINGUAL_SHIFT
from .types import RESOURCE_TYPES, Answer, Hit, Reading

FURTHER_MAX = 5
FURTHER_MIN = 3


class FurtherReading:
    def further(self, hits: list[Hit], ans: Answer, qvec: np.ndarray, authors=(), mentions=()) -> list[Reading]:
        """3–5 resources relevant to the question and not cited, grouped by type (in the corpus's type order),
        best first inside a type; none when fewer than three pass the relevance floor. `authors`: people the
        question asks about (« Qui est Nancy Neamtan ? »): their own resources come first, whatever the floor;
        `mentions`: the resources that name what the question names (« Tell me about Ellyx. ») likewise."""
        cited = {c.chunk.doc_id for c in ans.citations}
        idx = self.retriever.index
        rows = self.composer.row_of
        floor = self.relevance.get("further", self.relevance["weak"]) - CROSS_LINGUAL_SHIFT - self.relevance["margin"]
        docs = self.composer.names.documents
        own = _by_authors(docs, authors, cited) if authors else []
        own += sorted((Reading(doc_id=d, meta=dict(docs[d])) for d in mentions
                       if d not in cited and d in docs and docs[d].get("type") in RESOURCE_TYPES
                       and d not in {r.doc_id for r in own}),
                      key=lambda r: -(r.meta.get("year") or 0))
        if own:
            readings = own[:FURTHER_MAX]
            seen = {r.doc_id for r in readings}
            for h in hits:
                if len(readings) >= FURTHER_MAX:
                    break
                if h.chunk.doc_id not in cited | seen and h.chunk.meta.get("type") in RESOURCE_TYPES and \
                        max(float(idx.vectors[rows[c.chunk_id]] @ qvec) for c in (h.passages or [h.chunk])) >= floor:
                    readings.append(Reading(doc_id=h.chunk.doc_id, meta=dict(h.chunk.meta)))
                    seen.add(h.chunk.doc_id)
            order = {t: i for i, t in enumerate(RESOURCE_TYPES)}
            return sorted(readings, key=lambda r: (r not in own, order.get(r.meta.get("type"), 99)))
        # the resources the cited documents link to (« Voir aussi »: chosen by whoever wrote them) that are close
        # to the question come first, then those retrieval found; retrieval alone proposed loosely related
        # resources in the question's language (« Quelles sont les limites du microcrédit ? » → entreprises
        # sociales au Sénégal)
        linked: dict[str, float] = {}
        for c in ans.citations:
            for d in docs.get(c.chunk.doc_id, {}).get("see_also") or []:
                if d in cited or d in linked or docs.get(d, {}).get("type") not in RESOURCE_TYPES:
                    continue
                drows = self.composer.rows_of_doc(d)
                sim = max((float(idx.vectors[r] @ qvec) for r in drows), default=-1.0)
                if sim >= floor - self.relevance["margin"]:    # chosen by a person: a looser floor
                    linked[d] = sim
        chosen = sorted(linked, key=lambda d: -linked[d])[:FURTHER_MAX]
        for h in hits:
            if len(chosen) >= FURTHER_MAX:
                break
            if h.chunk.doc_id in cited or h.chunk.doc_id in chosen or h.chunk.meta.get("type") not in RESOURCE_TYPES:
                continue
            sim = max(float(idx.vectors[rows[c.chunk_id]] @ qvec) for c in (h.passages or [h.chunk]))
            if sim < floor:
                continue
            chosen.append(h.chunk.doc_id)
        if len(chosen) < FURTHER_MIN:
            return []
        order = {t: i for i, t in enumerate(RESOURCE_TYPES)}
        # grouped by type; inside a type, in the order chosen (linked first, then retrieval's rank)
        return sorted((Reading(doc_id=d, meta=dict(docs[d])) for d in chosen),
                      key=lambda r: order.get(r.meta.get("type"), 99))


def _by_authors(docs: dict[str, dict], authors, cited: set[str]) -> list[Reading]:
    """The resources among `docs` signed by one of `authors`, matched as the catalogue matches them."""
    out = []
    for doc_id, m in docs.items():
        if doc_id in cited or m.get("type") not in RESOURCE_TYPES:
            continue
        if any(author_matches(name, str(a)) for name in authors for a in (m.get("authors") or [])):
            out.append(Reading(doc_id=doc_id, meta=dict(m)))
    return sorted(out, key=lambda r: -(r.meta.get("year") or 0))
