"""Text helpers shared by ingest and retrieval: language detection, sentence splitting, BM25 analysis.

BM25 analysis = lowercase → word split → stop-word removal → Snowball stem (in the text's language) →
accent folding. Stemming runs before folding because the Snowball rules expect accented forms.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import Stemmer
from bm25s import stopwords as _sw

LANGS = ("fr", "en", "es", "pt", "it")
_STEMMER_NAMES = {"fr": "french", "en": "english", "es": "spanish", "pt": "portuguese", "it": "italian"}
_STOP = {
    "fr": set(_sw.STOPWORDS_FRENCH), "en": set(_sw.STOPWORDS_EN_PLUS), "es": set(_sw.STOPWORDS_SPANISH),
    "pt": set(_sw.STOPWORDS_PORTUGUESE), "it": set(_sw.STOPWORDS_ITALIAN),
}
# Elisions (l', d', qu'…) glue articles to words in French and Italian.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ELISION = re.compile(r"\b(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu|dell|all|dall|nell|sull)['’]", re.I)


def fold(text: str) -> str:
    """Remove accents: 'économie' → 'economie'."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@functools.lru_cache(maxsize=8)
def _stemmer(lang: str):
    return Stemmer.Stemmer(_STEMMER_NAMES.get(lang, "french"))


def words(text: str) -> list[str]:
    return _WORD.findall(_ELISION.sub(" ", text.lower()))


# Short texts (questions, sentences, headings, titles) are analysed again and again at question time: the
# composer scores every candidate sentence of every turn against the question's terms. Their analysis is
# memoised; long texts (whole passages at ingest) are not, they are analysed once.
_MEMO_CHARS = 1000


def analyze(text: str, lang: str | None) -> list[str]:
    """BM25 terms of a text written in `lang` (unknown languages are treated as French, the corpus's own)."""
    lang = lang if lang in _STOP else "fr"
    if len(text) <= _MEMO_CHARS:
        return list(_analyze_memo(text, lang))
    return _analyze(text, lang)


@functools.lru_cache(maxsize=32768)
def _analyze_memo(text: str, lang: str) -> tuple[str, ...]:
    return tuple(_analyze(text, lang))


def _analyze(text: str, lang: str) -> list[str]:
    stop = _STOP[lang]
    toks = [w for w in words(text) if w not in stop and fold(w) not in stop]
    return [fold(s) for s in _stemmer(lang).stemWords(toks)]


def analyze_query(text: str, languages: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """BM25 terms of a query, stemmed as its detected language and as each of `languages` (those of the
    indexed documents; French when not given).

    A short query's detected language is unreliable (« social housing cooperatives » reads as French), and
    each document was stemmed in its own language: the query's words must meet every document in that
    document's language. BM25 sums over terms, so the extra forms only add matches. Words that are stop words
    of the detected language are not re-stemmed as another language."""
    lang = detect_language(text, default="fr")
    terms = analyze(text, lang)
    others = [lg for lg in dict.fromkeys(languages or ("fr",)) if lg != lang]
    if others:
        kept = " ".join(w for w in words(text) if w not in _STOP.get(lang, ()))
        for other in others:
            terms += [t for t in analyze(kept, other) if t not in terms]
    return terms


def index_languages(languages) -> tuple[str, ...]:
    """The analysis languages of a set of document languages (unknown ones are analysed as French)."""
    return tuple(sorted({lg if lg in _STOP else "fr" for lg in languages}))


# Names a front matter may give a language, in the corpus's languages (folded, lower case) → ISO 639-1 code.
_LANGUAGE_NAMES = {
    "fr": ("fr", "fra", "fre", "french", "francais", "frances", "franceses", "francese", "franca", "frances"),
    "en": ("en", "eng", "english", "anglais", "ingles", "inglese", "inglesa"),
    "es": ("es", "spa", "spanish", "espagnol", "espanol", "castellano", "castillan", "spagnolo", "espanhol"),
    "pt": ("pt", "por", "portuguese", "portugais", "portugues", "portoghese", "portuguesa"),
    "it": ("it", "ita", "italian", "italien", "italiano", "italiana"),
}
_LANGUAGE_OF = {name: code for code, names in _LANGUAGE_NAMES.items() for name in names}


def normalise_language(value) -> str | None:
    """ISO 639-1 code of a language as written in a front matter: "FR", "French", "français", "fr-FR" → "fr".

    Another two-letter code is kept (lower case); anything else gives None (the caller then detects)."""
    if value is None:
        return None
    v = fold(str(value)).strip().lower()
    if not v:
        return None
    base = re.split(r"[-_ ]", v, maxsplit=1)[0]  # fr-FR, pt_BR, "français (France)"
    code = _LANGUAGE_OF.get(v) or _LANGUAGE_OF.get(base)
    if code:
        return code
    if re.fullmatch(r"[a-z]{2}", base):
        return base
    return None


_ident = None


def detect_language(text: str, default: str = "fr") -> str:
    text = text.strip()
    if len(text) < 3:
        return default
    if len(text) <= _MEMO_CHARS:  # a question is classified several times a turn (retrieval, gate, composer)
        return _detect_memo(text, default)
    return _detect(text, default)


@functools.lru_cache(maxsize=4096)
def _detect_memo(text: str, default: str) -> str:
    return _detect(text, default)


def _detect(text: str, default: str) -> str:
    global _ident
    if _ident is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
        _ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        _ident.set_languages(list(LANGS))
    lang, prob = _ident.classify(text[:5000])
    # Short questions ("Et au Brésil ?") give weak guesses; keep the corpus language then — unless the question
    # opens on a question word only one language has ("What is social entrepreneurship?" was taken for French)
    if len(text) < 40 and prob < 0.9:
        for cue, cue_lang in _QUESTION_CUES:
            if cue.match(text) and cue_lang in LANGS:
                return cue_lang
        return default
    return lang


_QUESTION_CUES = [
    (re.compile(r"^\s*(?:what|who|how|why|which|where|when|whose)\b|^\s*(?:is|are|does|do|can) \w+ \w+", re.I), "en"),
    (re.compile(r"^\s*[¿¡]|^\s*(?:qué|cómo|quién|quiénes|cuál|cuáles|dónde|cuántos?|cuántas?)\b", re.I), "es"),
    (re.compile(r"^\s*(?:o que|quem|qual|quais|onde|quantos?|quantas?|porque|por que)\b", re.I), "pt"),
]


# Sentence boundaries: ., !, ? or … followed by space and an upper-case letter, digit, quote or bracket.
_SENT_END = re.compile(r"(?<=[.!?…])[\"»”)]?\s+(?=[«\"“(\[]?[A-ZÀ-ÖØ-Þ0-9¿¡])")
_ABBREV = re.compile(r"(?:\b(?:M|Mme|Dr|Pr|p|pp|n°|no|vol|éd|ed|cf|etc|art|al|op|cit|ibid|St|Ste|av|J\.-C|ex)|\b[A-Z])\.$")


MAX_QUOTED = 300


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences, keeping each sentence verbatim (no whitespace rewriting inside)."""
    out: list[str] = []
    start = 0
    seen = 0          # text[start:seen] has been counted into `open_`
    open_ = 0         # brackets and guillemets opened and not yet closed since `start`
    for m in _SENT_END.finditer(text):
        # only the last few characters can hold an abbreviation; searching the whole candidate made a long run
        # of abbreviations ("M. M. M. …", 5 MB on one line) quadratic
        if _ABBREV.search(text, max(start, m.start() - 12), m.start()):
            continue
        # a title inside brackets or guillemets (« Relancer les PTCE. Diagnostic et propositions ») is not two
        # sentences — counted incrementally, and not past MAX_QUOTED characters (an unclosed bracket does not
        # swallow a paragraph)
        seg = text[seen:m.end()]     # the boundary itself may close them: « (voir plus haut.) Puis… »
        open_ += seg.count("(") + seg.count("«") - seg.count(")") - seg.count("»")
        seen = m.end()
        if open_ > 0 and m.start() - start < MAX_QUOTED:
            continue
        candidate = text[start:m.start()].rstrip()
        if candidate:
            out.append(candidate.strip())
        start = m.end()
        open_ = 0
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
