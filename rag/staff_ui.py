"""Gradio tabs for staff and workshop facilitators, built into app.py's `build_ui`.

- « Ajouter une ressource »: the fiche form (rag/fiche.py rules, one message under each field), duplicate
  warning, save / edit / withdraw through rag/editor.py, then `app.reload_index()` so the change is searchable.
- « Questions sans réponse »: unanswered and 👎 questions grouped by meaning (rag/feedback.py), CSV export.
- « Atelier » (--workshop): the LAN address as text and QR code, « Exporter la séance » (rag/handout.py).

Staff tabs exist only when the app has accounts (--auth); they are shown to staff accounts, and every staff
handler checks the account again on the server (hiding a tab is not a permission).
"""
import html
import logging
import tempfile
import threading
import time
from pathlib import Path

from . import fiche
from .editor import CorpusEditor
from .errors import InnosocError
from .feedback import gaps_csv
from .handout import handout_markdown, handout_pdf, join_url, qr_png_data_uri
from .types import RESOURCE_TYPES

log = logging.getLogger(__name__)

FORM_FIELDS = ("type", "title", "authors", "year", "language", "url", "publisher", "countries", "topics",
               "sources", "body", "see_also")
LANGS = [("français", "fr"), ("anglais", "en"), ("espagnol", "es"), ("portugais", "pt"), ("italien", "it")]
TYPE_CHOICES = [("Publication", "publication"), ("Thèse", "these"), ("Vidéo", "video"),
                ("Outil pédagogique", "outil_pedagogique"), ("Étude de cas", "etude_de_cas"),
                ("Document d'analyse", "document_analyse"), ("Intervention publique", "intervention_publique"),
                ("Article", "article")]
NO_STAFF = "Réservé à l'équipe : connectez-vous avec un compte de l'équipe."


def esc(v) -> str:
    return html.escape(str(v if v is not None else ""), quote=True)


def staff_accounts(auth, staff: str | None) -> set[str] | None:
    """Accounts that see the staff tabs: None when the app has no accounts (no staff tabs at all).

    One account (--auth USER:PASS): that account. Several: those named in --staff (comma-separated)."""
    if not auth:
        return None
    pairs = [auth] if isinstance(auth, tuple) else list(auth)
    users = [u for u, _ in pairs]
    if staff:
        return {s.strip() for s in staff.split(",") if s.strip()} & set(users)
    return set(users) if len(users) == 1 else set()


def _export_dir() -> Path:
    d = Path(tempfile.gettempdir()) / "innosoc-staff-exports"
    d.mkdir(exist_ok=True)
    now = time.time()
    for old in d.iterdir():  # exports older than an hour go
        try:
            if now - old.stat().st_mtime > 3600:
                old.unlink()
        except OSError:
            pass
    return d


def gaps_html(gaps) -> str:
    if not gaps:
        return '<p class="hint">Aucune question sans réponse ni vote 👎 pour le moment.</p>'
    rows = []
    for g in gaps:
        variants = "".join(f"<li>{esc(v)}</li>" for v in g.variants[1:6])
        comments = "".join(f"<li>{esc(c)}</li>" for c in g.comments[:5])
        rows.append(
            f'<tr class="gap"><td class="q"><b>{esc(g.question)}</b>'
            + (f'<ul class="variants">{variants}</ul>' if variants else "")
            + (f'<div class="comments">Commentaires :<ul>{comments}</ul></div>' if comments else "")
            + f'</td><td class="n">{g.count}</td><td>{g.not_found}</td><td>{g.down}</td>'
            f'<td>{time.strftime("%d/%m/%Y", time.localtime(g.first))}</td>'
            f'<td>{time.strftime("%d/%m/%Y", time.localtime(g.last))}</td></tr>')
    return ('<table class="gaps"><thead><tr><th>Question (et formulations proches)</th><th>Fois</th>'
            '<th>« Pas trouvé »</th><th>Votes négatifs</th><th>Première</th><th>Dernière</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


# ------------------------------------------------------------------------------------------------ form logic

_stamp_lock = threading.Lock()
_last_stamp = ["", 0]


def stamp() -> str:
    """The time shown before a status, never twice the same: two saves within one second (a quick correction
    after an error) would otherwise show an identical status, and neither the person nor the page could tell
    that the second click was answered."""
    now = time.strftime("%H:%M:%S")
    with _stamp_lock:
        if now == _last_stamp[0]:
            _last_stamp[1] += 1
            return f"{now} ({_last_stamp[1] + 1})"
        _last_stamp[:] = [now, 0]
        return now

class StaffForm:
    """The form's behaviour without Gradio: raw field values in, (status, per-field errors) out."""

    def __init__(self, app):
        self.app = app
        self.editor = CorpusEditor(app.corpus_dir, app.settings) if app.corpus_dir else None

    def resources(self) -> list[tuple[str, str]]:
        docs = [d for d in self.app.docs.values() if d.get("type") in RESOURCE_TYPES]
        return sorted(((f"{d.get('title')} ({d.get('id')})", d.get("id")) for d in docs), key=lambda x: x[0].lower())

    def submit(self, values: dict, editing: str | None, version: str | None, confirm: bool):
        """(kind, message, errors): kind is "saved", "invalid", "duplicate" or "conflict"."""
        if self.editor is None:
            return "conflict", "Aucun dossier de corpus : lancez l'application avec --corpus.", {}
        meta, body, errors = fiche.from_form(values)
        if errors:
            return "invalid", "La fiche n'est pas enregistrée : corrigez les champs signalés.", errors
        res = self.editor.save(meta, body, docs=self.app.docs, editing=editing or None, version=version or None,
                               confirm_duplicate=confirm)
        if res.status == "duplicate":
            return ("duplicate", "Cette ressource semble déjà dans le corpus :\n\n"
                    + "\n".join(f"- {esc(w)}" for w in res.warnings)
                    + "\n\nVérifiez, puis « Enregistrer quand même » si c'est bien une autre ressource.", {})
        if not res.ok:
            return res.status, "La fiche n'est pas enregistrée : corrigez les champs signalés.", res.errors
        self.app.reload_index()
        return ("saved", f"Fiche **{esc(meta['title'])}** enregistrée dans `{esc(res.path.relative_to(self.editor.root))}` "
                         f"et indexée ({esc(res.summary)}). Elle est déjà cherchable.", {"_id": res.doc_id})

    def load(self, doc_id: str) -> tuple[dict, str]:
        meta, body, version = self.editor.load(doc_id)
        values = {k: meta.get(k) for k in ("type", "title", "url", "publisher", "language")}
        values.update(authors=", ".join(meta.get("authors") or []), countries=", ".join(meta.get("countries") or []),
                      topics=", ".join(meta.get("topics") or []), sources="\n".join(meta.get("sources") or []),
                      year="" if meta.get("year") is None else str(meta["year"]), body=fiche.text_of(body),
                      see_also=", ".join(fiche.see_also(body)))
        return values, version

    def withdraw(self, doc_id: str, version: str | None):
        res = self.editor.withdraw(doc_id, version or None)
        if not res.ok:
            return res.status, "La fiche n'est pas retirée.", res.errors
        self.app.reload_index()
        return "withdrawn", (f"Fiche `{esc(doc_id)}` retirée du corpus et de l'index (copie gardée dans "
                             f"`{esc(res.path.relative_to(self.editor.root))}`)."), {}


# ------------------------------------------------------------------------------------------------ Gradio

def build_tabs(app, *, staff: set[str] | None, workshop: bool, host: str = "127.0.0.1", port: int = 7860):
    """Add the staff and workshop tabs inside the caller's `gr.Tabs()`; returns the tabs to show on load."""
    import gradio as gr

    tabs = []
    if workshop:
        _workshop_tab(app, gr, host, port)
    if staff is None:
        return lambda demo: None

    def allowed(request: gr.Request | None) -> bool:
        return request is not None and request.username in staff

    form = StaffForm(app)
    with gr.Tab("Ajouter une ressource", id="staff-add", visible=False) as add_tab:
        tabs.append(add_tab)
        gr.Markdown("Ajoutez, modifiez ou retirez une fiche du corpus. Elle est vérifiée comme les fiches livrées "
                    "(voir `corpus/README.md`), enregistrée dans `corpus/resources/<type>/`, puis indexée : "
                    "elle est cherchable aussitôt. N'inventez rien : laissez vide ce que vous n'avez pas vérifié.")
        with gr.Row():
            pick = gr.Dropdown(choices=[], label="Modifier une fiche existante", elem_id="staff-pick", scale=3)
            load_btn = gr.Button("Ouvrir", elem_id="staff-load", scale=1)
            new_btn = gr.Button("Nouvelle fiche", elem_id="staff-new", scale=1)
        editing = gr.State("")
        version = gr.State("")
        inputs, errs = {}, {}

        def field(name, comp):
            inputs[name] = comp
            errs[name] = gr.Markdown("", visible=False, elem_id=f"err-{name}", elem_classes=["field-error"])

        with gr.Row():
            with gr.Column():
                field("type", gr.Dropdown(TYPE_CHOICES, label="Type *", elem_id="f-type"))
                field("title", gr.Textbox(label="Titre original *", elem_id="f-title"))
                field("authors", gr.Textbox(label="Auteurs (séparés par des virgules ; vide si inconnu)",
                                            elem_id="f-authors"))
                with gr.Row():
                    with gr.Column():
                        field("year", gr.Textbox(label="Année (vide si non vérifiée)", elem_id="f-year"))
                    with gr.Column():
                        field("language", gr.Dropdown(LANGS, value="fr", label="Langue de la ressource *",
                                                      elem_id="f-language"))
                field("url", gr.Textbox(label="Lien vers la ressource *", placeholder="https://…", elem_id="f-url"))
                field("publisher", gr.Textbox(label="Éditeur, revue ou organisateur", elem_id="f-publisher"))
                field("countries", gr.Textbox(label="Pays (séparés par des virgules)", elem_id="f-countries"))
                field("topics", gr.Textbox(label="Mots-clés en français (3 à 8, séparés par des virgules) *",
                                           elem_id="f-topics"))
                field("sources", gr.Textbox(label="Sources consultées (une adresse par ligne) *", lines=2,
                                            elem_id="f-sources"))
            with gr.Column():
                field("body", gr.Textbox(label="Texte de la fiche, avec vos mots (150 à 400 mots environ) *", lines=16,
                                         elem_id="f-body"))
                field("see_also", gr.Textbox(label="Voir aussi : identifiants de fiches liées (virgules) *",
                                             elem_id="f-see_also"))
                errs["id"] = gr.Markdown("", visible=False, elem_id="err-id", elem_classes=["field-error"])
        status = gr.Markdown("", elem_id="staff-status")
        with gr.Row():
            save_btn = gr.Button("Enregistrer", variant="primary", elem_id="staff-save")
            force_btn = gr.Button("Enregistrer quand même", visible=False, elem_id="staff-force")
            withdraw_btn = gr.Button("Retirer la fiche", variant="stop", visible=False, elem_id="staff-withdraw")

    err_list = [errs[k] for k in (*FORM_FIELDS, "id")]
    field_list = [inputs[k] for k in FORM_FIELDS]

    def err_updates(errors: dict):
        return [gr.update(value=f"⚠ {esc(errors[k])}" if k in errors else "", visible=k in errors)
                for k in (*FORM_FIELDS, "id")]

    def do_save(confirm: bool, data: dict, request):
        if not allowed(request):
            return [NO_STAFF, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()] + err_updates({})
        values = {k: data[inputs[k]] for k in FORM_FIELDS}
        try:
            kind, msg, errors = form.submit(values, data[editing], data[version], confirm)
        except InnosocError as e:
            return [f"Erreur : {esc(e)}", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()] + err_updates({})
        msg = f"{stamp()} — {msg}"  # each click gets a visibly new status, even if the same
        if kind == "saved":
            new_id = errors.pop("_id")
            _, new_ver = form.load(new_id)
            return [msg, gr.update(visible=False), gr.update(visible=True), new_id, new_ver,
                    gr.update(choices=form.resources(), value=new_id)] + err_updates({})
        return [msg, gr.update(visible=kind == "duplicate"), gr.skip(), gr.skip(), gr.skip(), gr.skip()] \
            + err_updates(errors)

    def save(data: dict, request: gr.Request):
        return do_save(False, data, request)

    def save_anyway(data: dict, request: gr.Request):
        return do_save(True, data, request)

    outs = [status, force_btn, withdraw_btn, editing, version, pick] + err_list
    # a set of inputs: the handler gets one {component: value} dict. Saves run outside the chat's concurrency
    # limit; the editor's lock orders them.
    save_btn.click(save, {editing, version, *field_list}, outs, api_visibility="private", concurrency_limit=None)
    force_btn.click(save_anyway, {editing, version, *field_list}, outs, api_visibility="private",
                    concurrency_limit=None)

    def do_load(doc_id, request: gr.Request):
        if not allowed(request) or not doc_id:
            return [NO_STAFF if not allowed(request) else "Choisissez une fiche.", "", ""] + [gr.skip()] * len(FORM_FIELDS) \
                + [gr.update(visible=False)] * 2 + err_updates({})
        try:
            values, ver = form.load(doc_id)
        except InnosocError as e:
            return [f"Erreur : {esc(e)}", "", ""] + [gr.skip()] * len(FORM_FIELDS) + [gr.update(visible=False)] * 2 \
                + err_updates({})
        return [f"Modification de `{esc(doc_id)}`.", doc_id, ver] + [values.get(k) or "" for k in FORM_FIELDS] \
            + [gr.update(visible=True), gr.update(visible=False)] + err_updates({})

    load_outs = [status, editing, version, *field_list, withdraw_btn, force_btn] + err_list
    load_btn.click(do_load, [pick], load_outs, api_visibility="private")

    def do_new(request: gr.Request):
        blank = {"type": None, "language": "fr"}
        return (["Nouvelle fiche.", "", ""] + [blank.get(k, "") for k in FORM_FIELDS]
                + [gr.update(visible=False)] * 2 + err_updates({}))

    new_btn.click(do_new, None, load_outs, api_visibility="private")

    def do_withdraw(editing_id, ver, request: gr.Request):
        if not allowed(request):
            return [NO_STAFF, gr.skip(), gr.skip(), gr.skip(), gr.skip()] + err_updates({})
        if not editing_id:
            return ["Ouvrez d'abord la fiche à retirer.", gr.skip(), gr.skip(), gr.skip(), gr.skip()] + err_updates({})
        kind, msg, errors = form.withdraw(editing_id, ver)
        msg = f"{stamp()} — {msg}"
        if kind != "withdrawn":
            return [msg, gr.skip(), gr.skip(), gr.skip(), gr.skip()] + err_updates(errors)
        return [msg, "", "", gr.update(visible=False), gr.update(choices=form.resources(), value=None)] + err_updates({})

    withdraw_btn.click(do_withdraw, [editing, version], [status, editing, version, withdraw_btn, pick] + err_list,
                       api_visibility="private")

    with gr.Tab("Questions sans réponse", id="staff-gaps", visible=False) as gaps_tab:
        tabs.append(gaps_tab)
        gr.Markdown(f"Les questions restées sans réponse (« je n'ai pas trouvé ») et les réponses jugées 👎, "
                    f"regroupées par sens : ce que le corpus devrait couvrir ensuite. Seul le texte des questions "
                    f"et des commentaires est gardé, {app.gaps.retention_days} jours au plus.")
        with gr.Row():
            refresh = gr.Button("Actualiser", elem_id="gaps-refresh")
            gaps_export = gr.DownloadButton("Exporter (CSV)", visible=False, elem_id="gaps-export")
        gaps_view = gr.HTML('<p class="hint">Cliquez sur « Actualiser ».</p>', elem_id="gaps-list")

    def do_gaps(request: gr.Request):
        if not allowed(request):
            return f'<p class="hint">{NO_STAFF}</p>', gr.update(visible=False)
        gaps = app.gaps.gaps(app.retriever.embedder)
        path = _export_dir() / f"questions-sans-reponse-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        gaps_csv(gaps, path)
        return gaps_html(gaps), gr.update(value=str(path), visible=True)

    refresh.click(do_gaps, None, [gaps_view, gaps_export], api_visibility="private")

    def on_load(request: gr.Request):
        show = allowed(request)
        return [gr.update(visible=show)] * len(tabs) + [gr.update(choices=form.resources() if show else [])]

    return lambda demo: demo.load(on_load, None, tabs + [pick], api_visibility="private")


def comment_box(app, conv_state) -> None:
    """Under the chat: a comment on the last answer, for staff's « Questions sans réponse » (counts as 👎)."""
    import gradio as gr

    with gr.Accordion("Un commentaire sur la dernière réponse ?", open=False, elem_id="comment-box"):
        text = gr.Textbox(label="Qu'est-ce qui manquait ? (facultatif ; n'y mettez pas de données personnelles)",
                          lines=2, max_length=2000, elem_id="comment")
        send = gr.Button("Envoyer le commentaire", size="sm", elem_id="comment-send")

    def do_send(comment, conv):
        if not conv.turns:
            gr.Warning("Posez d'abord une question.")
            return gr.skip()
        if not (comment or "").strip():
            return gr.skip()
        t = conv.turns[-1]
        app.gaps.comment(t.get("id") or "", t["question"], comment)
        gr.Info("Merci : votre commentaire est transmis à l'équipe.")
        return ""

    send.click(do_send, [text, conv_state], [text], api_visibility="private")


def _workshop_tab(app, gr, host: str, port: int) -> None:
    url, warning = join_url(host, port)
    with gr.Tab("Atelier", id="workshop"):
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Rejoindre la séance")
                gr.HTML(f'<div id="join"><p class="join-url" style="font-size:1.6em;font-weight:700">{esc(url)}</p>'
                        + (f'<p class="hint">{esc(warning)}</p>' if warning else "")
                        + f'<img id="join-qr" alt="QR code de {esc(url)}" src="{qr_png_data_uri(url)}" '
                          f'style="width:260px;image-rendering:pixelated"></div>', elem_id="join-box")
            with gr.Column():
                gr.Markdown("### Exporter la séance\nToutes les questions posées depuis le lancement, avec les "
                            "réponses et leurs sources numérotées, en Markdown et en PDF, à distribuer.")
                export_btn = gr.Button("Exporter la séance", variant="primary", elem_id="session-export")
                files = gr.File(label="Fichiers de la séance", file_count="multiple", visible=False,
                                elem_id="session-files")
                preview = gr.Markdown("", elem_id="session-preview")

    def do_export():
        turns = app.session.turns()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        d = _export_dir()
        md = handout_markdown(turns)
        md_path = d / f"seance-innosoc-{stamp}.md"
        md_path.write_text(md, encoding="utf-8")
        try:
            pdf_path = handout_pdf(turns, d / f"seance-innosoc-{stamp}.pdf")
        except InnosocError as e:
            gr.Warning(str(e))
            return gr.update(value=[str(md_path)], visible=True), md
        return gr.update(value=[str(md_path), str(pdf_path)], visible=True), md

    export_btn.click(do_export, None, [files, preview], api_visibility="private")
