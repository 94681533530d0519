"""The one vocabulary of the project: resource types, languages and places, with their labels and the words
that name them in French, English, Spanish and Portuguese.

Everything that shows a type, a language or a place to a user (the app, the catalogue answers, the intent
labels, the LLM prompts, the CLI) and everything that recognises one in a question takes it from here.

Words are matched on folded text (`normalize`: accent- and case-folded, same length as the original, so a
span found in it also cuts the original at the same place) and always at word boundaries.
"""
from __future__ import annotations

import re
import unicodedata

# ---------------------------------------------------------------- types

RESOURCE_TYPES = (
    "publication", "these", "video", "outil_pedagogique", "etude_de_cas",
    "document_analyse", "intervention_publique", "article",
)
# The corpus's own notes: not resources (a catalogue question counts resources only).
NOT_RESOURCES = ("concept", "dossier")

TYPE_LABELS_FR = {
    "publication": "Publications", "these": "Thèses", "video": "Vidéos",
    "outil_pedagogique": "Outils pédagogiques", "etude_de_cas": "Études de cas",
    "document_analyse": "Documents d'analyse", "intervention_publique": "Interventions publiques",
    "article": "Articles", "concept": "Notes de concept", "dossier": "Dossier", "document": "Documents",
}
TYPE_SINGULAR_FR = {
    "publication": "Publication", "these": "Thèse", "video": "Vidéo", "outil_pedagogique": "Outil pédagogique",
    "etude_de_cas": "Étude de cas", "document_analyse": "Document d'analyse",
    "intervention_publique": "Intervention publique", "article": "Article", "concept": "Note de concept",
    "dossier": "Dossier", "document": "Document",
}
# Grammatical gender of the French noun (for « aucune étude de cas » / « aucun article »).
TYPE_FEMININE = {"publication": True, "these": True, "video": True, "outil_pedagogique": False,
                 "etude_de_cas": True, "document_analyse": False, "intervention_publique": True,
                 "article": False, "concept": True, "dossier": False, "document": False}


def type_label(t: str | None, n: int = 2) -> str:
    """« vidéos », « thèse »: a type in French, lower case, plural unless n == 1."""
    table = TYPE_SINGULAR_FR if n == 1 else TYPE_LABELS_FR
    label = table.get(t or "", t or "document")
    return label[0].lower() + label[1:] if label else label


# Type nouns (folded regex alternations). Inside each alternation the longer phrase comes first, so that
# « études de cas » is not read as « études ».
TYPE_NOUNS: dict[str, str] = {
    "etude_de_cas": (r"etudes? de cas|cas d'etudes?|cas pratiques|cas concrets|exemples? concrets?|case[- ]stud(?:y|ies|ys)|estudios? de casos?|"
                     r"estudos? de casos?"),
    "outil_pedagogique": (
        r"outils? (?:pedagogiques?|didactiques?)|(?:ressources?|supports?|kits?|materiels?|fiches?|modules?) "
        r"(?:pedagogiques?|didactiques?)|(?:kits?|supports?|outils?|modules?) de formation|supports? de cours|(?:teaching|educational|pedagogical|training) "
        r"(?:tools?|materials?|resources?|kits?)|(?:herramientas?|recursos?|materiales?) "
        r"(?:pedagogic[oa]s?|didactic[oa]s?|educativ[oa]s?)|(?:ferramentas?|recursos?|materia(?:l|is)) "
        r"(?:pedagogic[oa]s?|didatic[oa]s?|educativ[oa]s?)"),
    "these": (r"theses? de doctorat|theses?|doctoral (?:thesis|theses|dissertations?)|thesis|dissertations?|"
              r"tesis doctorales?|tesis|teses? de doutorado|teses?"),
    "video": (r"videos?|films?|(?<!fonds )(?<!base )(?<!ressources )documentaires?|documentar(?:y|ies)|documentales?|documentarios?|ted talks?"),
    "document_analyse": (r"documents? d'analyses?|notes? d'analyses?|notas? de anal[iy]s[ei]s?|documents? de travail|"
                         r"working papers?|analysis documents?|analytical documents?|documentos? de trabajo|documentos? de trabalho|"
                         r"documentos? de anal[iy][sz]is|documentos? de analise"),
    "intervention_publique": (
        r"interventions? publiques?|public (?:talks?|interventions?|lectures?)|intervenciones? publicas?|"
        r"intervencoes publicas|intervencao publica|colloques?|conferences?|seminaires?|entretiens?|"
        r"interviews?|keynotes?|conferencias?|coloquios?|seminarios?|entrevistas?|actes de colloques?|"
        r"conference proceedings|proceedings|ponencias?|palestras?|confs?"),
    "article": r"articles? scientifiques?|articles? de revue|journal articles?|articles?|articulos?|artigos?",
    "publication": (r"publications?|livres?|ouvrages?|bouquins?|books?|publicaciones|publicacion|libros?|publicacoes|"
                    r"publicacao|livros?"),
    "concept": r"notes? de concept|notes? de synthese|fiches? concepts?|fiches? de concept",
}

# « Lately »: the words that ask for what came out last, shared by the route's cue and the « recent » slot.
RECENTLY = r"dernierement|recemment|lately|recently|recientemente|recentemente"

# Nouns for « resources » in general: a catalogue question about them counts every resource type.
# (« ressouces », « ressoures »: the word typed with a letter missed)
GENERIC_NOUNS = (r"ressources?|resources?|res?sou?r?ces|recursos?|documents?|documentos?|docs?|fiches?|trucs?|stuff|references?|referencias?|"
                 r"titres?|titulos?|textes?|textos?|items?|entrees?|travaux|ecrits|works|obras?|trabalhos|"
                 r"trabajos|materials?|materiales|materiais|contenus?|contents?|conteudos?|"
                 r"contenidos?|lectures?|readings?|lecturas?|leituras?")

TYPE_RE = re.compile(r"(?<![\w-])(?:" + "|".join(f"(?P<{t}>{p})" for t, p in TYPE_NOUNS.items()) + r")(?![\w-])")
RESOURCE_NOUNS = "|".join(TYPE_NOUNS.values()) + "|" + GENERIC_NOUNS
# A resource noun followed by these is something else: « textes de loi », « ressources financières »,
# « les thèses que défend Laville », « l'article 1 de la loi ».
NOT_RESOURCE_AFTER = re.compile(
    r"\s*(?:\d|(?:de la |du |de |of the |of |da |del |do )?(?:loi|lois|code|law|laws|act|ley|leyes|lei|leis|"
    r"codigo)\b|(?:legislati|juridique|reglementaire|financ|humain|natur|propres|fiscal|budget|monetaire|"
    r"defend|avanc|soutient|soutiennent|developpe|defiende|defende)\w*)")


def names_resources(n: str, start: int, end: int) -> bool:
    """Does the resource noun at n[start:end] name resources (not « textes de loi », « ressources financières »)?"""
    return not NOT_RESOURCE_AFTER.match(n, end)
RESOURCE_NOUN_RE = re.compile(r"(?<![\w-])(?:" + RESOURCE_NOUNS + r")(?![\w-])")

# ---------------------------------------------------------------- languages

LANG_NAMES_FR = {"fr": "français", "en": "anglais", "es": "espagnol", "pt": "portugais", "it": "italien",
                 "de": "allemand", "ca": "catalan"}
LANG_LABELS_FR = LANG_NAMES_FR
LANG_NAMES_EN = {"fr": "French", "en": "English", "es": "Spanish", "pt": "Portuguese", "it": "Italian",
                 "de": "German", "ca": "Catalan"}
LANG_WORDS: dict[str, str] = {
    "en": r"anglais|anglaise|english|ingles|inglesa",
    "es": r"espagnol|espagnole|spanish|espanol|espanola|castellano|espanhol",
    "pt": r"portugais|portugaise|portuguese|portugues|portuguesa",
    "it": r"italien|italienne|italian|italiano|italiana",
    "fr": r"francais|francaise|french|frances|francesa",
}
LANG_ADJ: dict[str, str] = {"en": r"anglophones?|english-language", "es": r"hispanophones?|hispanohablantes?",
                            "pt": r"lusophones?", "it": r"italophones?", "fr": r"francophones?"}


def lang_label(code: str | None) -> str:
    return LANG_NAMES_FR.get(code or "", code or "inconnue")


# ---------------------------------------------------------------- places

# Canonical French name → folded aliases (fr, en, es, pt). Regions include the places listed in INCLUDES.
PLACES: dict[str, tuple[str, ...]] = {
    "France": ("france", "francia", "franca"),
    "Québec": ("quebec",),
    "Canada": ("canada",),
    "Brésil": ("bresil", "brasil", "brazil", "bresilien", "bresilienne", "bresiliens", "bresiliennes",
               "brazilian", "brasileno", "brasilena", "brasileiro", "brasileira"),
    "Argentine": ("argentine", "argentina", "argentin", "argentins", "argentines", "argentinian"),
    "Chili": ("chili", "chile", "chilien", "chilienne"),
    "Cuba": ("cuba",),
    "Mexique": ("mexique", "mexico", "mexicain", "mexicaine", "mexican"),
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
                    "grande bretagne", "great britain", "angleterre", "england", "inglaterra", "britain"),
    "États-Unis": ("etats-unis", "etats unis", "united states", "usa", "estados unidos", "us"),
    "Sénégal": ("senegal",),
    "Corée du Sud": ("coree du sud", "south korea", "corea del sur", "coreia do sul", "coree"),
    "Bangladesh": ("bangladesh",),
    "Union européenne": ("union europeenne", "european union", "union europea", "uniao europeia"),
    "Europe": ("europe", "europa", "europeen", "europeenne", "europeens", "europeennes", "european"),
    "Amérique latine": ("amerique latine", "latin america", "america latina", "latinoamerica",
                        "amerique du sud", "south america", "america del sur", "america do sul",
                        "latino-americain", "latino-americaine", "latino-americains", "latin american",
                        "latinoamericano", "latinoamericana", "latino-americano", "latino-americana"),
    "Afrique": ("afrique", "africa", "africain", "africaine", "africains", "africaines", "african"),
    "Asie": ("asie", "asia", "asiatique", "asian"),
    "Amérique du Nord": ("amerique du nord", "north america", "america del norte", "america do norte"),
    "Japon": ("japon", "japan", "japao"),
    "Inde": ("inde", "india"),
    "Chine": ("chine", "china"),
    "Maroc": ("maroc", "morocco", "marruecos", "marrocos"),
    "Tunisie": ("tunisie", "tunisia"),
    "Algérie": ("algerie", "algeria", "argelia"),
    "Mali": ("mali",),
    "Burkina Faso": ("burkina faso", "burkina"),
    "Côte d'Ivoire": ("cote d'ivoire", "ivory coast", "costa de marfil", "costa do marfim"),
    "Cameroun": ("cameroun", "cameroon", "camerun", "camaroes"),
    "Bénin": ("benin",),
    "Madagascar": ("madagascar",),
    "Afrique du Sud": ("afrique du sud", "south africa", "sudafrica", "africa do sul"),
    "Kenya": ("kenya", "kenia", "quenia"),
    "Bolivie": ("bolivie", "bolivia"),
    "Venezuela": ("venezuela",),
    "Uruguay": ("uruguay", "uruguai"),
    "Nicaragua": ("nicaragua",),
    "Haïti": ("haiti",),
    "Pays-Bas": ("pays-bas", "pays bas", "netherlands", "holland", "paises bajos", "paises baixos", "holanda"),
    "Suède": ("suede", "sweden", "suecia"),
    "Danemark": ("danemark", "denmark", "dinamarca"),
    "Grèce": ("grece", "greece", "grecia"),
    "Irlande": ("irlande", "ireland", "irlanda"),
    "Pologne": ("pologne", "poland", "polonia"),
    "Autriche": ("autriche", "austria"),
    "Luxembourg": ("luxembourg", "luxemburgo"),
    "Australie": ("australie", "australia"),
    "Russie": ("russie", "russia", "rusia"),
    "Vietnam": ("vietnam", "viet nam"),
}
INCLUDES: dict[str, tuple[str, ...]] = {
    "Canada": ("Québec",),
    "Amérique latine": ("Brésil", "Argentine", "Chili", "Cuba", "Mexique", "Colombie", "Pérou", "Équateur"),
    "Afrique": ("Sénégal",),
    "Asie": ("Corée du Sud", "Bangladesh"),
    "Europe": ("Union européenne",),
    "Amérique du Nord": ("Canada", "Québec", "États-Unis", "Mexique"),
}
# Aliases that are ordinary words in some language: they name a place only in the capitalised original
# (« US » the country, not « us » the pronoun; « French » as a country adjective is only a place in English).
CASE_SENSITIVE_ALIASES = {"us": "US", "uk": "UK", "usa": "USA", "mali": "Mali", "chine": "Chine",
                          "inde": "Inde", "china": "China", "india": "India", "benin": "Bénin"}
# Aliases that more often name a language than a place.
_LANGUAGE_LIKE: set[str] = set()


def place_aliases(place: str, with_included: bool = True) -> list[str]:
    out = list(PLACES.get(place, (normalize(place),)))
    if with_included:
        for sub in INCLUDES.get(place, ()):
            out += PLACES.get(sub, ())
    return out


# ---------------------------------------------------------------- normalisation and word matching

def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize(text: str) -> str:
    """Accent-folded lower case with the same length as `text`, so that spans found here cut the original."""
    out = []
    for ch in text:
        if ch in "’‘`´ʼ":
            out.append("'")
            continue
        f = fold(ch).lower()
        if len(f) != 1:
            f = ch.lower() if len(ch.lower()) == 1 else ch
        out.append(f)
    return "".join(out)


def phrase_re(alternatives) -> re.Pattern:
    """A word-bounded regex matching any of the folded phrases (longest first; « de l' » contractions kept)."""
    alts = sorted({a for a in alternatives if a}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(a) for a in alts) + r")(?![\w-])")


_PLACE_RE = phrase_re(a for al in PLACES.values() for a in al)
_ALIAS_TO_PLACE = {a: p for p, aliases in PLACES.items() for a in aliases}


def find_places(question: str, n: str | None = None) -> list[tuple[str, int, int]]:
    """(canonical place, start, end) of every place named in `question`, in order, each place once."""
    n = normalize(question) if n is None else n
    out: list[tuple[str, int, int]] = []
    seen = set()
    for m in _PLACE_RE.finditer(n):
        alias = m.group(0)
        if alias in CASE_SENSITIVE_ALIASES and not question[m.start():m.start() + 1].isupper():
            continue
        if alias in _LANGUAGE_LIKE:
            continue  # "French" is a language far more often than a country adjective
        place = _ALIAS_TO_PLACE[alias]
        if place not in seen:
            seen.add(place)
            out.append((place, m.start(), m.end()))
    return out


def canonical_country(value: str) -> str | None:
    """A metadata country value (« Québec (Canada) », « Espagne (Barcelone) ») as a canonical place name."""
    head = re.split(r"\s*\(", value or "", maxsplit=1)[0].strip()
    n = normalize(head)
    if n in _ALIAS_TO_PLACE:
        return _ALIAS_TO_PLACE[n]
    for place in PLACES:
        if normalize(place) == n:
            return place
    return head or None
