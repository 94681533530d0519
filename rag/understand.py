"""Understanding a question: one step that turns it into one typed `Understanding` (route + slots).

- Route: decided by rag/router.py, by exact hand rules on the question's form, then by its nearest labelled
  question forms (rag/route_examples.py) under the index's own multilingual embedder.
- Slots: types, languages, places (countries and regions), authors, years, « récent », the topic and the two
  things compared. They are found by matching the vocabulary (rag/vocab.py and the index's own author names),
  accent- and case-folded and word-bounded, never by cutting strings. A year or a language is a slot only
  when it qualifies the resources (rag/intent.py decides that), not the subject (« la crise de 2008 ») or the
  answer (« explique-moi en anglais »).

The router's hand rules read the slots (an author named, resources named), and a catalogue route changes how
a bare language is read (« Qu'avez-vous en espagnol ? »): `understand` extracts the slots, routes, and
extracts them again on a catalogue or comparison route.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .intent import RECENT_RE, detect_intent, find_languages, find_types, this_year, type_noun_named
from .router import _COMPARE, CATALOG_ROUTES, ROUTES, Router, _facet, decide_route
from .text import _STOP
from .vocab import RESOURCE_NOUN_RE, find_places, names_resources, normalize, phrase_re


@dataclass(frozen=True)
class Slots:
    types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    recent: bool = False
    topic: str = ""
    compare: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """Only the slots that are set (the labelled benchmark's format)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v}


@dataclass
class Understanding:
    question: str
    route: str
    slots: Slots
    rule: str | None = None                           # the hand rule that decided, if any
    scores: dict[str, float] = field(default_factory=dict)   # kNN vote share per route
    facet: str | None = None                          # « répartition par type/langue/pays/année »
    loose_languages: tuple[str, ...] = ()             # languages named but qualifying no resource noun


# ---------------------------------------------------------------- vocabulary of the index

_ORG_WORDS = re.compile(r"(?i)\b(?:labo|banque|tribune|alternatives|ripess|conseil|ministere|ministère|commission|"
                        r"reseau|réseau|observatoire|fondation|institut|agence|association|collectif|centre|"
                        r"chantier|avise|cress|ess|france|europe|oecd|ocde|un|onu|localtis|territoires|"
                        r"economiques|économiques|mag|revue|journal|editions|éditions)\b")
_AFTER_NAME = {"sur", "en", "dans", "du", "au", "aux", "depuis", "avant", "apres", "about", "on", "in", "since",
               "before", "after", "sobre", "em", "no", "na", "desde", "antes", "despues", "depois", "et", "and",
               "y", "e", "ou", "or", "qui", "that", "que", "pour", "for", "para", "a", "à"}
_PARTICLES = {"de", "da", "dos", "das", "do", "del", "van", "von", "der", "den", "le", "la", "du", "di", "d'"}


class Vocabulary:
    """Names the index itself knows: its authors' surnames (folded → surname as written)."""

    def __init__(self, documents: dict[str, dict]):
        self.surnames: dict[str, str] = {}
        stop = set().union(*_STOP.values())
        for meta in documents.values():
            for name in meta.get("authors") or []:
                name = re.sub(r"\(.*?\)", "", name).strip()
                words = name.split()
                if not 2 <= len(words) <= 4 or _ORG_WORDS.search(name) or not all(
                        w[:1].isupper() or w.lower() in _PARTICLES for w in words):
                    continue
                surname = words[-1]
                key = normalize(surname)
                if len(key) < 3 or key in stop or find_places(surname):
                    continue
                self.surnames.setdefault(key, surname)
                self.surnames.setdefault(normalize(" ".join(words)), surname)   # « Jean-Louis Laville »
        self._re = phrase_re(self.surnames) if self.surnames else None

    def find_authors(self, question: str, n: str) -> list[tuple[str, int, int]]:
        if self._re is None:
            return []
        # the name as the question writes it (« Jean-Louis Laville » or « Laville »)
        return [(question[m.start():m.end()], m.start(), m.end()) for m in self._re.finditer(n)]


# ---------------------------------------------------------------- slots

_CORPUS = re.compile(r"(?<![\w-])(?:corpus|dossier|catalogue|catalog|catalogo|collection|colecao|coleccion|"
                     r"index|base|fonds|acervo|plateforme|platform|plataforma|bibliotheque|library|biblioteca|"
                     r"database|site)(?![\w-])")
# « Qu'a écrit X ? »: an author named in the question even when the index does not know the name.
_WROTE = re.compile(r"(?:qu'(?:a|ont)(?:-t-(?:il|elle))? (?:ecrit|publie)|qu'est-ce qu(?:'a|e) (?P<a>.+?) a "
                    r"(?:ecrit|publie)|what (?:has|did|have) (?P<b>.+?) (?:written|write|published|publish)|"
                    r"(?:que|lo que) (?:ha|han) (?:escrito|publicado)|que (?:escribio|publico)|"
                    r"o que (?P<c>.+?) (?:escreveu|publicou)|o que (?:escreveu|publicou)|(?:textes|travaux|ouvrages|livres|ecrits|"
                    r"writings|texts|works|books|papers|textos|obras|libros|trabajos|livros|trabalhos) "
                    r"(?:de|d'|by|of|por|da|do)|(?:ecrit|ecrits|ecrites|publiee?s?|written|"
                    r"escrit[oa]s?|publicad[oa]s?) (?:par|by|por)|(?:works|books|texts|titles) by)"
                    r"(?: (?P<d>[^\s?!.,;]+(?: [^\s?!.,;]+){0,2}))?")
_FRAME = set("""
combien nombre total taille size tamano tamanho y a-t-il a-t-il il ya ya existe existent existe-t-il existent-ils compte comporte contient
contiennent propose proposent recense repertorie corpus dossier catalogue index base collection fonds liste lister
listez listes enumere enumerez donne donnez donne-moi donnez-moi montre montrez montre-moi montrez-moi affiche
affichez cite citez presente presentez trouve trouvez quels quelles quel quelle lesquels lesquelles parlent parle
traitent traite portent porte concernent concerne evoquent evoque abordent aborde mentionnent mentionne
consacrees consacres consacre consacree sont est ont ecrit ecrits ecrite ecrites ecrire auteurs auteur autrices
autrice qui publie publies publiees publiee parus parues paru recent recents recente recentes plus derniers
dernieres dernier derniere nouveaux nouvelles cherche recherche voudrais veux aimerais souhaite besoin trouver
conseille conseiller recommande recommander suggere suggerer avez-vous as-tu peux-tu pouvez-vous peux pouvez moi
nous svp merci plait disponible disponibles quoi qu'est-ce c'est signifie veut dire definition definis definir
explique expliquez expliquer difference differences entre distingue compare comparer versus vs lien chercheurs
chercheur travaille travaille-t-il ressources ressource documents document fiches fiche titres titre textes
texte travaux lectures lecture contenus references ai j'ai faudrait faut tri trie classe classees ordre
how many which what list show give me there are is available about wrote written authors author who latest
newest most recent have has do does looking find need want recommend tell please mean means define definition
difference between compare resources resource documents works readings corpus collection something anything
cuantos cuantas hay cuales cual lista muestrame dame quien quienes escribio escribieron autores sobre recientes
mas busco necesito quiero tienes recomiendas recomienda recursos documentos significa diferencia entre
quantos quantas existem quais qual liste mostre mostra quem escreveu escreveram autores recentes mais procuro
preciso quero tem recursos documentos significa diferenca est-ce datent datant date dated dating
comment pourquoi quand ou combien how why when where como porque por quando onde cuando donde
hablan habla tratan trata falam fala tratam abordam talk talks deal deals discuss discusses cover covers focus
ete published soutenues soutenue soutenus parues sorties realisees redigees released since depuis apres avant
publicados publicadas publicado publicada published publies publiees indiquer indique-moi indiquez
hold holds contain contains include includes offer offers feature gather contiene contienen incluye incluyen
pourriez-vous pourrais-tu pourriez pourrais dire donner figurent figure avoir idee savoir connaitre enumera
enumerar enumerate enumerer complete complet exhaustive confondus types
plateforme platform plataforma bibliotheque library biblioteca site database ici here aqui signes signe signees
signee presents presentes present recenses recensees recensee disponibiliza disponibilizam alberga albergan aparecen
aparecem cantidad quantidade total ensemble comme deux trois quatre cinq six dix dealing dernierement recemment
lately recently novos novas cite-moi documentaire explication explications what's whats vcs voces pls plz stp
juste nb trucs truc
contem inclui incluem possui reune abrange renferme regroupe rassemble inclut possede
sais savez savoir sait tout toutes tous all general generale possible juste designe designent ca cela
quelque chose lire read leer ler possa pueda puisse listar lister liste-moi listez-moi listame escrito escritos
dossie sao son pode podes puedes podrias peux-tu pouvez-vous t'as as vous avez have got alguma algum alguna
algun some any definis-moi definis definissez explicame explica explique-me funciona fonctionne marche works work
existe existem hay tem ha a-t-on trouve-t-on peut-on voir consulter
before after entre between nuance nuances distinction ressemblent ressemblance commun common pareil dit-on dit dites-moi dis-moi tell explain expliquer m'expliquer explique-moi
""".split())
# Stop words of the question languages (Italian's « lei » is Portuguese's « loi »: not included)
_STOPWORDS = set().union(*(_STOP[lang] for lang in ("fr", "en", "es", "pt")))
_COORD = re.compile(r"\s+(?:et|and|y|e|ou|or|vs\.?|versus|contre|against|con|com|avec|with)\s+", re.I)
_TOKEN = re.compile(r"[\w][\w'’-]*")
_ELIDED = re.compile(r"^(?:l|d|qu|j|m|t|s|n|c|jusqu|lorsqu|puisqu)['’]", re.I)


def _content_tokens(question: str, n: str, taken: list[tuple[int, int]], spans: list | None = None) -> list[str]:
    """The words of `question` outside the spans `taken`, without frame words and stop words, as written."""
    stop = _STOPWORDS
    out = []
    for m in _TOKEN.finditer(n):
        key = _ELIDED.sub("", m.group(0))
        start = m.end() - len(key)
        if any(s <= start < e for s, e in taken):
            continue
        word = question[start:m.end()]
        if not key or key in _FRAME or key in stop or "-t-" in key:
            continue
        out.append(word)
        if spans is not None:
            spans.append((start, m.end()))
    return out


_DIFFERS = re.compile(r"(?<![\w-])(?:se distingue\w*|distingue\w*|differe\w*|differ\w*|se diferencia\w*|"
                      r"difere\w*|s'oppose\w*|se compare\w*)(?:-t-(?:il|elle|ils|elles))? (?:de |du |des |d'|from |"
                      r"de la |de l'|da |do |a |au |aux |to |with |avec |con |com )")


def _compare_sides(question: str, n: str, taken: list[tuple[int, int]], places) -> tuple[str, ...]:
    """« la différence entre une Scop et une Scic » → ("Scop", "Scic"); « X se distingue de Y » → (X, Y);
    « l'économie sociale au Québec et en France » → ("économie sociale Québec", "économie sociale France")."""
    place_spans = [(s, e) for _, s, e in places]
    words = [t for t in taken if t not in place_spans]   # places are part of what is compared
    splits = [(m.start(), m.end()) for m in _COORD.finditer(n)] + [(m.start(), m.end())
                                                                   for m in _DIFFERS.finditer(n)]
    best, best_gap = (), None
    for a, b in splits:
        left = _content_tokens(question, n, words + [(a, len(n))])
        right = _content_tokens(question, n, words + [(0, b)])
        if left and right:
            gap = abs(len(left) - len(right))
            if best_gap is None or gap < best_gap:
                best, best_gap = (left, right), gap
    if not best:
        return ()
    left, right = best
    place_words = {normalize(question[s:e]) for s, e in place_spans}
    lp = [w for w in left if normalize(w) in place_words]
    rp = [w for w in right if normalize(w) in place_words]
    if rp and len(rp) == len(right) and lp:
        # « X au Québec et en France »: the subject is shared, only the places differ
        right = [w for w in left if w not in lp] + right
    return " ".join(left), " ".join(right)


def extract_slots(question: str, vocab: Vocabulary | None = None, *, route: str | None = None,
                  today: int | None = None) -> tuple[Slots, dict]:
    """The slots of `question`; `route` (when known) lets a catalogue question read a bare language as the
    resources' language. Returns (slots, facts used by routing)."""
    n = normalize(question)
    intent = detect_intent(question, today=today)
    taken: list[tuple[int, int]] = []
    # every type noun is masked out of the topic; only those the intent step accepts are slots
    defined = [(c.start, c.end) for c in find_types(n) if not type_noun_named(n, c.start, c.end)]
    for m in RESOURCE_NOUN_RE.finditer(n):
        if not any(s <= m.start() < e for s, e in defined):
            taken.append((m.start(), m.end()))
    for c in intent.cues:
        taken.append((c.start, c.end))
    for c in find_languages(n):   # a language is never the subject, whatever it qualifies
        taken.append((c.start, c.end))
    places = find_places(question, n)
    taken += [(s, e) for _, s, e in places]
    authors = vocab.find_authors(question, n) if vocab else []
    taken += [(s, e) for _, s, e in authors]
    author_names = [a for a, _, _ in authors]
    wm = _WROTE.search(n)
    if wm and not author_names:
        for g in ("a", "b", "c", "d"):
            if wm.group(g):
                s, e = wm.span(g)
                words = question[s:e].strip(" ,;:").split()
                keep = []
                for w in words:   # the name, up to the first criterion (« … dans le dossier », « … sur X »)
                    if normalize(w) in _AFTER_NAME:
                        break
                    keep.append(w)
                name = " ".join(keep)
                if name[:1].isupper() and not find_places(name):   # a name, not « textes de loi »
                    author_names.append(name)
                    taken.append((s, e))
                break
    for m in RECENT_RE.finditer(n):
        taken.append((m.start(), m.end()))
    for m in re.finditer(r"(?<![\w-])(?:19|20)\d\d(?![\w-])", n):
        if any(c.kind == "period" and c.start <= m.start() < c.end for c in intent.cues):
            taken.append((m.start(), m.end()))

    types = tuple(dict.fromkeys(c.value for c in find_types(n) if type_noun_named(n, c.start, c.end)))
    languages = tuple(intent.languages)
    if not languages and intent.loose_languages and route in CATALOG_ROUTES:
        languages = tuple(dict.fromkeys(intent.loose_languages))
    # « récent » that qualifies no resource (« l'histoire récente de l'ESS ») is about the subject
    recent = intent.recent or (route == "catalog_recent" and bool(RECENT_RE.search(n)) and not intent.year_max)
    year_min = None if intent.recent else intent.year_min
    year_max = intent.year_max
    if route in CATALOG_ROUTES and not (year_min or year_max or recent) and intent.loose_period:
        # « Dans les années 2010, combien de ressources… », « …la plateforme propose-t-elle depuis 2018 ? »: in a
        # catalogue question a period that dates no subject dates the resources
        year_min, year_max, start, end = intent.loose_period
        taken.append((start, end))
    compare: tuple[str, ...] = ()
    if route == "comparison" or (route is None and _COMPARE.search(n)):
        compare = _compare_sides(question, n, taken, places)
    topic_spans: list[tuple[int, int]] = []
    topic = " ".join(_content_tokens(question, n, taken, topic_spans))
    if len(compare) == 2:
        topic = ""   # the two things compared are the subject
    slots = Slots(types=types, languages=languages, places=tuple(p for p, _, _ in places),
                  authors=tuple(dict.fromkeys(author_names)), year_min=year_min, year_max=year_max,
                  recent=recent, topic=topic, compare=compare)
    nouns = list(RESOURCE_NOUN_RE.finditer(n))
    facts = {"resource_noun": any(names_resources(n, m.start(), m.end()) for m in nouns),
             "other_noun": any(not names_resources(n, m.start(), m.end()) for m in nouns), "corpus": bool(_CORPUS.search(n)),
             "loose_languages": intent.loose_languages, "n": n, "wrote": bool(wm),
             "mask": sorted(topic_spans + [(s, e) for _, s, e in places] + [(s, e) for _, s, e in authors])}
    return slots, facts


# ---------------------------------------------------------------- the understanding step

def form_of(question: str, vocab: "Vocabulary | None" = None) -> str:
    _, facts = extract_slots(question, vocab)
    return masked(question, facts["mask"])


def masked(question: str, spans) -> str:
    """The question with its subject words, places and names replaced by « X »: what is left is its form."""
    out, pos = [], 0
    for s, e in spans:
        if s < pos:
            continue
        out.append(question[pos:s])
        if not out or not out[-1].endswith("X ") or question[pos:s].strip():
            out.append("X")
        pos = e
    out.append(question[pos:])
    return re.sub(r"\s+", " ", "".join(out)).strip()


def understand(question: str, embedder, router: Router, vocab: Vocabulary | None = None,
               today: int | None = None) -> Understanding:
    """The route and slots of one (standalone) question."""
    question = " ".join((question or "").split())
    slots, facts = extract_slots(question, vocab, today=today)
    # the same vector as retrieval's (Embedder.encode_queries caches it): the question is encoded once a turn
    qvec = embedder.encode_queries([question])[0]
    scores = router.scores(qvec)
    route, rule = decide_route(facts["n"], slots, facts, scores)
    if route in CATALOG_ROUTES or route == "comparison":
        # a catalogue question may name the resources' language bare (« Qu'avez-vous en espagnol ? »)
        slots, facts = extract_slots(question, vocab, route=route, today=today)
    facet = _facet(facts["n"]) if rule == "répartition" else None
    return Understanding(question, route, slots, rule=rule, scores=scores, facet=facet,
                         loose_languages=tuple(facts["loose_languages"]))


__all__ = ["ROUTES", "CATALOG_ROUTES", "Slots", "Understanding", "Vocabulary", "Router", "understand",
           "extract_slots", "this_year"]
