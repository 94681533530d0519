"""Questions about the corpus as a whole, answered exactly from the index's metadata.

« Combien d'études de cas ? », « Quelles thèses parlent du Québec ? », « Qu'a écrit Jean-Louis Laville ? »,
« les ressources en espagnol », "How many videos are there?", « ¿Cuántas publicaciones hay? »,
« Quais recursos falam do Brasil? »: passage retrieval cannot count or list, the metadata can.

`detect_catalog_query(question)` recognises such a question and parses it into a `CatalogQuery` (what to do —
count, list or break down — and the criteria: type, author, language, period, place, topic), or returns None.
It is deliberately strict, because routing an ordinary question here would answer it with a list instead of
with passages: the question must open on a catalogue frame (« combien de… », « quelles… », « liste… »,
« y a-t-il des… », « qu'a écrit… », "how many…", « cuántos… », « quais… ») followed at once by a resource noun
(« thèses », « ressources », "videos"…), and everything after it must read as criteria; anything left over
(« Quelles études de cas montrent l'échec d'une coopérative ? ») sends the question back to retrieval.
« Qu'est-ce qu'une étude de cas ? » asks for a definition, not for the list: it is not a catalogue question.

`answer_catalog(query, index)` computes the answer from `Index.documents()` (and, for « qui parlent de… »,
from the passages' text when the metadata does not name the subject), lists the resources with their links,
and says how it was computed and which fields were used.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from .intent import (GENERIC_NOUNS, LANG_NAMES_FR, TYPE_NOUNS, find_languages, find_periods, normalize,
                     period_label, this_year, type_label)
from .text import analyze, fold
from .types import Answer, Citation, Chunk

log = logging.getLogger(__name__)

# Types that are not resources: the concept notes and the dossier's introduction are the corpus's own notes.
NOT_RESOURCES = ("concept", "dossier")
LIST_LIMIT = 60          # resources listed in full; beyond, the answer says how many more there are
COUNT_LIST_LIMIT = 20    # a count lists its resources when there are at most this many
MAX_TOPIC_WORDS = 4      # a longer « subject » is a question for retrieval, not a metadata filter

# Places: canonical French name → folded aliases (fr, en, es, pt), and the places each one includes.
PLACES: dict[str, tuple[str, ...]] = {
    "France": ("france", "francia", "franca"),
    "Québec": ("quebec",),
    "Canada": ("canada",),
    "Brésil": ("bresil", "brasil", "brazil"),
    "Argentine": ("argentine", "argentina"),
    "Chili": ("chili", "chile"),
    "Cuba": ("cuba",),
    "Mexique": ("mexique", "mexico"),
    "Colombie": ("colombie", "colombia"),
    "Pérou": ("perou", "peru"),
    "Équateur": ("equateur", "ecuador", "equador"),
    "Espagne": ("espagne", "spain", "espana", "espanha"),
    "Portugal": ("portugal",),
    "Italie": ("italie", "italy", "italia"),
    "Belgique": ("belgique", "belgium", "belgica"),
    "Suisse": ("suisse", "switzerland", "suiza", "suica"),
    "Allemagne": ("allemagne", "germany", "alemania", "alemanha"),
    "Royaume-Uni": ("royaume-uni", "royaume uni", "united kingdom", "uk", "reino unido", "grande-bretagne",
                    "great britain", "angleterre", "england", "inglaterra"),
    "États-Unis": ("etats-unis", "etats unis", "united states", "usa", "estados unidos"),
    "Sénégal": ("senegal",),
    "Corée du Sud": ("coree du sud", "south korea", "corea del sur", "coreia do sul"),
    "Bangladesh": ("bangladesh",),
    "Union européenne": ("union europeenne", "european union", "union europea", "uniao europeia"),
    "Europe": ("europe", "europa"),
    "Amérique latine": ("amerique latine", "latin america", "america latina", "latinoamerica"),
    "Afrique": ("afrique", "africa"),
    "Asie": ("asie", "asia"),
}
INCLUDES: dict[str, tuple[str, ...]] = {
    "Canada": ("Québec",),
    "Amérique latine": ("Brésil", "Argentine", "Chili", "Cuba", "Mexique", "Colombie", "Pérou", "Équateur"),
    "Afrique": ("Sénégal",),
    "Asie": ("Corée du Sud", "Bangladesh"),
    "Europe": ("Union européenne",),
}
_ALIAS_TO_PLACE = {a: p for p, aliases in PLACES.items() for a in aliases}
_PLACE_ALT = "|".join(sorted((re.escape(a) for a in _ALIAS_TO_PLACE), key=len, reverse=True))

_TYPE_ALT = "|".join(f"(?P<{t}>{p})" for t, p in TYPE_NOUNS.items())
_NOUN = rf"(?:(?:autres|other|otr[oa]s|outr[oa]s) )?(?:{_TYPE_ALT}|(?P<generic>{GENERIC_NOUNS}))(?![\w-])"

# ---------------------------------------------------------------- frames (on normalised text)

_POLITE = re.compile(
    r"^(?:(?:bonjour|hello|hi|hola|ola|salut)[,!]? |"
    r"(?:dis|dites|tell|dime|digame|diga|diz|diga-me)(?:-moi|-nous| me| us)?,? |"
    r"(?:est-ce que )?(?:tu peux|vous pouvez|peux-tu|pouvez-vous|pourrais-tu|pourriez-vous|can you|could you|"
    r"would you|puedes|podrias|pode|podes|poderia|voce pode)(?: me| m'| nous)? ?|s'il (?:te|vous) plait,? |"
    r"please,? |por favor,? |(?:j'aimerais|je voudrais|je veux|i'd like to|i would like to|i want to|quisiera|"
    r"quiero|gostaria de|queria) (?:savoir|know|saber) |je me demande |i wonder |"
    r"(?:dans|in|en|no) (?:le |the |el |o )?(?:corpus|catalogue|catalog|catalogo|index)[,]? )+")
_TRAILING = re.compile(r"(?:[\s?!.¡¿…]|s'il (?:te|vous) plait|please|por favor)+$")

_COUNT = re.compile(
    r"^(?:combien(?: (?:y a-t-il|y-a-t-il|y a t il|il y a|existe-t-il|compte-t-on|trouve-t-on|avez-vous|as-tu|"
    r"avons-nous|a-t-on|(?:le corpus|l'index|la base|le catalogue|la collection)(?: (?:compte|contient|comporte|"
    r"propose|a|recense|repertorie)(?:-t-(?:il|elle))?)?))*(?: (?:dans|en) (?:le corpus|l'index|la base|"
    r"le catalogue|la collection|tout))? ?(?:de |d')|how many(?: of)?(?: the)? |what is the (?:total )?number of |"
    r"(?:the )?(?:total )?number of |(?:quel est )?le nombre (?:total )?(?:de |d')|nombre (?:de |d')|"
    r"cuant[oa]s |quant[oa]s |(?:cual es )?el numero (?:total )?de |(?:qual e )?o numero (?:total )?de )"
    r"(?:(?:les|the|los|las|os|as) )?")
_LIST = re.compile(
    r"^(?:quel(?:le)?s? (?:sont |est )?(?:les |la |le )?|"
    r"(?:quelle est )?la liste (?:des |de toutes les |de tous les |de )|"
    r"(?:donne|donnez|fais|faites|montre|montrez|affiche|affichez|cite|citez|liste|listez|enumere|enumerez|"
    r"presente|presentez|trouve|trouvez)(?:-moi|-nous| moi)? (?:la liste (?:de toutes les |de tous les |des |de )|"
    r"toutes les |tous les |les |des )?|je (?:veux|voudrais|souhaite|cherche) (?:voir |la liste (?:des |de ))?"
    r"(?:toutes |tous )?(?:les |des )|liste (?:des |de toutes les |de tous les |de )|(?:toutes |tous )?les |"
    r"(?:y a-t-il|y-a-t-il|y a t il|est-ce qu'il y a|existe-t-il|avez-vous|as-tu|a-t-on|trouve-t-on|"
    r"peut-on trouver|ai-je acces a)(?: dans (?:le corpus|l'index|le catalogue))? (?:des |d'|une? |quelques |"
    r"d'autres |de )|which (?:are the )?|what (?:are the )?|(?:list|show|give|display|enumerate|find)"
    r"(?: me| us)?(?: a list of| the list of)?(?: all)?(?: of)?(?: the)? |(?:all|every) (?:the )?(?:of the )?|"
    r"the |are there (?:any |some |other )?|is there (?:any |an? )?|do you have (?:any |some )?|"
    r"do we have (?:any )?|que |cuales (?:son )?(?:los |las )?|cual es (?:el |la )|(?:muestra|muestrame|"
    r"muestreme|dame|deme|lista|listame|enumera|mostra|mostre|mostre-me|mostra-me|liste|lista-me|de-me|"
    r"encuentra|encontre)(?: la lista de| a lista de| uma lista de)?(?: todos| todas)?(?: los| las| os| as| de)? |"
    r"(?:todos |todas )?(?:los |las |os |as )|(?:hay|existen|existe|tem|ha|existem|tienes|tiene|voce tem|"
    r"teneis) (?:(?:algun|alguna|algunos|algunas|algum|alguma|alguns|algumas|unos|unas|uns|umas|otros|"
    r"otras|outros|outras|un|una|um|uma) )?|quais (?:sao )?(?:os |as )?|qual (?:e )?(?:o |a )?|"
    # a search-box query that is only a noun and criteria: « Thèses sur le Québec », "works by Mulgan"
    r")")
_AUTHOR_FRAMES = [
    re.compile(r"^(?:qu'(?:a|ont)(?:-t-(?:il|elle))?|qu'est-ce qu(?:'a|'ont|e) ?(?P<name1>.+?) (?:a|ont)) "
               r"(?:ecrit|publie|signe|realise|redige)(?: (?P<name>.*))?$"),
    re.compile(r"^(?:qu'est-ce qu'on a|qu'avez-vous|qu'y a-t-il|qu'as-tu|quoi)(?: dans le corpus)? "
               r"(?:de|d'|par) (?P<name>.+)$"),
    re.compile(r"^what (?:has|have|did|does) (?P<name1>.+?) (?:written|write|writes|published|publish|publishes|"
               r"authored|author)(?: (?P<name>.*))?$"),
    re.compile(r"^what (?:do you have|is there|have you got|does the corpus (?:have|contain)) (?:by|from) "
               r"(?P<name>.+)$"),
    re.compile(r"^(?:que|lo que) (?:ha|han) (?:escrito|publicado) (?P<name>.+)$"),
    re.compile(r"^que (?:escribio|escribieron|publico|publicaron) (?P<name>.+)$"),
    re.compile(r"^o que (?:(?P<name1>.+?) )?(?:escreveu|escreveram|publicou|publicaram)(?: (?P<name>.*))?$"),
]
_FACET_WORDS = {
    "type": r"types?|sortes?|genres?|categories?|kinds?|tipos?|categorias?",
    "language": r"langues?|languages?|idiomas?|linguas?",
    "country": r"pays|countries|paises|regions?|regiones|regioes",
    "year": r"annees?|years?|anos?|decennies?|decades?|decadas?",
}
_FACET_ALT = "|".join(f"(?P<{k}>{v})" for k, v in _FACET_WORDS.items())
_RES = r"(?:ressources?|documents?|resources?|recursos?|documentos?|fiches?|contenus?|contents?|conteudos?|contenidos?)"
_CORPUS = r"(?:(?:le |the |el |o |du |de l'|del |do )?(?:corpus|index|catalogue|catalog|catalogo|collection|base))"
_FACETS = [
    re.compile(rf"^(?:en |em |in )?(?:quel(?:le)?s |what |which |que |quais |cuales |dans quel(?:le)?s )(?:sont les )?"
               rf"(?:{_FACET_ALT})"
               rf"(?: (?:de |d'|of |des |du |couverts? par |covered by |del |do )?(?:{_RES}|{_CORPUS}))?"
               rf"(?P<rest>.*)$"),
    re.compile(rf"^(?:(?:combien|how many|cuant[oa]s|quant[oa]s) (?:de |d'|of the )?(?:{_RES}|{_CORPUS})|"
               rf"(?:la )?repartition(?: (?:des|de la) {_RES})?|(?:the )?(?:breakdown|distribution)(?: of(?: the)? "
               rf"{_RES})?|(?:la )?distribucion(?: de los {_RES})?|(?:a )?distribuicao(?: dos {_RES})?)"
               rf"(?: {_CORPUS})? (?:par|per|by|por|selon|according to|segun) (?:{_FACET_ALT})(?P<rest>.*)$"),
]
_FACET_REST = re.compile(
    rf"^(?: (?:y a-t-il|y-a-t-il|existe-t-il|sont (?:representee?s|couverts|presents|disponibles|utilisees)|"
    rf"(?:sont|are|estan|estao) (?:les |the |los |os )?{_RES}(?: (?:ecrites|redigees|written|escritos|escritas))?|"
    rf"are (?:there|covered|represented|available|used)|do (?:the )?{_RES} cover|does the corpus cover|"
    rf"couvre(?:-t-il)? le corpus|le corpus couvre-t-il|hay|existen|tem|ha|existem|estan representad[oa]s|"
    rf"estao representad[oa]s|dans {_CORPUS}|in {_CORPUS}|en {_CORPUS}|no {_CORPUS}|du corpus|"
    rf"of the corpus|au total|en tout))*$")

# Criteria that may follow the resource noun (matched at the current position of the remainder).
_FILLER = re.compile(
    r"(?:y a-t-il|y-a-t-il|y a t il|il y a|y en a-t-il|en a-t-il|existe-t-il|existent-ils|existent|existe|"
    r"sont-elles|sont-ils|avez-vous|avons-nous|as-tu|a-t-on|compte-t-on|trouve-t-on|peut-on trouver|"
    r"(?:sont |are |is |est |son |sao |estan |estao )?(?:disponibles?|available|presentes|repertoriee?s|"
    r"recensee?s|referencee?s|indexee?s|listee?s|disponiveis|disponibles|incluid[oa]s|inclus|incluses|included)|"
    r"figurent|se trouvent|are there|is there|are available|do you have|do we have|can i find|are in there|"
    r"hay|existen|tem|ha|existem|tienes|tiene|"
    r"(?:dans|in|en|no|na|del|do|au|of|from) (?:le |the |la |el |o |a |l')?(?:corpus|index|catalogue|catalog|"
    r"catalogo|base(?: de donnees)?|collection|fonds|bibliotheque|dossier|biblioteca|acervo|database)|"
    r"(?:le |the |el |o |l')?(?:corpus|index|catalogue) (?:compte|contient|comporte|propose|a|contains|has|tiene|"
    r"contiene|tem|possui|recense)(?:-t-il)?|au total|en tout|in total|en total|no total|au catalogue|"
    r"there|en ligne|online|en linea|(?:qui |that |que )?(?:sont|are|is|est|son|sao|estan|estao|were|ont ete|"
    r"have been|existent|exist)(?= |$)|qu'on a|que l'on a|que tu as|que vous avez|that you have|we have|"
    r"available|au total|tout court)(?![\w-])")
_CONNECT = re.compile(r"(?:,|et|and|y|e|ou|or|o|puis|then)(?![\w-])")
_PUBLISHED_PREFIX = (r"(?:(?:qui |that |que )?(?:ont ete |have been |were |was |a ete |fue |fueron |foi |foram )?"
                     r"(?:publiee?s?|parue?s?|sortie?s?|ecrite?s?|redigee?s?|realisee?s?|soutenue?s?|datee?s?|"
                     r"datant|datent|date|published|written|released|dated|dating|date from|publicad[oa]s?|"
                     r"escrit[oa]s?|defendid[oa]s?|from)(?: d'(?=avant|apres)| de (?=avant|apres)| ))?")
_NAME = r"(?P<who>[^\s,?!.;:]+(?: [^\s,?!.;:]+){0,4})"
_AUTHOR_Q = re.compile(
    r"(?:(?:ecrite?s?|redigee?s?|publiee?s?|realisee?s?|signee?s?|dirigee?s?|written|published|authored|edited|"
    r"escrit[oa]s?|publicad[oa]s?|realizad[oa]s?|editad[oa]s?) )?(?:par|by|de autoria de|por|de|d'|from|of|do|da)"
    r" ?")
_PLACE_Q = re.compile(
    rf"(?:(?:qui |that |que )?(?:concernant|concernent|concerne|portant sur|portent sur|porte sur|situee?s? |"
    rf"located |ubicad[oa]s |localizad[oa]s |basee?s? |based )?)?(?:au|aux|en|du|des|dans le|dans la|dans les|"
    rf"in|on|about|from|sur|sur le|sur la|sur les|sur l'|de|de la|de l'|d'|del|de los|en el|en la|no|na|nos|"
    rf"nas|em|do|da|dos|das|with|for|pour|para|sobre|sobre el|sobre la|sobre o|sobre a|a propos de|a propos du|"
    rf"au sujet du|au sujet de|a propos de l'|concernant le|concernant la|concernant l')?\s*(?:(?:le|la|les|l'|the|"
    rf"el|los|las|o|a|os|as) ?)?(?P<place>{_PLACE_ALT})(?![\w-])")
_TOPIC_VERB = (r"(?:(?:qui |that |which |que |who )?(?:parlent|parle|traitent|traite|portent|porte|evoquent|"
               r"evoque|abordent|aborde|concernent|concerne|mentionnent|mentionne|etudient|etudie|analysent|analyse|"
               r"discutent|discute|presentent|presente|talk|talks|deal|deals|discuss|discusses|mention|mentions|"
               r"cover|covers|focus|focuses|are|is|hablan|habla|tratan|trata|mencionan|menciona|abordan|aborda|"
               r"analizan|estudian|falam|fala|tratam|abordam|mencionam|discutem|estudam|analisam|sao|son|"
               r"tournent|tourne)(?: (?:de la|de l'|des|du|de|d'|sur le|sur la|sur les|sur l'|sur|about the|"
               r"about|on the|on|with the|with|sobre el|sobre la|sobre los|sobre las|sobre o|sobre a|sobre os|"
               r"sobre as|sobre|acerca de la|acerca del|acerca de|del|de los|de las|do|da|dos|das|autour de la|"
               r"autour du|autour des|autour de|autour d'|en|em))?)")
_TOPIC_PREP = (r"(?:sur le|sur la|sur les|sur l'|sur|au sujet de la|au sujet du|au sujet des|au sujet de|"
               r"au sujet d'|a propos de la|a propos du|a propos des|a propos de|a propos d'|concernant le|"
               r"concernant la|concernant les|concernant l'|concernant|consacree?s? (?:a la|a l'|au|aux|a)|"
               r"about the|about|on the|on|regarding|related to|concerning|sobre el|sobre la|sobre los|sobre las|"
               r"sobre o|sobre a|sobre os|sobre as|sobre|acerca de la|acerca del|acerca de|a respecto de|"
               r"relativ[oa]s a|referentes a|en rapport avec|en lien avec|liee?s? (?:a la|a l'|au|aux|a))")
_TOPIC_Q = re.compile(rf"(?:{_TOPIC_VERB}|{_TOPIC_PREP})(?:(?<=')|(?![\w-])) ?")
_ARTICLE = re.compile(r"^(?:le|la|les|l'|the|el|los|las|o|a|os|as|un|une|des|du|de la|de l'|d')\s*")


# ---------------------------------------------------------------- the parsed question

@dataclass(frozen=True)
class CatalogQuery:
    question: str
    action: str                          # "count" | "list" | "facet"
    types: tuple[str, ...] = ()          # empty: every resource type
    languages: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    recent: bool = False
    places: tuple[str, ...] = ()         # canonical names from PLACES
    authors: tuple[str, ...] = ()        # names as written in the question
    topics: tuple[str, ...] = ()         # free subjects as written
    facet: str | None = None             # "type" | "language" | "country" | "year" (action "facet")
    mentions: bool = False               # « qui parlent de… »: the passages' text counts too

    def labels(self) -> list[str]:
        out = []
        if self.types:
            out.append("type : " + ", ".join(type_label(t) for t in self.types))
        if self.authors:
            out.append("auteur : " + ", ".join(self.authors))
        if self.languages:
            out.append("langue : " + ", ".join(LANG_NAMES_FR[l] for l in self.languages))
        if self.year_min or self.year_max:
            out.append("période : " + period_label(self.year_min, self.year_max, self.recent))
        if self.places:
            out.append("lieu : " + ", ".join(self.places))
        if self.topics:
            out.append("sujet : " + ", ".join(self.topics))
        if self.facet:
            out.append("répartition par " + {"type": "type", "language": "langue", "country": "pays",
                                             "year": "décennie"}[self.facet])
        return out


class _Parse:
    """Mutable criteria gathered while reading the remainder of a question."""

    def __init__(self):
        self.types: list[str] = []
        self.languages: list[str] = []
        self.year_min = self.year_max = None
        self.recent = False
        self.places: list[str] = []
        self.authors: list[str] = []
        self.topics: list[str] = []
        self.mentions = False


def _noun_types(m: re.Match) -> list[str]:
    if m.group("generic"):
        return []
    return [t for t in TYPE_NOUNS if m.group(t)]


def _strip(question: str) -> tuple[str, str]:
    """(original, normalised) with politeness and trailing punctuation removed, same length."""
    q = re.sub(r"\s+", " ", question.strip())
    n = normalize(q)
    m = _TRAILING.search(n)
    if m:
        q, n = q[:m.start()], n[:m.start()]
    lead = re.match(r"^[\s¿¡«\"“]+", n)
    if lead:
        q, n = q[lead.end():], n[lead.end():]
    m = _POLITE.match(n)
    if m:
        q, n = q[m.end():], n[m.end():]
    return q, n


def detect_catalog_query(question: str) -> CatalogQuery | None:
    """The catalogue question in `question`, or None for an ordinary question (see the module docstring)."""
    if not question or len(question) > 300:
        return None
    o, n = _strip(question)
    if not n:
        return None
    for frame in (_author_frame, _facet_frame, _noun_frame):
        q = frame(question, o, n)
        if q is not None:
            return q
    return None


_NAME_RE = re.compile(r"(?:(?:[A-ZÀ-Ý][\w.'’-]*|de|da|dos|das|do|del|van|von|der|den|le|la|du|di|d')(?: |$))*"
                      r"[A-ZÀ-Ý][\w.'’-]*")


def _author_frame(question: str, o: str, n: str) -> CatalogQuery | None:
    for pat in _AUTHOR_FRAMES:
        m = pat.match(n)
        if not m:
            continue
        key = "name1" if "name1" in pat.groupindex and m.group("name1") else "name"
        if not m.group(key):
            continue
        start, end = m.span(key)
        # the name: capitalised words as written (« Jean-Louis Laville »), else the words up to the first
        # criterion (« qu'a écrit laville en anglais »); what follows must read as criteria
        cut = _first_criterion(n[start:end])
        tm = re.search(r" (?=" + _TOPIC_PREP + r" )", n[start:end])
        cands = [c for c in (cut, tm.start() + 1 if tm else None) if c is not None]
        ends = [start + min(cands) if cands else end]
        nm = _NAME_RE.match(o, start)
        if nm and nm.end() <= end:
            ends.insert(0, nm.end())
        for name_end in ends:
            p = _Parse()
            name = o[start:name_end].strip(" ,")
            if (name and len(name.split()) <= 5 and not _is_place(n[start:name_end])
                    and _read_criteria(o[name_end:end], n[name_end:end], p)):
                break
        else:
            continue
        if key == "name1" and m.group("name") and not _read_criteria(o[m.start("name"):], n[m.start("name"):], p):
            continue
        return CatalogQuery(question=question, action="list", authors=(name,), languages=tuple(p.languages),
                            year_min=p.year_min, year_max=p.year_max, recent=p.recent, types=tuple(p.types),
                            places=tuple(p.places), topics=tuple(p.topics), mentions=p.mentions)
    return None


def _facet_frame(question: str, o: str, n: str) -> CatalogQuery | None:
    for pat in _FACETS:
        m = pat.match(n)
        if not m:
            continue
        if not _FACET_REST.match(m.group("rest") or ""):
            continue
        facet = next(k for k in _FACET_WORDS if m.group(k))
        # « quelles langues ? » alone is too vague; a resource noun or the corpus must be named
        if pat is _FACETS[0] and not re.search(rf"{_RES}|{_CORPUS}", n):
            continue
        return CatalogQuery(question=question, action="facet", facet=facet)
    return None


def _noun_frame(question: str, o: str, n: str) -> CatalogQuery | None:
    for action, pat in (("count", _COUNT), ("list", _LIST)):
        m = pat.match(n)
        if not m:
            continue
        nm = re.compile(_NOUN).match(n, m.end())
        if not nm:
            continue
        p = _Parse()
        p.types = _noun_types(nm)
        # « les ressources pédagogiques » is a type, « ressources » alone is every type
        more = re.compile(r" (?:et|ou|and|or|y|e|o) (?:(?:les|des|the|los|las|os|as) )?" + _NOUN)
        pos = nm.end()
        while True:
            mm = more.match(n, pos)
            if not mm:
                break
            p.types += _noun_types(mm)
            pos = mm.end()
        if not _read_criteria(o[pos:], n[pos:], p):
            continue
        return CatalogQuery(question=question, action=action, types=tuple(dict.fromkeys(p.types)),
                            languages=tuple(dict.fromkeys(p.languages)), year_min=p.year_min,
                            year_max=p.year_max, recent=p.recent, places=tuple(dict.fromkeys(p.places)),
                            authors=tuple(p.authors), topics=tuple(p.topics), mentions=p.mentions)
    return None


def _is_place(n: str) -> str | None:
    n = _ARTICLE.sub("", n.strip())
    return _ALIAS_TO_PLACE.get(n)


def _first_criterion(n: str) -> int | None:
    """Where the first language, period or place criterion starts in `n` (for cutting a name or subject)."""
    for i in [m.start() + 1 for m in re.finditer(r" ", n)]:
        for fn in (_match_language, _match_period, _match_place):
            if fn(n, i, _Parse(), dry=True):
                return i
    return None


def _match_language(n: str, i: int, p: _Parse, dry: bool = False) -> int | None:
    for c in find_languages(n[i:]):
        if c.start == 0 or (n[i:i + c.start].strip() == "" and c.start < 3):
            if not dry:
                p.languages.append(c.value)
            return i + c.end
        break
    m = re.compile(r"(?:(?:qui |that |que )?(?:sont |are |estan |estao )?(?:ecrite?s?|redigee?s?|written|"
                   r"escrit[oa]s?|disponibles?|available) )").match(n, i)
    if m:
        for c in find_languages(n[m.end():]):
            if c.start == 0:
                if not dry:
                    p.languages.append(c.value)
                return m.end() + c.end
            break
    return None


def _match_period(n: str, i: int, p: _Parse, dry: bool = False) -> int | None:
    pre = re.compile(_PUBLISHED_PREFIX).match(n, i)
    j = pre.end() if pre else i
    for c in find_periods(n[j:]):
        if c.start != 0:
            break
        lo, hi, recent = c.value
        if not dry:
            p.year_min = lo if lo is not None else p.year_min
            p.year_max = hi if hi is not None else p.year_max
            p.recent = p.recent or recent
        return j + c.end
    return None


def _match_place(n: str, i: int, p: _Parse, dry: bool = False) -> int | None:
    m = _PLACE_Q.match(n, i)
    if not m:
        return None
    if not dry:
        p.places.append(_ALIAS_TO_PLACE[m["place"]])
        if re.match(r"(?:qui |that |que )?(?:parl|trait|evoqu|abord|mention|talk|discuss|deal|habl|fal|trat)",
                    n[i:m.start("place")]) or n[i:m.start("place")].strip().startswith(("sur", "about", "sobre")):
            p.mentions = True
    return m.end()


def _read_criteria(o: str, n: str, p: _Parse) -> bool:
    """Consume the whole remainder `n` (original `o`) as criteria into `p`; False if anything is left over."""
    i = 0
    while i < len(n):
        if n[i] in " ,;:-–—()":
            i += 1
            continue
        m = _CONNECT.match(n, i)
        if m and i > 0:
            i = m.end()
            continue
        m = _FILLER.match(n, i)
        if m and m.end() > i:
            i = m.end()
            continue
        j = _match_language(n, i, p) or _match_period(n, i, p) or _match_place(n, i, p)
        if j:
            i = j
            continue
        j = _match_author(o, n, i, p)
        if j:
            i = j
            continue
        j = _match_topic(o, n, i, p)
        if j:
            i = j
            continue
        # « pédagogiques », "récentes"… adjectives of the noun are consumed by the frames above; the rest is
        # content the metadata cannot answer
        return False
    return True


def _match_author(o: str, n: str, i: int, p: _Parse) -> int | None:
    m = _AUTHOR_Q.match(n, i)
    if not m or m.end() >= len(n):
        return None
    # a name: capitalised words as written, with particles (« de », « da », « van »…) inside
    nm = _NAME_RE.match(o, m.end())
    if not nm:
        return None
    name = nm.group(0).strip()
    if _is_place(normalize(name)):
        return None
    if not name[0].isupper():
        return None
    p.authors.append(name)
    return nm.end()


def _match_topic(o: str, n: str, i: int, p: _Parse) -> int | None:
    m = _TOPIC_Q.match(n, i)
    if not m or m.end() >= len(n):
        return None
    start = m.end()
    rest = n[start:]
    cut = _first_criterion(rest)
    end = start + (cut if cut is not None else len(rest))
    subject_n = n[start:end].strip(" ,")
    subject_o = o[start:end].strip(" ,")
    if not subject_n:
        return None
    place = _is_place(subject_n)
    if place:
        p.places.append(place)
        p.mentions = True
        return end
    content = analyze(subject_n, "fr")
    if not content or len(content) > MAX_TOPIC_WORDS:
        return None
    p.topics.append(_ARTICLE.sub("", subject_o.strip()) or subject_o)
    p.mentions = True
    return end


# ---------------------------------------------------------------- answering

@dataclass
class _Match:
    doc_id: str
    meta: dict
    fields: set[str] = field(default_factory=set)   # metadata fields that matched (or "texte")


def _narrow(meta_hits: dict, texts: dict, matches, fields_to_check: tuple[str, ...]) -> tuple[dict, dict]:
    """Keep the resources whose metadata `fields_to_check` match (recording which fields did); those matching
    only in their passage texts are returned apart, as mentions."""
    keep, mention = {}, {}
    for d, mt in meta_hits.items():
        m = mt.meta
        fields = set()
        for name in fields_to_check:
            value = m.get(name)
            values = value if isinstance(value, list) else [value or ""]
            if any(matches(v) for v in values):
                fields.add(name)
        if fields:
            mt.fields |= fields
            keep[d] = mt
        elif any(matches(t) for t in texts.get(d, [])):
            mention[d] = _Match(d, m, {"texte"})
    return keep, mention


def _tokens(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(s).lower())


_PARTICLES = {"de", "da", "dos", "das", "do", "del", "van", "von", "der", "den", "le", "la", "du", "di", "d", "l",
              "the", "of", "et", "al", "dir", "ed", "eds", "s"}


def author_matches(name: str, author: str) -> bool:
    """« Laville » or « Jean-Louis Laville » is « Jean-Louis Laville (dir.) »: every name word is there."""
    want = [t for t in _tokens(name) if t not in _PARTICLES]
    have = set(_tokens(author))
    return bool(want) and all(t in have for t in want)


def _place_aliases(place: str) -> list[str]:
    out = list(PLACES.get(place, (fold(place).lower(),)))
    for sub in INCLUDES.get(place, ()):
        out += PLACES[sub]
    return out


def _has_phrase(text: str, aliases: list[str]) -> bool:
    t = " " + " ".join(_tokens(text)) + " "
    return any(" " + " ".join(_tokens(a)) + " " in t for a in aliases)


def _stem_seq(text: str) -> list[str]:
    return analyze(text, "fr")


def _has_stems(text: str, seq: list[str]) -> bool:
    if not seq:
        return False
    toks = _stem_seq(text)
    k = len(seq)
    return any(toks[i:i + k] == seq for i in range(len(toks) - k + 1))


def _in_scope(meta: dict, q: CatalogQuery) -> bool:
    t = meta.get("type")
    if q.types:
        return t in q.types
    return t not in NOT_RESOURCES


def _year_ok(meta: dict, q: CatalogQuery) -> bool:
    if not (q.year_min or q.year_max):
        return True
    y = meta.get("year")
    if y is None:
        return False
    return (not q.year_min or y >= q.year_min) and (not q.year_max or y <= q.year_max)


def answer_catalog(query: CatalogQuery, index) -> Answer:
    """The exact answer to a catalogue question, computed from `index`'s metadata (and text for mentions)."""
    docs = index.documents()
    first_chunk: dict[str, Chunk] = {}
    texts: dict[str, list[str]] = {}
    for c in index.chunks:
        first_chunk.setdefault(c.doc_id, c)
        texts.setdefault(c.doc_id, []).append(c.text)

    base = {d: m for d, m in docs.items() if _in_scope(m, query) and _year_ok(m, query)
            and (not query.languages or m.get("language") in query.languages)}
    no_year = sum(1 for d, m in docs.items() if _in_scope(m, query) and m.get("year") is None) \
        if (query.year_min or query.year_max) else 0

    if query.action == "facet":
        return _facet_answer(query, base, first_chunk)

    how: list[str] = []
    if query.types:
        how.append("type = " + " ou ".join(type_label(t, 1) for t in query.types))
    else:
        how.append("tous les types de ressources (hors notes de concept et introduction du dossier)")
    if query.languages:
        how.append("langue = " + " ou ".join(LANG_NAMES_FR[l] for l in query.languages))
    if query.year_min or query.year_max:
        rng = []
        if query.year_min:
            rng.append(f"année ≥ {query.year_min}")
        if query.year_max:
            rng.append(f"année ≤ {query.year_max}")
        how.append(" et ".join(rng) + (f" (« récent » = les {this_year() - query.year_min} dernières années)"
                                       if query.recent else ""))

    meta_hits: dict[str, _Match] = {d: _Match(d, m) for d, m in base.items()}
    text_only: dict[str, _Match] = {}
    author_notes: list[str] = []

    for name in query.authors:
        keep = {d: mt for d, mt in meta_hits.items()
                if any(author_matches(name, a) for a in mt.meta.get("authors") or [])}
        for mt in keep.values():
            mt.fields.add("authors")
        how.append(f"auteur contenant « {name} » (champ authors)")
        if not keep:
            # not an author: say where the name appears instead
            seq = _tokens(name)
            for d, mt in meta_hits.items():
                fields = set()
                if _has_phrase(mt.meta.get("title") or "", [name]):
                    fields.add("title")
                if _has_phrase(" ".join(mt.meta.get("topics") or []), [name]):
                    fields.add("topics")
                if not fields and any(_has_phrase(t, [name]) for t in texts.get(d, [])):
                    fields.add("texte")
                if fields and seq:
                    text_only[d] = _Match(d, mt.meta, fields)
            author_notes.append(name)
        meta_hits = keep

    for place in query.places:
        aliases = _place_aliases(place)
        included = INCLUDES.get(place, ())
        keep, mention = _narrow(meta_hits, texts, lambda s: _has_phrase(s, aliases),
                                ("countries", "topics", "title"))
        what = f"« {place} »" + (f" (y compris {', '.join(included)})" if included else "")
        how.append(f"lieu {what} dans les pays, les mots-clés ou le titre (champs countries, topics, title)")
        meta_hits = keep
        if query.mentions or not keep:
            text_only.update({d: mt for d, mt in mention.items() if d not in text_only})

    for topic in query.topics:
        seq = _stem_seq(topic)
        keep, mention = _narrow(meta_hits, texts, lambda s: _has_stems(s, seq), ("topics", "title"))
        how.append(f"sujet « {topic} » dans les mots-clés ou le titre (champs topics, title), mots ramenés à "
                   f"leur racine")
        meta_hits = keep
        text_only.update({d: mt for d, mt in mention.items() if d not in text_only})

    # a resource named in the text only must still satisfy the other criteria (authors, other places…)
    if text_only and (query.places or query.topics):
        how.append("puis mentions cherchées dans le texte des passages de l'index")
    return _list_answer(query, meta_hits, text_only, first_chunk, how, no_year, author_notes)


def _sort_key(mt: _Match):
    m = mt.meta
    return (-(m.get("year") or 0), fold(m.get("title") or "").lower())


def _line(n: int, m: dict) -> str:
    authors = ", ".join(m.get("authors") or []) or "auteur inconnu"
    lang = LANG_NAMES_FR.get(m.get("language"), m.get("language") or "?")
    url = f" — {m['url']}" if m.get("url") else ""
    return (f"[{n}] {m.get('title')} — {authors} ({m.get('year') or 's.d.'}), {type_label(m.get('type'), 1)}, "
            f"{lang}{url}")


def _noun(query: CatalogQuery, count: int) -> str:
    if len(query.types) == 1:
        return type_label(query.types[0], count)
    return "ressource" if count == 1 else "ressources"


def _feminine(query: CatalogQuery) -> bool:
    if len(query.types) == 1:
        return query.types[0] not in ("outil_pedagogique", "document_analyse", "article", "dossier", "document")
    return True  # « ressource »


def _list_answer(query, meta_hits, text_only, first_chunk, how, no_year, author_notes) -> Answer:
    found_meta = sorted(meta_hits.values(), key=_sort_key)
    found_text = sorted((mt for d, mt in text_only.items() if d not in meta_hits), key=_sort_key)
    total = len(found_meta)
    # the noun already says the type (« 11 études de cas »): the other criteria go in brackets
    labels = [lb for lb in query.labels() if not (len(query.types) == 1 and lb.startswith("type : "))]
    crit = " ; ".join(labels)
    crit_s = f" ({crit})" if crit else ""
    lines: list[str] = []
    citations: list[Citation] = []
    fem = _feminine(query)
    subject = ", ".join(f"« {x} »" for x in (*query.places, *query.topics))

    if total:
        noun = _noun(query, total)
        lines.append(f"Le corpus compte {total} {noun}{crit_s}." if query.action == "count"
                     else f"{total} {noun} correspond{'ent' if total > 1 else ''}{crit_s} :")
    elif author_notes:
        lines.append(f"Aucune ressource du corpus n'a « {', '.join(author_notes)} » pour auteur.")
    elif found_text and subject:
        lines.append(f"Aucun{'e' if fem else ''} {_noun(query, 1)} n'a {subject} dans ses métadonnées (pays, "
                     f"mots-clés ou titre){crit_s if len(labels) > 1 else ''}.")
    else:
        lines.append(f"Le corpus ne compte aucun{'e' if fem else ''} {_noun(query, 1)} correspondant"
                     f"{'e' if fem else ''}{crit_s}.")

    show = found_meta if query.action == "list" or total <= COUNT_LIST_LIMIT else []
    if query.action == "count" and total > COUNT_LIST_LIMIT:
        by_type = Counter(mt.meta.get("type") for mt in found_meta)
        if len(by_type) > 1:
            lines.append("Par type : " + " ; ".join(f"{type_label(t, c)} : {c}" for t, c in by_type.most_common())
                         + ".")
        else:
            lines.append(f"(liste complète : demandez « Liste les {_noun(query, 2)}… »)")
    for mt in show[:LIST_LIMIT]:
        n = len(citations) + 1
        lines.append(_line(n, mt.meta))
        citations.append(Citation(n=n, chunk=first_chunk[mt.doc_id]))
    if len(show) > LIST_LIMIT:
        lines.append(f"… et {len(show) - LIST_LIMIT} autres.")

    if found_text:
        k = len(found_text)
        if author_notes and not total:
            head = f"« {', '.join(author_notes)} » apparaît dans ({k}) :"
        elif total:
            head = f"Mentionnent aussi {subject} dans leur texte ({k}) :"
        else:
            head = (f"{k} le mentionne{'nt' if k > 1 else ''} dans {'leur' if k > 1 else 'son'} texte"
                    f"{' seulement' if k > 1 else ''} :")
        lines.append("\n" + head)
        for mt in found_text[:LIST_LIMIT]:
            n = len(citations) + 1
            where = ", ".join(sorted({"title": "titre", "topics": "mots-clés", "texte": "texte"}.get(f, f)
                                     for f in mt.fields))
            lines.append(_line(n, mt.meta) + (f"  [{where}]" if author_notes and not total else ""))
            citations.append(Citation(n=n, chunk=first_chunk[mt.doc_id]))

    note = f" {no_year} ressource(s) sans année connue ne sont pas comptées." if no_year else ""
    lines.append(f"\nCompté dans les métadonnées de l'index : {' ; '.join(how)}.{note}")
    found = bool(total or found_text)
    return Answer(question=query.question, text="\n".join(lines), citations=citations, hits=[], found=found,
                  query=query.question, mode="catalogue", applied=query.labels())


def _facet_answer(query: CatalogQuery, base: dict, first_chunk) -> Answer:
    counts: Counter = Counter()
    for m in base.values():
        if query.facet == "type":
            counts[type_label(m.get("type"))] += 1
        elif query.facet == "language":
            counts[LANG_NAMES_FR.get(m.get("language"), m.get("language") or "inconnue")] += 1
        elif query.facet == "country":
            for c in set(m.get("countries") or []) or {"non précisé"}:
                counts[c] += 1
        else:
            y = m.get("year")
            counts[f"années {y // 10 * 10}" if y else "sans année"] += 1
    field_name = {"type": "type", "language": "language", "country": "countries", "year": "year"}[query.facet]
    title = {"type": "type", "language": "langue", "country": "pays", "year": "décennie"}[query.facet]
    order = sorted(counts.items(), key=lambda kv: (kv[0] if query.facet == "year" else "", -kv[1], kv[0]))
    lines = [f"Répartition des {len(base)} ressources du corpus par {title} :"]
    lines += [f"- {k} : {v}" for k, v in order]
    extra = " Une ressource peut concerner plusieurs pays." if query.facet == "country" else ""
    lines.append(f"\nCompté dans les métadonnées de l'index : champ {field_name} de chaque ressource (hors notes "
                 f"de concept et introduction du dossier).{extra}")
    return Answer(question=query.question, text="\n".join(lines), citations=[], hits=[], found=bool(base),
                  query=query.question, mode="catalogue", applied=query.labels())
