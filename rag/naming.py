"""Which documents a question names: the concept notes whose title, acronym or distinctive topic it words
(`focus`), a resource it names by a rare written name, its authors or a quoted title (`named_resource`), the
documents whose title, acronym or topic is a definition's subject (`named_docs`), and the note whose title a
question in another language is closest to (`note_by_title`). Index-wide lookups built once, then cheap per
question; rag/compose.py reads the documents they point to.
"""
from __future__ import annotations

import re

import numpy as np

from .catalog import _has_phrase, _place_aliases
from .question import norm
from .text import analyze, analyze_query, detect_language, fold, index_languages, words
from .vocab import find_places, normalize

# A word held by few passages (BM25 idf; 3.5 ≈ fewer than 3 % of them) can name a resource.
NAME_IDF = 3.5
# where a title may start: after a word for a work, or on a capital that does not open the question
_WRITTEN_TITLE = re.compile(r"(?:\b(?:livre|ouvrage|rapport|article|th[èe]se|film|documentaire|guide|manuel|texte|"
                            r"book|report|paper|handbook|libro|livro|informe|relat[óo]rio|artigo|art[íi]culo)\s+"
                            r"(?:intitul[ée]e?\s+|titled\s+|called\s+)?[«“\"']?\s*|(?<=[\w,] )(?=[A-ZÀ-Ý]))(?P<t>\w)")
MAIN_TITLE_WORDS = 5   # a title written out in a question names its resource from this many words


def _name_terms(parts, language: str | None) -> set[str]:
    """The analysed terms that name a document in its title or authors. The parts of a compound
    (« Jean-François », « inter-universitaire », « Saint-Étienne ») are no names of their own."""
    text = re.sub(r"\w+(?:-\w+)+", " ", " ".join(str(p) for p in parts))
    return set(analyze(text, language))


class DocumentNames:
    """What the documents of an index are called, and which of them a question names."""

    def __init__(self, index):
        self.index = index
        self._doc_keys: list[tuple[str, str, int, str]] | None = None   # (key, doc_id, priority, kind)
        self._focus_keys: list[tuple[frozenset[str], str, int]] | None = None
        self._title_vecs: tuple[list[str], np.ndarray] | None = None
        self._titles: dict[str, set[str]] | None = None
        self._norm_titles: dict[str, str] = {}
        self._main_titles: dict[str, str] = {}      # before a subtitle: what people write of a title
        self._place_share: dict[str, float] = {}
        self._named: dict[str, tuple[str, bool] | None] = {}   # per question: focus asks up to three times
        self._df_table = None
        self._documents: dict[str, dict] | None = None
        self._langs: tuple[str, ...] | None = None
        self._authors: dict[str, set[str]] | None = None

    @property
    def documents(self) -> dict[str, dict]:
        """doc_id → metadata, read once (`Index.documents()` copies every chunk's metadata at each call);
        shared, so read-only."""
        if self._documents is None:
            self._documents = self.index.documents()
        return self._documents

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of an analysed term in this index (highest for a term no passage
        holds); 0.0 when the index has no BM25 part."""
        table = self._df_table
        if table is None:
            bm = self.index.bm25
            try:
                table = (bm.vocab_dict, np.diff(np.asarray(bm.scores["indptr"])), int(bm.scores["num_docs"]))
            except (AttributeError, KeyError, TypeError):
                table = ({}, np.zeros(0, dtype=np.int64), 0)
            self._df_table = table
        vocab, df, n = table
        if not n:
            return 0.0
        i = vocab.get(term)
        d = int(df[i]) if i is not None and i < len(df) else 0
        return float(np.log(1.0 + (n - d + 0.5) / (d + 0.5)))

    def title_vectors(self, embedder) -> tuple[list[str], np.ndarray]:
        """The concept notes' ids and their titles' vectors (encoded as queries, once: about 0.3 s for 26 titles,
        which the app pays at start rather than at a participant's first question in another language)."""
        if self._title_vecs is None:
            docs = self.documents
            ids = sorted(d for d, m in docs.items() if m.get("type") == "concept" and m.get("title"))
            vecs = embedder.encode_queries([docs[d]["title"] for d in ids]) if ids \
                else np.zeros((0, embedder.dim), dtype=np.float32)
            self._title_vecs = (ids, np.asarray(vecs, dtype=np.float32))
        return self._title_vecs

    def note_by_title(self, qvec: np.ndarray, embedder, floor: float, margin: float) -> tuple[str, float] | None:
        """The concept note whose title is closest to the question vector (titles encoded once, as queries),
        when it reaches `floor` and beats the next one by `margin`: (doc_id, similarity); None otherwise."""
        ids, vecs = self.title_vectors(embedder)
        if len(ids) < 2:
            return None
        sims = vecs @ qvec
        order = np.argsort(-sims)
        if sims[order[0]] >= floor and sims[order[0]] - sims[order[1]] >= margin:
            return ids[int(order[0])], float(sims[order[0]])
        return None

    def focus(self, question: str, within: set[str] | None = None) -> list[str]:
        """The concept notes a question names, most specific first: every content word of a note's title, of
        its acronym or of a topic only it carries stands in the question (« Comment évalue-t-on l'impact
        social ? » names « Évaluation de l'impact social »)."""
        if self._focus_keys is None:
            keys: list[tuple[frozenset[str], str, int]] = []
            topic_docs: dict[frozenset[str], set[str]] = {}
            heads: dict[frozenset[str], set[str]] = {}
            for doc_id, m in self.documents.items():
                lang = m.get("language")
                if (m.get("type") or "") != "concept":
                    # a resource whose title opens with a name (« Banco Palmas, banque communautaire… »,
                    # « « COOPANAME » : … ») is the corpus's account of that name when no other title shares it;
                    # the dossier's introduction names everything and explains nothing in particular
                    if m.get("type") != "dossier":
                        head = re.split(r"\s*(?:[:,—(]|\s-\s)\s*", re.sub(r"[«»\"]", " ", m.get("title") or "").strip())[0]
                        t = frozenset(analyze(head, lang))
                        if t and len(head.split()) <= 4:
                            heads.setdefault(t, set()).add(doc_id)
                    continue
                title = m.get("title") or ""
                names = {title, re.split(r"\s+[—:(]\s*|\s*\(", title)[0], *re.findall(r"\(([^)]{2,80})\)", title)}
                for name in list(names):
                    names |= set(re.split(r"\s+(?:et|and)\s+", name))
                for name in names:
                    t = frozenset(analyze(name, lang))
                    if t:
                        keys.append((t, doc_id, 1))
                for topic in m.get("topics") or []:
                    t = frozenset(analyze(str(topic), lang))
                    if t:
                        topic_docs.setdefault(t, set()).add(doc_id)
            keys += [(t, next(iter(d)), 0) for t, d in topic_docs.items() if len(d) == 1 and len(t) >= 2]
            keys += [(t, next(iter(d)), -1) for t, d in heads.items() if len(d) == 1]
            self._focus_keys = keys
        q = set(analyze_query(question))
        best: dict[str, tuple[float, int]] = {}
        for t, doc_id, is_title in self._focus_keys:
            # a long note title may be named without its last qualifier (« les monnaies locales » for
            # « Monnaies locales complémentaires »); resources' titles must be named whole
            if is_title == 1 and len(t) >= 3 and len(t - q) == 1:
                t = t & q
            if t <= q:
                # « Institut Godin » says more than « innovation sociale », which every note mentions
                best[doc_id] = max(best.get(doc_id, (0.0, -1)), (sum(self.idf(w) for w in t), is_title))
        out = sorted((d for d in best if within is None or d in within), key=lambda d: (-best[d][0], -best[d][1], d))
        # a resource the question names by a rare word (« Ellyx », « SSEVET2 ») is read whole too, after the notes
        named = self.named_resource(question)
        if named and (within is None or named[0] in within):
            doc, titled = named
            if titled:   # named by its title or authors, it is more specific than a note named by common words
                out = [doc] + [d for d in out if d != doc]
            elif doc not in out:
                out.append(doc)
        return out

    def mentioning(self, question: str) -> set[str]:
        """The documents holding every rare name the question writes (« Ellyx »: the fiche on Ellyx, and the
        ones that mention it — DESTINS, a doctoral seminar), to read next."""
        rare = [forms for _, forms, _ in self._question_names(question) if forms]
        if not rare:
            return set()
        return set.intersection(*(set().union(*(self.docs_with_term(f) for f in forms)) for forms in rare))

    def signed_by_all(self, question: str) -> set[str]:
        """The documents whose authors hold every name the question writes (« MacCallum, Moulaert »: the two
        books they edited together)."""
        names = self._question_names(question)
        # common first names (« Jean ») and words many passages hold name no one
        if not names or not all(rare for _, rare, _ in names):
            return set()
        if self._authors is None:
            self._authors = {}
            for doc_id, m in self.documents.items():
                for t in _name_terms(m.get("authors") or [], m.get("language")):
                    self._authors.setdefault(t, set()).add(doc_id)
        return set.intersection(*(set().union(*(self._authors.get(f, set()) for f in forms)) for forms, _, _ in names))

    def share_about(self, place: str) -> float:
        """The share of the documents whose countries name `place` (counted once per place: every answer to a
        question that names a place asks)."""
        if place not in self._place_share:
            aliases = _place_aliases(place)
            docs = list(self.documents.values())
            n = sum(_has_phrase(" ".join(m.get("countries") or []), aliases) for m in docs)
            self._place_share[place] = n / max(1, len(docs))
        return self._place_share[place]

    def named_resource(self, question: str) -> tuple[str, bool] | None:
        if question not in self._named:
            if len(self._named) > 1024:
                self._named.clear()
            self._named[question] = self._named_resource(question)
        return self._named[question]

    def _named_resource(self, question: str) -> tuple[str, bool] | None:
        """The one document a question names (« Tell me about Ellyx. », « Le BEPA, c'est quoi ? », « … la Saúde
        Criança … », « according to Gidron and Domaradzka », « le livre « Du social business… » »): by a title
        quoted in the question, or by a rare written name (idf ≥ NAME_IDF) that stands in the title or the
        authors of only one document, or in only one document at all. Only names count — capitalised words, not
        places (the corpus names many countries: « la capitale de l'Australie » names no resource); a lower-case
        rare word (« recuperadas ») would point at the one fiche with a summary in that language.
        (doc_id, titled), or None: `titled` when the name stands in its title or authors — then it is surely
        what the question is about; a name found only in the text may be a passing mention (« Harvard »)."""
        titles = self._title_terms_index()
        votes: dict[str, float] = {}
        in_title: set[str] = set()
        # a title quoted in the question (« le livre « Du social business à l'économie solidaire » »)
        for quoted in re.findall(r"[«“\"]\s*([^»”\"]{8,160}?)\s*[»”\"]", question):
            qn = norm(quoted)
            hits = {d for d, t in self._norm_titles.items() if len(qn.split()) >= 3 and qn in t}
            if len(hits) == 1:
                d = next(iter(hits))
                votes[d] = votes.get(d, 0.0) + 3.0
                in_title.add(d)
        # a title written out without quotes (« que critique le livre Du social business à l'économie solidaire
        # ? »): its main part, long enough not to be a notion's name (« Principes d'économie solidaire » is one),
        # written as a title — after a word for a work or with a capital inside the sentence (« l'économie
        # sociale et solidaire » names a notion, and « Économie sociale ou entreprise sociale : … » opens a
        # question)
        written = set()
        for m in _WRITTEN_TITLE.finditer(question):
            tail = f" {norm(question[m.start('t'):])} "
            written |= {d for d, t in self._main_titles.items()
                        if len(t.split()) >= MAIN_TITLE_WORDS and tail.startswith(f" {t} ")}
        if len(written) == 1 and not votes:
            return next(iter(written)), True
        names = self._question_names(question)
        for _, forms, near in names:
            if not forms:   # a name many passages hold names no one document
                continue
            docs: set[str] = set()
            # stemmed as the question's language first (« BEPA » stems apart in French and English titles), then
            # as the other languages (« Borghi » in an Italian fiche's authors)
            for group in (forms & near, forms):
                for f in group:
                    d = titles.get(f, set())
                    docs |= d if len(d) == 1 else set()
                if docs:
                    break
            weight = 2.0
            if len(docs) != 1:
                # a name only one document holds (« Saúde Criança »)
                docs = set().union(*(self.docs_with_term(f) for f in forms))
                weight = 1.0
            if len(docs) != 1:
                continue
            d = next(iter(docs))
            votes[d] = votes.get(d, 0.0) + weight
            if weight == 2.0:
                in_title.add(d)
        if not votes:
            return None
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])
        if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
            return None
        d = ranked[0][0]
        # every name the question writes stands in that document: one rare word shared by chance (« Dar es
        # Salaam » and the DARES, « Gray Eagle ») names nothing
        if not all(any(d in titles.get(f, ()) or d in self.docs_with_term(f) for f in forms) for forms, _, _ in names):
            return None
        return d, d in in_title

    def _question_names(self, question: str) -> list[tuple[set[str], set[str], set[str]]]:
        """The names a question writes, each as (its analysed forms, those of them few passages hold, its forms
        in the question's language and French)."""
        lang = detect_language(question)
        # a name is written with a capital (the question's first word too: « Coopaname, c'est quoi ? » — the
        # rarity floor leaves out « Comment », « Quelles »…); places anchor nothing: the corpus names many
        # countries and cities
        q = question.strip().lstrip("¿¡ ")
        capital = {fold(w) for w in words(" ".join(re.findall(r"(?<!^)\b[A-ZÀ-Ý][\w'’-]*", q)))}
        # the first word is capitalised anyway (« What », « Parle-moi », « Tell »): a name when a comma or a colon
        # follows it, or when it is written like one (« SSEVET2 », « CaféLaboQUARTIERS »)
        first = re.match(r"[¿¡]?\s*([A-ZÀ-Ý][\w-]*)(\s*[,:])?", q)
        if first and (first.group(2) or re.search(r"[A-ZÀ-Ý\d]", first.group(1)[1:])):
            capital |= {fold(w) for w in words(first.group(1))}
        n = normalize(question)
        placed = {fold(w) for _, st, en in find_places(question, n) for w in words(n[st:en])}
        # a city the vocabulary does not list reads as one after « à », "in", « em »… (« … à Montréal ? »)
        placed |= {fold(w).lower() for w in re.findall(r"\b(?:à|in|en|au|em|at)\s+([A-ZÀ-Ý][\w-]+)", question)}
        out = []
        for w in dict.fromkeys(words(question)):
            own = set(analyze(w, lang))
            if fold(w) not in capital or fold(w) in placed or not own:   # « Que répond X ? »: a stop word
                continue
            near = own | set(analyze(w, "fr"))
            # a name is stemmed in the language of each document that holds it (« Borghi » in an Italian fiche)
            forms = near | set().union(*(analyze(w, lg) for lg in self._languages()))
            out.append((forms, {f for f in forms if self.idf(f) >= NAME_IDF}, near))
        return out

    def _languages(self) -> tuple[str, ...]:
        if self._langs is None:
            self._langs = tuple(dict.fromkeys(("fr", *index_languages(m.get("language")
                                                                        for m in self.documents.values()))))
        return self._langs

    def _title_terms_index(self) -> dict[str, set[str]]:
        if self._titles is None:
            self._titles = {}
            for doc_id, m in self.documents.items():
                if m.get("type") == "dossier":
                    continue  # the introduction names everything and explains nothing in particular
                self._norm_titles[doc_id] = norm(m.get("title") or "")
                self._main_titles[doc_id] = norm(re.split(r"\s[:–—-]\s|\s?:\s|[.?!]\s", m.get("title") or "")[0])
                # its authors name it as surely as its title (« Rüede and Lurtz », « Vando Borghi »)
                for t in _name_terms([m.get("title") or "", *(m.get("authors") or [])], m.get("language")):
                    self._titles.setdefault(t, set()).add(doc_id)
        return self._titles

    def rows_with_term(self, term: str) -> set[int]:
        """The chunk rows holding an analysed term (the BM25 index's postings)."""
        bm = self.index.bm25
        try:
            i = bm.vocab_dict.get(term)
            if i is None:
                return set()
            ptr, ind = bm.scores["indptr"], bm.scores["indices"]
            return {int(r) for r in ind[int(ptr[i]):int(ptr[i + 1])] if int(r) < len(self.index.chunks)}
        except (AttributeError, KeyError, TypeError, IndexError):
            return set()

    def docs_with_term(self, term: str) -> set[str]:
        """The documents one of whose passages holds an analysed term (the dossier's introduction excepted)."""
        docs = {self.index.chunks[r].doc_id for r in self.rows_with_term(term)}
        return {d for d in docs if (self.documents.get(d) or {}).get("type") != "dossier"}

    def doc_keys(self) -> list[tuple[str, str, int, str]]:
        if self._doc_keys is None:
            keys = []
            for doc_id, m in self.documents.items():
                kind = m.get("type") or ""
                concept = kind in ("concept", "dossier")
                title = m.get("title") or ""
                names = {title, re.split(r"\s+[—:(]\s*|\s*\(", title)[0]}
                names |= set(re.findall(r"\(([^)]{2,80})\)", title))
                for name in names:
                    if norm(name):
                        keys.append((norm(name), doc_id, 0 if concept else 1, "title"))
                # « AMAP et circuits courts »: each side of a title's « et » names the document too, less surely
                for name in list(names):
                    for part in re.split(r"\s+(?:et|and|y|e)\s+", name):
                        if norm(part) and norm(part) != norm(name):
                            keys.append((norm(part), doc_id, 2 if concept else 3, "part"))
                for t in m.get("topics") or []:
                    if norm(str(t)):
                        keys.append((norm(str(t)), doc_id, 4 if concept else 5, "topic"))
            self._doc_keys = keys
        return self._doc_keys

    def naming(self, subject: str) -> list[tuple[int, str, str]]:
        """(priority, doc_id, kind) of each document naming the subject, best first, one per document: priority 0 is
        a note's title … 5 a fiche's topic."""
        sn = norm(subject)
        out, seen = [], set()
        for p, doc_id, kind in sorted((p, doc_id, kind) for key, doc_id, p, kind in self.doc_keys() if key == sn):
            if doc_id not in seen:
                seen.add(doc_id)
                out.append((p, doc_id, kind))
        return out

    def named_docs(self, subject: str) -> list[tuple[str, str]]:
        """(doc_id, "title"|"topic") of documents whose title, acronym or topics are the subject, best first."""
        return [(doc_id, kind) for _, doc_id, kind in self.naming(subject)]
