"""innosoc in the browser: a Gradio app over the engine, for students, staff and workshop facilitators.

`python app.py [--index DIR] [--corpus DIR] [--host 127.0.0.1] [--port 7860] [--auth-file FILE] [--share]
[--workshop]` (password also from INNOSOC_AUTH=USER:PASS, or --auth USER:PASS which shows in `ps`)

The module has two layers. `InnosocApp` holds the handlers — plain Python over `rag/` and `ingest/`, which the
tests call directly — and renders results through rag/answer_view.py (the chat message, the source cards) as
escaped HTML or Markdown. `build_ui` wires those handlers to Gradio components; `main` parses the command line,
brings the index up to date and launches the server. No retrieval logic lives here.
"""
from __future__ import annotations

import argparse
import csv
import fcntl
import json
import logging
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rag.conversation import Conversation as RagConversation
from rag.errors import InnosocError, QueryError
from rag.feedback import DEFAULT_RETENTION_DAYS, FeedbackStore
from rag.handout import SessionLog
from rag.answer_view import answer_markdown, authors_text, card, highlight_terms, safe_url, snippet, sources_panel
from rag.render import MIRROR_LABEL, csv_cell, esc, is_mirror, md
from rag.retrieve import Filters, Retriever
from rag.settings import DEFAULT_CORPUS, DEFAULT_INDEX, Settings
from rag.store import load_index
from rag.types import RESOURCE_TYPES, TYPE_LABELS_FR, Answer, Hit

log = logging.getLogger("innosoc.app")

# Gradio otherwise calls api.gradio.app at launch (version check, usage telemetry): innosoc works offline and
# sends nothing outside the machine. Set before gradio is imported (build_ui imports it lazily).
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# Monitoring is off (launch(enable_monitoring=False)), so nobody reads the queue's per-endpoint summary; yet by
# default Gradio rebuilds it with pandas from its last 10,000 events after every request, a cost that grows with
# the requests served (3.5 ms after 500 events, 10.6 ms after 10,000, under the GIL: README, « Latence »).
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "256")

from rag.vocab import LANG_LABELS_FR, TYPE_SINGULAR_FR  # noqa: E402  (labels: rag/vocab.py, the one place)

EXAMPLES_FR = [
    "Qu'est-ce que l'innovation sociale ?",
    "Quelle différence entre économie sociale et économie solidaire ?",
    "Comment fonctionne une SCIC ?",
    "Qu'est-ce qu'un PTCE et que dit la loi de 2014 ?",
    "À quoi servent les monnaies locales complémentaires ?",
    "Comment mesurer l'impact social d'une association ?",
    "Qu'est-ce que l'économie solidaire au Brésil ?",
    "Que propose l'approche du CRISES au Québec ?",
]
EXAMPLES_OTHER = [
    "What is social innovation according to the European Commission?",
    "¿Qué es la economía social y solidaria?",
]

MAX_MESSAGE_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_message(message: str | None, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, str | None]:
    """Strip control characters and cut overlong input; return (text, notice for the user or None)."""
    text = _CONTROL.sub(" ", message or "").strip()
    if len(text) > limit:
        return text[:limit], f"Votre message dépassait {limit} caractères : seuls les {limit} premiers ont été lus."
    return text, None


# ------------------------------------------------------------------------------------------------ handlers

def new_turn_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Conversation:
    """One participant's conversation: the assistant's bounded dialogue (for follow-ups), each answered turn
    (a dict with its own `id`), and which chat message shows which turn. Votes are matched through that last
    map, never by position, so a turn that failed half-way cannot shift later votes onto other questions."""
    dialogue: "RagConversation" = field(default_factory=lambda: RagConversation())
    turns: list[dict] = field(default_factory=list)
    messages: dict[int, str] = field(default_factory=dict)  # chat message index -> turn id

    def turn(self, turn_id: str | None) -> dict | None:
        return next((t for t in self.turns if t.get("id") == turn_id), None) if turn_id else None

    @property
    def queries(self) -> list[str]:
        """The standalone questions searched, oldest first (bounded)."""
        return self.dialogue.queries


class InnosocApp:
    """The app's behaviour, independent of Gradio: every handler takes and returns plain values."""

    def __init__(self, settings: Settings, feedback_path: Path | None = None, answerer=None, llm_args=None,
                 corpus_dir: Path | None = None, retention_days: int = DEFAULT_RETENTION_DAYS, warm: bool = False):
        self.settings = settings
        self.warm = warm          # each loaded index is warmed up in the background (the served app)
        self._answerer, self._llm_args = answerer, llm_args
        self._reload_lock = threading.Lock()
        self.reload_index()
        self.feedback_path = Path(feedback_path) if feedback_path else Path(settings.index_dir).parent / "feedback" / "feedback.jsonl"
        self._feedback_lock = threading.Lock()
        # staff: where the form writes fiches, the shared store of unanswered/👎 questions, the workshop's log
        self.corpus_dir = Path(corpus_dir) if corpus_dir else None
        self.gaps = FeedbackStore(self.feedback_path.with_name("questions.sqlite3"), retention_days)
        self.session = SessionLog()

    def reload_index(self) -> None:
        """Load the index's current generation and swap retriever, assistant and document list at once (after
        a staff edit or a new generation): requests already running finish on the old ones."""
        from rag.store import current_generation

        with self._reload_lock:  # a staff save and the generation watcher may ask at the same moment
            gen = current_generation(Path(self.settings.index_dir))
            if getattr(self, "index", None) is not None and gen is not None and gen.name == self.index.path.name:
                return  # already serving it (the watcher's call after a staff save costs nothing)
            self._reload()

    def _reload(self) -> None:
        from rag.assistant import Assistant
        from rag.llm import make_answerer

        retriever = Retriever.open(self.settings)
        answerer = self._answerer
        if answerer is not None and hasattr(answerer, "retriever"):
            answerer.retriever = retriever
        # catalogue questions and intent cues first, then the extractive answerer or, when configured, a
        # language model (--llm-url/--llm-model or INNOSOC_LLM_*)
        assistant = Assistant(retriever, answerer=answerer or make_answerer(retriever, self._llm_args))
        self.retriever, self.index, self.assistant, self.docs = retriever, retriever.index, assistant, retriever.index.documents()
        if self.warm:
            self._warming = threading.Thread(target=self._warm_up, args=(assistant,), name="innosoc-warm-up",
                                             daemon=True)
            self._warming.start()

    @staticmethod
    def _warm_up(assistant) -> None:
        # the first participant's question took 1.3 to 1.8 s after a start (0.05 s once warm): it is paid here,
        # while the page loads; answers are neither logged nor shown to staff
        try:
            assistant.warm_up()
        except Exception:  # a failed warm-up costs only the first question's speed
            log.warning("préchauffage de l'assistant échoué", exc_info=True)

    def watch_index(self, interval: float = 2.0):
        """Poll CURRENT in a background thread and reload when an ingest swaps in a new generation."""
        from rag.watch import GenerationWatcher

        if getattr(self, "_watcher", None) is None and interval > 0:
            self._watcher = GenerationWatcher(self.settings.index_dir, self.reload_index, interval,
                                              current=self.index.path.name).start()
        return self._watcher

    @property
    def generative(self) -> bool:
        return hasattr(self.assistant.answerer, "stream")

    # -- chat -----------------------------------------------------------------------------------------
    def ask(self, message: str, conv: Conversation, use_intent: bool = True) -> tuple[Answer, str | None]:
        ans = notice = None
        for item in self.ask_stream(message, conv, use_intent):
            if isinstance(item, tuple):
                ans, notice = item
        return ans, notice

    def ask_stream(self, message: str, conv: Conversation, use_intent: bool = True, turn_id: str | None = None):
        """Yield text pieces while a language model writes, then `(Answer, notice)`; the extractive answerer
        yields only the final pair. The assistant owns the turn (understanding, follow-ups, filters, streaming);
        this only cleans the input and records the turn in `conv` under `turn_id` (a new id by default)."""
        text, notice = clean_message(message)
        if not text:
            raise QueryError("Écrivez une question.")
        ans = None
        for item in self.assistant.stream(text, use_intent=use_intent, conversation=conv.dialogue):
            if isinstance(item, Answer):
                ans = item
            else:
                yield item
        conv.turns.append({"id": turn_id or new_turn_id(), "question": text, "answer": ans.text, "found": ans.found,
                           "cited": [c.chunk.doc_id for c in ans.citations], "applied": list(ans.applied)})
        self.note_turn(text, ans, conv.turns[-1]["id"])
        yield ans, notice

    def record_feedback(self, conv: Conversation, turn_id: str | None, liked: bool) -> dict:
        """Append one vote to the feedback file (JSON Lines, one object per vote; format in the README:
        time, turn_id, liked, question, answer, cited_ids, found). Votes are keyed by the turn's id: a new
        vote on the same turn is a new line, the latest line for a turn_id wins."""
        t = conv.turn(turn_id)
        if t is None:
            raise QueryError("Réponse inconnue : impossible d'enregistrer l'avis.")
        row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "turn_id": t["id"], "liked": bool(liked),
               "question": t["question"], "answer": t["answer"], "cited_ids": t["cited"], "found": t["found"]}
        self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
        # Several app instances may share the file: one O_APPEND write per record under an exclusive lock,
        # so records are neither interleaved nor lost.
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        with self._feedback_lock:
            fd = os.open(self.feedback_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)  # also releases the lock
        self.gaps.vote(t["id"], t["question"], liked)
        return row

    def note_turn(self, question: str, ans: Answer, turn_id: str) -> None:
        """Staff views: an unanswered question goes to « Questions sans réponse »; every turn to the session log."""
        if not ans.found:
            self.gaps.record("not_found", question, turn_id=turn_id)
        self.session.add(question, ans)

    # -- resource finder ----------------------------------------------------------------------------
    def type_counts(self) -> dict[str, int]:
        counts = {t: 0 for t in RESOURCE_TYPES}
        for m in self.docs.values():
            if m.get("type") in counts:
                counts[m["type"]] += 1
        return counts

    def languages(self) -> list[str]:
        return sorted({m.get("language") for m in self.docs.values() if m.get("language")})

    def year_bounds(self) -> tuple[int, int]:
        years = [m["year"] for m in self.docs.values() if m.get("year")]
        return (min(years), max(years)) if years else (1900, 2026)

    def find(self, description: str, types: list[str] | None = None, languages: list[str] | None = None,
             year_min: int | None = None, year_max: int | None = None, k: int = 10) -> list[Hit]:
        text, _ = clean_message(description)
        if not text:
            raise QueryError("Décrivez la ressource cherchée (par exemple : « une coopérative d'insertion en milieu rural »).")
        lo, hi = self.year_bounds()
        filters = Filters(types=tuple(types or ()) or tuple(RESOURCE_TYPES), languages=tuple(languages or ()),
                          year_min=int(year_min) if year_min and int(year_min) > lo else None,
                          year_max=int(year_max) if year_max and int(year_max) < hi else None)
        return self.retriever.search(text, k=k, filters=filters, group=True, passages_per_doc=1)

    def similar(self, doc_id: str, k: int = 5) -> list[Hit]:
        return self.retriever.similar(doc_id, k=k, filters=Filters(types=tuple(RESOURCE_TYPES)))

    def results_html(self, hits: list[Hit], query: str | None) -> str:
        if not hits:
            return '<p class="hint">Aucune ressource ne correspond à ces critères.</p>'
        cards = []
        for h in hits:
            m = h.chunk.meta
            passage = highlight_terms(snippet(h.chunk.text, 600), query, m.get("language")) if query else esc(snippet(h.chunk.text))
            cards.append(card(m, passage, number=h.rank))
        return '<div class="cards">' + "".join(cards) + "</div>"

    EXPORT_TTL_S = 3600

    def export_csv(self, hits: list[Hit]) -> str:
        # Exports live in one folder of their own, emptied of files older than an hour at each export, so a
        # long workshop does not fill the disk (Gradio's copies are removed by `delete_cache`).
        if not getattr(self, "_export_dir", None):
            self._export_dir = tempfile.mkdtemp(prefix="innosoc-exports-")
        now = time.time()
        for old in Path(self._export_dir).glob("*.csv"):
            try:
                if now - old.stat().st_mtime > self.EXPORT_TTL_S:
                    old.unlink()
            except OSError:
                pass
        fd, path = tempfile.mkstemp(prefix="ressources-", suffix=".csv", dir=self._export_dir)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["rang", "id", "titre", "type", "année", "auteurs", "langue", "url"])
            for h in hits:
                m = h.chunk.meta
                row = [h.rank, h.chunk.doc_id, m.get("title"), TYPE_SINGULAR_FR.get(m.get("type"), m.get("type")),
                       m.get("year") or "", "; ".join(m.get("authors") or []), m.get("language") or "",
                       m.get("url") or ""]
                w.writerow([csv_cell(v) for v in row])  # no cell a spreadsheet would run as a formula
        return path

    # -- dossier -----------------------------------------------------------------------------------
    def dossier_intro(self) -> str:
        chunks = [c for c in self.index.chunks if c.meta.get("type") == "dossier"]
        if not chunks:
            return "_L'introduction du dossier n'est pas dans l'index._"
        seen, parts = set(), []
        for c in chunks:  # overlapping chunks repeat paragraphs; keep each paragraph once
            for p in c.text.split("\n\n"):
                if p not in seen:
                    seen.add(p)
                    parts.append(md(p))
        return f"### {md(chunks[0].section or chunks[0].meta.get('title'))}\n\n" + "\n\n".join(parts)

    def counts_markdown(self) -> str:
        counts = self.type_counts()
        rows = ["| Type de ressource | Nombre |", "|---|---:|"]
        rows += [f"| {TYPE_LABELS_FR[t]} | {counts[t]} |" for t in RESOURCE_TYPES]
        rows.append(f"| **Total** | **{sum(counts.values())}** |")
        return "\n".join(rows)

    def index_facts(self) -> str:
        m = self.index.manifest
        n_concepts = sum(1 for d in self.docs.values() if d.get("type") == "concept")
        return (f"- Documents indexés : **{len(self.docs)}** (dont {sum(self.type_counts().values())} ressources "
                f"et {n_concepts} notes de concept)\n- Passages : **{len(self.index.chunks)}**\n"
                f"- Modèle d'encodage : **{esc(m['model']['id'])}** (dimension {m['model']['dim']})\n"
                f"- Découpage : {m['chunking']['chunk_tokens']} jetons, recouvrement {m['chunking']['chunk_overlap']}\n"
                f"- Index construit le : {esc(m.get('created_at', '?'))}")

    def list_type(self, kind: str) -> str:
        docs = sorted((d for d in self.docs.values() if d.get("type") == kind),
                      key=lambda d: (-(d.get("year") or 0), d.get("title") or ""))
        if not docs:
            return '<p class="hint">Aucune ressource de ce type.</p>'
        items = []
        for d in docs:
            url = safe_url(d.get("url"))
            title = (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{esc(d.get("title"))}</a>'
                     if url else esc(d.get("title")))
            if url and is_mirror(d):
                title += f' <span class="mirror">({MIRROR_LABEL})</span>'
            items.append(f'<li data-doc-id="{esc(d.get("id"))}">{title} — {esc(authors_text(d))} '
                         f'({esc(d.get("year") or "s.d.")}, {esc(LANG_LABELS_FR.get(d.get("language"), d.get("language")))})</li>')
        return f'<ul class="type-list">{"".join(items)}</ul>'


# ------------------------------------------------------------------------------------------------ Gradio UI

CSS = """
.cards { display: flex; flex-direction: column; gap: 10px; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; background: #fff; }
.card .title { font-weight: 600; margin: 4px 0 2px; }
.card .authors, .card .meta { color: #57606a; font-size: 0.9em; }
.card .passage { margin-top: 6px; font-size: 0.92em; line-height: 1.45; }
.card mark { background: #fff3b0; padding: 0 1px; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 8px; font-size: 0.8em; background: #e8eefc; color: #1f3a8a; }
.badge-etude_de_cas { background: #e6f6ea; color: #1a5e2a; } .badge-concept { background: #f3e8fd; color: #5b2a86; }
.badge-video { background: #fdecea; color: #8a1f1f; } .badge-these { background: #fff4e0; color: #7a4b00; }
.num { font-weight: 700; } .hint { color: #57606a; font-style: italic; }
.mirror { color: #8a5a00; font-size: 0.85em; }
.field-error, .field-error * { color: #b42318 !important; } .field-error { margin-top: -6px; font-weight: 600; }
.gaps { width: 100%; border-collapse: collapse; } .gaps td, .gaps th { border-bottom: 1px solid #d0d7de; padding: 6px; vertical-align: top; }
"""
CSS_WORKSHOP = CSS + """
.gradio-container { zoom: 1.25; }  /* readable from the back of a room */
.message, .card, textarea, button { font-size: 1.15em !important; }
"""


def build_ui(app: InnosocApp, workshop: bool = False, staff: set[str] | None = None, host: str = "127.0.0.1",
             port: int = 7860):
    import gradio as gr

    from rag import staff_ui

    counts = app.type_counts()
    type_choices = [(f"{TYPE_LABELS_FR[t]} ({counts[t]})", t) for t in RESOURCE_TYPES]
    lang_choices = [(LANG_LABELS_FR.get(lg, lg), lg) for lg in app.languages()]
    lo, hi = app.year_bounds()

    # delete_cache: Gradio's copies of exported CSV files (and any upload) older than an hour are removed hourly
    with gr.Blocks(title="innosoc — innovation sociale et ESS", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# innosoc\nAssistant documentaire sur l'innovation sociale et l'économie sociale et solidaire. "
                    "Les réponses sont tirées du corpus et citent leurs sources [n].")
        conv_state = gr.State(Conversation())
        with gr.Tabs():
            with gr.Tab("Discuter", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        msg = gr.Textbox(label="Votre question", placeholder="Par exemple : qu'est-ce qu'une SCIC ?",
                                         # lines=1: Enter sends, Shift+Enter adds a line (Gradio sends on
                                         # Shift+Enter when lines > 1); the box still grows to max_lines
                                         lines=1, max_lines=6, elem_id="question", max_length=MAX_MESSAGE_CHARS * 2,
                                         render=False)
                        if workshop:  # in front of a room, the examples come first: one click starts the demo
                            gr.Examples(EXAMPLES_FR + EXAMPLES_OTHER, inputs=msg, label="Exemples de questions")
                        chatbot = gr.Chatbot(label="Conversation", height=560 if not workshop else 620,
                                             feedback_options=("Like", "Dislike"), elem_id="chatbot",
                                             sanitize_html=True, placeholder="Posez une question sur l'innovation sociale ou l'ESS.")
                        msg.render()
                        with gr.Row():
                            send = gr.Button("Envoyer", variant="primary", elem_id="send")
                            unfilter = gr.Button("Reposer sans filtre", elem_id="unfilter", size="sm")
                            clear = gr.Button("Nouveau participant" if workshop else "Effacer la conversation",
                                              elem_id="clear")
                        staff_ui.comment_box(app, conv_state)  # a comment for staff's gap list
                        if not workshop:
                            gr.Examples(EXAMPLES_FR + EXAMPLES_OTHER, inputs=msg, label="Exemples de questions")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources citées")
                        sources = gr.HTML('<p class="hint">Les sources citées apparaîtront ici.</p>', elem_id="sources")

            with gr.Tab("Trouver une ressource", id="find"):
                with gr.Row():
                    with gr.Column(scale=1):
                        desc = gr.Textbox(label="Décrivez la ressource", lines=3, elem_id="find-desc",
                                          placeholder="une coopérative d'insertion en milieu rural…")
                        f_types = gr.CheckboxGroup(type_choices, label="Type", elem_id="find-types")
                        f_langs = gr.CheckboxGroup(lang_choices, label="Langue", elem_id="find-langs")
                        with gr.Row():
                            f_from = gr.Number(value=lo, label="De (année)", precision=0, minimum=lo, maximum=hi)
                            f_to = gr.Number(value=hi, label="À (année)", precision=0, minimum=lo, maximum=hi)
                        find_btn = gr.Button("Chercher", variant="primary", elem_id="find-btn")
                        similar_of = gr.Dropdown(choices=[], label="Ressources similaires à…", elem_id="similar-of")
                        similar_btn = gr.Button("Voir les ressources similaires", elem_id="similar-btn")
                        export = gr.DownloadButton("Exporter la liste (CSV)", visible=False, elem_id="export")
                    with gr.Column(scale=2):
                        results = gr.HTML('<p class="hint">Les ressources trouvées apparaîtront ici.</p>',
                                          elem_id="find-results")

            with gr.Tab("Le dossier", id="dossier"):
                with gr.Row():
                    with gr.Column(scale=3):
                        gr.Markdown(app.dossier_intro(), elem_id="dossier-intro")
                    with gr.Column(scale=2):
                        gr.Markdown("### Les ressources du dossier")
                        gr.Markdown(app.counts_markdown(), elem_id="dossier-counts")
                        gr.Markdown("### L'index")
                        gr.Markdown(app.index_facts(), elem_id="index-facts")
                browse = gr.Dropdown([(TYPE_LABELS_FR[t], t) for t in RESOURCE_TYPES], label="Parcourir un type",
                                     elem_id="browse-type")
                browse_list = gr.HTML(elem_id="browse-list")

            # « Atelier » (--workshop), « Ajouter une ressource » and « Questions sans réponse » (staff accounts)
            show_staff_tabs = staff_ui.build_tabs(app, staff=staff, workshop=workshop, host=host, port=port)

        # -- chat wiring
        def respond(message, history, conv: Conversation, use_intent: bool = True):
            history = list(history or [])
            text, _ = clean_message(message)
            if not text:
                yield history, gr.skip(), conv, ""
                return
            history.append({"role": "user", "content": md(text)})
            history.append({"role": "assistant", "content": "_Je cherche dans le corpus…_"})
            turn_id = new_turn_id()
            conv.messages[len(history) - 1] = turn_id  # votes on this message go to this turn, whatever happens
            yield history, gr.skip(), conv, ""
            try:
                written = ""
                for item in app.ask_stream(message, conv, use_intent=use_intent, turn_id=turn_id):
                    if isinstance(item, str):  # a language model writing: show its text as it comes
                        written += item
                        history[-1] = {"role": "assistant", "content": md(written) + " …"}
                        yield history, gr.skip(), conv, ""
                    else:
                        ans, notice = item
                # the checked answer replaces the streamed draft (uncited sentences removed, [n] renumbered)
                history[-1] = {"role": "assistant", "content": answer_markdown(ans, notice)}
                panel = sources_panel(ans)
            except InnosocError as e:
                history[-1] = {"role": "assistant", "content": f"_Erreur : {md(e)}_"}
                conv.turns.append({"id": turn_id, "question": text, "answer": str(e), "found": False, "cited": [],
                                   "applied": []})
                panel = gr.skip()
            yield history, panel, conv, ""

        def respond_without_filters(history, conv: Conversation):
            if not conv.turns:
                yield history, gr.skip(), conv, ""
                return
            last = conv.turns[-1]["question"]
            if conv.dialogue.turns:
                conv.dialogue.turns.pop()  # the filtered turn is replaced, not followed up
            yield from respond(last, history, conv, use_intent=False)

        send.click(respond, [msg, chatbot, conv_state], [chatbot, sources, conv_state, msg], api_visibility="private")
        msg.submit(respond, [msg, chatbot, conv_state], [chatbot, sources, conv_state, msg], api_visibility="private")
        unfilter.click(respond_without_filters, [chatbot, conv_state], [chatbot, sources, conv_state, msg],
                       api_visibility="private")

        def reset():
            return [], '<p class="hint">Les sources citées apparaîtront ici.</p>', Conversation(), ""

        clear.click(reset, None, [chatbot, sources, conv_state, msg], api_visibility="private", queue=False)

        def on_like(data: gr.LikeData, conv: Conversation):
            idx = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            liked = data.liked is True or data.liked == "Like"
            try:
                app.record_feedback(conv, conv.messages.get(int(idx)), liked)
                gr.Info("Merci pour votre avis !")
            except InnosocError as e:
                gr.Warning(str(e))

        # the module uses postponed annotations; Gradio finds the LikeData parameter by its real type
        on_like.__annotations__["data"] = gr.LikeData
        chatbot.like(on_like, [conv_state], None, api_visibility="private")

        # -- finder wiring
        def do_find(description, types, langs, y0, y1):
            try:
                hits = app.find(description, types, langs, y0, y1)
            except InnosocError as e:
                return f'<p class="hint">{esc(e)}</p>', gr.update(choices=[], value=None), gr.update(visible=False)
            choices = [(h.chunk.meta.get("title"), h.chunk.doc_id) for h in hits]
            return (app.results_html(hits, description), gr.update(choices=choices, value=None),
                    gr.update(value=app.export_csv(hits), visible=bool(hits)))

        find_btn.click(do_find, [desc, f_types, f_langs, f_from, f_to], [results, similar_of, export],
                       api_visibility="private")
        desc.submit(do_find, [desc, f_types, f_langs, f_from, f_to], [results, similar_of, export],
                    api_visibility="private")

        def do_similar(doc_id):
            if not doc_id:
                return '<p class="hint">Choisissez d\'abord une ressource dans la liste.</p>', gr.skip()
            hits = app.similar(doc_id)
            title = app.docs.get(doc_id, {}).get("title", doc_id)
            return (f'<p class="hint">Ressources proches de « {esc(title)} » :</p>' + app.results_html(hits, None),
                    gr.update(value=app.export_csv(hits), visible=bool(hits)))

        similar_btn.click(do_similar, [similar_of], [results, export], api_visibility="private")
        browse.change(lambda t: app.list_type(t) if t else "", [browse], [browse_list], api_visibility="private")

        # -- API for gradio_client
        def chat(message: str, history: list[str] | None = None) -> dict:
            """Answer a question; `history` lists the earlier questions, oldest first."""
            try:
                # earlier questions, bounded (an oversized history is refused with a message)
                conv = Conversation(dialogue=app.assistant.replay([clean_message(str(q))[0] for q in
                                                                    RagConversation.check_history(history)]))
                ans, notice = app.ask(message, conv)
            except InnosocError as e:  # gr.Error reaches the caller even with show_error=False; others do not
                raise gr.Error(str(e)) from None
            out = ans.to_json()
            out["text"] = ans.text + ("\n\nSources :\n" + ans.sources_text() if ans.found else "")
            if notice:
                out["warnings"] = [notice] + out.get("warnings", [])
            return out

        def search(description: str, types: list[str] | None = None, languages: list[str] | None = None,
                   year_min: int | None = None, year_max: int | None = None, k: int = 10) -> list[dict]:
            """Find resources (one entry per resource) matching a description and filters."""
            try:
                hits = app.find(description, types, languages, year_min, year_max, k=min(int(k), 50))
            except InnosocError as e:
                raise gr.Error(str(e)) from None
            return [h.to_json() for h in hits]

        gr.api(chat, api_name="chat")
        gr.api(search, api_name="search")
        show_staff_tabs(demo)
    return demo


# ------------------------------------------------------------------------------------------------ launch

def ensure_index(settings: Settings, corpus: Path | None, quiet: bool = False) -> None:
    """Bring the corpus folder's documents up to date in the index (incremental, with progress bars).

    Only `corpus` is scanned: documents added to the index from other paths (`python -m ingest nouveau.pdf`)
    are kept as they are, and a file deleted from the corpus is removed and named."""
    from ingest import ingest
    from rag.progress import Bars

    if corpus is None or not Path(corpus).exists():
        load_index(settings.index_dir)  # no corpus to compare against: serve the index if it loads
        return
    bars = Bars(enabled=not quiet)
    print(f"Vérification de l'index {settings.index_dir} par rapport au corpus {corpus}…", file=sys.stderr)
    report = ingest([Path(corpus)], settings, progress=bars)
    bars.close()
    for s in report.skipped:
        print(f"Ignoré : {s.path} — {s.reason}", file=sys.stderr)
    for path in report.removed:
        print(f"Retiré de l'index (supprimé du corpus) : {path}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)


AUTH_ENV = "INNOSOC_AUTH"


def _auth_pair(text: str, where: str) -> tuple[str, str]:
    user, sep, password = text.strip().partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{where} : attendu USER:PASS (identifiant, deux-points, mot de passe)")
    return user, password


def resolve_auth(a, environ=os.environ) -> tuple[list[tuple[str, str]] | None, list[str]]:
    """The accounts allowed in, from --auth-file (one USER:PASS a line, # comments), --auth USER:PASS or the
    INNOSOC_AUTH variable, and the warnings to print. A password in a file or in the environment does not show
    in `ps` or in the shell history; --auth still works but says so. Raises ValueError with a message naming
    the file or the option to fix."""
    warnings = []
    if a.auth and a.auth_file:
        raise ValueError("--auth et --auth-file s'excluent : gardez --auth-file")
    if a.auth_file:
        path = Path(a.auth_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ValueError(f"--auth-file {path} illisible ({e.strerror or e}) : créez-le avec une ligne USER:PASS") from None
        pairs = [_auth_pair(ln, f"{path}, ligne {i}") for i, ln in enumerate(lines, 1)
                 if ln.strip() and not ln.lstrip().startswith("#")]
        if not pairs:
            raise ValueError(f"--auth-file {path} ne contient aucune ligne USER:PASS")
        if path.stat().st_mode & 0o077:
            warnings.append(f"ATTENTION : {path} est lisible par d'autres comptes de la machine : chmod 600 {path}")
        return pairs, warnings
    if a.auth:
        warnings.append("Note : un mot de passe passé par --auth se voit dans `ps` et l'historique du shell ; "
                        f"préférez --auth-file FICHIER ou la variable {AUTH_ENV}.")
        return [_auth_pair(a.auth, "--auth")], warnings
    if environ.get(AUTH_ENV):
        return [_auth_pair(environ[AUTH_ENV], AUTH_ENV)], warnings
    return None, warnings


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python app.py", description="Lance l'application innosoc (Gradio).")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus à indexer si l'index manque ou a changé")
    p.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (0.0.0.0 pour un atelier en réseau local)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", help="USER:PASS — mot de passe exigé pour entrer (visible dans ps : préférez "
                                   "--auth-file ou la variable INNOSOC_AUTH=USER:PASS)")
    p.add_argument("--auth-file", type=Path, help="fichier d'identifiants, une ligne USER:PASS par compte (chmod 600)")
    p.add_argument("--share", action="store_true", help="lien public Gradio (désactivé par défaut ; exige un mot de passe)")
    p.add_argument("--workshop", action="store_true", help="mode atelier : grands caractères, exemples en tête")
    p.add_argument("--feedback", type=Path, help="fichier JSONL des avis 👍/👎 (défaut : feedback/feedback.jsonl)")
    p.add_argument("--staff", help="comptes de l'équipe (séparés par des virgules) quand plusieurs comptes sont "
                                   "configurés : eux seuls voient « Ajouter une ressource » et « Questions sans réponse »")
    p.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS,
                   help="durée de conservation des questions sans réponse et des avis, en jours")
    p.add_argument("--no-update", action="store_true", help="servir l'index tel quel, sans le comparer au corpus")
    p.add_argument("--watch", type=float, default=2.0, metavar="S",
                   help="toutes les S secondes, passer à la nouvelle version de l'index si un ingest l'a remplacée "
                        "(plusieurs instances sur un même index ; 0 : jamais)")
    p.add_argument("--concurrency", type=int, default=2, help="requêtes traitées en parallèle")
    p.add_argument("--llm-url", help="serveur compatible OpenAI (ex. http://localhost:11434/v1) : réponses rédigées")
    p.add_argument("--llm-model", help="nom du modèle sur ce serveur (ex. qwen2.5:3b)")
    p.add_argument("--llm-timeout", type=float, help="délai d'attente du modèle, en secondes")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    try:
        auth, auth_warnings = resolve_auth(a)
    except ValueError as e:
        print(f"Erreur : {e}", file=sys.stderr)
        return 2
    for w in auth_warnings:
        print(w, file=sys.stderr)
    if a.share and not auth:
        print("ATTENTION : --share ouvre un lien public sur Internet sans mot de passe : n'importe qui peut "
              f"l'utiliser. Ajoutez --auth-file FICHIER (ou la variable {AUTH_ENV}=USER:PASS).", file=sys.stderr)
    elif a.host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print(f"ATTENTION : l'application écoute sur {a.host} sans mot de passe : toute personne du réseau peut "
              f"l'utiliser. Ajoutez --auth-file FICHIER (ou {AUTH_ENV}=USER:PASS) pour un atelier.", file=sys.stderr)
    settings = Settings(index_dir=a.index)
    try:
        if not a.no_update:
            ensure_index(settings, a.corpus)
        app = InnosocApp(settings, llm_args=a, feedback_path=a.feedback or (Path(__file__).resolve().parent / "feedback" / "feedback.jsonl"),
                         corpus_dir=a.corpus, retention_days=a.retention_days, warm=True)
    except InnosocError as e:
        print(f"Erreur : {e}", file=sys.stderr)
        return 2
    app.watch_index(a.watch)
    from rag.staff_ui import staff_accounts
    demo = build_ui(app, workshop=a.workshop, staff=staff_accounts(auth, a.staff), host=a.host, port=a.port)
    demo.queue(default_concurrency_limit=a.concurrency, max_size=64)
    import gradio as gr
    demo.launch(
        server_name=a.host, server_port=a.port, share=a.share, auth=auth,
        auth_message="innosoc — identifiez-vous" if auth else None,
        allowed_paths=[], blocked_paths=[str(Path(a.index).resolve()), str(Path(a.corpus).resolve()),
                                         str(Path(__file__).resolve().parent)],
        show_error=False, max_file_size="1mb", footer_links=["api"],
        enable_monitoring=False,  # /monitoring/summary would show anyone the traffic figures
        theme=gr.themes.Soft(), css=CSS_WORKSHOP if a.workshop else CSS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
