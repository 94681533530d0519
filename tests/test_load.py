"""Loaders on real files made in the tests: every format, metadata, and every kind of bad file."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.load import load
from rag.errors import LoaderError

from .conftest import make_docx, make_html, make_pdf


def _load(path: Path):
    return load(path, str(path), path.read_bytes())


def test_markdown_front_matter_is_carried(tiny_corpus):
    doc = _load(tiny_corpus / "sol-violette.md")
    assert doc.id == "sol-violette"
    assert doc.meta["type"] == "etude_de_cas" and doc.meta["year"] == 2011 and doc.meta["language"] == "fr"
    assert doc.meta["authors"] == ["Équipe de test"] and doc.meta["countries"] == ["France"]
    assert doc.sections[0].heading == "Le Sol-violette, monnaie complémentaire de Toulouse"
    assert "comité d'agrément à quatre collèges" in doc.text
    assert "---" not in doc.text and "#" not in doc.text


def test_markdown_without_front_matter_takes_heading_and_detects_language(tmp_path):
    p = tmp_path / "note_libre.md"
    p.write_text("# Economía solidaria en Argentina\n\nLas empresas recuperadas por sus trabajadores se "
                 "organizan en cooperativas y mantienen el empleo en los barrios.\n", encoding="utf-8")
    doc = _load(p)
    assert doc.meta["title"] == "Economía solidaria en Argentina"
    assert doc.meta["language"] == "es"
    assert doc.id == "note-libre" and doc.meta["type"] == "document"


def test_markdown_links_and_emphasis_are_stripped(tmp_path):
    p = tmp_path / "links.md"
    p.write_text("# Titre\n\nUne **SCOP** est décrite dans [le guide](http://x.org) et [[scic|la note SCIC]].\n",
                 encoding="utf-8")
    assert "Une SCOP est décrite dans le guide et la note SCIC." in _load(p).text


def test_voir_aussi_line_becomes_metadata_not_text(tmp_path):
    p = tmp_path / "fiche.md"
    p.write_text("# Titre\n\nLes coopératives de production.\n\nVoir aussi : [[scop]], [[ptce]]\n", encoding="utf-8")
    doc = _load(p)
    assert doc.meta["see_also"] == ["scop", "ptce"]
    assert "Voir aussi" not in doc.text and "ptce" not in doc.text


def test_text_in_cp1252_is_decoded(tmp_path):
    p = tmp_path / "ancien.txt"
    p.write_bytes("Économie solidaire : l’entraide d’abord.\n\nDeuxième paragraphe – fin.".encode("cp1252"))
    doc = _load(p)
    assert doc.meta["title"] == "Économie solidaire : l’entraide d’abord."
    assert "Deuxième paragraphe – fin." in doc.text


def test_text_in_latin1_is_decoded(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("Coopérative agricole à Rennes, créée en été.".encode("latin-1"))
    assert "Coopérative agricole à Rennes" in _load(p).text


def test_pdf_keeps_page_numbers(tmp_path):
    p = make_pdf(tmp_path / "rapport.pdf", ["Premiere page sur les cooperatives de production.",
                                            "Deuxieme page sur la finance solidaire et les cigales."],
                 title="Rapport de test")
    doc = _load(p)
    assert doc.meta["title"] == "Rapport de test"
    assert [s.page for s in doc.sections] == [1, 2]
    assert "finance solidaire" in doc.sections[1].text


def test_html_keeps_main_text_only(tmp_path):
    p = make_html(tmp_path / "page.html", "Les monnaies locales", [
        "Une monnaie locale complémentaire circule dans un territoire défini.",
        "Elle est gérée par une association citoyenne."])
    doc = _load(p)
    assert doc.meta["title"] == "Les monnaies locales"
    assert "gérée par une association citoyenne" in doc.text
    for leaked in ("SCRIPT_TEXT", "MENU_TEXT", "FOOTER_TEXT", "color: red"):
        assert leaked not in doc.text


def test_docx_headings_and_paragraphs(tmp_path):
    p = make_docx(tmp_path / "fiche.docx", "Les tiers-lieux ruraux",
                  ["Un tiers-lieu rural associe atelier partagé et café associatif.", "Second paragraphe."])
    doc = _load(p)
    assert doc.meta["title"] == "Les tiers-lieux ruraux"
    assert doc.sections[0].heading == "Les tiers-lieux ruraux"
    assert "atelier partagé" in doc.text


@pytest.mark.parametrize("name,content,reason", [
    ("vide.md", b"", "vide"),
    ("blancs.txt", b"   \n\n  ", "vide"),
    ("binaire.txt", bytes(range(256)) * 20, "binaire"),
    ("casse.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nthis is not a pdf at all", "PDF"),
    ("casse.docx", b"PK\x03\x04 not really a zip", "DOCX"),
    ("yaml.md", b"---\ntitle: [unclosed\n---\n# T\n\ntexte", "YAML"),
    ("ouvert.md", b"---\ntitle: x\n# no closing line\n", "YAML"),
    ("image.png", b"\x89PNG\r\n\x1a\n", "format non pris en charge"),
])
def test_bad_files_raise_loader_error_with_reason(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(LoaderError) as e:
        _load(p)
    assert reason in e.value.reason
    assert name in str(e.value)


def test_image_only_pdf_says_it_needs_ocr(tmp_path):
    p = make_pdf(tmp_path / "scan.pdf", ["", ""])
    with pytest.raises(LoaderError, match="OCR"):
        _load(p)


def test_encrypted_pdf_is_refused(tmp_path):
    from pypdf import PdfReader, PdfWriter

    src = make_pdf(tmp_path / "clair.pdf", ["Texte secret sur la gouvernance."])
    w = PdfWriter()
    for page in PdfReader(src).pages:
        w.add_page(page)
    w.encrypt(user_password="motdepasse", algorithm="RC4-128")
    enc = tmp_path / "chiffre.pdf"
    with open(enc, "wb") as f:
        w.write(f)
    with pytest.raises(LoaderError, match="chiffré"):
        _load(enc)


@pytest.mark.parametrize("given,code", [
    ("fr", "fr"), ("FR", "fr"), ("French", "fr"), ("français", "fr"), ("Français", "fr"), ("fr-FR", "fr"),
    ("fr_CA", "fr"), ("fra", "fr"), ("francés", "fr"), ("English", "en"), ("anglais", "en"), ("EN", "en"),
    ("Español", "es"), ("espagnol", "es"), ("Spanish", "es"), ("castellano", "es"), ("pt-BR", "pt"),
    ("Português", "pt"), ("portugais", "pt"), ("Italiano", "it"), ("italien", "it"),
])
def test_front_matter_language_is_normalised_to_its_iso_code(tmp_path, given, code):
    p = tmp_path / "fiche.md"
    p.write_text(f"---\nid: fiche\nlanguage: {given}\n---\n# Fiche\n\nUn texte court sur les coopératives.\n",
                 encoding="utf-8")
    assert _load(p).meta["language"] == code


def test_an_unknown_language_name_falls_back_to_detection_with_a_warning(tmp_path, caplog):
    p = tmp_path / "fiche.md"
    p.write_text("---\nid: fiche\nlanguage: klingon\n---\n# Fiche\n\nLes coopératives d'habitants se "
                 "multiplient dans les villes françaises depuis une dizaine d'années.\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        assert _load(p).meta["language"] == "fr"
    assert "klingon" in caplog.text
