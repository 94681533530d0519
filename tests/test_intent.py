"""Intent cues: type, language and period cues become filters; ordinary questions get none."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.intent import RECENT_YEARS, detect_intent, normalize, this_year
from rag.retrieve import Filters, Retriever

BENCH = Path(__file__).resolve().parent.parent / "bench" / "intent_questions.jsonl"
RECENT = this_year() - RECENT_YEARS


@pytest.mark.parametrize("question,types", [
    ("Je cherche une vidéo sur les tiers-lieux pour mon atelier", ("video",)),
    ("une vidéo pour mon atelier", ("video",)),
    ("a video about social innovation after the crisis", ("video",)),
    ("un video sobre innovación social", ("video",)),
    ("Tu aurais un documentaire sur les tiers-lieux ?", ("video",)),
    ("un outil pédagogique pour enseigner l'ESS au lycée", ("outil_pedagogique",)),
    ("Des ressources pédagogiques pour définir les mots de l'économie sociale", ("outil_pedagogique",)),
    ("Je prépare un cours : quel outil pédagogique pour expliquer les SCOP ?", ("outil_pedagogique",)),
    ("une thèse récente sur le changement institutionnel", ("these",)),
    ("a doctoral thesis on social innovation", ("these",)),
    ("Une étude de cas sur une banque communautaire au Brésil", ("etude_de_cas",)),
    ("case studies of worker cooperatives in the Basque Country", ("etude_de_cas",)),
    ("un estudio de caso sobre innovación social en Cuba", ("etude_de_cas",)),
    ("um estudo de caso sobre saúde em Florianópolis", ("etude_de_cas",)),
    ("un article en portugais sur Paul Singer", ("article",)),
    ("un livre sur la microfinance", ("publication",)),
    ("Busco un libro sobre innovación social", ("publication",)),
    ("une conférence de l'OCDE sur l'économie sociale", ("intervention_publique",)),
    ("une vidéo ou un outil pédagogique sur les SCOP", ("video", "outil_pedagogique")),
])
def test_type_cues(question, types):
    intent = detect_intent(question)
    assert intent.types == types
    assert intent.filters().types == types


@pytest.mark.parametrize("question", [
    "Qu'est-ce qu'une étude de cas en sociologie ?",   # a definition: the type is the subject, not a filter
    "What is a case study?",
    "Comment fonctionne une SCOP ?",
    "Comment réaliser une vidéo participative avec des habitants ?",  # made, not sought
    "Comment écrire un article scientifique sur l'innovation sociale ?",
    "Comment organiser une conférence sur l'ESS dans ma ville ?",
    "La thèse de Polanyi sur l'encastrement est-elle encore actuelle ?",
    "La vidéo est-elle un bon outil pour sensibiliser à l'ESS ?",
    "Quels articles de la loi ESS concernent les SCOP ?",
    "Quelle est la différence entre une thèse et un mémoire ?",
])
def test_no_type_cue(question):
    assert detect_intent(question).types == ()


@pytest.mark.parametrize("question,langs", [
    ("des ressources en anglais sur les communs", ("en",)),
    ("documentos en español sobre empresas recuperadas", ("es",)),
    ("recursos em português sobre a SENAES", ("pt",)),
    ("Is there something in Spanish about social innovation?", ("es",)),
    ("Quelque chose en italien sur l'entreprise sociale", ("it",)),
    ("des références anglophones sur l'innovation sociale", ("en",)),
    ("des textes rédigés en portugais sur l'économie solidaire", ("pt",)),
    ("English-language resources on social economy", ("en",)),
    ("What has been written in Spanish about recovered companies?", ("es",)),    # the verb is part of the cue
    ("une intervention en anglais sur les partenariats", ("en",)),
    ("économie solidaire au Brésil, en portugais", ("pt",)),                      # a search-box query's last words
])
def test_language_cues(question, langs):
    assert detect_intent(question).languages == langs


@pytest.mark.parametrize("question", [
    "Comment dit-on économie solidaire en anglais ?",      # translation
    "How do you say 'tiers-lieu' in English?",
    "Réponds en anglais : qu'est-ce qu'une SCIC ?",         # answer language, not resource language
    "Les pays anglophones ont-ils une définition commune de l'entreprise sociale ?",
    "Comment se dit coopérative en espagnol ?",
    "Qu'est-ce que l'ESS, en anglais",                       # a question's last words ask for the word
    "What is the social economy, in English?",
])
def test_no_language_cue(question):
    assert detect_intent(question).languages == ()


@pytest.mark.parametrize("question,lo,hi", [
    ("des travaux publiés depuis 2015 sur les PTCE", 2015, None),
    ("les rapports parus après 2015 sur les tiers-lieux", 2016, None),
    ("des documents d'avant 2005 sur l'économie sociale au Québec", None, 2004),
    ("des textes des années 2000 sur l'insertion", 2000, 2009),
    ("Quels textes entre 2010 et 2012 sur les entreprises récupérées ?", 2010, 2012),
    ("a report published in 2014 on European social innovation policy", 2014, 2014),
    ("studies since 2017 on social innovation research", 2017, None),
    ("une thèse récente sur l'IAE", RECENT, None),
    ("recent research on gender and the social economy", RECENT, None),
])
def test_period_cues(question, lo, hi):
    intent = detect_intent(question)
    assert (intent.year_min, intent.year_max) == (lo, hi)
    f = intent.filters()
    assert (f.year_min, f.year_max) == (lo, hi)


@pytest.mark.parametrize("question", [
    "Comment l'IAE a-t-elle évolué depuis 2015 ?",           # the IAE's history, not the documents' date
    "Comment l'économie solidaire a-t-elle répondu à la crise de 2008 ?",
    "Comment les PTCE ont-ils été reconnus par la loi de 2014 ?",
    "Que s'est-il passé pour l'économie sociale au Québec dans les années 1990 ?",
    "Quelles initiatives récentes de l'économie sociale au Sénégal ?",
    "une étude de cas sur une coopérative créée en 2010",    # the cooperative's date
    "Avant 2010, que disait-on de l'innovation sociale ?",
])
def test_no_period_cue(question):
    intent = detect_intent(question)
    assert (intent.year_min, intent.year_max) == (None, None)


def test_labels_are_french_and_human_readable():
    intent = detect_intent("une vidéo en anglais publiée depuis 2015 sur la crise")
    assert intent.labels == ["filtré : vidéos", "langue : anglais", "période : depuis 2015"]
    assert detect_intent("une thèse récente sur l'IAE").labels == ["filtré : thèses",
                                                                   f"période : récente (depuis {RECENT})"]
    assert detect_intent("des textes des années 2000 sur l'IAE").labels == ["période : années 2000"]
    assert detect_intent("Comment fonctionne une SCOP ?").labels == []


def test_explicit_filters_win_over_cues():
    intent = detect_intent("une vidéo en anglais publiée depuis 2015 sur la crise")
    explicit = Filters(types=("article",), year_max=2012)
    f = intent.filters(explicit)
    assert f.types == ("article",) and f.languages == ("en",) and (f.year_min, f.year_max) == (None, 2012)
    assert intent.labels_for(explicit) == ["langue : anglais"]


def test_cleaned_query_drops_cue_words_but_keeps_the_subject():
    intent = detect_intent("Je cherche une vidéo en anglais sur les tiers-lieux")
    assert "vidéo" not in intent.cleaned_query and "anglais" not in intent.cleaned_query
    assert "tiers-lieux" in intent.cleaned_query
    # nothing but cues: the question is kept as it is rather than emptied
    assert detect_intent("une vidéo").cleaned_query == "une vidéo"


def test_normalize_keeps_length_for_span_mapping():
    s = "Économie sociale ’ œuvre — ﬁn Ω"
    assert len(normalize(s)) == len(s)
    assert normalize("Études de cas en Français").startswith("etudes de cas en francais")


def test_labelled_set_precision_and_recall():
    """The labelled bench set: cue precision must stay perfect on questions without cues, and high overall."""
    rows = [json.loads(line) for line in BENCH.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 60
    tp = det = gold = 0
    false_positive = []
    for r in rows:
        g = {("t", t) for t in r["types"]} | {("l", l) for l in r["languages"]}
        lo = RECENT if r.get("recent") else r["year_min"]
        g |= {("min", lo)} if lo is not None else set()
        g |= {("max", r["year_max"])} if r["year_max"] is not None else set()
        i = detect_intent(r["q"])
        d = {("t", t) for t in i.types} | {("l", l) for l in i.languages}
        d |= {("min", i.year_min)} if i.year_min is not None else set()
        d |= {("max", i.year_max)} if i.year_max is not None else set()
        tp, det, gold = tp + len(g & d), det + len(d), gold + len(g)
        if d and not g:
            false_positive.append(r["q"])
    assert false_positive == []
    assert tp / det >= 0.95 and tp / gold >= 0.9


def test_intent_filters_restrict_real_retrieval(tiny_index):
    retriever = Retriever.open(tiny_index)
    intent = detect_intent("Je cherche une vidéo sur les coopératives et les espaces partagés")
    hits = retriever.search(intent.cleaned_query, k=5, filters=intent.filters(), group=True)
    assert [h.chunk.doc_id for h in hits] == ["tiers-lieux-video"]
    intent = detect_intent("des ressources en portugais sur l'économie solidaire")
    hits = retriever.search(intent.cleaned_query, k=5, filters=intent.filters(), group=True)
    assert {h.chunk.meta["language"] for h in hits} == {"pt"}
