"""Fuzzing every loader: random bytes and mutations of valid files may only give a Document or a LoaderError.

Inputs come from hypothesis: plain random bytes, byte-level mutations of a valid seed file of the format (bit
flips, inserted, deleted, duplicated and spliced ranges, truncation, "interesting" numbers written over the
numbers of the file — offsets, lengths, counts), and for DOCX mutations of one XML part inside a well-formed
zip, so that the XML parsers are reached too. Each input is parsed in the isolated worker of ingest/isolate.py
with the real `ingest.load.load`: any other exception, a hang (past HANG_S), a crash or a memory blow-up is a
failure. Bounded to MAX_EXAMPLES per format here; `python bench/fuzz.py` runs many more and counts outcomes.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ingest.isolate import Worker, WorkerCrashed, WorkerError, WorkerMemoryError, WorkerTimeout
from rag.errors import LoaderError
from rag.types import Document

from .conftest import TINY, make_html

MAX_EXAMPLES = 200
HANG_S = 30.0  # no input here is larger than ~40 kB: a parse this long is a hang, not a slow machine

FORMATS = ("pdf", "docx", "html", "md", "txt")

_TEXT = ("Les coopératives d'activité et d'emploi accueillent des entrepreneurs salariés. « L'économie "
         "sociale et solidaire » réunit associations, mutuelles, fondations et sociétés commerciales de l'ESS.\n\n"
         "Deuxième paragraphe : la Scop appartient à ses salariés, qui élisent leur gérant ; 51 % du capital.\n")


# ---------------------------------------------------------------- seeds: one valid file per format

def seed_files(tmp: Path) -> dict[str, list[bytes]]:
    """Valid files of every format, made with the tools that make such files in real life."""
    from fpdf import FPDF
    import docx

    from .test_hostile import raw_pdf

    pdf = FPDF()
    pdf.set_compression(False)  # uncompressed streams: mutations reach the content operators too
    pdf.set_title("Rapport sur les Scop")
    pdf.set_font("Helvetica", size=12)
    for page in ("Les cooperatives d'activite et d'emploi.", "La Scop appartient a ses salaries."):
        pdf.add_page()
        pdf.multi_cell(0, 8, page)
    pdf_bytes = bytes(pdf.output())
    raw = raw_pdf(3, b"BT /F1 12 Tf 72 720 Td (Page %PAGE% sur les cooperatives) Tj ET", shared=False)

    d = docx.Document()
    d.core_properties.title = "Fiche Scop"
    d.add_heading("Les Scop", level=1)
    for para in _TEXT.split("\n\n"):
        d.add_paragraph(para.strip())
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 1).text = "Statut", "SCIC"
    buf = io.BytesIO()
    d.save(buf)

    html = make_html(tmp / "seed.html", "Les monnaies locales", _TEXT.split("\n\n")).read_bytes()
    md = (TINY / "sol-violette.md").read_bytes()
    return {"pdf": [pdf_bytes, raw], "docx": [buf.getvalue()], "html": [html], "md": [md],
            "txt": [_TEXT.encode("utf-8"), _TEXT.encode("cp1252")]}


# ---------------------------------------------------------------- mutations

INTERESTING = [b"0", b"-1", b"1", b"255", b"65536", b"2147483647", b"-2147483648", b"4294967296",
               b"9223372036854775807", b"99999999999999999999999", b"1e308", b"NaN", b"0.0000001", b"-0"]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?")


def mutate(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """Apply mutation operations (kind, position a, position b, bytes) to `data`; positions wrap around."""
    b = bytearray(data)
    for kind, a, c, blob in ops:
        n = max(len(b), 1)
        a, c = a % n, c % n
        lo, hi = min(a, c), max(a, c)
        if kind == "flip" and b:
            b[a] ^= 1 << (c % 8)
        elif kind == "byte" and b:
            b[a] = blob[0] if blob else 0
        elif kind == "insert":
            b[a:a] = blob
        elif kind == "delete":
            del b[lo:hi + 1]
        elif kind == "duplicate":
            b[hi:hi] = b[lo:hi]
        elif kind == "truncate":
            del b[a:]
        elif kind == "number":
            nums = list(_NUMBER.finditer(b))
            if nums:
                m = nums[a % len(nums)]
                b[m.start():m.end()] = INTERESTING[c % len(INTERESTING)]
    return bytes(b)


_ops = st.lists(st.tuples(st.sampled_from(["flip", "byte", "insert", "delete", "duplicate", "truncate", "number"]),
                          st.integers(0, 1 << 20), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=24)),
                min_size=1, max_size=10)


def rezip(data: bytes, member_index: int, ops) -> bytes:
    """A well-formed zip (a DOCX) with one of its members mutated."""
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    target = names[member_index % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in names:
            content = src.read(name)
            dst.writestr(name, mutate(content, ops) if name == target else content)
    return out.getvalue()


def inputs(seeds: list[bytes], fmt: str) -> st.SearchStrategy[bytes]:
    mutated = st.tuples(st.sampled_from(seeds), _ops).map(lambda so: mutate(*so))
    spliced = st.tuples(st.sampled_from(seeds), st.sampled_from(seeds), st.integers(0, 1 << 20),
                        st.integers(0, 1 << 20)).map(
        lambda t: t[0][:t[2] % (len(t[0]) + 1)] + t[1][t[3] % (len(t[1]) + 1):])
    parts = [st.binary(max_size=2048), mutated, spliced]
    if fmt == "docx":
        parts.append(st.tuples(st.sampled_from(seeds), st.integers(0, 64), _ops).map(lambda t: rezip(*t)))
    return st.one_of(*parts)


# ---------------------------------------------------------------- the property

def outcome(worker: Worker, fmt: str, data: bytes) -> str:
    """'document' or 'loader_error'; anything else fails the test with what happened."""
    path = Path(f"fuzz.{fmt}")
    try:
        result = worker.call("ingest.load:load", path, path.name, data, timeout=HANG_S)
    except LoaderError as e:
        assert e.reason and e.path == str(path)
        return "loader_error"
    except WorkerTimeout:
        raise AssertionError(f"{fmt} : l'analyse ne s'arrête pas ({HANG_S:g} s) sur {len(data)} octets") from None
    except WorkerCrashed as e:
        raise AssertionError(f"{fmt} : le lecteur a planté (code {e.returncode})") from None
    except WorkerMemoryError:
        raise AssertionError(f"{fmt} : mémoire dépassée sur {len(data)} octets") from None
    except WorkerError as e:
        raise AssertionError(f"{fmt} : exception non typée {e}") from None
    assert isinstance(result, Document) and result.sections and all(s.text.strip() for s in result.sections)
    return "document"


@pytest.fixture(scope="module")
def worker():
    with Worker() as w:
        yield w


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return seed_files(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_seeds_are_valid_files(worker, seeds, fmt):
    for data in seeds[fmt]:
        assert outcome(worker, fmt, data) == "document"


@pytest.mark.parametrize("fmt", FORMATS)
def test_loaders_only_raise_loader_error(worker, seeds, fmt):
    seen: dict[str, int] = {}

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=inputs(seeds[fmt], fmt))
    def run(data):
        o = outcome(worker, fmt, data)
        seen[o] = seen.get(o, 0) + 1

    run()
    # mutations of a valid file must sometimes stay readable, or the fuzzer only ever tests the first check
    assert seen.get("loader_error", 0) > 0 and sum(seen.values()) >= MAX_EXAMPLES // 2
