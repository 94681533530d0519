"""Choosing a question's route: exact hand rules on its form first, then its nearest labelled examples.

The question is compared, with the index's own multilingual embedder, with labelled question forms
(rag/route_examples.py); the route of its nearest examples wins when it leads by a margin. A few hand rules
decide where they are exact (« combien de thèses », « qui a écrit sur… », « les plus récentes »,
« différence entre A et B ») and a catalogue route is only taken when the question names resources, an
author or the corpus. The slots the rules read are found by rag/understand.py, which calls `decide_route`.

The example vectors are encoded once per model and cached on disk (`cache_dir()`), so start-up stays fast;
the question is encoded once per turn through `Embedder.encode_queries`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .route_examples import ROUTE_EXAMPLES
from .vocab import RECENTLY, RESOURCE_NOUN_RE, RESOURCE_NOUNS

if TYPE_CHECKING:
    from .understand import Slots, Vocabulary

log = logging.getLogger(__name__)

ROUTES = ("catalog_count", "catalog_list", "catalog_authors", "catalog_recent", "definition", "comparison",
          "resource_request", "passage")
CATALOG_ROUTES = ROUTES[:4]
# kNN: the k nearest examples vote, weighted by exp(sim / TEMPERATURE); the winner must lead by MARGIN of
# the total weight, else the question is an ordinary passage question (the safe default: it is answered).
K = 7
TEMPERATURE = 0.02
MARGIN = 0.10


# ---------------------------------------------------------------- router

def cache_dir() -> Path:
    return Path(os.environ.get("INNOSOC_CACHE") or Path.home() / ".cache" / "innosoc")


class Router:
    """Nearest labelled examples, with the example vectors cached per model id and examples hash.

    Comparing masked forms (rag/understand.py's `masked`: subject words, places and names replaced by « X ») was tried and
    measured worse on bench/route_team.jsonl (route accuracy 0.66 against 0.74 for the kNN alone), and would
    cost a second encoding per turn: questions are compared as asked."""

    def __init__(self, embedder, examples: dict[str, list[str]] | None = None, vocab: "Vocabulary | None" = None):
        self.embedder = embedder
        examples = examples or ROUTE_EXAMPLES
        self.labels = [r for r, qs in examples.items() for _ in qs]
        texts = [q for qs in examples.values() for q in qs]
        key = hashlib.sha256(json.dumps([getattr(embedder, "model_id", "?"), examples], ensure_ascii=False,
                                        sort_keys=True).encode()).hexdigest()[:16]
        path = cache_dir() / f"routes-{key}.npy"
        vecs = None
        try:
            if path.is_file():
                vecs = np.load(path)
                if vecs.shape[0] != len(texts):
                    vecs = None
        except (OSError, ValueError):
            vecs = None
        if vecs is None:
            vecs = embedder.encode_queries(texts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, vecs)
                os.replace(tmp, path)
            except OSError as e:  # a read-only home only costs the encoding at the next start
                log.info("cache des exemples de routage non écrit (%s)", e)
        self.vectors = np.asarray(vecs, dtype=np.float32)

    def scores(self, qvec: np.ndarray) -> dict[str, float]:
        sims = self.vectors @ qvec
        top = np.argsort(-sims)[:K]
        w = np.exp((sims[top] - sims[top[0]]) / TEMPERATURE)
        out: dict[str, float] = {}
        for i, wi in zip(top, w):
            out[self.labels[i]] = out.get(self.labels[i], 0.0) + float(wi)
        total = sum(out.values())
        return {r: v / total for r, v in sorted(out.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------- hand rules (exact forms only)

_COUNT = re.compile(r"(?<![\w-])(?:combien|how many|number of|nb (?:de|d(?='))|que cantidad|qual a quantidade|quelle quantite|nombre (?:total )?(?:de|d(?='))|cuant[oa]s|quant[oa]s|"
                    r"numero (?:total )?de|count|(?:taille|size|tamano|tamanho) (?:du |de l'|de la |del |do |da |of the |of )(?:corpus|catalogue|fonds|collection))(?![\w-])")
_AUTHORS = re.compile(
    r"(?<![\w-])(?<!est-ce )(?:qui (?:a|ont|avait|est-ce qui a)(?: [\w'-]+)? (?:ecrit|publie|redige|travaille|signe)|"
    r"(?:quels?|quelles?|les|des|which|what|the|que|quais|cuales|los|os|noms des) (?:sont les )?"
    r"(?:auteur(?:e|s|es)?|authors?|autores|autoras?|chercheu(?:r|rs|se|ses)|researchers?|investigadores|"
    r"pesquisadores|specialistes)|who (?:wrote|has written|have written|writes|published|authored)|"
    r"quien(?:es)? (?:escribio|escribieron|ha escrito|han escrito|publico)|"
    r"quem (?:escreveu|escreveram|publicou|publicaram)|par qui|by whom|por quien|por quem|"
    r"(?:auteur(?:e|s|es)?|authors?|autores) (?:qui|who|que))(?![\w-])")
_RECENT_SUP = re.compile(r"(?<![\w-])(?:les? plus recente?s?|la plus recente|les? derniere?s?|les? derniers|"
                         r"les (?:\d+|deux|trois|quatre|cinq|six|dix) (?:derniere?s?|plus recente?s?)|"
                         r"the (?:\d+|two|three|five|ten) (?:latest|most recent|newest)|" + RECENTLY + "|"
                         r"(?:the )?(?:most recent|latest|newest|last)|mas recientes?|mas nuev[oa]s?|ultim[oa]s|"
                         r"mais recentes?|mais nov[oa]s?|plus recente?s?|plus recents)(?![\w-])")
_COMPARE = re.compile(r"(?<![\w-])(?:differen\w*|differs?|diferen\w*|difiere\w*|difere\w*|distingu\w*|distinction|compar\w*|versus|vs|"
                      r"contraste\w*|oppos\w*|nuances?|ressembl\w*|points? communs?|en commun|in common|"
                      r"pareil|same thing|lo mismo|a mesma coisa|mesma coisa|"
                      # « Quel lien y a-t-il entre A et B ? »: how two things relate
                      r"(?:lien|liens|rapport|rapports|relation|relations|link|links|relationship|relacion|relacao)"
                      r"(?: y a-t-il| existe-t-il| is there| there is| hay| ha)? (?:entre|between))"
                      r"(?:-t-(?:il|elle|ils|elles))?(?![\w-])")
_FACET = re.compile(r"(?<![\w-])(?:par|per|by|por|selon|according to|segun) (?P<f>types?|sortes?|genres?|"
                    r"categories?|kinds?|tipos?|langues?|languages?|idiomas?|linguas?|pays|countries|paises|"
                    r"regions?|annees?|years?|anos?|decennies?|decades?|decadas?)(?![\w-])|"
                    r"(?<![\w-])(?:repartition|breakdown|distribution|distribucion|distribuicao)(?![\w-])")
_FACET_KIND = [("type", r"type|sorte|genre|categor|kind|tipo"), ("language", r"lang|idioma|lingua"),
               ("country", r"pays|countr|pais|region"), ("year", r"anne|year|ano|decenn|decad")]


# ---------------------------------------------------------------- the route decision

def _facet(n: str) -> str | None:
    n = _PREFIX.sub("", n.strip(" ¿¡?!.«»\"")) or n
    q = _FACET_Q.match(n)
    if q:
        word = q.group(0).split()[-1]
        return next((kind for kind, pat in _FACET_KIND if re.match(pat, word)), None)
    m = _FACET.search(n)
    if not m:
        return None
    word = m.group("f") or ""
    if not word:
        rest = n[m.end():]
        fm = re.search(r"(?:par|per|by|por|selon|segun) (\w+)", rest)
        word = fm.group(1) if fm else "type"
    for kind, pat in _FACET_KIND:
        if re.match(pat, word):
            return kind
    return None


# « Qu'est-ce qui a été publié dernièrement… ? »: what was published is resources, named or not
_WAS_PUBLISHED = re.compile(r"(?<![\w-])(?:a ete|ont ete|est|sont|a|ont) (?:publie|paru|sorti|edite)\w*|"
                            r"(?:was|were|been) published|se ha publicado|se publico|foi publicad\w*")
# « Qu'est-ce que la loi ESS de 2014 a changé pour les PTCE ? »: what something did, not what it is
_DID_WHAT = re.compile(r"^qu'est-ce qu(?:e |')(?!vous |tu |on |il y )[^?]{2,60}? (?:a|ont|avait|avaient|va|vont|peut|"
                       r"peuvent|doit|doivent|apporte|apportent|change|changent|permet|permettent)(?![\w-])")
# « Qu'est-ce que vous avez de Draperi ? »: what the collection holds, not what something is
_HAVE_WHAT = re.compile(r"^(?:qu'est[- ]ce que|qu'est[- ]ce qu'|que|qu') ?(?:vous avez|tu as|t'as|on a|il y a|vous proposez|"
                        r"avez-vous|as-tu|y a-t-il|(?:le|la|l'|ce|cette) ?[\w-]+ (?:propose|offre|contient|recense|"
                        r"heberge|a))(?![\w-])")
_DEFINE = re.compile(
    r"^(?:(?:mais |alors |et )?(?:qu'est-ce qu(?:e|')|qu'est ce qu(?:e|')|c'est quoi|que (?:signifie|veut dire)|"
    r"qu'entend-on par|qu'appelle-t-on|definition|definis(?:-moi|-nous)?|definissez|definir|defini(?:tion)? d)|what (?:is|are|does)|"
    r"what's|define|(?:que|qué) (?:es|son|significa)|(?:o )?que (?:e|sao|significa)|o que (?:e|sao|significa|"
    r"quer dizer))(?:(?<=')|(?![\w-]))|(?:ce qu'est|ce que sont|ce que (?:signifie|veut dire)|c'est quoi|what (?:an? )?"
    r"[\w -]+ (?:is|are|means)|lo que es|o que e|la definition|la notion|the meaning|le sens|the notion|"
    r"(?:designe|designent|signifie|signifient|veut dire|veulent dire|means?|significa|quer dizer) quoi|"
    r"(?:definition|definicion|definicao) (?:de|du|des|d'|of))(?:(?<=')|(?![\w-]))")
_WHO = re.compile(r"^(?:qui (?:est|etait|sont|etaient|fut)|who (?:is|was|are|were)|quem (?:e|foi|era|sao)|"
                  r"quien(?:es)? (?:es|fue|era|son|fueron))(?![\w-])")
# « Qui organisait le colloque X ? », "Who founded Enercoop?": who did something is told in passages — even when
# the thing done is named by a resource noun (« colloque »). Who wrote or works on a subject is a list (_AUTHORS).
_WHO_DID = re.compile(r"^(?:qui|who|quien(?:es)?|quem) (?!(?:est|etait|sont|etaient|fut|is|was|are|were|e|foi|era|sao|"
                      r"es|fue|son|fueron|a ecrit|ont ecrit|wrote|escribio|escreveu)\b)(?:a |ont |avait |avaient |has |have |"
                      r"ha |han )?(?!travaill|ecri|publi|redig|sign|parl|writ|speak|talk|escrib|escrev|trabalh|trabaj|habl|fal)[a-z]+")
_WH = re.compile(r"^(?:(?:et|mais|alors|and|so|y|e) )?(?:comment|pourquoi|quand|ou (?!bien)|a quoi|en quoi|"
                 r"qual (?:foi|era)|cual (?:fue|era)|what (?:are|is|were|was) the (?:main|key|biggest|major|"
                 r"principal|chief|most|latest|newest|first|last|best)|"
                 r"dans quelle mesure|how|why|when|where|to what extent|como|por que|porque|por qué|cuando|"
                 r"donde|quando|onde|para que)(?![\w-])")
_SEEK = re.compile(
    r"(?<![\w-])(?:je (?:re)?cherche|recherche|j'ai besoin|il me faut|besoin d|conseill\w*|recommand\w*|"
    r"sugg[eè]r\w*|tu aurais|vous auriez|aurais-tu|auriez-vous|looking for|i need|need an?|recommend|"
    r"suggest|can you point|point me|busco|buscando|necesito|recomienda\w*|recomendar\w*|procuro|"
    r"procurando|preciso|recomenda\w*|indica\w*|indiquer|indique-moi|indiquez-moi|je voudrais (?:un|une|des|quelque)|je veux (?:un|une|des)|"
    r"i(?:'d| would) like (?:a|an|some)|quisiera (?:un|una)|quiero (?:un|una)|quero (?:um|uma)|"
    r"gostaria de (?:um|uma)|a lire|to read|para leer|para ler|a montrer|to show|a utiliser)(?![\w-])")
_INDEF_TYPE = re.compile(r"^(?:(?:une?|des|a|an|una?|unos|unas|uma?|uns|umas|quelques?|some|any|algun[oa]?s?|"
                         r"algum[as]*) )(?:(?:bonne?s?|bons?|petite?s?|courte?s?|good|short|buen[oa]s?|bo[am]s?) )?"
                         r"(?:" + RESOURCE_NOUNS + r"|exemples?|examples?|ejemplos?|exemplos?|cas pratiques?)"
                         r"(?![\w-])")
# « Quelles critiques le livre… fait-il ? »: a resource noun after a determiner is what the question is about,
# not what it lists (« Quels bons livres… », « Quelles autres ressources… » list)
_DETERMINER = r"(?:le|la|les|l'|ce|cet|cette|ces|son|sa|ses|leur|leurs|the|this|these|its|their|el|los|las|este|esta|o|os|as|este|esse|essa)(?![\w-])"
_LIST = re.compile(
    r"^(?:(?:et |and )?(?:quel(?:le)?s|lesquel(?:le)?s|which|what|que|qué|quais|cuales|cuáles)(?: (?:sont|are|son|"
    r"sao) (?:les|the|los|las|os|as))? (?:(?!" + _DETERMINER + r")[\w'-]+ ){0,2}?(?:" + RESOURCE_NOUNS + r")|"
    r"(?:liste[rz]?|listez|enumere[rz]?|affiche[rz]?|montre[rz]?(?:-moi)?|donne[rz]?(?:-moi)?|cite[rz]?|"
    r"list|show|display|enumerate|give me|(?:me )?muestra\w*|lista\w*|enumera\w*|dame|(?:me )?mostra\w*|"
    r"(?:me )?mostre\w*|liste)(?![\w-])(?: (?:moi|me|nous|us))?(?: (?:la liste|une liste|a list|the list|"
    r"toutes|tous|all|every|the|les|des|los|las|os|as|todos|todas|a lista))?)")


# Politeness and « tell me / explain to me » openers say nothing of the kind of question: rules read past them.
_PREFIX = re.compile(
    r"^(?:(?:bonjour|salut|hello|hi|hola|ola|alors|bon|ok|dis|dites)[,!]? |est-ce que |est-ce qu'(?=il)|"
    r"(?:est-ce que )?(?:tu peux|tu pourrais|vous pouvez|vous pourriez|peux-tu|pouvez-vous|pourrais-tu|"
    r"pourriez-vous|can you|could you|would you|puedes|podrias|podria|pode|podes|poderia|voce pode)"
    r"(?: me| m'| nous| us)? ?|s'il (?:te|vous) plait,? |please,? |por favor,? |"
    r"(?:j'aimerais|je voudrais|je veux|i'd like to|i would like to|i want to|quisiera|quiero|gostaria de|queria)"
    r" (?:savoir|know|saber) |je me demande |i wonder |(?:dis|dites|tell|dime|digame|diga|diz)(?:-moi|-nous| me| us)?,? |"
    r"(?:explique|expliquez|explain|explicame|explica|explique-me)(?:-moi|-nous| me| to me| us)?,? "
    r"(?:(?:en|in|em) [a-z]+ )?|"
    # a context before a colon (« Je fais une revue de littérature : quelles publications… ? »), or a frame
    # before a comma (« Dans le livre de Maria Nowak, comment… »)
    r"(?:[^:?]{3,80}: |(?:dans|sur|selon|d'apres|chez|in|on|about|according to|en|segun|sobre|segundo|no|na) "
    r"[^,:?]{3,80}, )(?=(?:qu|quel|quoi|comment|pourquoi|combien|ou |what|which|how|why|who|where|list|liste|donne|"
    r"montre|y a|est-ce|avez|as-tu|cual|cuant|que|qual|quais|quant|como|onde|donde)))+")
_SAYS = re.compile(r"^(?:que (?:dit|disent|pense|pensent|ecrit|ecrivent|montre|montrent|explique|expliquent|"
                   r"soutient|soutiennent|avance|avancent)|.{0,60}\b(?:dit|disent|raconte|"
                   r"racontent|says?) (?:quoi|what)\b|what (?:does|do|did) .+ (?:say|think|argue|"
                   r"write about)|que (?:dice|dicen|piensa|piensan)|o que (?:diz|dizem|pensa|pensam))(?![\w-])")
# What people argue, criticise or defend (« Que reproche X… », "What do MacCallum and Moulaert criticise…",
# « ¿Qué problemas señalan Domanski y sus coautores…? »), and the figures or results they give (« Quels chiffres
# Vando Borghi donne-t-il… ? »): the content of their work, not a list of it.
_CLAIMS = re.compile(r"(?<![\w-])(?:critiqu(?:e|ent|ait|aient|er)|reproch\w*|denonc\w*|defend(?:ent|ait)?|"
                     r"donne(?:nt)?-t-(?:il|elle|ils|elles)|avance(?:nt)?|observe(?:nt)?|releve(?:nt)?|estime(?:nt)?|"

                     r"soutien(?:t|nent)|affirm\w*|argument(?:e|ent)|propose(?:nt)?|conclu(?:t|ent)|debat|debats|"
                     r"criticis\w*|criticiz\w*|argu(?:e|es|ed)|claim(?:s|ed)?|conclude\w*|senala\w*|senalan|"
                     r"critica\w*|propone\w*|defiende\w*|sostiene\w*|aponta\w*|propoe\w*|defende\w*)(?![\w-])")
# What a work says, named by a noun (« Quelles critiques le livre… fait-il ? », « Quels résultats… ? »): its
# content — unless the question asks whether there are resources on it (« Avez-vous des documents sur les
# limites… ? », « Y a-t-il des articles critiques… ? »).
_CLAIM_NOUNS = re.compile(r"(?<![\w-])(?:critiques|criticisms|criticas|limites|limits|chiffres|resultats|bilan|"
                          r"findings|figures|resultados|cifras|numeros)(?![\w-])")
_SOME_RESOURCES = re.compile(r"(?<![\w-])(?:des|d'|de|quelques|any|some|unos|unas|algun[oa]?s?|alguns|algumas|uns|umas)"
                             r" ?(?:(?:bons?|bonnes?|good|autres?|other) )?(?:" + RESOURCE_NOUNS + r")(?![\w-])")
_HAVE_ANY = re.compile(r"(?<![\w-])(?:tem|tens|hay|tienes|tiene|avez-vous|as-tu|t'as|tu as|vous avez|do you have|"
                       r"have you got|y a-t-il|existe-t-il|is there|are there|existe|existem) (?:un|une|quelque|"
                       r"alguma|algum|algun|alguna|any|a|an|una|um|uma)(?![\w-])")
_FACET_Q = re.compile(
    r"^(?:en |in |em )?(?:quel(?:le)?s|which|what|que|quais|cuales|dans quel(?:le)?s) (?:sont les |are the )?"
    r"(?:types?|sortes?|genres?|categories?|kinds?|tipos?|langues?|languages?|idiomas?|linguas?|pays|countries|"
    r"paises|regions?|annees|years|anos|decennies|decades)(?![\w-])")
_HAVE_SOME = re.compile(r"^(?:(?:est-ce qu')?il y a|y a|y a-t-il|y-a-t-il|avez-vous|vous avez|tu as|as-tu|a-t-on|existe-t-il|are there|do you have|hay|tem|"
                        r"tienes|existem|ha) (?:des|d'|de|quelques|any|some|algun[oa]s|alguns|algumas)(?:(?<=')|(?![\w-]))")
_NEEDED = re.compile(r"(?<![\w-])(?:faut-il|il faut|needed|required|necessaires?|necesarios?|necessarios?|"
                     r"precisa|hace falta)(?![\w-])")
_LIST_ANYWHERE = re.compile(r"(?<![\w-])(?:la liste|une liste|a list|the list|la lista|a lista|uma lista|"
                            r"lister|listar|enumerer|enumerar|inventaire|voir (?:les|toutes|tous|l'ensemble)|"
                            r"l'ensemble des|consulter (?:les|toutes|tous)|see (?:all|the|every)|lesquel(?:le)?s|"
                            r"list them|liste[sz]?-les|lista(?:los|las)|listar(?:los|las))(?![\w-])")


def decide_route(n: str, slots: Slots, facts: dict, scores: dict[str, float]) -> tuple[str, str | None]:
    """The route: exact hand rules on the question's form first, then the nearest labelled examples.

    Counting, naming authors and sorting by date are asked in unmistakable words (« combien », « qui a
    écrit », « les plus récentes »), and so are comparisons; the kNN decides the rest, and may only choose
    a catalogue route when the question names resources, an author or the corpus."""
    n = n.strip(" ¿¡?!.«»\"")
    n = _PREFIX.sub("", n) or n
    catalogable = facts["resource_noun"] or facts["corpus"] or (bool(slots.authors) and not facts["other_noun"])
    if _COMPARE.search(n) and len(slots.compare) == 2:
        return "comparison", "différence"
    if catalogable and (_FACET_Q.match(n) or _FACET.search(n)):
        return ("catalog_count" if _COUNT.search(n) else "catalog_list"), "répartition"
    if _NEEDED.search(n):
        return "passage", "ce qu'il faut"
    if catalogable and _COUNT.search(n):
        return "catalog_count", "combien"
    if _AUTHORS.search(n) and not (_WH.match(n) and not n.startswith(("comment s'appell", "how are they called"))):
        # « Como os pesquisadores identificaram… ? » asks how, not who the researchers are
        return "catalog_authors", "qui a écrit"
    if facts["wrote"] and slots.authors:
        return "catalog_list", "a écrit"
    if _WHO.match(n) and slots.authors and not facts["resource_noun"]:
        # « Qui est Hugues Sibille ? » asks who the person is (their resources follow the answer), not for a list
        return "definition", "qui est"
    if _WHO_DID.match(n):
        return "passage", "qui a fait"
    if catalogable and _RECENT_SUP.search(n) and (RESOURCE_NOUN_RE.search(n) or _WAS_PUBLISHED.search(n)):
        return "catalog_recent", "les plus récentes"
    if _DID_WHAT.match(n):
        return "passage", "ce qu'a fait"
    if catalogable and _HAVE_WHAT.match(n):
        return "catalog_list", "qu'avez-vous"
    if _DEFINE.search(n) and not slots.types and not facts["corpus"] and not _WH.match(n):
        return "definition", "définition"
    if _SAYS.match(n):
        return "passage", "que dit"
    if _COUNT.search(n) and not (slots.types or slots.languages or slots.year_min or slots.year_max):
        # « ¿Cuántos trabajadores tienen las empresas recuperadas…? », « Combien de salariés compte Mondragón ? »:
        # a count of something in the world is told in passages
        return "passage", "combien (fond)"
    listing = catalogable and (_LIST.match(n) or _LIST_ANYWHERE.search(n))
    if listing and slots.recent:
        return "catalog_recent", "liste des récentes"
    filtered = bool(slots.types or slots.languages or slots.places or slots.year_min or slots.year_max)
    # « J'ai besoin de la liste de ce qui est paru en 2014 »: asking for the list is listing, whatever the frame
    seeking = _SEEK.search(n) and not _LIST_ANYWHERE.search(n)
    if (listing or (filtered and _LIST_ANYWHERE.search(n))) and not seeking:
        return "catalog_list", "liste"
    if seeking or _INDEF_TYPE.match(n) \
            or (catalogable and _HAVE_ANY.search(n)):
        return "resource_request", "demande de ressource"
    if _WH.match(n):
        return "passage", "question ouverte"
    if catalogable and _HAVE_SOME.match(n) and not slots.topic:
        return "catalog_list", "liste"
    if catalogable and _HAVE_SOME.match(n) and _SOME_RESOURCES.search(n) and not slots.types:
        # « Avez-vous des documents sur les limites des monnaies locales ? » asks for resources on a subject
        # (the examples left it a near tie with « passage », which an index rebuilt elsewhere could tip)
        return "resource_request", "demande de ressource"
    if _CLAIMS.search(n):
        return "passage", "ce qu'on y avance"
    if _CLAIM_NOUNS.search(n) and not (_HAVE_SOME.match(n) or _HAVE_ANY.search(n) or _SOME_RESOURCES.search(n)):
        return "passage", "ce qu'on y avance"
    ranked = list(scores.items())
    if not catalogable:
        ranked = [(r, s) for r, s in ranked if r not in CATALOG_ROUTES]
    if not ranked:
        return "passage", None
    best, s1 = ranked[0]
    if best in CATALOG_ROUTES:
        # counting, authors and recency have their own words (above): the examples only say « catalogue »
        best = "catalog_list"
    s2 = next((s for r, s in ranked[1:] if r != best and not (best == "catalog_list" and r in CATALOG_ROUTES)), 0.0)
    if best == "catalog_list":
        s1 = sum(s for r, s in ranked if r in CATALOG_ROUTES)
    if s1 - s2 < MARGIN and best != "passage":
        # too close to call: the reading that answers from passages is the safe one
        second = next((r for r, _ in ranked[1:] if r != best), "passage")
        if "passage" in (best, second):
            return "passage", None
    return best, None


__all__ = ["ROUTES", "CATALOG_ROUTES", "Router", "cache_dir", "decide_route"]
