"""Workshop kit: the session's questions and answers as a handout (Markdown and PDF), and the address to join.

`SessionLog` keeps every answered turn of a workshop run (all participants, in order). `handout_markdown` and
`handout_pdf` render it with each answer's numbered sources and links; the PDF uses fpdf2 with a Unicode
TrueType font (DejaVu, Debian package fonts-dejavu-core) and French typography (non-breaking spaces before
« ; : ! ? » and inside guillemets, typographic apostrophes). `join_url` and `qr_png_data_uri` give the LAN
address and its QR code, drawn locally by segno.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InnosocError
from .types import TYPE_LABELS_FR, Answer

FONT_DIRS = (os.environ.get("INNOSOC_FONT_DIR", ""), "/usr/share/fonts/truetype/dejavu",
             "/usr/share/fonts/dejavu", "/usr/local/share/fonts")
MAX_TURNS = 500
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
TYPE_SINGULAR = {"publication": "Publication", "these": "Thèse", "video": "Vidéo",
                 "outil_pedagogique": "Outil pédagogique", "etude_de_cas": "Étude de cas",
                 "document_analyse": "Document d'analyse", "intervention_publique": "Intervention publique",
                 "article": "Article", "concept": "Note de concept", "dossier": "Dossier"}


@dataclass
class Source:
    n: int
    title: str
    authors: str
    year: str
    kind: str
    url: str | None


@dataclass
class Turn:
    question: str
    answer: str
    found: bool
    sources: list[Source] = field(default_factory=list)
    at: dt.datetime = field(default_factory=dt.datetime.now)


def turn_of(question: str, ans: Answer) -> Turn:
    sources = []
    # answered: the numbered sources; unanswered: the closest resources it suggested
    items = [(c.n, c.chunk) for c in ans.citations] if ans.found else [(i, h.chunk) for i, h in
                                                                       enumerate(ans.hits[:3], start=1)]
    for n, chunk in items:
        m = chunk.meta
        concept = m.get("type") == "concept"
        sources.append(Source(
            n, str(m.get("title") or chunk.doc_id),
            "note de synthèse innosoc" if concept else (", ".join(m.get("authors") or []) or "auteur inconnu"),
            "" if concept else str(m.get("year") or "s.d."),
            TYPE_SINGULAR.get(m.get("type"), TYPE_LABELS_FR.get(m.get("type"), "Document")),
            m.get("url") if re.match(r"^https?://\S+$", str(m.get("url") or "")) else None))
    return Turn(question, ans.text, ans.found, sources)


class SessionLog:
    """Every answered turn of the run, shared by all participants (a bounded list, oldest dropped first)."""

    def __init__(self, limit: int = MAX_TURNS):
        self.limit = limit
        self._turns: list[Turn] = []
        self._lock = threading.Lock()
        self.started = dt.datetime.now()

    def add(self, question: str, ans: Answer) -> None:
        with self._lock:
            self._turns.append(turn_of(question, ans))
            del self._turns[:-self.limit]

    def turns(self) -> list[Turn]:
        with self._lock:
            return list(self._turns)

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()


# ------------------------------------------------------------------------------------------------ text

def date_fr(d: dt.date) -> str:
    return f"{d.day}{'er' if d.day == 1 else ''} {MONTHS_FR[d.month - 1]} {d.year}"


NNBSP, NBSP = "\u202f", "\u00a0"


def typo_fr(text: str, check_language: bool = False) -> str:
    """French typography: narrow no-break space before ; ! ?, no-break space before : and inside « »,
    typographic apostrophe. URLs are left untouched. With `check_language`, text detected as another language
    (a question in English) only gets the apostrophes."""
    french = True
    if check_language:
        from .text import detect_language

        french = detect_language(text) == "fr"

    def fix(part: str) -> str:
        part = re.sub(r"(?<=\w)'(?=\w)", "’", part)
        if not french:
            return part
        part = re.sub(r"\s*([;!?])(?=\s|$)", lambda m: NNBSP + m.group(1), part)
        part = re.sub(r"(?<=\S)\s?:(?=\s|$)", NBSP + ":", part)
        part = re.sub(r"«\s*", "«" + NBSP, part)
        part = re.sub(r"\s*»", NBSP + "»", part)
        return part

    pieces = re.split(r"(https?://\S+)", text)
    return "".join(p if i % 2 else fix(p) for i, p in enumerate(pieces))


def _md(text: str) -> str:
    # the handout may be opened by a Markdown viewer: participants' text never becomes HTML
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def source_line(s: Source) -> str:
    year = f" ({s.year})" if s.year else ""
    return f"{s.title} — {s.authors}{year}, {s.kind}"


def handout_markdown(turns: list[Turn], when: dt.date | None = None, title: str = "Séance innosoc") -> str:
    when = when or dt.date.today()
    out = [f"# {title} — {date_fr(when)}", "",
           f"{len(turns)} question{'s' if len(turns) != 1 else ''} posée{'s' if len(turns) != 1 else ''}. Les réponses "
           "sont tirées du corpus « Innovation sociale » ; les numéros [n] renvoient aux sources listées sous "
           "chaque réponse.", ""]
    if not turns:
        out.append("_Aucune question n'a encore été posée pendant cette séance._")
    for i, t in enumerate(turns, start=1):
        out += [f"## {i}. {_md(t.question)}", "", _md(t.answer), ""]
        if t.sources:
            out.append("**Sources**" if t.found else "**Ressources proches**")
            out.append("")
            for s in t.sources:
                link = f" <{s.url}>" if s.url else ""
                out.append(f"{s.n}. {_md(source_line(s))}{link}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------------------ PDF

def find_font(name: str = "DejaVuSans.ttf") -> Path:
    for d in FONT_DIRS:
        if d and (Path(d) / name).is_file():
            return Path(d) / name
    raise InnosocError(f"Police {name} introuvable (export PDF de la séance). Installez-la : "
                       f"sudo apt-get install fonts-dejavu-core, ou indiquez son dossier dans INNOSOC_FONT_DIR.")


def handout_pdf(turns: list[Turn], path: Path, when: dt.date | None = None, title: str = "Séance innosoc") -> Path:
    from fpdf import FPDF

    when = when or dt.date.today()
    regular, bold = find_font("DejaVuSans.ttf"), find_font("DejaVuSans-Bold.ttf")
    try:
        italic = find_font("DejaVuSans-Oblique.ttf")
    except InnosocError:
        italic = regular

    class Handout(FPDF):
        def footer(self):
            self.set_y(-12)
            self.set_font("DejaVu", size=8)
            self.set_text_color(110)
            self.cell(0, 8, f"{title} — {date_fr(when)} — page {self.page_no()}/{{nb}}", align="C")

    pdf = Handout(format="A4")
    pdf.set_title(f"{title} — {date_fr(when)}")
    pdf.set_creator("innosoc")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.add_font("DejaVu", "I", str(italic))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(18, 16, 18)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(0, 9, typo_fr(f"{title} — {date_fr(when)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "I", 10)
    n = len(turns)
    pdf.multi_cell(0, 5.5, typo_fr(f"{n} question{'s' if n != 1 else ''} posée{'s' if n != 1 else ''}. Les réponses "
                                   "sont tirées du corpus « Innovation sociale » ; les numéros [n] renvoient aux "
                                   "sources listées sous chaque réponse."), new_x="LMARGIN", new_y="NEXT")
    if not turns:
        pdf.ln(4)
        pdf.multi_cell(0, 6, typo_fr("Aucune question n'a encore été posée pendant cette séance."))
    for i, t in enumerate(turns, start=1):
        pdf.ln(5)
        pdf.set_font("DejaVu", "B", 13)
        pdf.set_text_color(20, 40, 110)
        pdf.multi_cell(0, 7, typo_fr(f"{i}. {t.question}", check_language=True), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.ln(1)
        pdf.set_font("DejaVu", "", 10.5)
        pdf.multi_cell(0, 5.6, typo_fr(t.answer, check_language=True), new_x="LMARGIN", new_y="NEXT")
        if t.sources:
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 10)
            pdf.cell(0, 6, "Sources" if t.found else "Ressources proches", new_x="LMARGIN", new_y="NEXT")
            for s in t.sources:
                pdf.set_font("DejaVu", "", 9.5)
                pdf.set_text_color(0)
                pdf.multi_cell(0, 5, typo_fr(f"{s.n}. {source_line(s)}"), new_x="LMARGIN", new_y="NEXT")
                if s.url:  # on its own line, indented, clickable: a long URL breaks less
                    pdf.set_x(pdf.l_margin + 5)
                    pdf.set_text_color(20, 60, 180)
                    pdf.set_font("DejaVu", "", 8.5)
                    pdf.multi_cell(0, 4.5, s.url, link=s.url, new_x="LMARGIN", new_y="NEXT")
                    pdf.set_text_color(0)
                pdf.ln(1)
    path = Path(path)
    pdf.output(str(path))
    return path


# ------------------------------------------------------------------------------------------------ joining

def lan_ip() -> str | None:
    """This machine's address on the local network (no packet is sent: a UDP `connect` only picks a route)."""
    for probe in ("192.168.0.1", "10.0.0.1", "172.16.0.1"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                ip = s.getsockname()[0]
                if ip and not ip.startswith("127."):
                    return ip
        except OSError:
            continue
    return None


def join_url(host: str, port: int) -> tuple[str, str | None]:
    """(address participants type, warning or None) for an app listening on host:port."""
    if host in ("0.0.0.0", "", "::"):
        ip = lan_ip()
        if ip:
            return f"http://{ip}:{port}/", None
        return f"http://127.0.0.1:{port}/", "Aucun réseau local détecté : branchez la machine au réseau de la salle."
    if host in ("127.0.0.1", "localhost", "::1"):
        return (f"http://127.0.0.1:{port}/", "L'application n'écoute que sur cette machine : relancez-la avec "
                                              "--host 0.0.0.0 pour que la salle puisse la rejoindre.")
    return f"http://{host}:{port}/", None


def qr_png_data_uri(url: str, scale: int = 8) -> str:
    import segno

    return segno.make(url, error="m").png_data_uri(scale=scale, border=2)
