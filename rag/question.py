"""The forms of a question the composer answers to: a definition's subject, a comparison's two sides, « comment
fonctionne X ? », a question on limits; and how surely a sentence defines a subject.

Pure text: no index, no model. rag/compose.py picks the spans; rag/answer.py decides which composition a
question gets.
"""
from __future__ import annotations

import re

from .text import fold

# Definition questions, in the four languages of the users. Group "s" is the subject.
_DEF_LEADS = (r"qu['’ ]?est[- ]ce (?:que|qu['’ ]?)|qu['’]est[- ]ce que c['’]est (?:que|qu['’ ]?)|c['’]est quoi|"
              r"que (?:veut dire|signifie)|comment (?:d[ée]finir|d[ée]finit-on)|d[ée]finition (?:de |du |des |d['’])|"
              r"d[ée]finis(?:sez)?|what(?: exactly)? (?:is|are)|what['’]s|define|what does|"
              r"qu[ée] (?:es|son|significa|quiere decir)|o que (?:é|e|são|sao|significa)|que é|"
              r"qu['’]entend-on par|qu['’]appelle-t-on|que fait|que font|qui (?:est|était|sont|étaient)|"
              r"who (?:is|was|are|were)|what is meant by|quem (?:é|e|foi|são)|qui[ée]n (?:es|fue|era)|"
              r"qu[ée] hace|que d[ée]signe(?:-t-on par)?|[çc]a (?:veut dire|d[ée]signe|signifie) quoi\s*,?")

_DEFINITION = re.compile(rf"^\s*[¿¡]?\s*(?:{_DEF_LEADS})(?:\s*,\s*(?:au juste|exactement|concr[èe]tement|en fait|"
                         rf"exactly|really)\s*,)?(?:\s+|(?<=['’]))(?P<s>.+?)\s*(?:exactement|exactly|,? au juste)?\s*[?？!.]*\s*$",
                         re.I)

_WHAT_TAIL = r"(?:c['’]est quoi|qu['’]est-ce que c['’]est|[çc]a (?:veut dire|d[ée]signe|signifie) quoi)"
_DEF_TAIL = re.compile(rf"^\s*(?P<s>[^?,]{{2,80}}?)\s*,?\s*{_WHAT_TAIL}(?:\s+[^?]{{0,60}})?\s*[?？]*\s*$", re.I)
# « On parle beaucoup des « communs » dans l'ESS, ça désigne quoi concrètement ? »: the term quoted in a context
_DEF_QUOTED = re.compile(rf"[«“\"]\s*(?P<s>[^»”\"]{{2,60}}?)\s*[»”\"][^?«“\"]*?,?\s*{_WHAT_TAIL}(?:\s+[^?]{{0,40}})?"
                         rf"\s*[?？]*\s*$", re.I)

# words after the subject that are not part of it: « …, concrètement ? », "… do?", « … en France ? »
_SUBJECT_TAIL = re.compile(r"(?:\s*,.*|\s+(?:et|and|y|e)\s+(?:comment|pourquoi|quels?|quelles?|qui|que|quoi|où|how|why|"
                           r"what|who|which|c[óo]mo|por qu[ée]|qu[ée]|qual|quais|quem|o que|qu['’]|d['’]où|à quoi)\b.*|\s+(?:exactement|concr[èe]tement|au juste|exactly|do|mean|stand for|m[êe]me|same|mesmo|mismo)|\s+comme\s+[\w'’-]+|\s+(?:mean|means|stand for)\s.*)$", re.I)

_PLACE_TAIL = re.compile(r"\s+(?:en|au|aux|dans|selon|pour|in|según|segun|na|no|nos|nas|au sens)\s.*$", re.I)

_ARTICLE = re.compile(r"^(?:l['’]\s*|le |la |les |un |une |des |du |de la |de l['’]|d['’]|the |an? |el |los |las |"
                      r"lo |o |os |as |um |uma |una |unos |unas |uns |umas )", re.I)


_COMPARE = [
    re.compile(r"(?:diff[ée]rences?|distinction|difference|differences|diferencias?|diferen[çc]as?)\b[^?]*?\b"
               r"(?:entre|between)\s+(?P<a>.+?)\s+(?:et|and|y|e)\s+(?P<b>.+?)\s*[?？.!]*\s*$", re.I),
    re.compile(r"(?:comparer|compare|comparar|distinguer|distinguish)\s+(?P<a>.+?)\s+(?:et|and|y|e|avec|with|de|from)"
               r"\s+(?P<b>.+?)\s*[?？.!]*\s*$", re.I),
    re.compile(r"^\s*(?P<a>[^,?]{2,50}?)\s+(?:vs\.?|versus|contre)\s+(?P<b>[^,?]{2,50}?)\s*[?？.!]*\s*$", re.I),
    re.compile(r"^\s*(?:(?:qu['’]est-ce qui (?:distingue|sépare|separe))\s+)(?P<a>.+?)\s+(?:de|et)\s+(?P<b>.+?)\s*[?？]*\s*$",
               re.I),
    re.compile(r"^\s*(?P<a>[^,?]{2,50}?)\s+(?:et|and|y|e)\s+(?P<b>[^,?]{2,50}?)\s*:\s*(?:quelles? |what |which )?"
               r"(?:diff[ée]rences?|differences?)\s*[?？]*\s*$", re.I),
    # « Scop et SCIC, je les confonds toujours : qu'est-ce qui les distingue ? », « X vs Y, c'est quoi la
    # nuance ? »: two short names first, then what is asked of them
    re.compile(r"^\s*(?P<a>[^,?:]{2,50}?)\s+(?:ou|et|or|and|o|y|e|vs\.?|versus)\s+(?P<b>[^,?:]{2,50}?)\s*[:,?]\s*"
               r"[^:]*?(?:distingu|diff[èée]r|m[êe]me chose|compar|same thing|differ|diferen|nuance|oppos|confon|"
               r"mesma coisa|misma cosa|same\b)", re.I),
    # « SCIC la différence avec une Scop » (a follow-up « Et la différence avec une Scop ? » read with the subject
    # before it)
    re.compile(r"^\s*(?P<a>[^,?:]{2,40}?)\s+(?:et\s+)?(?:la |les |une |the |a )?(?:diff[ée]rences?|differences?|"
               r"diferencias?|diferen[çc]as?)\s+(?:avec|with|from|con|com)\s+(?P<b>[^,?:]{2,40}?)\s*[?？.!]*\s*$", re.I),
    re.compile(r"(?:en quoi|how (?:does|do|is|are))\s+(?P<a>.+?)\s+(?:diff[èe]re\w*|se distingue\w*|"
               r"se diff[ée]rencie\w*|differs?|different)(?:-t-(?:il|elle|ils|elles))?\s+(?:de la |du |des |de l['’]|"
               r"d['’]|de |from the |from )(?P<b>.+?)\s*[?？.!]*\s*$", re.I),
    re.compile(r"^\s*(?:plut[ôo]t\s+)?(?P<a>[^,?]{2,40}?)\s+ou\s+(?P<b>[^,?]{2,40}?)\s*[?？]\s*$", re.I),
]

# « A ou B ? » is a comparison only when A is a name, not the start of another question
_QUESTION_WORD = re.compile(r"^(?:comment|pourquoi|quand|où|ou|qui|que|quoi|quel|quelle|quels|quelles|est-ce|faut-il|"
                            r"peut-on|combien|how|why|what|which|who|when|where|c[óo]mo|por qu[ée]|qu[ée]|qual|quais|"
                            r"quem|onde)\b", re.I)

# « selon X », « d'après X », "according to X": whose view a question asks for
_VIEW_OF = r"selon|d['’]apr[èe]s|according to|seg[úu]n|segundo"
# « Pour Dacheux et Goujon, … »: a question that opens on whose view it asks
_FRAME_LEAD = re.compile(rf"^\s*(?:pour|for|para|{_VIEW_OF})\s", re.I)
# « …, selon Dacheux et Goujon », "according to the Centre Avec": the view asked for, anywhere in the question
SEEN_BY = re.compile(rf"\b(?:{_VIEW_OF}|de acordo com)\s", re.I)

_COMPARE_LEAD = re.compile(r"^(?:quelle est la |quelles sont les |what is the |what are the |what['’]s the |what['’]s |"
                           r"cu[áa]l es la |qual (?:é|e) a |la |les |the |a |as )", re.I)

def clean_side(name: str) -> str:
    """One side of a comparison without the question's opening words (« What's measuring… » → "measuring…")."""
    return clean_subject(_COMPARE_LEAD.sub("", name.strip()))

# Words after a subject that make a sentence define it: « X est… », « X, créé en… », "X is…".
_DEFINING = re.compile(fold(
    r"^\s*\)?\s*(?:\([^)]{0,120}\)\s*)?,?\s*(?:(?:qui |c['’]est |ce sont )?(?:est|sont|était|étaient|désigne\w*|"
    r"se définit|se définissent|signifie|renvoie|regroupe|rassemble|réunit|constitue|consiste|naît|nait|né|née|"
    r"apparaît|apparait|apparaissent|créé|créée|créés|fondé|fondée|installé|installée|basé|basée|situé|située|implanté|implantée|présenté|"
    r"présentée|lancé|lancée|apparu|apparue|is|are|was|were|refers|means|es|son|fue|significa|designa|"
    r"é|são|foi|a été|a d['’]abord|fut|has been|a fondé|a créé|dirige|préside)\b|:|,\s+(?:[\w'’-]+\s+){0,4}?(?:de|du|des|d['’]|à|au|aux|en|of|at)\b)"), re.I)  # matched against folded text

# Questions about limits and debates, and the sections and sentences that discuss them.
_CRITIQUE_Q = re.compile(r"\b(?:limites?|limit[ée]e?s?|critiqu\w*|critic\w*|reproch\w*|d[ée]bats?|risques?|inconv[ée]nients?|d[ée]rives?|"
                         r"tensions?|controvers\w*|r[ée]ticences?|faiblesses?|limits?|limitations?|criticisms?|"
                         r"critiques?|drawbacks?|risks?|limitaciones|cr[íi]ticas?|riesgos?|limita[çc][õo]es|"
                         r"cr[íi]ticas?)\b", re.I)

# « What are the criticisms of fair trade? », « ¿Qué críticas se le hacen al comercio justo? », « Quais são as
# críticas ao comércio justo? »: the subject criticised.
_CRITIQUE_SUBJECT = re.compile(
    r"\b(?:criticisms?|critiques?|critics|limits|limitations|drawbacks|weaknesses|risks|cr[íi]ticas?|l[íi]mites|"
    r"limitaciones|limita[çc][õo]es|riesgos|riscos|debates?)\s+(?:(?:se le hacen|se hacen|se fazem|faites|made|"
    r"leveled|levelled|addressed|raised)\s+)?(?:of the|of|to the|to|against|about|on|a la|a los|a las|al|a|"
    r"de la|de los|de las|del|de l['’]|de|aos|ao|às|à|dos|das|do|da|contra|sobre|aux|au|du|des)(?:\s+|(?<=['’]))"
    r"(?P<s>[^?.!]{2,60}?)\s*[?？.!]*\s*$",
    re.I)


def critique_subject(question: str) -> str | None:
    """What a question on criticisms or limits is about (« fair trade »), or None."""
    m = _CRITIQUE_SUBJECT.search(question.strip())
    s = clean_subject(m.group("s")) if m else ""
    return s if s and len(s.split()) <= 4 else None


# Questions on how something works, and the sections of a note that tell it.
_HOW_Q = re.compile(r"^\s*(?:(?:et|mais|alors|and|so)\s+)?(?:comment|how|c[óo]mo)\b|\b(?:fonctionne\w*|marche-t-\w+|"
                    r"s'organise\w*|organis[ée]e?s?|works?|funciona\w*|m[ée]thodes?|methods?)\b", re.I)

# Questions that ask what something achieved or measured: its figures answer them.
_RESULTS_Q = re.compile(r"\b(?:r[ée]sultats?|chiffres?|chiffr[ée]\w*|bilan|ressorti\w*|ressort-il|combien|"
                        r"achiev\w*|results?|figures?|numbers?|how (?:many|much)|resultados?|cifras?|n[úu]meros?|"
                        r"cu[áa]nt[oa]s?|quant[oa]s?|logr\w*|alcan[cç]\w*)\b", re.I)


def asks_results(question: str) -> bool:
    """« Quels résultats… », « que disent les chiffres… », "What has X achieved?": the figures answer."""
    return _RESULTS_Q.search(question) is not None


def clean_subject(s: str) -> str:
    s = re.sub(r"[«»“”\"]", " ", s)
    s = " ".join(s.split()).strip("'")
    s = re.sub(r"\s*[?？!.]+\s*$", "", s)
    s = _SUBJECT_TAIL.sub("", s)
    for _ in range(2):
        s = _ARTICLE.sub("", s).strip()
    return s.strip(" ,;:«»\"'")

def definition_subject(question: str) -> str | None:
    """The subject of a definition question, or None: « Qu'est-ce que l'Institut Godin ? » → "Institut Godin"."""
    m = _DEFINITION.match(question) or _DEF_QUOTED.search(question) or _DEF_TAIL.match(question)
    if not m:
        return None
    s = clean_subject(m.group("s"))
    if s and len(s.split()) > 8:
        s = clean_subject(_PLACE_TAIL.sub("", s))
    if not s or len(s.split()) > 8:
        return None
    return s

_ABOUT_Q = re.compile(r"^\s*[¿¡]?\s*(?:(?:tell|talk to) me (?:about|of)|what do (?:you|we) know about|"
                      r"parle[sz]?[- ]moi (?:de |du |des |d['’])|pr[ée]sente[sz]?[- ]moi|que sai[st]-(?:tu|on) (?:de |du |des |sur )|"
                      r"c['’][ée]tait quoi|qu['’]est-ce que c['’][ée]tait|me fal[ae] (?:de|do|da|dos|das|sobre)|"
                      r"fal[ae](?:-me)? (?:de|do|da|dos|das|sobre)|h[áa]blame (?:de|del|sobre)|cu[ée]ntame (?:de|del|sobre))\b",
                      re.I)


# « Qui est X ? », "Who was X?", « Quem foi X? », « ¿Quién es X? », « X, c'est qui ? »: a question on a person
_WHO_LEAD = re.compile(r"^\s*[¿¡]?\s*(?:qui (?:est|était|etait|sont|étaient)|who (?:is|was|are|were)|quem (?:é|e|foi|são|sao)|"
                       r"qui[ée]n(?:es)? (?:es|fue|era|son))\s+(?P<s>.+?)\s*[?？!.]*\s*$", re.I)
_WHO_TAIL = re.compile(r"^\s*(?P<s>[^?,]{2,60}?)\s*,?\s*c['’]est qui\b", re.I)


def person_subject(question: str) -> str | None:
    """The person a « who is » question asks about (« Hugues Sibille, c'est qui ? » → "Hugues Sibille"), or None
    when what follows the question word is not a name (« Qui sont les élus locaux… »)."""
    m = _WHO_LEAD.match(question) or _WHO_TAIL.match(question)
    if not m:
        return None
    s = clean_subject(m.group("s"))
    words_ = s.split()
    # a name: one to five words, each capitalised or a particle (« Jean-Baptiste André Godin », « Maud Grégoire »)
    if not 1 <= len(words_) <= 5 or not all(w[:1].isupper() or w.lower() in _NAME_PARTICLES for w in words_):
        return None
    return s

_NAME_PARTICLES = {"de", "du", "des", "da", "do", "dos", "das", "van", "von", "der", "del", "la", "le", "y", "e"}


# « Que fait l'Institut Godin ? », "What does RIPESS do?": what an organisation is and does, asked whole — not « Que
# fait l'Avise pour aider les Régions… ? », which asks about one thing it does
_DOES = re.compile(r"^\s*[¿]?\s*(?:que (?:fait|font)|qu['’]est-ce que (?:fait|font)|what (?:does|do)|qu[ée] hacen?|"
                   r"o que faz(?:em)?)\s+(?P<s>[^?]+?)\s*(?:\bdo\b)?\s*[?？!.]*\s*$", re.I)
_DOES_MORE = re.compile(r"\b(?:pour|avec|dans|contre|sur|for|to|with|about|para|com|con|sobre)\b", re.I)


def does_subject(question: str) -> str | None:
    """The organisation of « Que fait X ? » asked whole, or None."""
    m = _DOES.match(question)
    if not m or _DOES_MORE.search(m.group("s")):
        return None
    s = clean_subject(m.group("s"))
    return s if s and len(s.split()) <= 6 else None


def asks_about(question: str) -> bool:
    """« Parle-moi de X », "Tell me about X", « C'était quoi, X ? », « Me fala do X »: what X is, in general."""
    return _ABOUT_Q.match(question) is not None


def subject_forms(subject: str) -> list[str]:
    """The subject as asked, then without a trailing place or frame (« X en France », « X au sens de la loi »)."""
    out = [subject]
    short = clean_subject(_PLACE_TAIL.sub("", subject))
    if short and short != subject:
        out.append(short)
    return out

_HOW_SUBJECT = re.compile(r"^\s*[¿]?\s*(?:comment (?:fonctionne(?:nt)?|marche(?:nt)?)(?:-t-(?:il|elle|ils|elles))?|"
                          r"how (?:does|do) (?P<en>.+?) work|c[óo]mo funciona(?:n)?|como funciona(?:m)?)\s*(?P<s>.*?)\s*[?？.!]*\s*$",
                          re.I)

def how_subject(question: str) -> str | None:
    """The subject of « Comment fonctionne X ? » / "How does X work?" / « ¿Cómo funciona X? », or None."""
    m = _HOW_SUBJECT.match(question)
    if not m:
        return None
    s = clean_subject(m.group("en") or m.group("s") or "")
    return s if s and len(s.split()) <= 6 else None

def comparison_sides(question: str) -> list[str] | None:
    """The two sides of a comparison question, or None."""
    q = question.strip()
    for pat in _COMPARE:
        m = pat.search(q)
        if m and pat is _COMPARE[-1] and (_QUESTION_WORD.match(m.group("a")) or len(m.group("a").split()) > 4):
            continue
        if m and (_FRAME_LEAD.match(m.group("a")) or _QUESTION_WORD.match(m.group("a").strip())
                  or m.group("a").strip().lower() in ("et", "and", "y", "e", "mais", "but", "alors", "so")):
            continue    # « Pour Dacheux et Goujon, qu'est-ce qui distingue… »: whose view, not what is compared
        if m:
            a, b = clean_subject(_COMPARE_LEAD.sub("", m.group("a"))), clean_subject(m.group("b"))
            a = re.sub(r"^(?:entre|between)\s+", "", a, flags=re.I)
            a = clean_subject(a)
            if a and b and fold(a).lower() != fold(b).lower() and len(a.split()) <= 6 and len(b.split()) <= 6:
                return [a, b]
    return None

def norm(s: str) -> str:
    s = fold(s).lower().replace("’", "'")
    s = re.sub(r"[^\w]+", " ", s).strip()
    # a plain plural: « tiers-lieux » and « tiers-lieu », « réseaux » and « réseau » meet
    return " ".join(w[:-1] if len(w) > 3 and (w.endswith("s") or w.endswith(("eux", "eaux", "oux"))) else w
                    for w in s.split())

def word_cover(qwords: list[tuple[set[str], float]], text_terms: set[str]) -> float:
    """Share of the weight of the question's words (each given as its analysed forms and a weight) that a text
    holds in one of their forms."""
    total = sum(w for _, w in qwords)
    return sum(w for forms, w in qwords if forms & text_terms) / total if total else 0.0

def mentions(text_norm: str, subject_norm: str) -> bool:
    return bool(subject_norm) and f" {subject_norm} " in f" {text_norm} "

def _after_name(f: str, m: re.Match) -> str:
    """What follows the subject's mention; a closing bracket only counts after the whole bracket is the name
    (« … (TIESS) est… », not « (… towards Social Innovation) a été inauguré »)."""
    after = f[m.end():]
    if after.lstrip().startswith(")") and not f[:m.start()].rstrip().endswith("("):
        return ""
    return after

def defines(sentence: str, subject: str) -> bool:
    """Whether a sentence reads as a definition of `subject`: it names it early on, or says what it is."""
    f = fold(sentence).lower().replace("’", "'")
    s = fold(subject).lower()
    m = re.search(rf"(?<!\w){re.escape(s)}s?(?!\w)", f)
    if not m:
        return False
    if _ROLE_BEFORE.search(f[:m.start()]):
        return True     # « l'économiste bangladais Muhammad Yunus »
    after = _after_name(f, m)
    # « Le positionnement d'Ellyx est… » says what the positioning is, not Ellyx: a subject after « de » is
    # the complement of another noun
    return _DEFINING.match(after) is not None and \
        not re.search(r"(?:\b(?:de|du|des|of|par|avec|a|au|aux)|\bd')\s*(?:l'|la |le |les |the )?$", f[:m.start()])

_SAYS_WHAT = re.compile(fold(r"^\)?\s*(?:est|sont|était|étaient|a été|fut|désigne|naît|nait|apparaît|apparait|is|are|"
                             r"was|were|has been|es|fue|é|foi)\b"))

# « l'économiste bangladais Muhammad Yunus »: a role just before a name says who the person is
_ROLE_BEFORE = re.compile(fold(r"\b(?:économiste|sociologue|fondat\w+|président\w*|directeur|directrice|chercheu\w+|"
                               r"professeur\w*|journaliste|militant\w*|ingénieur\w*|éducateur|éducatrice|philosophe|"
                               r"historien\w*|economist|sociologist|founder|professor|researcher)"
                               r"(?:\s+[\w'-]+){0,2}\s*,?\s*$"))

def definition_rank(sentence: str, subject: str) -> int:
    """How surely a sentence defines the subject: 0 it says what the subject is (« X est… », « (TIESS) est… »),
    1 it opens on it (« La Québécoise Nancy Neamtan, présidente… »), 2 it only mentions it."""
    f = fold(sentence).lower().replace("’", "'")
    m = re.search(rf"(?<!\w){re.escape(fold(subject).lower())}s?(?!\w)", f)
    if m is None:
        return 2
    after = _after_name(f, m)
    if _SAYS_WHAT.match(after) or (m.start() <= 25 and _FOUNDED.match(after)):
        return 0
    if _OF_ANOTHER.search(f[:m.start()]):
        return 2        # « Les chercheurs de l'Institut Godin… »: the complement of another noun
    if m.start() <= 25 or _ROLE_BEFORE.search(f[:m.start()]):
        return 1
    return 2

# « L'Institut Godin, créé en 2007 par… »: an opening apposition that says when or by whom it was made
_FOUNDED = re.compile(fold(r"^\s*(?:\([^)]*\)\s*)?,\s*(?:cr[ée]{2}e?s?|fond[ée]e?s?|lanc[ée]e?s?|n[ée]e?s? (?:en|le|à|au|dans)|install[ée]e?s?|"
                           r"founded|created|launched|creada|creado|fundada|fundado|criada|criado)\b"))
_OF_ANOTHER = re.compile(r"(?:\b(?:de|du|des|of)|\bd')\s*(?:l'|la |le |les |the )?$")
