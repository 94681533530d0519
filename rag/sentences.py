"""Sentences of a passage, split once at ingest: verbatim offsets and the « about the document » flag.

An answer is composed from sentences that stand verbatim in their passage, so a sentence is stored as
offsets into its chunk's text. Sentences that describe a document rather than its subject (its audience,
reading advice, publication circumstances, « ce texte / cette fiche… », « s'adresse aux… ») are flagged here,
at ingest, so that the answerer never quotes them as content. The rule is measured on labelled corpus
sentences by bench/about_eval.py (bench/about_labels.jsonl).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

from .text import fold, paragraphs, split_sentences

# Words that name a document, a part of one or a recording (FR, EN, ES, PT), folded and lower-case.
_DOC_NOUNS = (r"(?:texte|document|article|ouvrage|livre|fiche|these|video|rapport|guide|publication|"
              r"intervention|conference|entretien|outil|kit|memoire|numero|chapitre|dossier|note|support|film|"
              r"documentaire|podcast|emission|revue|billet|tribune|communication|synthese|recueil|manuel|"
              r"module|webinaire|seminaire|etude|panorama|contribution|interview|expose|cours|jeu|"
              r"site|page|plaquette|brochure|volume|colloque|atelier|presentation|essai|corpus|"
              r"text|book|paper|report|chapter|talk|lecture|thesis|documento|libro|informe|tesis|livro|"
              r"relatorio|artigo|texto|extrait|biographie|version|compte rendu|comptes rendus|propos|sous-titre|"
              r"resume|cahier|portrait|temoignage|episode|sequence|diaporama|depeche|reportage|chronique|hors-serie|"
              r"abecedaire)s?")
# public: rag/spans.py also recognises a sentence that names a document
DOC_NOUNS = _DOC_NOUNS
# A fiche's summary in the document's own language (« Resumo (pt) : O artigo analisa… ») describes the document
# from its first sentence to its last (folded, lower case).
_SUMMARY_START = r"^(?:resumen|resumo|riassunto|resume|abstract|summary)\s*\("
# « …ont choisie comme cas pour un article publié le 21 mars 2018 dans la revue… »
_PUBLISHED = (r"\b(?:un|une|l'|le|la|son|sa|leur)\s*" + _DOC_NOUNS + r"\s+(?:publiee?s?|parue?s?|editee?s?)\s+"
              r"(?:le|en|dans|par|aux editions|chez)\b")
# « L'ouvrage paraît en 2011 aux éditions… », « Sa communication a été publiée en mai 2002 comme cahier… »: the
# document as the subject of its own publication
_APPEARED = (r"^(?:\w+\s+){0,2}?(?:l'|le |la |les |son |sa |ses |leur |leurs |un |une |cet |cette |ce )?(?:\w+\s+)?"
             + _DOC_NOUNS + r"\b(?:\s+[\w'-]+){0,3}?\s+(?:parait|paraissent|est parue?s?|sont parue?s?|a paru|ont paru|"
             r"a ete (?:publiee?|editee?|mise? en ligne)|ont ete (?:publiee?s|editee?s)|est (?:publiee?|editee?)|"
             r"sont (?:publiee?s|editee?s)|sort|est sortie?)\s+(?:en|dans|chez|aux|le|comme|par|sur)\b")
# a pronoun standing for the document, with a verb of what documents do: « Il analyse ensuite… »
_PRONOUN_MOVES = (
    r"^(?:il|elle|it)\s+(?:\w+\s+)?(?:offre|fournit|donne|analyse|aborde|parcourt|pose|s'appuie|regroupe|"
    r"transpose|retrace|examine|expose|presente|propose|revient|decrit|dresse|se termine|se conclut|se lit|"
    r"reste un|reste une|est dirige|est depose|a ete ecrit|a ete publie|a ete realise|a ete produit|etudie|"
    r"complete|evoque|rassemble|compile|eclaire|temoigne|prolonge|commence par|se prete|offers|argues|presents|"
    r"describes|provides|reviews)\b")
# the document's plan, told with a pronoun for it (« Il rappelle d'abord ce que recouvre le concept… », « Ils
# détaillent ensuite, programme par programme, les dotations… ») or with its author after an opening phrase
# (« Pour y parvenir, les auteurs parcourent environ cent cinquante ans de littérature… »); what it states after a
# colon or « que » is content (_PLAN_REPORTS)
_PLAN = (r"^(?:il|elle|ils|elles)\s+(?:rappell?\w*|compar\w*|detaill\w*|retrac\w*|decri\w*|montr\w*|examin\w*|"
         r"abord\w*|revien\w*|discut\w*|consacr\w*|pass\w*)\s+(?:d'abord|ensuite|enfin)\b|"
         r"^[^,]{3,50},\s*(?:l'auteur|l'autrice|l'auteure|les auteurs|les autrices)\s+(?:\w+\s+)?(?:rappell?\w*|"
         r"parcour\w*|reprend\w*|examin\w*|dress\w*|retrac\w*|procede\w*|commence\w*|termine\w*|conclu\w*)\b|"
         r"\b(?:procede|procedent|se divise|se divisent|se compose|se composent) en (?:deux|trois|quatre|cinq|six) "
         r"(?:temps|parties|chapitres|etapes|sections)\b")
_FOLD_RULES = [
    # demonstrative + document noun: « ce texte », « cette fiche », « cet ouvrage », "this paper"
    rf"\b(?:ce|cet|cette|ces|this|these|este|esta|estos|estas|esse|essa|este)\s+(?:\w+\s+)?{_DOC_NOUNS}\b",
    # the document (or its author) as the subject of the opening words: « L'article donne la parole… » (known
    # defect: folded, « à » reads as the verb « a » — « Le propos central consiste à traiter… » is flagged; excluding
    # it cost 2 facts on the answer sets, see README « Neuvième suite »)
    rf"^(?:\w+\s+){{0,3}}(?:l'|le |la |les |un |une |the |el |la |o |a ){_DOC_NOUNS}\b(?:\s+\w+){{0,2}}\s+"
    r"(?:\w+\s+)?(?:en |y )?(?:est|sont|a |ont|fait|donne|identifie|consacre|restitue|prolonge|vise|se prete|"
    r"presente|propose|retrace|revient|raconte|decrit|analyse|"
    r"interroge|montre|examine|explore|offre|rassemble|reunit|s'appuie|s'ouvre|se termine|se conclut|se lit|"
    r"se compose|comporte|contient|comprend|dure|alterne|procede|distingue|illustre|suit|part|prend|met|insiste|souligne|rappelle|"
    r"porte|traite|permet|invite|fournit|detaille|expose|discute|documente|resume|dresse|"
    r"presents|describes|offers|shows|discusses|argues|provides|examines|is a|presenta|describe|ofrece|"
    r"apresenta|descreve|oferece)\b",
    # audience and reading advice
    r"\b(?:interesser\w*|s'adress\w*|rendra service|"
    r"se prete (?:bien |aussi )?a (?:l'enseignement|la formation|des seances)|"
    r"ser(?:t|vent) (?:aussi |egalement )?aux|servira\w*|peut (?:aussi |egalement )?servir|"
    r"pourra (?:aussi |egalement )?servir|sera utile|seront utiles|"
    r"utile (?:aux|a|pour)|utiles (?:aux|a|pour)|porte d'entree|bonne introduction|pour un lecteur|a lire|"
    r"lecture utile|peut le lire|peut la lire|se lit avec|se lit comme|rapprocher|on pourra (?:lire|consulter)|"
    r"a consulter|a completer|en complement|complete utilement|incontournable pour|destine aux|destinee aux|"
    r"destines aux|public vise|publics vises|lecteurs|lectrices|spectateurs|would use|useful for|"
    r"intended for|aimed at|recommended for|dirigido a|destinado a|util para|util para)\b",
    # « voir » / « voir aussi » pointers to other documents
    r"(?:^|[;:,(]\s*)(?:voir|see|ver)\s+(?:aussi|egalement|also|tambien|tambem|la |le |l'|les |the )",
    r"\bpour (?:le lien|aller plus loin|approfondir|une mise en perspective)\b",
    # publication circumstances: « Publié en octobre 2014 sur son blog… », « mis en ligne », « soutenue en »
    r"^(?:publie|publiee|publies|publiees|paru|parue|parus|parues|edite|editee|mis en ligne|"
    r"mise en ligne|diffuse|diffusee|filme|filmee|enregistre|enregistree|soutenue|redige|redigee|realise|"
    r"realisee|tourne|tournee|published|released|recorded|publicado|publicada)\b",
    _DOC_NOUNS + r"\b[^,.;:]{0,60},\s+(?:publie|publiee|paru|parue|soutenue|editee|edite|diffusee|diffuse|"
    r"mise? en ligne|realisee?|redigee?)\b",
    r"\b(?:est |a ete |sont |ont ete )?(?:depose|deposee|disponible|accessible|consultable|telechargeable|"
    r"en libre acces|sous licence|isbn|doi|hal-\d|issn)\b",
    rf"^(?:dans|in|en) (?:un|une|son|sa|ses|cet|cette|ce|l'|le|la|a|an|his|her|their) (?:\w+ )?{_DOC_NOUNS}\b",
    r"\b(?:le corpus|ce corpus|dans le corpus|du corpus|la fiche|les fiches|cette note|la note)\b",
    r"\b(?:nature du document|n'y (?:est|sont) pas|ne traite pas|n'aborde pas|n'est pas (?:analyse|traite|aborde)|"
    r"ne sont pas (?:analyses|traites|abordes)|ne dit (?:rien|pas))\b",
    # the author(s) or speaker as the subject of the document's moves: « L'auteur distingue ensuite… »
    r"^(?:ses |son |sa |leurs? |l'|les |le |la )?(?:\w+\s+)?(?:auteur|autrice|auteurs|autrices|auteure|auteures|authors?|"
    r"autor|autores|conferenciere|conferencier|intervenant|intervenante|orateur|oratrice|realisatrice|"
    r"realisateur)\b(?:\s+\w+){0,2}?\s+(?:ensuite|d'abord|enfin|ici|donc|puis|alors|presente\w*|avance\w*|"
    r"choisi\w*|oppose\w*|reprend\w*|procede\w*|propose\w*|commence\w*|termine\w*|conclu\w*|est |sont |"
    r"appartien\w*|dirige\w*|expose\w*)",
    r"^(?:l'auteur|l'autrice|les auteurs|les autrices|l'auteure|the authors?|el autor|o autor)\s+(?:est|sont|"
    r"is|are)\b",
    # a pronoun standing for the document, with a verb of what documents do: « Il analyse ensuite… »
    _PRONOUN_MOVES,
    # parts and moves of the document: « La première partie porte sur… », « Le point de départ est… »
    r"^(?:la|le|l') ?(?:premiere|premier|deuxieme|seconde|second|troisieme|derniere|dernier)\s+(?:partie|chapitre|"
    r"section|temps|etape|volet\s+)?\s*(?:propose|porte|s'appuie|examine|presente|analyse|traite|revient|"
    r"est consacre)",
    r"\b(?:le point de depart|l'ambition|l'interet|la limite|les limites|l'hypothese centrale|le fil conducteur|"
    r"le plan|la demarche)(?: principale?s?| majeure?s?)?\s+(?:de l'|du |de la |des |de cet |de ce |de cette )?"
    r"(?:{n})?\s*(?:est|tient|tiennent)\b"
    .replace("{n}", _DOC_NOUNS),
    r"\b(?:structurent|organisent|eclaire|eclairent) (?:le propos|la demarche)\b",
    # « Il peut se lire avec les textes de… », « Il faut donc le lire comme un témoignage de seconde main »
    r"\b(?:peut se lire|peuvent se lire|(?:le|la|les) lire (?:comme|avec|en parallele|a cote))\b",
    r"\b(?:peut (?:le |la )?completer|completent le sujet|prolongent la reflexion|permettent d'aller plus loin|"
    r"aller plus loin|se lit\b|on peut (?:le|la|les) (?:comparer|rapprocher|lire|completer)|y trouveront|"
    r"point d'entree|entree en matiere|premiere approche|bonne synthese|entry point|"
    r"\bit (?:offers|argues|presents|describes|provides|reviews))",
    _SUMMARY_START,
    # who wrote it: « Son auteur, Jean Gadrey, alors au CLERSE, l'a rédigé dans le cadre du programme… »
    r"\b(?:l'a|l'ont|les a|les ont) (?:redige|redigee|ecrit|ecrite|coordonne|coordonnee|dirige|dirigee|signe|signee)\b",
    # « Cette introduction est un point de départ efficace pour un étudiant… » (« introduction » alone is no
    # document noun: « Dans son introduction, X avance… » reports content)
    r"\b(?:cette|this|esta|essa) introduction\b",
    # « C'est une référence pour les doctorants et chercheurs qui… »
    r"\b(?:c'est|est|reste|constitue) (?:une? )?(?:reference|lecture)s? "
    r"(?:\w+ )?(?:pour (?:les|des|un|une|tout|toute|tous|qui)|utile|precieu\w*|indispensable|incontournable)\b",
    # « Le 29 novembre 2018, La Tribune fait le point sur son développement. »
    r"\bfai(?:t|saient|sait) le point sur\b",
    r"\b(?:a|ont) (?:tenu|accueilli|organise)\b.{0,80}\b(?:colloque|seminaire|journee|conference|rencontre|"
    r"webinaire|table ronde)",
    r"\b(?:consacre|consacrent)\b.{0,60}\b(?:une|un|cette|ce|sa|son)\s+(?:\w+\s+)?" + _DOC_NOUNS + r"\b",
    _PUBLISHED,
    _APPEARED,
    # « La présente fiche s'appuie sur… », « Un apport marquant de l'article est… », « …fait l'intérêt du guide pour
    # notre sujet », « C'est la définition que reprennent X et Y dans le dossier de la RECMA »
    r"\b(?:la|le|les) presente?s? (?:\w+ )?" + _DOC_NOUNS + r"\b",
    r"\b(?:apport|merite|originalite|force)s? (?:\w+ )?(?:de l'|du |de la |de cet |de ce |de cette )" + _DOC_NOUNS + r"\b",
    r"\b(?:pour|a) notre (?:sujet|propos)\b",
    r"^c'est (?:la|cette|une) (?:definition|formule|approche|lecture|typologie) que\b.{0,80}\bdans (?:le|la|l'|les|un|une|son|sa) "
    r"(?:\w+ )?" + _DOC_NOUNS + r"\b",
    # « Pour un chercheur, il illustre la manière dont… »: what a kind of reader gets from the document
    r"^pour (?:un|une|les|des|le|la) (?:\w+ )?(?:chercheu\w*|etudiant\w*|enseignant\w*|lecteur\w*|lectrice\w*|"
    r"praticien\w*|formateur\w*|formatrice\w*|doctorant\w*|elus?|decideur\w*|historien\w*),\s*(?:il|elle|ce|cette|ces)\b",
    # « Le thème de la journée d'étude qui l'a accueilli… indique l'horizon dans lequel ce travail se situe »
    r"\b(?:qui l'a|qui les a) accueilli|\bce travail (?:se situe|s'inscrit)\b",
    _PLAN,

]
_ABOUT = [re.compile(p, re.I) for p in _FOLD_RULES]


_SUMMARY = re.compile(_SUMMARY_START)


# « Le livre propose une définition précise : l'innovation sociale consiste à… », « Le texte rappelle d'abord ce
# qui fait la force symbolique de Mondragón : l'expérience a montré… »: the document as the subject of a verb,
# then what it states, after a colon or « que » — the statement is content, quoted and cited to the document.
_REPORTS = re.compile(r"^(?:\w+\s+){0,3}(?:l'|le |la |les |un |une |the )" + _DOC_NOUNS + r"\b[^:]{0,80}?"
                      r"(?::|\b(?:que|qu'|that)\b)\s*((?:\S+\s+){8,}\S+)")
# « Il propose une définition simple : les innovations sociales sont… », « Il décrit la MCC comme un ensemble
# d'environ 120 coopératives… »: a pronoun standing for the document, then what it states or how it characterises
# its subject — content too; « Il analyse ensuite la place de… » (the document's plan) says nothing of it
_PRONOUN_REPORTS = re.compile(r"^(?:il|elle)\s+(?:\w+\s+)?(?:propose|presente|expose|decrit|dresse|evoque|"
                              r"retrace|analyse|donne|offre|fournit)\b(?:[^:]{0,80}?(?::|\b(?:que|qu')\b)\s*"
                              r"(?:\S+\s+){8,}\S+|[^,;:]{0,60}\bcomme (?:un|une|le|la|l'|des|les)\b)")
_PRONOUN_RULE = _FOLD_RULES.index(_PRONOUN_MOVES)
_PLAN_RULE = _FOLD_RULES.index(_PLAN)
_PLAN_REPORTS = re.compile(r"(?::|(?<!\bce )(?<!\bpour )\b(?:que|qu'))\s*(?:\S+\s+){8,}\S+")
# …but a plan in so many parts stays a plan whatever follows its colon (« Il procède en quatre temps : … »)
_IN_PARTS = re.compile(r"\ben \w+ (?:temps|parties)\b")
# the rules a reported statement may match alone (the document as subject; its publication named on the way:
# « Une étude publiée dans la RECMA en 2013 montre que… »)
_REPORT_RULES = {1, _FOLD_RULES.index(_PUBLISHED), _FOLD_RULES.index(_APPEARED)}


# « Une étude publiée par la RECMA sur Banco Palmas montre la volonté de… »: a publication named on the way to
# what it found
_FINDS = re.compile(_PUBLISHED + r".{0,80}\b(?:montre|montrent|estime|estiment|souligne|soulignent|constate|"
                    r"constatent|observe|observent|indique|indiquent|conclut|concluent|shows|show|finds|find)\b")


def about_document(sentence: str) -> bool:
    """True when a sentence describes a document (audience, reading advice, publication, « ce texte… »)
    rather than the subject it is about."""
    s = fold(sentence).lower().replace("’", "'")
    hits = {i for i, p in enumerate(_ABOUT) if p.search(s)}
    if hits and hits <= _REPORT_RULES and (_REPORTS.search(s) or _FINDS.search(s)):
        return False
    if hits == {_PRONOUN_RULE} and _PRONOUN_REPORTS.search(s):
        return False
    if _PLAN_RULE in hits and hits <= {_PLAN_RULE, _PRONOUN_RULE} and _PLAN_REPORTS.search(s) \
            and not _IN_PARTS.search(s):
        return False
    return bool(hits)


@dataclass(frozen=True)
class Sentence:
    start: int       # offsets into the chunk's text: text[start:end] is the sentence, verbatim
    end: int
    paragraph: int   # index of its paragraph in the chunk (spans never cross paragraphs)
    about: bool      # describes a document rather than the subject


def passage_sentences(text: str) -> list[Sentence]:
    """The sentences of a chunk's text, in reading order, with their offsets and flags."""
    out: list[Sentence] = []
    cursor = 0
    for pi, para in enumerate(paragraphs(text)):
        pstart = text.find(para, cursor)
        if pstart < 0:  # cannot happen (paragraphs are stripped substrings), but never store wrong offsets
            continue
        scur = pstart
        summary = _SUMMARY.match(fold(para[:24]).lower()) is not None
        for s in split_sentences(para):
            st = text.find(s, scur)
            if st < 0:
                continue
            out.append(Sentence(st, st + len(s), pi, summary or about_document(s)))
            scur = st + len(s)
        cursor = pstart + len(para)
    return out


# ---------------------------------------------------------------- the sentence table of an index generation

# One record per sentence, in chunk order: chunk row, offsets in its text, row of its vector in
# sentence_vectors.npy (sentences repeated by overlapping chunks share one vector), paragraph, flag.
RECORD = np.dtype([("chunk", "<i4"), ("start", "<i4"), ("end", "<i4"), ("vec", "<i4"), ("para", "<i2"),
                   ("about", "?")])


def about_rules() -> str:
    """A fingerprint of the rules that flag sentences about documents, stored in an index's manifest: an index
    flagged under other rules (an older program, files kept by an incremental ingest) is flagged again."""
    text = "\n".join([*_FOLD_RULES, _SUMMARY_START, _REPORTS.pattern, _FINDS.pattern, repr(sorted(_REPORT_RULES)),
                      _PRONOUN_REPORTS.pattern, _PLAN_REPORTS.pattern])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def reflag(records: np.ndarray, texts: list[str]) -> np.ndarray:
    """A copy of a sentence table whose « about » flags follow the current rules (`texts`: the chunks' texts, by
    row). Offsets are kept: the split is the same, only the flags' rules may have changed."""
    out = np.array(records, copy=True)
    bounds = chunk_bounds(out, len(texts))
    for row, text in enumerate(texts):
        lo, hi = int(bounds[row]), int(bounds[row + 1])
        if lo == hi:
            continue
        flags = {(x.start, x.end): x.about for x in passage_sentences(text)}
        for i in range(lo, hi):
            out["about"][i] = flags.get((int(out["start"][i]), int(out["end"][i])), bool(out["about"][i]))
    return out


def sentence_table(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Records for the chunks `texts` (chunk field = position in `texts`) and the distinct sentence texts to
    encode (record.vec = position in that list)."""
    recs = []
    unique: dict[str, int] = {}
    for row, text in enumerate(texts):
        for s in passage_sentences(text):
            t = text[s.start:s.end]
            v = unique.setdefault(t, len(unique))
            recs.append((row, s.start, s.end, v, min(s.paragraph, 32767), s.about))
    return np.array(recs, dtype=RECORD), list(unique)


def chunk_bounds(records: np.ndarray, n_chunks: int) -> np.ndarray:
    """offsets[i]:offsets[i+1] are the records of chunk i (records are sorted by chunk)."""
    return np.searchsorted(records["chunk"], np.arange(n_chunks + 1), side="left").astype(np.int64)


def pooled_vectors(records: np.ndarray, sentence_vectors: np.ndarray, n_chunks: int,
                   extra: np.ndarray | None = None) -> np.ndarray:
    """Chunk vectors as the re-normalised mean of their sentences' vectors (plus an optional extra vector per
    chunk, e.g. its title's); a chunk without sentences gets its extra vector or zeros."""
    dim = sentence_vectors.shape[1]
    out = np.zeros((n_chunks, dim), dtype=np.float32)
    if len(records):
        np.add.at(out, records["chunk"], sentence_vectors[records["vec"]])
    if extra is not None:
        out += extra
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)
