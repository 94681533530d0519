"""Intent cues in an ordinary question: the kind of resource, its language and its period become filters.

« Je cherche une vidéo sur les tiers-lieux », « une thèse récente sur l'IAE », « des ressources en anglais
sur les communs », "case studies published since 2015" ask for passages on a subject *and* say what kind of
resource should hold them. `detect_intent` finds those cues, `Intent.filters()` turns them into
`rag.retrieve.Filters`, and `Intent.labels` says in French what was applied (« filtré : vidéos »), so that the
user sees it and can lift it.

A cue counts only when it is about the resource sought, which is what keeps ordinary questions unfiltered:
- a type noun needs an indefinite article (« une vidéo sur… ») or a request (« je cherche les thèses… »),
  and is ignored when it is defined (« qu'est-ce qu'une étude de cas ? ») or made (« réaliser une vidéo »);
- a language needs « en anglais », "in English", « en español »… outside a translation request
  (« comment dit-on SCOP en anglais ? ») or a resource adjective (« des ressources anglophones »);
- a period needs to be attached to a resource noun or a publication verb (« une thèse récente »,
  « des travaux publiés depuis 2015 »): « l'IAE a-t-elle évolué depuis 2015 ? » is about the IAE, not about
  when its documents were written.

bench/intent_eval.py measures cue precision and recall and the retrieval hit rate with and without the
filters on bench/intent_questions.jsonl. The vocabulary below is shared with rag/catalog.py.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

from .vocab import (GENERIC_NOUNS, LANG_ADJ, LANG_NAMES_FR, LANG_WORDS, RECENTLY, TYPE_NOUNS, TYPE_RE,  # noqa: F401
                    names_resources, normalize, type_label)

# How far back « récent » reaches, in years before the current one.
RECENT_YEARS = 10

# ---------------------------------------------------------------- vocabulary (folded, lower case): rag/vocab.py

# Nouns a period or language can be attached to in an ordinary question (« des travaux récents »).
_ATTACH_NOUNS = (GENERIC_NOUNS + r"|etudes?|recherches?|rapports?|lectures?|sources?|studies|study|research|"
                 r"interventions?|talks?|"
                 r"papers?|reports?|readings?|literature|estudios?|investigaciones?|informes?|lecturas?|"
                 r"estudos?|pesquisas?|relatorios?|leituras?|quelque chose|something|anything|algo|"
                 r"alguma coisa|" + "|".join(TYPE_NOUNS.values()))

ATTACH_RE = re.compile(r"(?<![\w-])(?:" + _ATTACH_NOUNS + r")(?![\w-])")

_LANG_ALT = "|".join(f"(?P<{k}>{v})" for k, v in LANG_WORDS.items())
# « en anglais », "in English", « en español », « em inglês », « rédigées en espagnol », "written in Spanish"
LANG_RE = re.compile(
    r"(?<![\w-])(?:(?:redige|ecrit|publie|disponible|written|published|available|escrit|publicad|redigid)"
    r"\w* )?(?:en langue|en lengua|na lingua|em lingua|en|in|em|na|in the) (?:" + _LANG_ALT + r")(?![\w-])")
LANG_ADJ_RE = re.compile(r"(?<![\w-])(?:" + "|".join(f"(?P<{k}>{v})" for k, v in LANG_ADJ.items()) + r")(?![\w-])")
# "English-language resources", "Spanish resources"
LANG_PRE_RE = re.compile(r"(?<![\w-])(?P<lang>english|spanish|portuguese|italian|french)(?:[- ]language)? (?="
                         + _ATTACH_NOUNS + r")")
_LANG_FROM_EN = {"english": "en", "spanish": "es", "portuguese": "pt", "italian": "it", "french": "fr"}

# A language named inside a translation or answer-language request is not the resource's language.
_NOT_RESOURCE_LANG = re.compile(
    r"(?<![\w-])(?:dit-on|dit on|se dit|on dit|dire|traduire|traduit|traduction|appelle|s'appelle|nomme|terme|mot|"
    r"expression|"
    r"say|said|translate|translation|called|term|word|se dice|decir|traducir|traduccion|llama|palabra|diz|dizer|"
    r"traduzir|traducao|chama|palavra|reponds|repondez|repond|answer|reply|respond|responde|responda|explain it|"
    r"explique-le|explique-moi|ecris|write it|expliquer|explique|expliquez|explain|explaining|resume|resumer|"
    r"resumez|summari[sz]e|decris|decrire|decrivez|describe|dis-moi|dites-moi|tell me|tell us|parle-moi|"
    r"parlez-moi|raconte|racontez|explica|explicame|explicar|explicame|resumir|resumen|contesta|contestar|"
    r"describir|describe|explicar|explique-me|conte|fale|responder|redige|rediger|ecrire|write|talk to me)"
    r"(?![\w-])")

_YEAR = r"(?:19|20)\d\d"
_DECADE = r"(?:19|20)?\d0"
RECENT_RE = re.compile(r"(?<![\w-])(?:les plus recente?s?|(?:les |the )?(?:derniers|dernieres)|le dernier|la derniere|"
                       r"most recent|mas recientes?|mais recentes?|recente?s?|recientes?|latest|newest|mais nov[oa]s|"
                       r"mas nuev[oa]s|" + RECENTLY + r")(?![\w-])")
# (pattern, kind) in priority order: a range before a bound before a single year.
PERIOD_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"(?<![\w-])(?:entre|between|from|de|desde|da|du) (?P<a>{_YEAR}) (?:et|and|to|a|y|e|-|au|"
                rf"jusqu'a|until|hasta|ate) (?P<b>{_YEAR})(?![\w-])"), "range"),
    (re.compile(rf"(?<![\w-])(?P<a>{_YEAR}) ?[-–] ?(?P<b>{_YEAR})(?![\w-])"), "range"),
    (re.compile(rf"(?<![\w-])(?:(?:des|les|dans les|de las?|de los|en los|dos|nos|in the|the|from the) )?"
                rf"(?:annees|anos|decennie|decada) (?P<d>{_DECADE})(?![\w-])"), "decade"),
    (re.compile(rf"(?<![\w-])(?:(?:in|from|of) )?the (?P<d>{_DECADE})'?s(?![\w-])"), "decade"),
    (re.compile(rf"(?<![\w-])(?:depuis|since|desde|a partir de|a partir d'|des|from) (?P<y>{_YEAR})"
                rf"(?: onwards?| on)?(?![\w-])"), "since"),
    (re.compile(rf"(?<![\w-])(?:apres|after|later than|posterieure?s? a|despues de|depois de|post-?) ?"
                rf"(?P<y>{_YEAR})(?![\w-])"), "after"),
    (re.compile(rf"(?<![\w-])(?:avant|before|antes de|anterieure?s? a|prior to|earlier than|pre-?) ?"
                rf"(?P<y>{_YEAR})(?![\w-])"), "before"),
    (re.compile(rf"(?<![\w-])(?:jusqu'en|jusqu'a|until|up to|hasta|ate|through) (?P<y>{_YEAR})(?![\w-])"),
     "until"),
    (re.compile(rf"(?<![\w-])(?:de|du|en|in|of|from|del|do|da|em|dated|datant de|datee?s? de|de l'annee) "
                rf"(?P<y>{_YEAR})(?![\w-])"), "year"),
]
# A publication verb right before a period makes it the resource's date.
_PUBLISHED = re.compile(r"(?<![\w-])(?:publiee?s?|parue?s?|sortie?s?|ecrite?s?|redigee?s?|realisee?s?|"
                        r"soutenue?s?|diffusee?s?|tournee?s?|published|written|released|issued|publicad[oa]s?|"
                        r"escrit[oa]s?|lanzad[oa]s?|editad[oa]s?|lancad[oa]s?|defendid[oa]s?|datent|datant|"
                        r"dated|dating)$")
# …and a founding verb makes it the date of something else (« une coopérative créée en 2010 »).
_FOUNDED = re.compile(r"(?<![\w-])(?:creee?s?|fondee?s?|lancee?s?|nee?s?|votee?s?|adoptee?s?|promulguee?s?|"
                      r"created|founded|launched|passed|adopted|born|creada?s?|creados?|fundada?s?|fundados?|"
                      r"criada?s?|criados?|aprobada|aprovada)$")

_INDEF = (r"un|une|des|quelques|plusieurs|d'|d'autres|a|an|some|any|several|other|una|unos|unas|algun|alguna|"
          r"algunos|algunas|otro|otra|otros|otras|um|uma|uns|umas|algum|alguma|alguns|algumas|outro|outra|"
          r"outros|outras|en|quel|quelle|quels|quelles|which|what|que|qual|quais|cual|cuales")
_DEF = r"les|la|le|l'|the|los|las|el|os|as|o|a|tes|vos|ces|these|those|estos|estas|esses|essas"
# Adjectives that may stand between an article and a type noun (« une courte vidéo », "a good case study").
_ADJ = (r"(?:bonne?s?|bons?|courte?s?|petite?s?|autre?s?|seule?s?|premiere?s?|meilleure?s?|vraie?s?|bref|breve?s?|"
        r"good|short|nice|brief|recent|other|great|single|buen[oa]s?|otr[oa]s?|bo[am]s?|curt[oa]s?|outr[oa]s?|"
        r"nouvelle?s?|nouveaux?|nouvel)")
# Verbs of looking for something: with them even « les thèses » or a bare noun asks for that kind of resource.
_SEEK = re.compile(
    r"(?<![\w-])(?:cherche|cherchons|recherche|voudrais|veux|aimerais|souhaite|souhaiterais|besoin|conseill\w*|"
    r"recommand\w*|propose[zs]?|sugg\w*|trouver|montre[zr]?|montrez-moi|montre-moi|donne[zr]?|donne-moi|"
    r"donnez-moi|avez-vous|as-tu|y a-t-il|y-a-t-il|existe-t-il|connais|connaissez|indique[zr]?|looking for|"
    r"look for|need|want|recommend|suggest|find|show me|give me|is there|are there|do you have|know of|busco|"
    r"buscando|necesito|quiero|recomienda\w*|sugiere\w*|hay|tienes|conoces|procuro|procurando|preciso|quero|"
    r"recomenda\w*|sugere|existe|tem|conhece|indica\w*)(?![\w-])")
# A type noun being defined or produced is the subject of the question, not the kind of resource wanted.
_DEFINED = re.compile(
    r"(?:qu'est-ce qu'|qu'est ce qu'|qu'est-ce que|c'est quoi|what is|what's|what are|que es|que son|o que e|"
    r"o que sao|definition d'|definition de|definir|define|definicion de|definicao de|difference entre|"
    r"difference between|diferencia entre|diferenca entre|comment (?:faire|realiser|ecrire|rediger|mener|"
    r"construire|organiser|reussir)|how (?:to|do i|do you|can i) (?:write|make|do|run|conduct|build|organi[sz]e)|"
    r"como (?:hacer|escribir|realizar|fazer|escrever|organizar))\s*(?:(?:une?|an?|las?|los?|el|os?|as?|des|les|"
    r"the|uma?|mon|ma|my)\s+)?(?:" + _ADJ + r"\s+)?$")
_MADE = re.compile(
    r"(?<![\w-])(?:ecrire|rediger|realiser|tourner|faire|produire|creer|monter|organiser|animer|financer|publier|"
    r"soutenir|defendre|diriger|filmer|preparer|lancer|write|writing|make|making|produce|organi[sz]e|film|shoot|"
    r"publish|run|host|escribir|hacer|realizar|producir|organizar|escrever|fazer|produzir|publicar)\s+"
    r"(?:(?:une?|des|mon|ma|mes|notre|nos|sa|son|ses|leur|a|an|my|our|their|una?|mi|mis|um|uma|meu|minha|"
    r"la|le|l'|les|the)\s+)?(?:" + _ADJ + r"\s+)?$")


# ---------------------------------------------------------------- normalisation

def this_year() -> int:
    return _dt.date.today().year


def period_label(year_min: int | None, year_max: int | None, recent: bool = False) -> str:
    if recent and year_min and not year_max:
        return f"récente (depuis {year_min})"
    if year_min and year_max:
        if year_min == year_max:
            return str(year_min)
        if year_min % 10 == 0 and year_max == year_min + 9:
            return f"années {year_min}"
        return f"{year_min}–{year_max}"
    if year_min:
        return f"depuis {year_min}"
    if year_max:
        return f"jusqu'en {year_max}"
    return ""


# ---------------------------------------------------------------- cue finders (shared with catalog.py)

@dataclass(frozen=True)
class Cue:
    kind: str          # "type" | "language" | "period"
    value: object      # type id, language code, or (year_min, year_max, recent)
    start: int
    end: int


def period_of(m: re.Match, kind: str, today: int) -> tuple[int | None, int | None]:
    if kind == "range":
        a, b = int(m["a"]), int(m["b"])
        return min(a, b), max(a, b)
    if kind == "decade":
        d = m["d"]
        start = int(d) if len(d) == 4 else (1900 + int(d) if int(d) >= 30 else 2000 + int(d))
        return start, start + 9
    y = int(m["y"])
    return {"since": (y, None), "after": (y + 1, None), "before": (None, y - 1), "until": (None, y),
            "year": (y, y)}[kind]


def find_periods(n: str, today: int | None = None) -> list[Cue]:
    """Every period expression in normalised text `n`, without deciding what it dates."""
    today = today or this_year()
    cues: list[Cue] = []
    taken: list[tuple[int, int]] = []
    for pat, kind in PERIOD_PATTERNS:
        for m in pat.finditer(n):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            lo, hi = period_of(m, kind, today)
            if (lo and lo > today + 1) or (hi and hi < 1900):
                continue
            taken.append((m.start(), m.end()))
            cues.append(Cue("period", (lo, hi, False), m.start(), m.end()))
    for m in RECENT_RE.finditer(n):
        if not any(m.start() < e and s < m.end() for s, e in taken):
            cues.append(Cue("period", (today - RECENT_YEARS, None, True), m.start(), m.end()))
    return sorted(cues, key=lambda c: c.start)


def find_languages(n: str) -> list[Cue]:
    cues = []
    for m in LANG_RE.finditer(n):
        lang = next(k for k in LANG_WORDS if m.group(k))
        cues.append(Cue("language", lang, m.start(), m.end()))
    for m in LANG_ADJ_RE.finditer(n):
        lang = next(k for k in LANG_ADJ if m.group(k))
        cues.append(Cue("language", lang, m.start(), m.end()))
    for m in LANG_PRE_RE.finditer(n):
        cues.append(Cue("language", _LANG_FROM_EN[m["lang"]], m.start(), m.end()))
    return sorted(cues, key=lambda c: c.start)


def find_types(n: str) -> list[Cue]:
    return [Cue("type", next(t for t in TYPE_NOUNS if m.group(t)), m.start(), m.end()) for m in TYPE_RE.finditer(n)]


# ---------------------------------------------------------------- intent

@dataclass
class Intent:
    question: str
    types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    recent: bool = False
    cleaned_query: str = ""
    loose_languages: tuple[str, ...] = ()   # named, but qualifying no resource noun (see detect_intent)
    # a period qualifying no resource noun and dating no subject either (« Dans les années 2010, combien… »)
    loose_period: tuple[int | None, int | None, int, int] | None = None   # (year_min, year_max, start, end)
    labels: list[str] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.types or self.languages or self.year_min or self.year_max)

    def filters(self, base=None):
        """These cues as `Filters`; a field already set in `base` (the user's explicit choice) wins."""
        from .retrieve import Filters
        base = base or Filters()
        return Filters(types=base.types or self.types, languages=base.languages or self.languages,
                       year_min=base.year_min if (base.year_min or base.year_max) else self.year_min,
                       year_max=base.year_max if (base.year_min or base.year_max) else self.year_max,
                       doc_ids=base.doc_ids)

    def labels_for(self, base=None) -> list[str]:
        """The labels of the cues that `filters(base)` really applies (not overridden by `base`)."""
        from .retrieve import Filters
        base = base or Filters()
        out = []
        if self.types and not base.types:
            out.append("filtré : " + ", ".join(type_label(t) for t in self.types))
        if self.languages and not base.languages:
            out.append("langue : " + ", ".join(LANG_NAMES_FR[lg] for lg in self.languages))
        if (self.year_min or self.year_max) and not (base.year_min or base.year_max):
            out.append("période : " + period_label(self.year_min, self.year_max, self.recent))
        return out


def _words_before(n: str, pos: int, k: int) -> str:
    return " ".join(re.findall(r"[\w'-]+", n[:pos])[-k:])


def _sentence_start(n: str, pos: int) -> int:
    cut = max(n.rfind(c, 0, pos) for c in ".?!;")
    return cut + 1


def type_noun_named(n: str, m_start: int, m_end: int) -> bool:
    """Does the type noun at n[m_start:m_end] name resources (not a thing defined, made, or a law's article)?"""
    head = n[_sentence_start(n, m_start):m_start]
    if _DEFINED.search(head) or _MADE.search(head):
        return False
    return names_resources(n, m_start, m_end)


def _type_cue_ok(n: str, m_start: int, m_end: int) -> tuple[bool, int]:
    """Is the type noun at n[m_start:m_end] the kind of resource asked for? Returns (ok, cue start)."""
    head = n[_sentence_start(n, m_start):m_start]
    if _DEFINED.search(head) or _MADE.search(head):
        return False, m_start
    if re.match(r"\s*(?:\d|(?:de la |du |de |of the |of |de la |da |del )(?:loi|code|law|act|ley|lei|codigo)\b)",
                n[m_end:m_end + 20]):  # « l'article 1 », « les articles de la loi »
        return False, m_start
    det = re.search(r"(?<![\w'-])(?P<det>" + _INDEF + r"|" + _DEF + r")\s+(?:" + _ADJ + r"\s+)?$", head)
    if det and re.fullmatch(_INDEF, det["det"]):
        return True, det.start()
    if re.search(r"(?<![\w-])d'(?:" + _ADJ + r"\s+)?$", head):
        return True, m_start - 2
    if _SEEK.search(head) and (det is None or re.fullmatch(_DEF, det["det"])):
        return True, det.start() if det else m_start
    # a search-box query that opens on the noun: "case studies Brazil", « vidéos récentes sur les SCOP »
    if re.fullmatch(r"\s*(?:(?:" + _ADJ + r"|recente?s?|recent|latest)\s+)*", head):
        return True, m_start
    return False, m_start


# Nouns a date can belong to when it is the date of the subject, not of a resource (« la crise de 2008 »).
_SUBJECT_DATE = re.compile(
    r"(?:loi|lois|crise|crises|reforme|election|elections|decret|accord|accords|plan|programme|sommet|guerre|"
    r"pandemie|covid|mouvement|greve|creation|fondation|congres|forum|rencontres?|edition|saison|annee|"
    r"law|laws|act|crisis|reform|election|decree|agreement|summit|war|pandemic|movement|strike|founding|"
    r"ley|leyes|reforma|decreto|acuerdo|cumbre|guerra|pandemia|movimiento|huelga|lei|leis|acordo|cupula|"
    r"movimento|greve|edicao|edicion)$")


def _attached(n: str, start: int, end: int, window: int = 6, strict: bool = False) -> bool:
    """Is the expression at n[start:end] about a resource (noun before it, or publication verb right before)?

    `strict` (a single year, « de 2008 », « en 2014 »): only a publication verb or the resource noun right
    before it makes it the resource's date; « la crise de 2008 », « la loi de 2014 » date their subject."""
    head = n[_sentence_start(n, start):start]
    before = head.rstrip()
    last = re.findall(r"[\w'-]+", before)
    if len(last) > 1 and last[-1] == "d'":
        last = last[:-1]    # « datent d'avant 2012 »
    if last and _FOUNDED.search(last[-1]):
        return False
    if last and _PUBLISHED.search(last[-1]):
        return True
    if last and _SUBJECT_DATE.search(last[-1]):
        return False
    near = " ".join(last[-(2 if strict else window):])
    if ATTACH_RE.search(near):
        return True
    # "recent case studies", « récentes publications »: the noun follows
    tail = n[end:end + 40]
    return bool(re.match(r"\s*(?:[\w'-]+\s+)?(?:" + _ATTACH_NOUNS + r")(?![\w-])", tail))


def _dates_a_subject(n: str, start: int) -> bool:
    """« la crise de 2008 », « une coopérative créée en 2010 »: the period dates the subject, not resources."""
    last = re.findall(r"[\w'-]+", n[_sentence_start(n, start):start].rstrip())
    if len(last) > 1 and last[-1] in ("de", "du", "en", "d'", "of", "in", "del", "do", "da", "em"):
        last = last[:-1]
    # « la loi ESS de 2014 »: the dated noun may stand a word or two back
    return any(_FOUNDED.search(w) or _SUBJECT_DATE.search(w) for w in last[-3:])


def _single_year(c: Cue) -> bool:
    lo, hi, recent = c.value
    return not recent and lo is not None and lo == hi


# A question, not a search-box query (« Qu'est-ce que l'ESS, en anglais » asks for a word, not for resources).
_ASKS = re.compile(r"^\s*(?:qu|que|quoi|quel\w*|comment|pourquoi|c'est|est-ce|what|how|why|which|who|explain|"
                   r"explique\w*|dis|tell|como|cual\w*|o que|qual\w*)\b")


def detect_intent(question: str, today: int | None = None) -> Intent:
    """Type, language and period cues of `question` (see the module docstring for what counts as a cue)."""
    today = today or this_year()
    n = normalize(question)
    intent = Intent(question=question)
    cues: list[Cue] = []
    spans: list[tuple[int, int]] = []

    for c in find_types(n):
        ok, start = _type_cue_ok(n, c.start, c.end)
        if ok:
            cues.append(c)
            spans.append((start, c.end))

    for c in find_languages(n):
        head = n[_sentence_start(n, c.start):c.start]
        if _NOT_RESOURCE_LANG.search(head):
            continue
        if c.start < len(n) and LANG_ADJ_RE.match(n, c.start) and not _attached(n, c.start, c.end, window=2):
            continue  # « les pays anglophones »
        # « written in Italian », « rédigés en espagnol » (the verb is part of the cue), and a search-box query
        # that ends on « …, in English » ask for the resources' language
        written = _PUBLISHED.search(n[c.start:c.end].split(" ")[0])
        trailing = (re.fullmatch(r"[^?]*,\s*", n[:c.start]) is not None and not n[c.end:].strip(" .!")
                    and not _ASKS.match(n))
        if not (written or trailing or _attached(n, c.start, c.end, window=4)):
            # « en anglais » with no resource it qualifies: the catalogue may still read it as the resources'
            # language (« Qu'avez-vous en espagnol ? »), an ordinary question does not
            intent.loose_languages += (c.value,)
            continue
        cues.append(c)
        spans.append((c.start, c.end))

    for c in find_periods(n, today):
        lo, hi, recent = c.value
        window = 3 if recent else 6
        if not _attached(n, c.start, c.end, window=window, strict=_single_year(c)):
            if not recent and intent.loose_period is None and not _dates_a_subject(n, c.start):
                intent.loose_period = (lo, hi, c.start, c.end)
            continue
        cues.append(c)
        spans.append((c.start, c.end))

    types = tuple(dict.fromkeys(c.value for c in cues if c.kind == "type"))
    langs = tuple(dict.fromkeys(c.value for c in cues if c.kind == "language"))
    lo = hi = None
    recent = False
    for c in (c for c in cues if c.kind == "period"):
        a, b, r = c.value
        lo = a if a is not None else lo
        hi = b if b is not None else hi
        recent = recent or r
    intent.types, intent.languages, intent.year_min, intent.year_max = types, langs, lo, hi
    intent.recent = recent and hi is None
    intent.cues = sorted(cues, key=lambda c: c.start)
    if spans:
        spans += _request_spans(n)
    intent.cleaned_query = _clean(question, spans)
    intent.labels = intent.labels_for()
    return intent


# Words that only say « I want a resource »: once a cue has said which kind, they are noise for the search.
_OPENER = re.compile(
    r"^\s*(?:je (?:re)?cherche|je voudrais|j'aimerais|je souhaite|il me faut|j'ai besoin d'|j'ai besoin de|"
    r"avez-vous|as-tu|tu aurais|vous auriez|y a-t-il|connaissez-vous|connais-tu|i need|i'm looking for|"
    r"i am looking for|looking for|is there|are there|do you have|i want|busco|necesito|quiero|hay|quero|"
    r"procuro|preciso|tem)(?![\w-])")
_REQUEST_NOUN = re.compile(
    r"(?<![\w'-])(?:(?:un|une|des|quelques|d'autres|a|an|some|any|unos|unas|un|una|algun[oa]s?|um|uma|uns|umas|"
    r"alguns|algumas) )?(?:ressources?|resources?|recursos?|documents?|documentos?|textes?|textos?|travaux|"
    r"trabajos|trabalhos|references?|referencias?|lectures?|lecturas?|leituras?|quelque chose|something|"
    r"anything|algo|alguma coisa|etudes|studies|recherches|research|rapports?|reports?|informes?|"
    r"relatorios?|works?|materials?)(?![\w-])")


def _request_spans(n: str) -> list[tuple[int, int]]:
    out = []
    m = _OPENER.match(n)
    if m:
        out.append((m.start(), m.end()))
    for m in _REQUEST_NOUN.finditer(n):
        out.append((m.start(), m.end()))
    return out


def _clean(question: str, spans: list[tuple[int, int]]) -> str:
    """The question without its cue words, or the question itself when too little would remain."""
    if not spans:
        return question.strip()
    keep = []
    pos = 0
    for s, e in sorted(spans):
        if s < pos:
            s = pos
        keep.append(question[pos:s])
        pos = max(pos, e)
    keep.append(question[pos:])
    out = re.sub(r"\s+", " ", " ".join(keep)).strip()
    out = re.sub(r"\s+([?.!,;:])", r"\1", out)
    from .text import analyze_query
    return out if len(analyze_query(out)) >= 2 else question.strip()
