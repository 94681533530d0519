"""Staff workflows without a browser: add / edit / withdraw a fiche with an incremental index update, the gap
list from a scripted session, the multi-instance feedback store, and the workshop handout (Markdown + PDF
rendered to images by poppler's pdftoppm)."""
from __future__ import annotations

import multiprocessing as mp
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest
from rag import fiche
from rag.editor import CorpusEditor
from rag.feedback import FeedbackStore, gaps_csv
from rag.handout import handout_markdown, handout_pdf, join_url, qr_png_data_uri, typo_fr
from rag.settings import Settings
from rag.store import load_index

from .conftest import MINILM, TINY

# A made-up test resource (example.org): about 170 words about a fictitious bicycle repair cooperative.
BODY = ("L'atelier coopératif de réparation de vélos est une association de quartier où les habitants "
        "apprennent à entretenir eux-mêmes leur bicyclette. Des bénévoles prêtent les outils, montrent les "
        "gestes et récupèrent des vélos abandonnés pour leur donner une seconde vie. ") * 4 + (
        "Cette fiche de test décrit le fonctionnement de l'atelier : adhésion à prix libre, permanences "
        "hebdomadaires, partenariats avec la mairie et les bailleurs sociaux, formation de jeunes en insertion. "
        "Les résultats mesurés portent sur le nombre de vélos remis en circulation et sur les adhérents formés.")


def form(**over) -> dict:
    values = {"type": "etude_de_cas", "title": "L'atelier vélo coopératif du quartier", "authors": "Équipe de test",
              "year": "2021", "language": "fr", "url": "https://example.org/atelier-velo", "publisher": "",
              "countries": "France", "topics": "vélo, réparation, économie circulaire",
              "sources": "https://example.org/atelier-velo", "body": BODY, "see_also": "scop-guide, amap-paniers"}
    values.update(over)
    return values


@pytest.fixture(scope="module")
def tiny_built(tmp_path_factory):
    d = tmp_path_factory.mktemp("staff-base")
    shutil.copytree(TINY, d / "work" / "corpus")
    # isolate=False: parsing in a worker process is tested elsewhere; here it would only add seconds per save
    settings = Settings(index_dir=d / "work" / "index", model=MINILM, chunk_tokens=120, chunk_overlap=20,
                        isolate=False)
    ingest([d / "work" / "corpus"], settings)
    shutil.copytree(d / "work", d / "pristine", ignore=shutil.ignore_patterns(".lock"))
    return d, settings


@pytest.fixture
def staffed(tiny_built, tmp_path):
    """The tiny corpus and its MiniLM index, reset for each test, and the app over them (real index, model)."""
    from app import InnosocApp

    base, settings = tiny_built
    # same paths every time: the index keys files by path, so the reset copy needs no re-embedding
    shutil.rmtree(base / "work")
    shutil.copytree(base / "pristine", base / "work")
    app = InnosocApp(settings, feedback_path=tmp_path / "fb" / "feedback.jsonl", corpus_dir=base / "work" / "corpus")
    return app, base / "work" / "corpus", settings


def test_valid_save_writes_the_fiche_embeds_only_it_and_is_searchable_at_once(staffed):
    from rag.staff_ui import StaffForm

    app, corpus, settings = staffed
    assert not app.find("atelier de réparation de vélos")[0].chunk.doc_id.startswith("test-")
    before = load_index(settings.index_dir).manifest["files"]
    kind, msg, extra = StaffForm(app).submit(form(), None, None, False)
    assert kind == "saved", (msg, extra)
    doc_id = extra["_id"]
    assert doc_id == "test-2021-atelier-velo-cooperatif-quartier"  # first author's last word, year, title
    path = corpus / "resources" / "etude_de_cas" / f"{doc_id}.md"
    meta, body = fiche.read(path)
    assert meta["title"] == "L'atelier vélo coopératif du quartier" and fiche.see_also(body) == ["scop-guide", "amap-paniers"]
    after = load_index(settings.index_dir).manifest["files"]
    assert set(after) - set(before) == {str(path.resolve())}
    assert all(after[k]["sha256"] == v["sha256"] for k, v in before.items())  # the others were reused as is
    hits = app.find("atelier de réparation de vélos")
    assert hits[0].chunk.doc_id == doc_id  # the running app sees it: reload_index swapped the retriever
    assert doc_id in app.docs


def test_invalid_fields_each_get_their_message_and_nothing_is_written(staffed):
    from rag.staff_ui import StaffForm

    app, corpus, _ = staffed
    kind, _, errors = StaffForm(app).submit(
        form(title="", url="example.org", year="deux mille", topics="vélo", sources="", body="Trop court.",
             see_also="inexistante"), None, None, False)
    assert kind == "invalid" and set(errors) == {"year"}  # the year cannot even be read: said first
    kind, _, errors = StaffForm(app).submit(
        form(title="", url="example.org", topics="vélo", sources="", body="Trop court.", see_also="inexistante",
             language=""), None, None, False)
    assert kind == "invalid"
    assert set(errors) == {"title", "url", "topics", "sources", "body", "see_also", "language"}
    assert "2 mots" in errors["body"] and "inexistante" in errors["see_also"]
    assert not (corpus / "resources").exists()


def test_duplicate_url_or_title_warns_before_saving_then_saves_when_confirmed(staffed):
    from rag.staff_ui import StaffForm

    app, corpus, _ = staffed
    f = StaffForm(app)
    kind, msg, _ = f.submit(form(url="https://example.org/scop/"), None, None, False)
    assert kind == "duplicate" and "Même lien que « Guide des sociétés coopératives et participatives »" in msg
    kind, msg, _ = f.submit(form(title="Guide des sociétés coopératives et participatives !"), None, None, False)
    assert kind == "duplicate" and "Titre presque identique" in msg and "scop-guide" in msg
    assert not (corpus / "resources").exists()
    kind, msg, extra = f.submit(form(url="https://example.org/scop/"), None, None, True)
    assert kind == "saved" and (corpus / "resources" / "etude_de_cas" / f"{extra['_id']}.md").exists()


def test_edit_detects_concurrent_changes_and_withdraw_keeps_a_copy(staffed):
    from rag.staff_ui import StaffForm

    app, corpus, settings = staffed
    f = StaffForm(app)
    _, _, extra = f.submit(form(), None, None, False)
    doc_id = extra["_id"]
    path = corpus / "resources" / "etude_de_cas" / f"{doc_id}.md"
    meta, body = fiche.read(path)
    fiche.atomic_write(path, fiche.render(dict(meta, url_kind="miroir"), body))  # a key the form does not show
    values, version = f.load(doc_id)
    assert values["body"] == BODY and values["see_also"] == "scop-guide, amap-paniers" and values["year"] == "2021"
    kind, _, _ = f.submit(dict(values, type="publication", year="2022"), doc_id, version, False)
    assert kind == "saved"
    assert not (corpus / "resources" / "etude_de_cas" / f"{doc_id}.md").exists()  # moved with its type
    assert app.docs[doc_id]["type"] == "publication" and app.docs[doc_id]["year"] == 2022
    assert fiche.read(corpus / "resources" / "publication" / f"{doc_id}.md")[0]["url_kind"] == "miroir"
    kind, _, errors = f.submit(dict(values, year="2023"), doc_id, version, False)  # stale version
    assert kind == "conflict" and "modifiée par quelqu'un d'autre" in errors["id"]
    kind, _, errors = f.withdraw("scop-guide", None)  # other fiches link to it
    assert kind == "invalid" and doc_id in errors["see_also"]
    _, version = f.load(doc_id)
    kind, msg, _ = f.withdraw(doc_id, version)
    assert kind == "withdrawn"
    assert (corpus / ".retirees" / "resources" / "publication" / f"{doc_id}.md").exists()
    assert doc_id not in app.docs and doc_id not in load_index(settings.index_dir).documents()
    assert all(h.chunk.doc_id != doc_id for h in app.find("atelier de réparation de vélos"))


def test_two_staff_saving_at_once_lose_nothing(staffed):
    app, corpus, settings = staffed
    editor = CorpusEditor(corpus, settings)
    results = []

    def save(n):
        meta, body, _ = fiche.from_form(form(title=f"Atelier numéro {n} de réparation", url=f"https://example.org/v{n}"))
        results.append(editor.save(meta, body, docs=app.docs, confirm_duplicate=True))

    threads = [threading.Thread(target=save, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in results] == ["saved", "saved"]
    ids = {r.doc_id for r in results}
    assert len(ids) == 2 and ids <= set(load_index(settings.index_dir).documents())


# ------------------------------------------------------------------------------------------------ gaps

def test_gap_list_from_a_scripted_session(staffed, tmp_path):
    from app import Conversation

    app, _, _ = staffed
    script = ["Comment financer une ferme éolienne citoyenne ?", "Comment financer un parc éolien citoyen ?",
              "Quel est le statut juridique d'une SCOP ?", "Quelle est la recette de la tarte tatin ?"]
    convs = []
    for q in script:
        conv = Conversation()
        ans, _ = app.ask(q, conv)
        convs.append((conv, ans))
    found = {q: a.found for q, (_, a) in zip(script, convs)}
    assert found[script[2]] and not found[script[0]] and not found[script[1]] and not found[script[3]]
    conv_scop = convs[2][0]
    app.record_feedback(conv_scop, conv_scop.turns[0]["id"], liked=False)  # 👎 on an answered question
    app.gaps.comment(conv_scop.turns[0]["id"], conv_scop.turns[0]["question"], "Il manque la loi de 1978.")
    app.record_feedback(convs[3][0], convs[3][0].turns[0]["id"], liked=False)  # 👎 on an unanswered one: still one turn
    app.record_feedback(convs[3][0], convs[3][0].turns[0]["id"], liked=True)   # changed their mind: the 👍 replaces the 👎
    gaps = app.gaps.gaps(app.retriever.embedder)
    by_q = {g.question: g for g in gaps}
    wind = [g for g in gaps if "éolien" in g.question]
    assert len(wind) == 1 and wind[0].count == 2 and wind[0].not_found == 2 and len(wind[0].variants) == 2
    assert by_q[script[2]].down == 1 and by_q[script[2]].comments == ["Il manque la loi de 1978."]
    assert by_q[script[3]].count == 1 and by_q[script[3]].down == 0
    assert gaps[0] is wind[0]  # most asked first
    text = gaps_csv(gaps, tmp_path / "gaps.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("question,fois,je n'ai pas trouvé,votes 👎")
    assert "Il manque la loi de 1978." in text and text.count("\n") == len(gaps) + 1


def _writer(path: str, n: int, k: int) -> None:
    store = FeedbackStore(Path(path))
    for i in range(k):
        store.record("not_found", f"question {n}-{i}")


def test_several_instances_write_the_store_at_once_and_old_records_expire(tmp_path):
    path = tmp_path / "questions.sqlite3"
    FeedbackStore(path)
    procs = [mp.get_context("spawn").Process(target=_writer, args=(str(path), n, 50)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    store = FeedbackStore(path, retention_days=30)
    assert len(store.events()) == 150
    store.record("not_found", "très ancienne", at=time.time() - 31 * 86400)
    assert all(e["question"] != "très ancienne" for e in store.events())
    cols = {r[1] for r in store._conn().execute("PRAGMA table_info(events)")}
    assert cols == {"id", "at", "kind", "question", "comment", "turn_id"}  # nothing personal is kept


# ------------------------------------------------------------------------------------------------ handout

def test_handout_markdown_and_pdf_pages(staffed, tmp_path):
    from app import Conversation

    app, _, _ = staffed
    conv = Conversation()
    app.ask("Qu'est-ce qu'une SCOP ?", conv)
    app.ask("What is microcredit and the Grameen Bank?", conv)
    app.ask("Quelle est la recette de la tarte tatin ?", conv)
    turns = app.session.turns()
    assert [t.question for t in turns] == ["Qu'est-ce qu'une SCOP ?", "What is microcredit and the Grameen Bank?",
                                           "Quelle est la recette de la tarte tatin ?"]
    md = handout_markdown(turns)
    assert md.startswith("# Séance innosoc — ") and "3 questions posées" in md
    assert "## 1. Qu'est-ce qu'une SCOP ?" in md and "## 3. Quelle est la recette" in md
    first = md.split("## 2.")[0]
    # the SCOP guide is among the numbered sources, with its authors, year, type and link (its number depends
    # on the answer's sentence order)
    assert re.search(r"^\d\. Guide des sociétés coopératives et participatives — Équipe de test \(2015\), "
                     r"Publication <https://example.org/scop>$", first, re.M), first
    n = max(int(x) for x in re.findall(r"^(\d)\. ", first, re.M))
    assert all(f"[{i}]" in first for i in range(1, n + 1))  # every listed source is cited in the answer
    assert "[1]" in md.split("## 2.")[0]
    assert "<https://example.org/grameen>" in md.split("## 2.")[1]
    assert "**Ressources proches**" in md.split("## 3.")[1]  # the unanswered turn lists what it suggested

    pdf = handout_pdf(turns * 4, tmp_path / "seance.pdf")  # 12 turns: more than one page
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 2
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Qu’est-ce qu’une SCOP\u202f?" in text  # typographic apostrophe and narrow space before ?
    assert "Grameen Bank?" in text  # an English question keeps English spacing
    assert "Équipe de test" in text and "sociétés coopératives" in text
    links = [a.get_object()["/A"]["/URI"] for p in reader.pages for a in p.get("/Annots") or []]
    assert "https://example.org/scop" in links and "https://example.org/grameen" in links
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm absent : apt-get install poppler-utils")
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(tmp_path / "page")], check=True)
    from PIL import Image

    pages = sorted(tmp_path.glob("page-*.pgm"))
    assert len(pages) == len(reader.pages)
    for i, p in enumerate(pages):
        img = np.asarray(Image.open(p))
        assert img.shape[0] > img.shape[1]  # A4 portrait
        ink = (img < 128).mean()
        # text was drawn (a missing font gives blank pages or boxes); the last page may hold only a few lines
        assert (0.01 if i == 0 else 0.001) < ink < 0.3, (p, ink)
        top = (img[: img.shape[0] // 8] < 128).mean()
        assert top > 0.002  # the text starts at the top of every page
    if os.environ.get("INNOSOC_SCREENSHOTS"):  # the README shows the first page
        out = Path(os.environ["INNOSOC_SCREENSHOTS"]) / "seance-pdf"
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out)],
                       check=True)


def test_french_typography_and_join_address():
    assert typo_fr("Qu'est-ce ? « oui » : voir https://x.org/a?b=c:d !") == \
        "Qu’est-ce\u202f? «\u00a0oui\u00a0»\u00a0: voir https://x.org/a?b=c:d\u202f!"
    url, warn = join_url("127.0.0.1", 7860)
    assert url == "http://127.0.0.1:7860/" and "--host 0.0.0.0" in warn
    url, _ = join_url("0.0.0.0", 8000)
    assert url.startswith("http://") and url.endswith(":8000/")
    assert qr_png_data_uri("http://10.0.0.5:7860/").startswith("data:image/png;base64,")


def test_staff_tabs_exist_only_with_accounts(staffed):
    from app import build_ui
    from rag.staff_ui import staff_accounts

    app, _, _ = staffed
    assert staff_accounts(None, None) is None  # no accounts: no staff tabs at all
    assert staff_accounts(("doc", "pw"), None) == {"doc"}
    assert staff_accounts([("doc", "pw"), ("eleve", "pw2")], None) == set()
    assert staff_accounts([("doc", "pw"), ("eleve", "pw2")], "doc, inconnu") == {"doc"}

    def tabs(demo):
        return {c.get("props", {}).get("label") for c in demo.config["components"] if c.get("type") == "tabitem"}

    assert {"Ajouter une ressource", "Questions sans réponse", "Atelier"} & tabs(build_ui(app)) == set()
    assert {"Ajouter une ressource", "Questions sans réponse"} <= tabs(build_ui(app, staff={"doc"}))
    assert "Atelier" in tabs(build_ui(app, workshop=True))


def test_status_stamps_differ_even_within_one_second():
    """Two saves in the same second (a quick correction after an error) must not show the same status: the
    staff UI test waited forever on CI when the second « corrigez les champs » message equalled the first."""
    from rag.staff_ui import stamp
    stamps = [stamp() for _ in range(200)]  # far quicker than a second
    assert len(set(stamps)) == len(stamps)
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d( \(\d+\))?", s) for s in stamps)
