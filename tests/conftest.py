"""Shared fixtures: a tiny real corpus with known answers, real indexes built with real models, and helpers
that make real PDF, DOCX and HTML files."""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ingest import ingest
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TINY = Path(__file__).resolve().parent / "data" / "tiny"
MINILM = "all-MiniLM-L6-v2"
E5 = "multilingual-e5-small"

logging.getLogger("bm25s").setLevel(logging.WARNING)


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    dst = tmp_path / "corpus"
    shutil.copytree(TINY, dst)
    return dst


@pytest.fixture
def minilm(tmp_path) -> Settings:
    return Settings(index_dir=tmp_path / "index", model=MINILM, chunk_tokens=120, chunk_overlap=20)


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory) -> Settings:
    """The tiny corpus indexed once with MiniLM, shared read-only by the search and answer tests."""
    d = tmp_path_factory.mktemp("tiny-index")
    corpus = d / "corpus"
    shutil.copytree(TINY, corpus)
    s = Settings(index_dir=d / "index", model=MINILM, chunk_tokens=120, chunk_overlap=20)
    ingest([corpus], s)
    return s


@pytest.fixture(scope="session")
def tiny_index_e5(tmp_path_factory) -> Settings:
    d = tmp_path_factory.mktemp("tiny-index-e5")
    corpus = d / "corpus"
    shutil.copytree(TINY, corpus)
    s = Settings(index_dir=d / "index", model=E5)
    ingest([corpus], s)
    return s


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Settings:
    """The bundled corpus indexed with the default multilingual model (about two minutes on 2 cores)."""
    d = tmp_path_factory.mktemp("corpus-index")
    s = Settings(index_dir=d / "index")
    # Developers may point INNOSOC_TEST_INDEX at an index of corpus/ built earlier: it is copied, then brought
    # up to date by the same incremental ingest (which re-embeds only what changed).
    prebuilt = os.environ.get("INNOSOC_TEST_INDEX")
    if prebuilt and Path(prebuilt).is_dir():
        shutil.copytree(prebuilt, s.index_dir, ignore=shutil.ignore_patterns(".lock"))
    report = ingest([ROOT / "corpus"], s)
    assert not report.skipped, report.skipped
    return s


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download), with no background traffic."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium absent : apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def run_cli(module: str, *args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------- real files made in the tests

def make_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
        else:
            pdf.rect(20, 20, 100, 60, style="F")  # a drawing and no text: what a scan looks like to a parser
    pdf.output(str(path))
    return path


def make_docx(path: Path, heading: str, paragraphs: list[str]) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(heading, level=1)
    for p in paragraphs:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def make_html(path: Path, title: str, body_paragraphs: list[str]) -> Path:
    paras = "\n".join(f"<p>{p}</p>" for p in body_paragraphs)
    path.write_text(f"""<!doctype html><html><head><title>{title}</title>
<style>body {{ color: red }} .secret {{ display:none }}</style>
<script>var tracking = "SCRIPT_TEXT_MUST_NOT_APPEAR";</script></head>
<body><header><nav><ul><li>Accueil</li><li>MENU_TEXT_MUST_NOT_APPEAR</li></ul></nav></header>
<main><h1>{title}</h1>{paras}</main>
<footer>FOOTER_TEXT_MUST_NOT_APPEAR — mentions légales</footer></body></html>""", encoding="utf-8")
    return path
