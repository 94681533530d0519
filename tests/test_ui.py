"""End-to-end: the real app on a free port, driven in headless Chromium (Debian's, through Playwright).

Set INNOSOC_SCREENSHOTS=docs to save a screenshot of each tab (the README shows them)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.store import load_index
from rag.types import RESOURCE_TYPES, TYPE_LABELS_FR

from .conftest import CHROMIUM, ROOT, free_port

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium absent : apt-get install chromium")
SHOTS = os.environ.get("INNOSOC_SCREENSHOTS")


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"l'application s'est arrêtée : {proc.stderr.read() if proc.stderr else ''}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def server(corpus_index, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    with open(log, "w") as lf:
        proc = subprocess.Popen([sys.executable, "app.py", "--index", str(corpus_index.index_dir), "--corpus",
                                 str(ROOT / "corpus"), "--port", str(port), "--feedback",
                                 str(log.parent / "feedback.jsonl")], cwd=ROOT, stdout=lf, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_http(url, proc)
            yield url, corpus_index
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.goto(server[0])
    pg.wait_for_selector("#question textarea", timeout=60_000)
    yield pg
    ctx.close()


def shot(pg, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(SHOTS) / name), full_page=False)


def ask(pg, question: str, n_answers: int):
    pg.fill("#question textarea", question)
    pg.click("#send")
    # wait until the n-th answer is final (the placeholder says « Je cherche… »)
    pg.wait_for_function(
        """n => { const m = document.querySelectorAll('#chatbot [data-testid="bot"]');
                  return m.length >= n && !m[m.length-1].innerText.includes('Je cherche'); }""",
        arg=n_answers, timeout=240_000)  # generous: a loaded 2-core CI machine answers slowly
    bots = pg.locator('#chatbot [data-testid="bot"]')
    return bots.nth(bots.count() - 1).inner_text()


def test_question_gets_an_answer_with_citation_and_source_card(page):
    text = ask(page, "Qu'est-ce qu'un PTCE et que dit la loi de 2014 ?", 1)
    assert "[1]" in text and "Sources" in text
    page.wait_for_selector("#sources .card")
    first = page.locator("#sources .card").first
    assert first.get_attribute("data-doc-id")
    assert first.locator("mark").count() >= 1  # the supporting sentence is highlighted
    assert first.locator("a").get_attribute("href").startswith("http")
    shot(page, "discuter.png")


def test_enter_sends_and_shift_enter_adds_a_line(page):
    box = page.locator("#question textarea")
    box.fill("Qu'est-ce qu'une SCIC ?")
    box.press("Shift+Enter")
    box.press_sequentially("Qui en sont les associés ?")
    assert box.input_value() == "Qu'est-ce qu'une SCIC ?\nQui en sont les associés ?"
    page.wait_for_timeout(500)
    assert page.locator('#chatbot [data-testid="user"]').count() == 0  # Shift+Enter did not send
    box.press("Enter")
    page.wait_for_function("""() => { const m = document.querySelectorAll('#chatbot [data-testid="bot"]');
                                      return m.length == 1 && !m[0].innerText.includes('Je cherche'); }""",
                           timeout=240_000)
    assert "Qui en sont les associés" in page.locator('#chatbot [data-testid="user"]').first.inner_text()
    assert box.input_value() == ""


def test_follow_up_question_uses_the_conversation(page):
    ask(page, "Qu'est-ce que l'économie solidaire ?", 1)
    text = ask(page, "Et au Brésil ?", 2)
    assert "Recherche : économie solidaire au Brésil" in text
    assert re.search(r"\[\d\]", text)


def test_search_with_a_type_filter_shows_only_that_type(page, server):
    page.get_by_role("tab", name="Trouver une ressource").click()
    page.fill("#find-desc textarea", "une coopérative qui aide des personnes à retrouver un emploi")
    page.locator("#find-types label", has_text="Études de cas").click()
    page.click("#find-btn")
    page.wait_for_selector("#find-results .card", timeout=60_000)
    types = page.locator("#find-results .card").evaluate_all("els => els.map(e => e.dataset.type)")
    assert types and set(types) == {"etude_de_cas"}
    assert page.locator("#find-results mark").count() >= 1
    shot(page, "trouver.png")


def test_dossier_tab_counts_equal_the_index(page, server):
    _, settings = server
    docs = load_index(settings.index_dir).documents().values()
    page.get_by_role("tab", name="Le dossier").click()
    table = page.locator("#dossier-counts").inner_text()
    for t in RESOURCE_TYPES:
        n = sum(1 for d in docs if d["type"] == t)
        assert re.search(rf"{re.escape(TYPE_LABELS_FR[t])}\s+{n}\b", table), (t, n, table)
    assert "L’innovation sociale désigne une rupture" in page.locator("#dossier-intro").inner_text()
    shot(page, "dossier.png")


def test_html_in_a_question_is_shown_as_text_never_run(page):
    page.evaluate("window.__pwned = false")
    text = ask(page, '<img src=x onerror="window.__pwned=true"> Qu\'est-ce que la finance solidaire ?', 1)
    assert page.evaluate("window.__pwned") is False
    assert page.locator("#chatbot img[src='x']").count() == 0
    assert "finance solidaire" in page.locator("#chatbot").inner_text()
