"""HTML main text on the page shapes of real CMSs (tests/data/html/, written for these tests after the markup
of WordPress, Drupal, SPIP, OpenEdition Journals and HAL pages): the article's text with its headings, none of
the menus, breadcrumbs, sidebars, comments and footers around it."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.load import load

PAGES = Path(__file__).resolve().parent / "data" / "html"

# (file, expected title, passages that must be read, expected section headings in order)
CASES = {
    "wordpress-no-sidebar.html": (
        "Les Scic en 2023 – Le blog de l'ESS",
        ["associent salariés, usagers et collectivités locales", "collèges de vote définis par les statuts",
         "Les bénéficiaires de ses services.", "réserves impartageables"],
        ["Les Scic en 2023", "Une gouvernance multi-sociétariale"]),
    "drupal.html": (
        "Monnaies locales : bilan d'une décennie | Réseau ESS Occitanie",
        ["une quarantaine de monnaies locales complémentaires", "soutient les commerces indépendants",
         "régler certains services publics"],
        ["Monnaies locales : bilan d'une décennie", "Des usages encore modestes"]),
    "spip.html": (
        "Les régies de quartier - Centre de ressources ESS",
        ["associe habitants, bailleurs sociaux et collectivités", "travaux d'entretien des parties communes",
         "renforcer le lien social"],
        ["Les régies de quartier", "Un projet politique"]),
    "openedition.html": (
        "L'économie solidaire, un cadre théorique pluriel",
        ["un cadre d'analyse pluriel plutôt que comme un secteur", "marché, redistribution et réciprocité",
         "ressources marchandes, subventions publiques et bénévolat"],
        ["Résumé", "Introduction", "Une approche plurielle"]),
    "hal.html": (
        "Innovation sociale et territoires - Archive ouverte HAL",
        ["s'ancrent dans les territoires ruraux", "douze études de cas"],
        ["Résumé"]),
    "megamenu.html": (
        "Les AMAP en Île-de-France",
        ["un contrat de saison payé d'avance", "un panier de légumes"],
        ["Les AMAP en Île-de-France"]),
}


def _load(name: str, data: bytes | None = None):
    path = PAGES / name
    return load(path, str(path), data if data is not None else path.read_bytes())


@pytest.mark.parametrize("name", list(CASES))
def test_cms_page_gives_its_main_text_and_headings_only(name):
    title, passages, headings = CASES[name]
    doc = _load(name)
    assert doc.meta["title"] == title
    for p in passages:
        assert p in doc.text, (p, doc.text[:300])
    got = [s.heading for s in doc.sections]
    assert [h for h in dict.fromkeys(got) if h in headings] == headings, got
    assert "MUST_NOT_APPEAR" not in doc.text, doc.text
    assert "\\_" not in doc.text  # no Markdown escapes in quoted text


def test_body_class_no_sidebar_no_longer_empties_the_page():
    doc = _load("wordpress-no-sidebar.html")
    assert len(doc.text) > 300 and doc.text != doc.meta["title"]


def test_a_page_of_lists_only_is_still_read_by_the_fallback(tmp_path):
    items = "".join(f"<li>Coopérative numéro {i} : coordonnées et statut juridique</li>" for i in range(30))
    page = f"<html><head><title>Annuaire</title></head><body><ul>{items}</ul></body></html>".encode()
    doc = _load("annuaire.html", page)
    assert all(f"Coopérative numéro {i} :" in doc.text for i in range(30))


def test_a_page_wrapped_in_one_form_keeps_its_text():
    page = ("<html><head><title>Portail</title></head><body><form id='aspnetForm' method='post'>"
            "<div class='menu'><a>MENU_TEXT_MUST_NOT_APPEAR</a></div><h1>Les épiceries solidaires</h1>"
            "<p>Une épicerie solidaire vend des produits à prix réduits à des personnes orientées par les "
            "services sociaux.</p><p>Elle propose aussi des ateliers de cuisine et un accompagnement.</p>"
            "</form></body></html>").encode()
    doc = _load("portail.html", page)
    assert "prix réduits" in doc.text and "ateliers de cuisine" in doc.text
    assert "MUST_NOT_APPEAR" not in doc.text
