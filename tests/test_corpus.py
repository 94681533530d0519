"""The bundled corpus: schema, allowed types, unique ids, sources, word counts, « Voir aussi » links, counts."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from rag.types import RESOURCE_TYPES

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
REQUIRED = ("id", "title", "type", "authors", "year", "language", "url", "publisher", "countries", "topics", "sources")
FILES = sorted(p for p in CORPUS.rglob("*.md") if p.name != "README.md")


def parse(path: Path):
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    assert m, f"{path}: front matter manquant"
    return yaml.safe_load(m.group(1)), m.group(2)


def body_words(body: str) -> int:
    body = re.sub(r"^#.*$", "", body, flags=re.M)
    body = re.sub(r"^Voir aussi.*$", "", body, flags=re.M)
    return len(body.split())


@pytest.fixture(scope="module")
def docs():
    return {p: parse(p) for p in FILES}


def test_every_file_has_the_schema(docs):
    for p, (meta, _) in docs.items():
        missing = [k for k in REQUIRED if k not in meta]
        assert not missing, f"{p}: champs manquants {missing}"
        assert meta["url"] and str(meta["url"]).startswith("http"), p
        assert meta["sources"] and all(str(s).startswith("http") for s in meta["sources"]), p
        assert meta["language"] in ("fr", "en", "es", "pt", "it"), p
        assert isinstance(meta["authors"], list) and isinstance(meta["topics"], list) and meta["topics"], p
        assert meta["year"] is None or 1800 < int(meta["year"]) <= 2026, p


def test_types_and_folders_agree(docs):
    for p, (meta, _) in docs.items():
        rel = p.relative_to(CORPUS).parts
        if rel[0] == "resources":
            assert meta["type"] in RESOURCE_TYPES and rel[1] == meta["type"], p
        elif rel[0] == "concepts":
            assert meta["type"] == "concept", p
        else:
            assert rel[0] == "dossier" and meta["type"] == "dossier", p
        assert p.stem == meta["id"] or rel[0] == "dossier", f"{p}: le nom du fichier doit être l'id"


def test_ids_are_unique(docs):
    ids = Counter(meta["id"] for meta, _ in docs.values())
    assert [i for i, n in ids.items() if n > 1] == []


def test_word_counts(docs):
    for p, (meta, body) in docs.items():
        n = body_words(body)
        if meta["type"] == "concept":
            assert 300 <= n <= 700, f"{p}: {n} mots (300–700 attendus)"
        elif meta["type"] in RESOURCE_TYPES:
            assert 150 <= n <= 420, f"{p}: {n} mots (150–400 attendus)"


def test_non_french_resources_have_a_summary_in_their_language(docs):
    label = {"en": "Résumé (en)", "es": "Resumen (es)", "pt": "Resumo (pt)", "it": "Riassunto (it)"}
    for p, (meta, body) in docs.items():
        if meta["type"] in RESOURCE_TYPES and meta["language"] != "fr":
            assert label[meta["language"]] in body, p


def test_voir_aussi_links_resolve(docs):
    ids = {meta["id"] for meta, _ in docs.values()}
    for p, (meta, body) in docs.items():
        if meta["type"] == "dossier":
            continue
        lines = [ln for ln in body.strip().splitlines() if ln.strip()]
        assert lines[-1].startswith("Voir aussi"), f"{p}: « Voir aussi » doit être la dernière ligne"
        links = re.findall(r"\[\[([^\]]+)\]\]", lines[-1])
        assert links, p
        assert not set(links) - ids, f"{p}: liens morts {set(links) - ids}"


def test_counts_per_type(docs, capsys):
    counts = Counter(meta["type"] for meta, _ in docs.values())
    with capsys.disabled():
        print("\nCorpus :", dict(sorted(counts.items())))
    assert counts["concept"] >= 25 and counts["dossier"] == 1
    assert {t: counts[t] for t in RESOURCE_TYPES} == {
        "publication": 24, "these": 3, "video": 2, "outil_pedagogique": 4, "etude_de_cas": 11,
        "document_analyse": 41, "intervention_publique": 27, "article": 5}


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
