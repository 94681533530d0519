"""Staff and workshop tabs end to end: the real app (`python app.py --auth … --workshop`) over the tiny corpus
indexed with MiniLM, driven in headless Chromium.

Set INNOSOC_SCREENSHOTS=docs to save the screenshots shown in the README."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ingest import ingest
from rag import fiche
from rag.handout import qr_png_data_uri
from rag.settings import Settings
from rag.store import load_index

from .conftest import CHROMIUM, MINILM, ROOT, TINY, free_port
from .test_staff import BODY

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium absent : apt-get install chromium")
SHOTS = os.environ.get("INNOSOC_SCREENSHOTS")
USER, PASSWORD = "documentaliste", "Fiches-2026!"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("staff-ui")
    corpus = d / "corpus"
    shutil.copytree(TINY, corpus)
    settings = Settings(index_dir=d / "index", model=MINILM, chunk_tokens=120, chunk_overlap=20)
    ingest([corpus], settings)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(d / "app.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--index", str(settings.index_dir), "--corpus", str(corpus),
                                 "--no-update", "--port", str(port), "--auth", f"{USER}:{PASSWORD}", "--workshop",
                                 "--feedback", str(d / "fb" / "feedback.jsonl")],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            t0 = time.time()
            while True:
                if proc.poll() is not None:
                    raise RuntimeError((d / "app.log").read_text())
                try:
                    urllib.request.urlopen(url + "/", timeout=3)
                    break
                except OSError:
                    if time.time() - t0 > 240:
                        raise
                    time.sleep(0.3)
            yield {"url": url, "corpus": corpus, "settings": settings, "port": port}
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def open_page(browser, server):
    ctx = browser.new_context(viewport={"width": 1920, "height": 1100})  # all tabs in one row at workshop zoom
    r = ctx.request.post(server["url"] + "/login", form={"username": USER, "password": PASSWORD})
    assert r.ok, r.status
    pg = ctx.new_page()
    pg.goto(server["url"] + "/")
    pg.wait_for_selector("#question textarea", timeout=60_000)
    return ctx, pg


@pytest.fixture
def page(browser, server):
    ctx, pg = open_page(browser, server)
    yield pg
    ctx.close()


def shot(pg, name):
    if SHOTS:
        pg.evaluate("document.querySelectorAll('.toast-body').forEach(e => e.remove()); window.scrollTo(0, 0)")
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(SHOTS) / name), full_page=False)


def fill_form(pg, **values):
    for name, value in values.items():
        if name in ("type", "language"):
            pg.click(f"#f-{name} input")
            pg.get_by_role("option", name=value, exact=True).click()
        else:
            pg.locator(f"#f-{name} textarea, #f-{name} input").first.fill(value)


GOOD = {"type": "Étude de cas", "title": "L'atelier vélo coopératif du quartier", "authors": "Équipe de test",
        "year": "2021", "url": "https://example.org/atelier-velo", "countries": "France",
        "topics": "vélo, réparation, économie circulaire", "sources": "https://example.org/atelier-velo",
        "body": BODY, "see_also": "scop-guide, amap-paniers"}


FINAL = r"enregistrée|retirée|corrigez|semble déjà|Erreur|Réservé|n'est pas"


def save_and_wait(pg, button="#staff-save", expect=FINAL):
    pg.evaluate("document.querySelector('#staff-status').dataset.n = (Number(document.querySelector('#staff-status')"
                ".dataset.n || 0) + 1)")
    pg.click(button)
    # done when the status shows a final message and is not the one shown before this click
    pg.wait_for_function("""re => { const s = document.querySelector('#staff-status'); const t = s.innerText;
        const done = new RegExp(re).test(t) && !t.includes('processing') && t !== s.dataset.last;
        if (done) s.dataset.last = t; return done; }""", arg=expect, timeout=120_000)
    return pg.locator("#staff-status").inner_text()


def find(pg, description):
    pg.get_by_role("tab", name="Trouver une ressource").click()
    pg.fill("#find-desc textarea", description)
    pg.evaluate("document.querySelectorAll('#find-results .card').forEach(e => e.remove())")  # no stale results
    pg.click("#find-btn")
    pg.wait_for_selector("#find-results .card", timeout=60_000)
    return pg.locator("#find-results .card").evaluate_all("els => els.map(e => e.dataset.docId)")


def test_each_invalid_field_shows_its_message(page):
    page.get_by_role("tab", name="Ajouter une ressource").click()
    fill_form(page, **dict(GOOD, year="deux mille"))
    status = save_and_wait(page)
    assert "corrigez les champs" in status
    assert "une année en chiffres" in page.locator("#err-year").inner_text()
    fill_form(page, **dict(GOOD, title="", url="example.org/velo", topics="vélo", sources="ftp://x",
                           body="Beaucoup trop court.", see_also="fiche-inconnue"))
    save_and_wait(page)
    expected = {"title": "le titre est obligatoire", "url": "http:// ou https://", "topics": "de 3 à 8 mots-clés",
                "sources": "au moins une adresse", "body": "3 mots : il en faut de 150 à 420",
                "see_also": "fiche-inconnue"}
    for name, text in expected.items():
        assert text in page.locator(f"#err-{name}").inner_text(), name
    assert not page.locator("#err-year").is_visible() and not page.locator("#err-authors").is_visible()
    shot(page, "staff-ajouter.png")


def test_valid_save_is_searchable_a_duplicate_is_warned_then_edit_and_withdraw(page, server):
    page.get_by_role("tab", name="Ajouter une ressource").click()
    fill_form(page, **GOOD)
    status = save_and_wait(page)
    assert "enregistrée" in status and "cherchable" in status, status
    doc_id = "test-2021-atelier-velo-cooperatif-quartier"
    assert (server["corpus"] / "resources" / "etude_de_cas" / f"{doc_id}.md").exists()
    assert find(page, "un atelier où réparer son vélo soi-même")[0] == doc_id  # the running app, no restart

    page.get_by_role("tab", name="Ajouter une ressource").click()
    page.click("#staff-new")
    fill_form(page, **dict(GOOD, title="L’atelier vélo coopératif du quartier.", url="https://example.org/autre"))
    status = save_and_wait(page)
    assert "semble déjà dans le corpus" in status and "Titre presque identique" in status and doc_id in status
    assert page.locator("#staff-force").is_visible()
    assert len(list((server["corpus"] / "resources" / "etude_de_cas").glob("*.md"))) == 1  # nothing written

    # edit it (type and year), then withdraw it, through the same tab
    page.click("#staff-pick input")
    page.get_by_role("option", name=re.compile(doc_id)).click()
    page.click("#staff-load")
    page.wait_for_function("t => document.querySelector('#f-title textarea, #f-title input').value === t",
                           arg=GOOD["title"], timeout=60_000)
    assert page.locator("#f-year textarea, #f-year input").first.input_value() == "2021"
    assert page.locator("#f-body textarea").input_value() == BODY
    fill_form(page, type="Publication", year="2022")
    status = save_and_wait(page)
    assert "enregistrée" in status, status
    assert (server["corpus"] / "resources" / "publication" / f"{doc_id}.md").exists()
    assert not (server["corpus"] / "resources" / "etude_de_cas" / f"{doc_id}.md").exists()
    assert fiche.read(server["corpus"] / "resources" / "publication" / f"{doc_id}.md")[0]["year"] == 2022
    status = save_and_wait(page, "#staff-withdraw", expect="retirée du corpus")
    assert "retirée" in status, status
    assert doc_id not in load_index(server["settings"].index_dir).documents()
    assert doc_id not in find(page, "un atelier où réparer son vélo soi-même")


def test_two_staff_saving_at_once_lose_nothing(browser, server):
    pages = [open_page(browser, server) for _ in range(2)]
    for n, (_, pg) in enumerate(pages, start=1):
        pg.get_by_role("tab", name="Ajouter une ressource").click()
        fill_form(pg, **dict(GOOD, title=f"Repair café numéro {n} des habitants", url=f"https://example.org/rc{n}"))
    # both clicks land before either save finishes (each save re-indexes for a few seconds)
    for _, pg in pages:
        pg.click("#staff-save")
    for _, pg in pages:
        pg.wait_for_function("() => document.querySelector('#staff-status').innerText.includes('enregistrée')",
                             timeout=180_000)
    ids = {d["id"] for d in load_index(server["settings"].index_dir).documents().values()}
    assert {"test-2021-repair-cafe-numero-1-habitants", "test-2021-repair-cafe-numero-2-habitants"} <= ids
    for ctx, _ in pages:
        ctx.close()


def ask(pg, question: str, n: int) -> str:
    pg.get_by_role("tab", name="Discuter").click()
    pg.fill("#question textarea", question)
    pg.click("#send")
    pg.wait_for_function(
        """n => { const m = document.querySelectorAll('#chatbot [data-testid="bot"]');
                  return m.length >= n && !m[m.length-1].innerText.includes('Je cherche'); }""", arg=n, timeout=120_000)
    bots = pg.locator('#chatbot [data-testid="bot"]')
    return bots.nth(bots.count() - 1).inner_text()


def test_gap_list_and_session_handout_from_a_scripted_session(page, server, tmp_path):
    ask(page, "Qu'est-ce qu'une SCOP ?", 1)
    ask(page, "Comment financer une ferme éolienne citoyenne ?", 2)
    ask(page, "Comment financer un parc éolien citoyen ?", 3)
    page.locator("#comment-box").click()
    page.fill("#comment textarea", "Rien sur l'énergie citoyenne")
    page.click("#comment-send")
    page.wait_for_function("() => document.querySelector('#comment textarea').value === ''", timeout=30_000)

    page.get_by_role("tab", name="Questions sans réponse").click()
    page.click("#gaps-refresh")
    page.wait_for_selector("#gaps-list tr.gap", timeout=60_000)
    rows = page.locator("#gaps-list tr.gap").all_inner_texts()
    assert len(rows) == 1 and "éolien" in rows[0] and "Rien sur l'énergie citoyenne" in rows[0], rows
    assert re.search(r"\t2\t2\t1\t", rows[0]), rows  # asked twice, twice unanswered, one 👎 (the comment)
    with page.expect_download() as dl:
        page.click("#gaps-export")
    csv_text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "Rien sur l'énergie citoyenne" in csv_text
    shot(page, "staff-questions.png")

    page.get_by_role("tab", name="Atelier").click()
    join = page.locator("#join-box")
    assert f"http://127.0.0.1:{server['port']}/" in join.inner_text() and "--host 0.0.0.0" in join.inner_text()
    assert page.locator("#join-qr").get_attribute("src") == qr_png_data_uri(f"http://127.0.0.1:{server['port']}/")
    page.click("#session-export")
    page.wait_for_selector("#session-files a", timeout=60_000)
    names = page.locator("#session-files a").evaluate_all("els => els.map(e => e.href)")
    assert any(n.endswith(".md") for n in names) and any(n.endswith(".pdf") for n in names), names
    preview = page.locator("#session-preview").inner_text()
    assert "1. Qu'est-ce qu'une SCOP ?" in preview and "Guide des sociétés coopératives et participatives" in preview
    shot(page, "atelier.png")
