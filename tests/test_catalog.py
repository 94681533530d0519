"""Catalogue questions: recognised in four languages by the understanding step (the real multilingual model
routes them), never confused with ordinary questions, and answered exactly from the metadata of a real index
(the tiny fixture corpus and the bundled corpus, indexed with MiniLM).

Expected answers are recomputed here from the corpus files' own front matter, independently of rag.catalog."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml

from ingest import ingest
from rag.catalog import CatalogQuery, answer_catalog
from rag.embed import load_embedder
from rag.router import CATALOG_ROUTES, Router
from rag.settings import Settings
from rag.store import load_index
from rag.understand import Vocabulary, understand

from .conftest import E5, MINILM, ROOT, TINY


def _front_matter(folder: Path) -> dict[str, dict]:
    out = {}
    for p in sorted(folder.rglob("*.md")):
        if p.name == "README.md":
            continue
        fm = yaml.safe_load(p.read_text(encoding="utf-8").split("---")[1])
        out[fm["id"]] = fm
    return out


def _fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()


REAL = _front_matter(ROOT / "corpus")
RESOURCES = {k: v for k, v in REAL.items() if v["type"] not in ("concept", "dossier")}
TINY_FM = _front_matter(TINY)


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    """The bundled corpus indexed with the small MiniLM model: the catalogue reads metadata and texts only."""
    d = tmp_path_factory.mktemp("catalog-real")
    s = Settings(index_dir=d / "index", model=MINILM)
    report = ingest([ROOT / "corpus"], s)
    assert not report.skipped
    return load_index(s.index_dir)


@pytest.fixture(scope="module")
def tiny(tiny_index):
    return load_index(tiny_index.index_dir)


_E5 = None


def detect_catalog_query(question: str, vocab_docs: dict | None = None) -> CatalogQuery | None:
    """The catalogue query the understanding step makes of `question`, or None when it routes elsewhere."""
    global _E5
    if _E5 is None:
        emb = load_embedder(E5)
        _E5 = (emb, Router(emb))
    emb, router = _E5
    if not question.strip():
        return None
    u = understand(question, emb, router, Vocabulary(vocab_docs if vocab_docs is not None else REAL))
    return CatalogQuery.from_understanding(u) if u.route in CATALOG_ROUTES else None


def _ask(question, index):
    q = detect_catalog_query(question, index.documents())
    assert q is not None, question
    return q, answer_catalog(q, index)


def _ids(answer):
    return [c.chunk.doc_id for c in answer.citations]


# ---------------------------------------------------------------- routing

@pytest.mark.parametrize("question,action,types", [
    ("Combien d'études de cas ?", "count", ("etude_de_cas",)),
    ("Combien y a-t-il de thèses dans le corpus ?", "count", ("these",)),
    ("Combien le corpus compte-t-il de vidéos ?", "count", ("video",)),
    ("How many videos are there?", "count", ("video",)),
    ("How many case studies since 2015?", "count", ("etude_de_cas",)),
    ("¿Cuántas publicaciones hay?", "count", ("publication",)),
    ("¿Cuántos estudios de caso hay sobre Cuba?", "count", ("etude_de_cas",)),
    ("Quantos vídeos existem?", "count", ("video",)),
    ("Combien de ressources ?", "count", ()),
    ("Combien de notes de concept ?", "count", ("concept",)),
    ("Quelles thèses parlent du Québec ?", "list", ("these",)),
    ("Liste les études de cas", "list", ("etude_de_cas",)),
    ("Donne-moi la liste des outils pédagogiques", "list", ("outil_pedagogique",)),
    ("les ressources en espagnol", "list", ()),
    ("Y a-t-il des vidéos en anglais ?", "list", ("video",)),
    ("Avez-vous des thèses ?", "list", ("these",)),
    ("Which case studies are about Brazil?", "list", ("etude_de_cas",)),
    ("List all the theses", "list", ("these",)),
    ("Show me the resources in Italian", "list", ()),
    ("¿Qué tesis hay?", "list", ("these",)),
    ("Quais recursos falam do Brasil?", "list", ()),
    ("Quais teses falam do Brasil?", "list", ("these",)),
    ("Lista de estudos de caso no Brasil", "list", ("etude_de_cas",)),
    ("Quelles études de cas datent d'avant 2015 ?", "list", ("etude_de_cas",)),
    ("Thèses sur le Québec", "list", ("these",)),
    ("Quelles ressources parlent des monnaies locales ?", "list", ()),
])
def test_catalogue_questions_are_recognised(question, action, types):
    q = detect_catalog_query(question)
    assert q is not None and q.action == action and q.types == types


@pytest.mark.parametrize("question,author", [
    ("Qu'a écrit Jean-Louis Laville ?", "Jean-Louis Laville"),
    ("Qu'a publié Geoff Mulgan ?", "Geoff Mulgan"),
    ("What has Frank Moulaert written?", "Frank Moulaert"),
    ("Works by Frank Moulaert", "Frank Moulaert"),
    ("¿Qué ha escrito Jean-Louis Laville?", "Jean-Louis Laville"),
    ("O que escreveu Paul Singer?", "Paul Singer"),
    ("Quels textes de Laville ?", "Laville"),
    ("Quels sont les ouvrages de Jean-François Draperi ?", "Jean-François Draperi"),
])
def test_author_questions_are_recognised(question, author):
    q = detect_catalog_query(question)
    assert q is not None and q.authors == (author,)


@pytest.mark.parametrize("question,facet", [
    ("Combien de ressources par type ?", "type"),
    ("Quels types de ressources y a-t-il ?", "type"),
    ("Quelles langues sont représentées dans le corpus ?", "language"),
    ("How many resources per language?", "language"),
])
def test_breakdown_questions_are_recognised(question, facet):
    q = detect_catalog_query(question)
    assert q is not None and q.action == "facet" and q.facet == facet


@pytest.mark.parametrize("question", [
    # Borderline, decided: a definition of the type, not its list — retrieval answers it.
    "Qu'est-ce qu'une étude de cas en sociologie ?",
    "What is a case study?",
    "Comment fonctionne une SCOP ?",
    "Combien de salariés compte Mondragón ?",
    "Combien coûte une adhésion à une AMAP ?",
    "Combien de temps pour créer une SCOP ?",
    "Combien de banques communautaires au Brésil ?",
    "¿Cuántos trabajadores tiene Mondragón?",
    "How many people work in the social economy in Quebec?",
    "Quelles sont les conditions pour créer une SCOP ?",
    # a type noun followed by content the metadata cannot answer: retrieval with a type filter does
    "Y a-t-il des vidéos qui expliquent comment fonctionne une SCOP ?",
    "Quelle publication de l'OCDE parle de l'économie sociale comme levier d'inclusion des jeunes et des femmes ?",
    "Y a-t-il des SCOP au Québec ?",
    "Quels pays ont adopté une loi sur l'ESS ?",
    "Quels textes de loi encadrent l'ESS en France ?",
    "Quels documents faut-il pour créer une association ?",
    "Quelles ressources financières pour une SCIC ?",
    "Les ressources de la finance solidaire viennent-elles de l'épargne ?",
    "Les SCOP sont-elles des entreprises comme les autres ?",
    "Quelles thèses défend Laville sur l'économie solidaire ?",
    "Quels sont les apports de Polanyi ?",
    "Qu'a apporté la loi de 2014 ?",
    "Qui a créé le Banco Palmas ?",
    "Which cooperatives in Spain are the largest?",
    "What are the main critiques of microcredit?",
    "¿Qué es la economía solidaria?",
    "O que é uma cooperativa?",
    "Quais são os princípios da economia solidária?",
    "Et au Brésil ?",
    "Articles de loi sur l'ESS",
    "",
])
def test_ordinary_questions_are_never_catalogue(question):
    assert detect_catalog_query(question) is None


def test_list_shaped_question_on_a_subject_the_metadata_lacks_finds_nothing_there(real_index):
    # read as a list of case studies on « montrent l'échec d'une coopérative »: the metadata and the texts have
    # no such subject, so the assistant answers from passages instead (tests/test_assistant.py)
    q, a = _ask("Quelles études de cas montrent l'échec d'une coopérative ?", real_index)
    assert q.types == ("etude_de_cas",) and not a.found


def test_criteria_are_parsed():
    q = detect_catalog_query("Combien d'études de cas en français publiées depuis 2015 au Brésil ?")
    assert (q.types, q.languages, q.year_min, q.year_max, q.places) == (("etude_de_cas",), ("fr",), 2015, None,
                                                                       ("Brésil",))
    q = detect_catalog_query("Les ressources des années 2000")
    assert (q.year_min, q.year_max) == (2000, 2009)
    q = detect_catalog_query("Qu'a écrit Laville sur l'économie solidaire ?")
    assert q.authors == ("Laville",) and q.topics == ("économie solidaire",)
    # coordination: both places, stated
    q = detect_catalog_query("Quelles ressources parlent du Brésil et du Mexique ?")
    assert q.places == ("Brésil", "Mexique") and q.topics == () and "lieu : Brésil ou Mexique" in q.labels()
    # words are never cut: « d'agriculture », « une monnaie locale », « de l'Afrique », regions
    assert detect_catalog_query("Quelles ressources parlent d'agriculture ?").topics == ("agriculture",)
    assert detect_catalog_query("Quelles ressources parlent de l'Afrique ?").places == ("Afrique",)
    assert detect_catalog_query("Quels documents portent sur l'Amérique latine ?").places == ("Amérique latine",)
    # a year about the subject is not a publication date
    q = detect_catalog_query("Quels articles parlent de la crise de 2008 ?")
    assert (q.types, q.year_min, q.year_max) == (("article",), None, None) and "2008" in q.topics[0]
    q = detect_catalog_query("Quelles thèses parlent du Québec ?")
    assert q.places == ("Québec",) and q.mentions


# ---------------------------------------------------------------- answers on the tiny corpus

def test_tiny_counts_by_type_match_the_front_matter(tiny):
    for question, t in (("Combien de thèses ?", "these"), ("How many videos are there?", "video"),
                        ("¿Cuántas publicaciones hay?", "publication"), ("Combien d'études de cas ?", "etude_de_cas")):
        expected = sorted(i for i, m in TINY_FM.items() if m["type"] == t)
        q, a = _ask(question, tiny)
        assert a.mode == "catalogue" and a.found and a.hits == []
        assert f"Le corpus compte {len(expected)} " in a.text
        assert sorted(_ids(a)) == expected
        assert "Compté dans les métadonnées de l'index : type = " in a.text


def test_tiny_language_place_and_author(tiny):
    q, a = _ask("les ressources en portugais", tiny)
    assert _ids(a) == [i for i, m in TINY_FM.items() if m["language"] == "pt"] == ["economia-solidaria-brasil"]
    q, a = _ask("Quais recursos falam do Brasil?", tiny)
    assert _ids(a) == ["economia-solidaria-brasil"]
    assert "champs countries, topics, title" in a.text
    q, a = _ask("Qu'a écrit Équipe de test ?", tiny)
    expected = sorted(i for i, m in TINY_FM.items() if "Équipe de test" in m["authors"])
    assert sorted(_ids(a)) == expected and len(expected) == 4       # « Equipe de teste » is someone else
    for c in a.citations:
        assert c.chunk.meta["url"] in a.text and c.chunk.meta["title"] in a.text


def test_tiny_nothing_found_says_so(tiny):
    q, a = _ask("Combien de thèses en italien ?", tiny)
    assert not a.found and a.citations == [] and "aucune thèse" in a.text


# ---------------------------------------------------------------- answers on the bundled corpus

@pytest.mark.parametrize("question,t,n", [
    ("Combien d'études de cas ?", "etude_de_cas", 11),
    ("Combien de thèses ?", "these", 3),
    ("How many videos are there?", "video", 2),
    ("¿Cuántas publicaciones hay?", "publication", 24),
    ("Quantos documentos de análise existem?", "document_analyse", 41),
    ("Combien d'interventions publiques ?", "intervention_publique", 27),
    ("How many articles?", "article", 5),
    ("Combien d'outils pédagogiques ?", "outil_pedagogique", 4),
])
def test_real_counts_by_type(real_index, question, t, n):
    assert sum(1 for m in RESOURCES.values() if m["type"] == t) == n     # the corpus README's figures
    q, a = _ask(question, real_index)
    assert a.text.startswith(f"Le corpus compte {n} ")
    if n <= 20:
        assert sorted(_ids(a)) == sorted(i for i, m in RESOURCES.items() if m["type"] == t)


def test_real_total_and_breakdown(real_index):
    q, a = _ask("Combien de ressources ?", real_index)
    assert a.text.startswith(f"Le corpus compte {len(RESOURCES)} ressources.") and len(RESOURCES) == 117
    q, a = _ask("Quelles langues sont représentées dans le corpus ?", real_index)
    for lang, name in (("fr", "français"), ("en", "anglais"), ("es", "espagnol"), ("pt", "portugais"),
                       ("it", "italien")):
        assert f"- {name} : {sum(1 for m in RESOURCES.values() if m['language'] == lang)}" in a.text


def test_real_resources_in_spanish(real_index):
    q, a = _ask("les ressources en espagnol", real_index)
    expected = sorted(i for i, m in RESOURCES.items() if m["language"] == "es")
    assert sorted(_ids(a)) == expected and len(expected) == 7
    assert a.text.startswith("7 ressources correspondent (langue : espagnol) :")


def test_real_author(real_index):
    q, a = _ask("Qu'a écrit Jean-Louis Laville ?", real_index)
    expected = sorted(i for i, m in RESOURCES.items() if any("Jean-Louis Laville" in x for x in m["authors"]))
    assert sorted(_ids(a)) == expected and len(expected) == 5
    assert "champ authors" in a.text
    # not an author of any resource: said plainly, with the resources that name him
    q, a = _ask("O que escreveu Paul Singer?", real_index)
    assert a.text.startswith("Aucune ressource du corpus n'a « Paul Singer » pour auteur.")
    assert "nascimento-santos-2019-paul-singer-pedagogia-autogestao" in _ids(a)


def test_real_theses_about_quebec_use_text_when_metadata_is_silent(real_index):
    q, a = _ask("Quelles thèses parlent du Québec ?", real_index)
    theses = {i: m for i, m in RESOURCES.items() if m["type"] == "these"}
    assert not any("quebec" in _fold(" ".join(m["countries"] + m["topics"] + [m["title"]]))
                   for m in theses.values())
    in_text = sorted(i for i in theses if "québec" in (ROOT / "corpus" / "resources" / "these" / f"{i}.md")
                     .read_text(encoding="utf-8").split("---", 2)[2].lower())
    assert in_text and sorted(_ids(a)) == in_text
    assert a.text.startswith("Aucune thèse n'a « Québec » dans ses métadonnées")
    assert "mentions cherchées dans le texte des passages" in a.text


def test_real_resources_about_brazil(real_index):
    q, a = _ask("Quais recursos falam do Brasil?", real_index)
    meta = sorted(i for i, m in RESOURCES.items()
                  if any(w in _fold(" ".join(m["countries"] + m["topics"] + [m["title"]]))
                         for w in ("bresil", "brasil", "brazil")))
    assert a.text.startswith(f"{len(meta)} ressources correspondent (lieu : Brésil) :")
    assert sorted(_ids(a)[:len(meta)]) == meta


def test_real_period_and_type(real_index):
    q, a = _ask("Combien d'études de cas depuis 2015 ?", real_index)
    expected = sorted(i for i, m in RESOURCES.items() if m["type"] == "etude_de_cas" and (m["year"] or 0) >= 2015)
    assert sorted(_ids(a)) == expected
    assert "année ≥ 2015" in a.text
