"""The bundled corpus: every fiche passes rag/fiche.py's validator (schema, types and folders, sources, word
counts, summaries, « Voir aussi » links); ids are unique; counts per type; the validator's own edge cases."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from rag import fiche
from rag.types import RESOURCE_TYPES

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
FILES = fiche.corpus_files(CORPUS)


@pytest.fixture(scope="module")
def docs():
    return {p: fiche.read(p) for p in FILES}


def test_every_file_follows_the_schema(docs):
    # the same validator checks the staff form of the app (rag/fiche.py): one message per faulty field
    ids = {meta["id"] for meta, _ in docs.values()}
    problems = {str(p.relative_to(CORPUS)): errs for p, (meta, body) in docs.items()
                if (errs := fiche.validate(meta, body, known_ids=ids, path=p, root=CORPUS))}
    assert problems == {}


def test_ids_are_unique(docs):
    ids = Counter(meta["id"] for meta, _ in docs.values())
    assert [i for i, n in ids.items() if n > 1] == []


def test_counts_per_type(docs, capsys):
    counts = Counter(meta["type"] for meta, _ in docs.values())
    with capsys.disabled():
        print("\nCorpus :", dict(sorted(counts.items())))
    assert counts["concept"] >= 25 and counts["dossier"] == 1
    assert {t: counts[t] for t in RESOURCE_TYPES} == {
        "publication": 24, "these": 3, "video": 2, "outil_pedagogique": 4, "etude_de_cas": 11,
        "document_analyse": 41, "intervention_publique": 27, "article": 5}


# ---------------------------------------------------------------- the validator's edge cases (rag/fiche.py)

def _valid(**over):
    meta = {"id": "dupont-2020-scop-rurales", "title": "Les Scop rurales", "type": "etude_de_cas",
            "authors": ["Marie Dupont"], "year": 2020, "language": "fr", "url": "https://example.org/scop",
            "publisher": None, "countries": ["France"], "topics": ["Scop", "rural", "emploi"],
            "sources": ["https://example.org/scop"]}
    meta.update(over)
    return meta


def _body(words=200, extra="", links="scop"):
    return fiche.compose_body("Les Scop rurales", " ".join(["mot"] * words) + extra, [links] if links else [])


@pytest.mark.parametrize("field,value", [
    ("title", ""), ("type", "roman"), ("authors", "Marie Dupont"), ("year", 1700), ("year", 3000),
    ("year", "2020"), ("language", "de"), ("url", "example.org/scop"), ("url", "javascript:alert(1)"),
    ("countries", "France"), ("topics", ["un"]), ("topics", [str(i) for i in range(9)]), ("sources", []),
    ("sources", ["ftp://x.org/a"]), ("id", "Dupont 2020"), ("publisher", "  ")])
def test_each_invalid_field_gets_its_own_message(field, value):
    errors = fiche.validate(_valid(**{field: value}), _body(), known_ids={"scop"})
    assert list(errors) == [field], errors
    assert errors[field] and errors[field][0].islower()  # a sentence fragment shown under the field


def test_body_rules_word_count_summary_and_links():
    assert fiche.validate(_valid(), _body(), known_ids={"scop"}) == {}
    assert "149 mots" in fiche.validate(_valid(), _body(149), known_ids={"scop"})["body"]
    assert "Résumé (en)" in fiche.validate(_valid(language="en"), _body(), known_ids={"scop"})["body"]
    assert fiche.validate(_valid(language="en"), _body(extra="\n\nRésumé (en) : Two sentences. Here."),
                          known_ids={"scop"}) == {}
    assert "inconnu" in fiche.validate(_valid(), _body(links="nulle-part"), known_ids={"scop"})["see_also"]
    assert "see_also" in fiche.validate(_valid(), _body(links=None), known_ids={"scop"})
    missing = fiche.validate({k: v for k, v in _valid().items() if k != "sources"}, _body(), known_ids={"scop"})
    assert missing == {"sources": "champ manquant dans le front matter"}


def test_rendered_fiche_reads_back_identical_and_passes(tmp_path):
    meta = _valid(title='Titre avec « guillemets », deux-points : et "quotes"', publisher="Éditions: X")
    body = _body()
    path = fiche.path_for(tmp_path, meta)
    fiche.atomic_write(path, fiche.render(meta, body))
    assert path == tmp_path / "resources" / "etude_de_cas" / "dupont-2020-scop-rurales.md"
    back_meta, back_body = fiche.read(path)
    assert back_meta == meta and back_body == body
    assert fiche.validate(back_meta, back_body, known_ids={"scop"}, path=path, root=tmp_path) == {}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    wrong = tmp_path / "resources" / "video" / "autre.md"
    errs = fiche.validate(back_meta, back_body, known_ids={"scop"}, path=wrong, root=tmp_path)
    assert set(errs) == {"type", "id"}


def test_form_values_become_a_fiche_with_a_generated_id():
    meta, body, errors = fiche.from_form({
        "title": "Une  coopérative  d'habitants", "type": "etude_de_cas", "authors": "Marie Dupont, Collectif X",
        "year": "2019", "language": "fr", "url": " https://example.org/a ", "publisher": "",
        "countries": "France; Belgique", "topics": "habitat, coopérative, participation",
        "sources": "https://example.org/a\nhttps://example.org/b", "body": "Texte.", "see_also": "[[scop]], amap"})
    assert errors == {}
    assert meta["authors"] == ["Marie Dupont", "Collectif X"] and meta["countries"] == ["France", "Belgique"]
    assert meta["year"] == 2019 and meta["publisher"] is None and meta["url"] == "https://example.org/a"
    assert meta["title"] == "Une coopérative d'habitants"
    assert fiche.see_also(body) == ["scop", "amap"] and body.startswith("# Une coopérative d'habitants\n")
    assert fiche.text_of(body) == "Texte."
    assert fiche.make_id(meta, set()) == "dupont-2019-cooperative-habitants"
    assert fiche.make_id(meta, {"dupont-2019-cooperative-habitants"}) == "dupont-2019-cooperative-habitants-2"
    assert fiche.from_form({"year": "vers 2019"})[2] == {"year": fiche.from_form({"year": "x"})[2]["year"]}


# Document-sharing sites that re-host files uploaded by anyone: not the publisher, not an open archive.
MIRROR_HOST = re.compile(
    r"(?:^|\.)(?:studylib[a-z]*|pdfslide|scribd|everand|readkong|vdocuments?|fdocuments|pdfhall|issuu|1library|"
    r"manualzilla|moam|slideplayer|slideshare|studenta|123dok|\d+dok|docplayer|dokumen|doczz|docslib|pdfcoffee|"
    r"mafiadoc|pdfdokument|vdoc|idoc)\.[a-z.]+$")


def is_mirror_url(url: str) -> bool:
    from urllib.parse import urlparse

    return bool(MIRROR_HOST.search((urlparse(str(url)).hostname or "").rstrip(".")))


def test_mirror_urls_are_marked_and_concepts_link_their_main_source(docs):
    """A fiche's `url` is the publisher's page or an open archive; a copy on a document-sharing site is allowed only
    when none exists, marked `url_kind: miroir` (shown « copie non officielle »). Concept notes never use one."""
    assert is_mirror_url("https://p.pdfhall.com/x.html") and is_mirror_url("https://issuu.com./a/docs/b")
    assert not is_mirror_url("https://hal.archives-ouvertes.fr/hal-00390394") and not is_mirror_url("https://doi.org/10.2796/13155")
    unmarked, stale, concepts = [], [], []
    for p, (meta, _) in docs.items():
        mirror, marked = is_mirror_url(meta["url"]), meta.get("url_kind") == "miroir"
        assert meta.get("url_kind") in (None, "miroir"), f"{p}: url_kind inconnu {meta.get('url_kind')!r}"
        if meta["type"] in ("concept", "dossier") and mirror:
            concepts.append(p.name)
        elif mirror and not marked:
            unmarked.append(p.name)
        elif marked and not mirror:
            stale.append(p.name)
    assert concepts == [], f"notes de concept pointant vers un site miroir : {concepts}"
    assert unmarked == [], f"url vers un site miroir sans « url_kind: miroir » : {unmarked}"
    assert stale == [], f"« url_kind: miroir » sur une url qui n'est pas un miroir : {stale}"
