"""Hostile and broken input: every file is made here, parsed in the isolated worker, and costs at most itself.

Broken PDFs (cross-reference table, encryption, no text, 2,000 pages), a DOCX zip bomb, huge single-line
texts, 100,000 nested <div>, invalid UTF-8, files that vanish or change during an ingest, symbolic links,
awkward file names — and the isolation mechanism itself: a parser that hangs, aborts, segfaults or allocates
without end is stopped, reported, and the next file is parsed by a fresh worker.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest

from ingest import ingest
from ingest.chunk import chunk_document
from ingest.isolate import Parser, Worker, WorkerCrashed, WorkerMemoryError, WorkerTimeout, crash_reason
from rag.errors import LoaderError
from rag.settings import Settings
from rag.store import load_index

from .conftest import MINILM, make_docx, make_pdf

PAGE = b"BT /F1 12 Tf 72 720 Td (Page %PAGE% sur les cooperatives de production) Tj ET"
# ~1.5 s of pypdf text extraction per page: 2,000 such pages would take most of an hour
HEAVY_PAGE = b"BT /F1 12 Tf 72 720 Td " + b"(mot) Tj 1 0 Td " * 20000 + b"ET"


def raw_pdf(n_pages: int, content: bytes, shared: bool = True) -> bytes:
    """A valid PDF written by hand: `n_pages` pages drawing `content` (one shared stream, or one per page with
    %PAGE% replaced by the page number), with an exact cross-reference table."""
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    if shared:
        objs[4] = stream(content)
    kids, nxt = [], 10
    for i in range(n_pages):
        pid, nxt = nxt, nxt + 1
        if shared:
            cid = 4
        else:
            cid, nxt = nxt, nxt + 1
            objs[cid] = stream(content.replace(b"%PAGE%", str(i + 1).encode()))
        objs[pid] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                     b"/Contents %d 0 R >>" % cid)
        kids.append(pid)
    objs[2] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (n_pages, b" ".join(b"%d 0 R" % k for k in kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for oid in sorted(objs):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n" % oid + objs[oid] + b"\nendobj\n"
    size = max(objs) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for oid in range(1, size):
        out += (b"%010d 00000 n \n" % offsets[oid]) if oid in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def parse():
    """The parser ingest uses, with the default limits: one worker process for the whole module."""
    with Parser(Settings()) as p:
        yield lambda name, data: p(Path(name), name, data)


def reason(parse, name: str, data: bytes) -> str:
    with pytest.raises(LoaderError) as e:
        parse(name, data)
    assert e.value.path == name
    return e.value.reason


# ---------------------------------------------------------------- PDF

def _broken_xref(pdf: bytes, how: str) -> bytes:
    i, j = pdf.index(b"xref"), pdf.index(b"trailer")
    if how == "offsets-zero":
        return re.sub(rb"\d{10} 00000 n", b"0000000000 00000 n", pdf)
    if how == "offsets-shifted":
        return re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m.group(1)) + 7), pdf)
    if how == "table-removed":
        return pdf[:i] + pdf[j:]
    if how == "startxref-wrong":
        return re.sub(rb"startxref\n\d+", b"startxref\n999999", pdf)
    raise ValueError(how)


@pytest.mark.parametrize("how", ["offsets-zero", "offsets-shifted", "table-removed", "startxref-wrong"])
def test_pdf_with_a_malformed_cross_reference_table_is_still_read(parse, how):
    pdf = raw_pdf(3, PAGE, shared=False)
    broken = _broken_xref(pdf, how)
    assert broken != pdf
    doc = parse("xref.pdf", broken)
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert "Page 3 sur les cooperatives" in doc.sections[2].text


@pytest.mark.parametrize("how", ["garbage-table", "no-trailer", "truncated"])
def test_pdf_beyond_repair_is_skipped_with_a_reason(parse, how):
    pdf = raw_pdf(3, PAGE, shared=False)
    i, j = pdf.index(b"xref"), pdf.index(b"trailer")
    broken = {"garbage-table": pdf[:i] + b"xref\n0 zz\nthis is not a table\n" + pdf[j:],
              "no-trailer": pdf[:i], "truncated": pdf[:int(len(pdf) * 0.7)]}[how]
    assert "PDF corrompu" in reason(parse, "casse.pdf", broken)


def _encrypted(tmp_path: Path, user: str, owner: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    src = make_pdf(tmp_path / "clair.pdf", ["Texte confidentiel sur la gouvernance des Scop."])
    w = PdfWriter()
    for page in PdfReader(src).pages:
        w.add_page(page)
    w.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def test_encrypted_pdf_is_skipped_with_a_reason(parse, tmp_path):
    assert reason(parse, "chiffre.pdf", _encrypted(tmp_path, "motdepasse", "proprio")) == \
        "PDF chiffré, protégé par un mot de passe"


def test_pdf_with_only_an_owner_password_is_read(parse, tmp_path):
    # "protected" PDFs that open without a password (printing or copying restricted) are common and readable
    doc = parse("restreint.pdf", _encrypted(tmp_path, "", "proprio"))
    assert "gouvernance des Scop" in doc.text


def test_pdf_encrypted_with_aes_without_the_crypto_library_is_skipped(parse, tmp_path):
    """An AES-encrypted PDF opens with an empty password, but pypdf needs `cryptography` to decrypt its pages:
    the /Encrypt dictionary of an RC4 file is rewritten to announce AESV2 (same key derivation, revision 4)."""
    pytest.importorskip("pypdf")
    try:
        import cryptography  # noqa: F401
        pytest.skip("the cryptography package is installed: AES PDFs are readable here")
    except ImportError:
        pass
    data = _encrypted(tmp_path, "", "proprio")
    data = re.sub(rb"/V 2", b"/V 4 /CF << /StdCF << /CFM /AESV2 /Length 16 /AuthEvent /DocOpen >> >> "
                           b"/StmF /StdCF /StrF /StdCF", data, count=1)
    data = re.sub(rb"/R 3", b"/R 4", data, count=1)
    assert "PDF chiffré (algorithme non pris en charge" in reason(parse, "aes.pdf", data)


def test_image_only_pdf_says_no_text_needs_ocr(parse, tmp_path):
    drawn = raw_pdf(2, b"0.5 g 72 72 400 600 re f")  # a filled rectangle, as a scan looks to a text extractor
    assert "OCR" in reason(parse, "scan.pdf", drawn)
    assert "OCR" in reason(parse, "scan2.pdf", make_pdf(tmp_path / "scan2.pdf", ["", ""]).read_bytes())


def test_2000_page_pdf_is_refused_before_any_page_is_extracted(parse):
    """Extracting these pages would take most of an hour, far past the 60 s parse limit: the refusal can only
    say "trop long" if the page count is checked before extraction starts."""
    pdf = raw_pdf(2000, HEAVY_PAGE, shared=True)
    assert reason(parse, "annuaire.pdf", pdf) == "PDF trop long (2000 pages, limite 1500 : réglage max_pdf_pages)"


def test_2000_page_pdf_under_a_raised_limit_is_read_page_by_page():
    with Parser(Settings(max_pdf_pages=2500)) as p:
        doc = p(Path("annuaire.pdf"), "annuaire.pdf", raw_pdf(2000, PAGE, shared=False))
    assert [s.page for s in doc.sections] == list(range(1, 2001))
    assert doc.sections[1999].text == "Page 2000 sur les cooperatives de production"


# ---------------------------------------------------------------- DOCX

def _zip_bomb(src: Path, dst: Path, megabytes: int) -> Path:
    """The DOCX with its main part padded with `megabytes` MB of spaces: valid XML, ~1000:1 compression."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename != "word/document.xml":
                zout.writestr(item, data)
                continue
            head, tail = data.split(b"<w:body>")
            with zout.open(item.filename, "w", force_zip64=True) as f:
                f.write(head + b"<w:body>")
                block = b" " * (1 << 20)
                for _ in range(megabytes):
                    f.write(block)
                f.write(tail)
    return dst


@pytest.mark.parametrize("megabytes", [300, 60])
def test_docx_zip_bomb_is_refused(parse, tmp_path, megabytes):
    src = make_docx(tmp_path / "fiche.docx", "Les Scop", ["Une Scop appartient à ses salariés."])
    bomb = _zip_bomb(src, tmp_path / "bombe.docx", megabytes)
    data = bomb.read_bytes()
    assert len(data) < 1024 * 1024  # under 1 MB on disk
    r = reason(parse, "bombe.docx", data)
    assert "bombe zip" in r and f"archive de {megabytes} Mo" in r


def test_docx_with_tens_of_thousands_of_paragraphs_is_read_within_the_time_limit(parse, tmp_path):
    """python-docx's Paragraph.style rescans all styles on every call: 60,000 paragraphs took minutes."""
    src = make_docx(tmp_path / "base.docx", "Registre", ["Premier paragraphe."])
    paras = "".join(f'<w:p><w:r><w:t>Paragraphe {i} sur la gouvernance coopérative.</w:t></w:r></w:p>'
                    for i in range(60000))
    out = io.BytesIO()
    # written straight into document.xml: python-docx's own add_paragraph is quadratic to build such a file
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + paras.encode(), 1)
            zout.writestr(item, data)
    doc = parse("long.docx", out.getvalue())
    assert "Paragraphe 59999 sur la gouvernance" in doc.text and "Paragraphe 0 sur" in doc.text


# ---------------------------------------------------------------- huge single-line texts

SENTENCE = "La coopérative d'habitants numéro {} réunit douze foyers qui gèrent ensemble leur immeuble. "


def _one_line(n_bytes: int) -> bytes:
    out, i, size = [], 0, 0
    while size < n_bytes:
        s = SENTENCE.format(i)
        out.append(s)
        size += len(s.encode())
        i += 1
    return "".join(out).encode()


def test_50_mb_single_line_text_is_skipped_and_the_run_goes_on(tmp_path, minilm):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "bon.md").write_text("# Les Scop\n\nUne Scop appartient à ses salariés associés.", encoding="utf-8")
    line = _one_line(50 * 1024 * 1024)[:50 * 1024 * 1024]
    (d / "enorme.txt").write_bytes(line)                   # 50 MB: read, then too much text to index
    (d / "trop-gros.txt").write_bytes(line + b"x" * 1024)  # over max_file_mb: not even read
    report = ingest([d], minilm)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert skipped["enorme.txt"].startswith("texte trop long (") and "max_text_chars" in skipped["enorme.txt"]
    assert "trop volumineux" in skipped["trop-gros.txt"] and "max_file_mb" in skipped["trop-gros.txt"]
    assert report.files_indexed == 1
    assert set(load_index(minilm.index_dir).documents()) == {"bon"}


def test_5_mb_single_line_text_is_loaded_and_chunked_whole(parse):
    """Under the limits, a 5 MB text with no line break is read in the worker and cut into chunks that cover
    every sentence, each within the token budget of the real tokenizer."""
    from rag.embed import load_embedder

    data = _one_line(5 * 1024 * 1024)
    doc = parse("une-ligne.txt", data)
    assert len(doc.text) > 4_900_000 and "\n" not in doc.text
    count = load_embedder(MINILM).count_tokens
    chunks = chunk_document(doc, count, 120, 20)
    n = data.decode().count("La coopérative d'habitants numéro")
    numbers = {int(x) for c in chunks for x in re.findall(r"numéro (\d+) réunit", c.text)}
    assert numbers == set(range(n))
    assert all(c.n_tokens <= 120 for c in chunks)


def test_a_long_run_of_abbreviations_is_chunked(parse):
    """'M. M. M. …' used to make sentence splitting quadratic (hours for a few megabytes)."""
    from rag.embed import load_embedder

    doc = parse("abreviations.txt", b"M. " * 350_000)
    chunks = chunk_document(doc, load_embedder(MINILM).count_tokens, 120, 20)
    assert sum(c.text.count("M.") for c in chunks) >= 350_000


@pytest.mark.parametrize("line", [b"[[a" * 200_000, b"[" * 600_000, b"# " + b" " * 600_000 + b"x",
                                  b"[a](" * 150_000])
def test_markdown_pathological_lines_are_read(parse, line):
    """Each of these lines made a Markdown pattern backtrack quadratically (hours at this size)."""
    doc = parse("ligne.md", b"# Titre\n\n" + line + b"\n\nFin du texte.\n")
    assert "Fin du texte." in doc.text


def test_yaml_alias_bomb_in_front_matter_is_refused(parse):
    lol = "\n".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10))
    data = f"---\nl0: &l0 [\"lol\"]\n{lol}\ntitle: *l9\n---\n# T\n\ntexte\n".encode()
    assert "alias YAML" in reason(parse, "lol.md", data)


# ---------------------------------------------------------------- HTML

def test_100000_nested_divs_keep_all_their_text(parse):
    html = (b"<html><head><title>Profond</title></head><body><p>Avant la pile.</p>" + b"<div>" * 100_000 +
            b"Texte au fond de la pile." + b"</div>" * 100_000 + b"<p>Apr\xc3\xa8s la pile.</p>"
            b"<script>var x = 'SCRIPT_MUST_NOT_APPEAR';</script></body></html>")
    doc = parse("profond.html", html)
    for t in ("Avant la pile.", "Texte au fond de la pile.", "Après la pile."):
        assert t in doc.text
    assert "SCRIPT_MUST_NOT_APPEAR" not in doc.text and doc.meta["title"] == "Profond"


def test_nested_lists_do_not_repeat_their_text(parse):
    # 100 levels of <ul><li>: 200 elements deep, under libxml2's 256, so the tree path is the one tested
    html = ("<html><body><main>" + "<ul><li>niveau " * 100 + "feuille" + "</li></ul>" * 100 + "</main></body></html>")
    doc = parse("listes.html", html.encode())
    assert doc.text.count("feuille") == 1 and doc.text.count("niveau") == 100


# ---------------------------------------------------------------- encodings

def test_invalid_utf8_text_is_read_without_losing_the_words(parse):
    """A UTF-8 file with a few damaged bytes keeps its accents; the damage becomes U+FFFD."""
    data = ("Économie sociale et solidaire : les coopératives d'activité et d'emploi. " * 3).encode() + \
        b" \xff\xfe\xc3\x28 " + "Deuxième phrase, lisible et accentuée.".encode()
    doc = parse("abime.txt", data)
    assert "les coopératives d'activité" in doc.text and "Deuxième phrase, lisible et accentuée." in doc.text
    assert "\ufffd" in doc.text


def test_text_in_cp1252_with_undefined_bytes_falls_back_to_latin1(parse):
    data = "Coopérative laitière, fondée en été.".encode("latin-1") + b" \x81 " + "Réunion à Rennes.".encode("latin-1")
    doc = parse("latin.txt", data)
    assert "Coopérative laitière, fondée en été." in doc.text and "Réunion à Rennes." in doc.text


def test_html_in_windows_1252_is_decoded_with_its_declared_charset(parse):
    page = '<html><head><meta charset="windows-1252"><title>Coopération</title></head><body><p>Les coopératives ' \
           'd’habitants « partagent » leurs espaces.</p></body></html>'
    doc = parse("ancien.html", page.encode("cp1252"))
    assert "Les coopératives d’habitants « partagent » leurs espaces." in doc.text
    assert doc.meta["title"] == "Coopération"


@pytest.mark.parametrize("name", ["bruit.txt", "bruit.md", "bruit.html"])
def test_high_bytes_noise_is_refused_as_unreadable_encoding(parse, name):
    noise = bytes(range(0x80, 0xA0)) * 200
    assert "encodage illisible" in reason(parse, name, noise)


# ---------------------------------------------------------------- files that move under our feet

def test_files_that_vanish_or_change_while_ingest_reads_them(tmp_path, minilm):
    d = tmp_path / "corpus"
    d.mkdir()
    for name in ("a", "b", "c", "d", "e"):
        (d / f"{name}.md").write_text(f"# Fiche {name}\n\nTexte initial de la fiche {name} sur les Scop.",
                                      encoding="utf-8")

    def meddle(stage, done, total):
        # called just before file number `done` (sorted: a, b, c, d, e) is read
        if stage != "lecture":
            return
        if done == 2:
            (d / "b.md").unlink()
        elif done == 3:
            (d / "c.md").unlink()
            os.mkfifo(d / "c.md")  # a pipe in its place: reading it must not block the run
        elif done == 4:
            (d / "d.md").write_bytes(b"")
        elif done == 5:
            (d / "e.md").write_text("# Fiche e\n\nTexte réécrit pendant l'ingest.", encoding="utf-8")

    report = ingest([d], minilm, progress=meddle)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert skipped["b.md"].startswith("lecture impossible")
    assert "pas un fichier ordinaire" in skipped["c.md"]
    assert skipped["d.md"] == "fichier vide"
    idx = load_index(minilm.index_dir)
    assert set(idx.documents()) == {"a", "e"}
    e_text = " ".join(c.text for c in idx.chunks if c.doc_id == "e")
    assert "réécrit pendant l'ingest" in e_text and "initial" not in e_text
    # the recorded hash is the hash of the bytes that were indexed
    rec = next(r for r in idx.manifest["files"].values() if r["doc_id"] == "e")
    assert rec["sha256"] == hashlib.sha256((d / "e.md").read_bytes()).hexdigest()


def test_symbolic_links_outside_the_corpus_or_in_a_loop_are_not_followed(tmp_path, minilm):
    outside = tmp_path / "dehors"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nMot de passe de la banque coopérative.", encoding="utf-8")
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "vrai.md").write_text("# Vrai\n\nLa Scop appartient à ses salariés.", encoding="utf-8")
    (d / "lien-fichier.md").symlink_to(outside / "secret.md")
    (d / "lien-dossier").symlink_to(outside)
    (d / "boucle-a.md").symlink_to(d / "boucle-b.md")
    (d / "boucle-b.md").symlink_to(d / "boucle-a.md")
    (d / "interne.md").symlink_to(d / "vrai.md")  # inside: the same file, indexed once
    (d / "casse.md").symlink_to(d / "nulle-part.md")
    report = ingest([d], minilm)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert "vers l'extérieur" in skipped["lien-fichier.md"]
    assert "dossier extérieur" in skipped["lien-dossier"]
    assert "en boucle" in skipped["boucle-a.md"] and "en boucle" in skipped["boucle-b.md"]
    assert skipped["casse.md"].startswith("lecture impossible")
    idx = load_index(minilm.index_dir)
    assert set(idx.documents()) == {"vrai"}
    assert not any("banque" in c.text for c in idx.chunks)
    assert len(idx.manifest["files"]) == 1


def test_awkward_file_names_are_indexed_under_their_exact_name(tmp_path, minilm):
    d = tmp_path / "corpus"
    d.mkdir()
    names = ["rapport final 2024.md", "économie_sociale.md", unicodedata.normalize("NFD", "coopérative.md"),
             "ligne\nsuivante.md", "  espaces  .txt", "-rf.md", "é" * 120 + ".md"]
    for i, name in enumerate(names):
        (d / name).write_text(f"# Document {i}\n\nContenu numéro {i} sur l'économie solidaire.", encoding="utf-8")
    bad = os.fsencode(d) + b"/caf\xe9.md"  # a Latin-1 name from an old archive: not UTF-8
    with open(bad, "wb") as f:
        f.write(b"# Cafe\n\nTexte.")
    report = ingest([d], minilm)
    skipped = {s.path: s.reason for s in report.skipped}
    assert len(skipped) == 1 and "pas en UTF-8" in next(iter(skipped.values()))
    idx = load_index(minilm.index_dir)
    sources = {Path(c.source).name for c in idx.chunks}
    assert sources == set(names)
    assert len(idx.documents()) == len(names)


# ---------------------------------------------------------------- the isolation mechanism itself

def _hog(step_mb: int) -> None:
    """Allocate memory without end, as a parser caught in a loop would."""
    keep = []
    while True:
        keep.append(bytearray(step_mb * 1024 * 1024))


def test_a_hanging_parser_is_killed_and_the_next_call_gets_a_fresh_worker():
    with Worker(memory_mb=512) as w:
        first = w.call("os:getpid")
        with pytest.raises(WorkerTimeout):
            w.call("time:sleep", 3600, timeout=1.0)
        second = w.call("os:getpid")
        assert second != first and w.starts == 2


@pytest.mark.parametrize("fn,args,sig", [("os:abort", (), 6), ("ctypes:string_at", (0,), 11),
                                         ("os:kill", None, 9)])
def test_a_parser_that_crashes_the_interpreter_is_reported_with_its_signal(fn, args, sig):
    with Worker(memory_mb=512) as w:
        pid = w.call("os:getpid")
        with pytest.raises(WorkerCrashed) as e:
            w.call(fn, *(args if args is not None else (pid, 9)))
        assert e.value.returncode == -sig
        assert crash_reason(e.value.returncode).startswith(f"le lecteur a planté (signal {sig}, SIG")
        assert w.call("math:sqrt", 16.0) == 4.0  # and the next file is parsed


def test_a_parser_that_explodes_in_memory_is_stopped_at_the_limit():
    with Worker(memory_mb=256) as w:
        with pytest.raises(WorkerMemoryError):
            w.call("tests.test_hostile:_hog", 16, timeout=120)
        assert w.call("math:sqrt", 4.0) == 2.0


def test_one_hostile_file_costs_one_skip_never_the_run(tmp_path, minilm):
    """Real parsers on real files hitting the limits: a PDF too slow to extract, a text too big for the
    memory cap; the good files around them are indexed."""
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "a-bon.md").write_text("# Les Scop\n\nUne Scop appartient à ses salariés associés.", encoding="utf-8")
    (d / "b-lent.pdf").write_bytes(raw_pdf(40, HEAVY_PAGE))                  # ~1 min of extraction
    (d / "c-gros.txt").write_bytes(_one_line(40 * 1024 * 1024))             # 40 MB in a 100 MB cap
    (d / "d-bon.txt").write_text("Les CAE accueillent des entrepreneurs salariés.", encoding="utf-8")
    s = minilm.with_(parse_timeout_s=3.0, parse_memory_mb=100.0)
    report = ingest([d], s)
    skipped = {Path(p.path).name: p.reason for p in report.skipped}
    assert skipped == {
        "b-lent.pdf": "délai dépassé (3 s) : lecture abandonnée (réglage parse_timeout_s)",
        "c-gros.txt": "mémoire dépassée (limite 100 Mo) : lecture abandonnée (réglage parse_memory_mb)",
    }
    assert set(load_index(s.index_dir).documents()) == {"a-bon", "d-bon"}


def test_isolation_can_be_turned_off():
    """settings.isolate=False parses in this process: same results, same LoaderError, no worker."""
    with Parser(Settings(isolate=False)) as p:
        assert p.worker is None
        doc = p(Path("a.md"), "a.md", "# Les Scop\n\nUne Scop appartient à ses salariés.".encode())
        assert doc.meta["title"] == "Les Scop"
        with pytest.raises(LoaderError, match="trop long"):
            p(Path("b.pdf"), "b.pdf", raw_pdf(2000, PAGE))
