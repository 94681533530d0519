"""The relevance gate and general-question spans, on a tiny real corpus of factual paragraphs with e5.

PIAF-like factual questions (« En quelle année… ? », « Combien… ? ») are close to the one sentence that answers
them and far from the rest of its paragraph: they must be answered with that sentence, verbatim and cited.
Off-topic questions (general trivia, everyday life) must still be refused.
"""
from __future__ import annotations

import re

import pytest

from ingest import ingest
from rag.answer import NOT_FOUND, RELEVANCE, ExtractiveAnswerer
from rag.retrieve import Retriever
from rag.settings import Settings

from .conftest import E5

DOCS = {
    "familistere": ("Le Familistère de Guise", [
        "Jean-Baptiste André Godin, fabricant de poêles en fonte, fait bâtir le Familistère à Guise, dans l'Aisne, "
        "à partir de 1859. Inspiré par Charles Fourier, il veut offrir aux ouvriers les « équivalents de la "
        "richesse » : un logement sain, de l'air, de la lumière et de l'eau. Le « Palais social » loge les "
        "ouvriers de l'usine et leurs familles autour de cours couvertes d'une verrière. Des écoles, un théâtre, "
        "une piscine et des économats complètent les logements. En 1880, Godin transforme son entreprise en "
        "association coopérative du capital et du travail. Les ouvriers en deviennent peu à peu les "
        "propriétaires. L'association est dissoute en 1968 et l'usine passe alors à une société anonyme. Le "
        "site, racheté par les collectivités, est aujourd'hui un musée.",
    ]),
    "mondragon": ("Les coopératives de Mondragón", [
        "La coopérative Ulgor est fondée en 1956 à Mondragón, au Pays basque espagnol, par cinq jeunes anciens "
        "élèves de l'école technique du prêtre José María Arizmendiarrieta. Elle fabrique d'abord des réchauds "
        "et des cuisinières. La Caja Laboral Popular, créée en 1959, finance ensuite les nouvelles coopératives "
        "du groupe. D'autres coopératives industrielles, une coopérative de consommation et une université "
        "s'ajoutent au fil des décennies. Les écarts de salaires y restent encadrés par les assemblées.",
    ]),
    "rochdale": ("Les Équitables Pionniers de Rochdale", [
        "En 1844, vingt-huit tisserands et artisans de Rochdale, près de Manchester, ouvrent une boutique "
        "coopérative de consommation. Chaque membre y dispose d'une voix, quel que soit son apport. Les "
        "excédents sont reversés aux membres au prorata de leurs achats. La boutique vend d'abord de la farine, "
        "du beurre, du sucre et des chandelles. Ces règles inspirent plus tard les principes de l'Alliance "
        "coopérative internationale.",
    ]),
}


@pytest.fixture(scope="module")
def gate_answerer(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    corpus = d / "corpus"
    corpus.mkdir()
    for doc_id, (title, paras) in DOCS.items():
        body = "\n\n".join(paras)
        (corpus / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: \"{title}\"\ntype: article\nauthors: [\"Équipe de test\"]\nyear: 2020\n"
            f"language: fr\nurl: \"https://example.org/{doc_id}\"\n---\n# {title}\n\n{body}\n", encoding="utf-8")
    s = Settings(index_dir=d / "index", model=E5)
    ingest([corpus], s)
    return ExtractiveAnswerer(Retriever.open(s))


def _cited_sentences(ans):
    return [(sent.strip(), int(n)) for sent, n in re.findall(r"(.+?) \[(\d+)\](?: |$)", ans.text)]


@pytest.mark.parametrize("question, sentence, doc_id", [
    ("En quelle année l'association du Familistère a-t-elle été dissoute ?",
     "L'association est dissoute en 1968 et l'usine passe alors à une société anonyme.", "familistere"),
    ("Combien de tisserands ont ouvert la boutique coopérative de Rochdale ?",
     "En 1844, vingt-huit tisserands et artisans de Rochdale, près de Manchester, ouvrent une boutique "
     "coopérative de consommation.", "rochdale"),
    ("Qui a fondé la coopérative Ulgor ?",
     "La coopérative Ulgor est fondée en 1956 à Mondragón, au Pays basque espagnol, par cinq jeunes anciens "
     "élèves de l'école technique du prêtre José María Arizmendiarrieta.", "mondragon"),
])
def test_factual_question_is_answered_with_the_sentence_that_answers_it(gate_answerer, question, sentence, doc_id):
    ans = gate_answerer.answer(question)
    assert ans.found, question
    cited = _cited_sentences(ans)
    assert (sentence, 1) in cited, ans.text
    assert ans.citations[0].chunk.doc_id == doc_id
    for sent, n in cited:
        assert sent in ans.citations[n - 1].chunk.text
    assert len(re.sub(r"\s*\[\d+\]", "", ans.text).split()) <= 130


def _evidence(answerer, q):
    hits = answerer.retrieve(q)[:5]
    return answerer.evidence(q, answerer.retriever.embedder.encode_queries([q])[0], hits)


def test_sentence_evidence_alone_tells_a_factual_question_from_trivia(gate_answerer):
    """With the passage floors out of reach, the best sentence's similarity and its cover of the question's
    rare words still accept the factual question and refuse the trivia one (whose rare words — « Marignan »,
    « bataille » — no passage holds)."""
    sentence_only = dict(RELEVANCE[E5], strong=2.0, weak=2.0)
    factual = _evidence(gate_answerer, "Quand l'association du Familistère est-elle dissoute ?")
    assert factual.sentence_sim >= sentence_only["sentence"]
    assert factual.sentence_cover >= sentence_only["sentence_cover"]
    assert factual.relevant(sentence_only)
    trivia = _evidence(gate_answerer, "En quelle année a eu lieu la bataille de Marignan ?")
    assert trivia.sentence_cover < sentence_only["sentence_cover"] and trivia.passage_cover < 0.1
    assert not trivia.relevant(sentence_only)


@pytest.mark.parametrize("question", [
    "En quelle année a eu lieu la bataille de Marignan ?",
    "Qui a remporté le Tour de France en 1998 ?",
    "Combien de temps faut-il pour cuire un œuf dur ?",
    "Quelle est la capitale de l'Australie ?",
])
def test_off_topic_trivia_question_is_refused(gate_answerer, question):
    ans = gate_answerer.answer(question)
    assert not ans.found and ans.text == NOT_FOUND and ans.citations == []
