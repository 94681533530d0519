"""Several app instances over one index folder, behind Debian's nginx with the repository's configuration:
an ingest adds a document and swaps the generation while both instances answer; no request fails and both
then cite the new document. Feedback written by several processes to one file is neither lost nor interleaved.
All traffic stays on 127.0.0.1."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ingest import ingest
from rag.settings import Settings

from .conftest import MINILM, ROOT, TINY, free_port
from .test_security import Server, gclient

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
QUESTION = "Quelle monnaie locale circule à Lyon ?"
GONETTE = """---
title: "La Gonette, monnaie locale de Lyon"
type: etude_de_cas
year: 2015
language: fr
---
# La Gonette

La Gonette est la monnaie locale complémentaire de Lyon. Elle circule à Lyon depuis 2015 entre des
commerçants et des habitants adhérents, pour relocaliser les échanges.
"""


def start_nginx(tmp: Path, ports: list[int]) -> tuple[subprocess.Popen, int, Path]:
    """Debian's nginx with deploy/nginx-innosoc.conf, its upstream ports and log path adapted to this test."""
    listen = free_port()
    conf = (ROOT / "deploy" / "nginx-innosoc.conf").read_text()
    conf = conf.replace("127.0.0.1:7861", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:7862", f"127.0.0.1:{ports[1]}")
    conf = conf.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{listen}")
    log = tmp / "access.log"
    conf = conf.replace("/var/log/nginx/innosoc.access.log", str(log))
    temp = "\n".join(f"    {k}_temp_path {tmp}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = (f"{'user root;' if os.geteuid() == 0 else ''}\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
            f"worker_processes 1;\nevents {{ worker_connections 256; }}\nhttp {{\n{temp}\n{conf}\n}}\n")
    (tmp / "nginx.conf").write_text(main)
    proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{listen}/", timeout=5)
            return proc, listen, log
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.2)
    raise TimeoutError("nginx")


def cited(answer: dict) -> list[str]:
    return [c["doc_id"] for c in answer.get("citations") or []]


@pytest.mark.slow
def test_two_instances_behind_nginx_switch_generation_without_failing_a_request(tmp_path):
    if not os.path.exists(NGINX):
        pytest.skip("nginx absent : apt-get install nginx")
    corpus = tmp_path / "corpus"
    shutil.copytree(TINY, corpus)
    s = Settings(index_dir=tmp_path / "index", model=MINILM, chunk_tokens=120, chunk_overlap=20)
    ingest([corpus], s)
    dirs = [tmp_path / "a", tmp_path / "b", tmp_path / "nginx"]
    for d in dirs:
        d.mkdir()
    with ThreadPoolExecutor(2) as pool:  # both instances start at once: each loads Gradio and the model
        servers = list(pool.map(lambda d: Server(s.index_dir, corpus, d, "--watch", "0.5"), dirs[:2]))
    nginx = None
    try:
        nginx, port, access_log = start_nginx(dirs[2], [srv.port for srv in servers])
        targets = {"a": servers[0].url, "b": servers[1].url, "nginx": f"http://127.0.0.1:{port}"}
        failures: list[str] = []
        answers: dict[str, list[tuple[float, list[str]]]] = {name: [] for name in targets}
        stop = threading.Event()

        def traffic(name: str, url: str) -> None:
            c = gclient(url)
            try:
                while not stop.is_set():
                    try:
                        r = c.predict(QUESTION, [], api_name="/chat")
                        answers[name].append((time.time(), cited(r)))
                    except Exception as e:  # any failed request is a failure of the test
                        failures.append(f"{name}: {type(e).__name__}: {e}")
            finally:
                c.close()

        threads = [threading.Thread(target=traffic, args=kv) for kv in targets.items()]
        for t in threads:
            t.start()
        deadline = time.time() + 90  # every instance has answered once with the old generation
        while time.time() < deadline and not all(answers.values()):
            time.sleep(0.2)
        (corpus / "gonette.md").write_text(GONETTE, encoding="utf-8")
        t_swap0 = time.time()
        report = ingest([corpus], s)  # the same index folder the instances serve
        t_swap1 = time.time()
        assert report.files_parsed == 1
        deadline = time.time() + 90
        while time.time() < deadline and not all(
                any(t > t_swap1 and "gonette" in ids for t, ids in answers[n]) for n in targets):
            time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=120)
        assert failures == []
        for name in targets:
            before = [ids for t, ids in answers[name] if t < t_swap0]
            after = [ids for t, ids in answers[name] if t > t_swap1]
            assert before and all("gonette" not in ids for ids in before), name
            assert after and "gonette" in after[-1], (name, after[-1:])

        # requests from different browsers (route cookies) are spread over both instances
        for i in range(12):
            req = urllib.request.Request(targets["nginx"] + "/", headers={"Cookie": f"innosoc_route=r{i}"})
            assert urllib.request.urlopen(req, timeout=30).status == 200
        upstreams = {line.split(" -> ")[1].split()[0] for line in access_log.read_text().splitlines()}
        assert {f"127.0.0.1:{srv.port}" for srv in servers} <= upstreams
        # a first visit without the cookie gets one
        with urllib.request.urlopen(targets["nginx"] + "/", timeout=30) as r:
            assert "innosoc_route=" in (r.headers.get("Set-Cookie") or "")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for srv in servers:
            srv.stop()


WRITER = """
import sys, threading
from pathlib import Path
import app
from rag.feedback import FeedbackStore
a = object.__new__(app.InnosocApp)  # only the feedback file is needed, not an index
a.feedback_path, a._feedback_lock = Path(sys.argv[1]), threading.Lock()
a.gaps = FeedbackStore(a.feedback_path.with_name("questions.sqlite3"))  # the staff's shared vote store
conv = app.Conversation()
for i in range(int(sys.argv[3])):
    conv.turns.append({"question": sys.argv[2], "answer": sys.argv[2] * 20000, "found": True, "cited": [],
                       "id": f"{sys.argv[2]}-{i}"})
    a.record_feedback(conv, f"{sys.argv[2]}-{i}", i % 2 == 0)  # votes are keyed by turn id
"""


def test_feedback_from_several_processes_is_neither_lost_nor_interleaved(tmp_path):
    path = tmp_path / "feedback" / "feedback.jsonl"
    path.parent.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, "150"], cwd=ROOT)
             for tag in ("A", "B", "C")]
    for p in procs:
        assert p.wait(timeout=120) == 0
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]  # 60 kB records
    assert len(rows) == 450
    for tag in "ABC":
        assert sum(r["question"] == tag and r["answer"] == tag * 20000 for r in rows) == 150
    import sqlite3
    with sqlite3.connect(path.with_name("questions.sqlite3")) as db:  # and every vote reached the shared store
        assert db.execute("SELECT COUNT(*) FROM events WHERE kind IN ('up', 'down')").fetchone()[0] == 450
