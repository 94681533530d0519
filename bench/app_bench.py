"""How fast the real app serves: time to first page, chat latency for one user, and under concurrent users.

    python bench/app_bench.py --index DIR [--corpus DIR] [--starts 3] [--users 10] [--per-user 3] [--out FILE]

The app is started as it is in production (`python app.py --index DIR --port FREE --no-update`, loopback only)
and driven through `gradio_client`, the way a script or a notebook would use the `/chat` endpoint:

- time to first page: from process start to the first HTTP 200 on `/` with a built index (median of --starts);
- chat latency: the first answer after start (warm-up), then 20 varied questions (French, two English) asked
  one after the other — p50/p95/max;
- concurrent users: --users threads, each with its own client, asking --per-user questions at the same time —
  p50/p95/max per request and the wall time, bounded by --deadline seconds.

Prints a Markdown table and writes the figures as JSON (--out). `bench/load.py` reuses the server harness.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# Neither the server nor gradio_client may phone home (Gradio version check, usage telemetry): set before import.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    "Qu'est-ce que l'innovation sociale ?",
    "Quelle différence entre économie sociale et économie solidaire ?",
    "Comment fonctionne une SCIC ?",
    "Qu'est-ce qu'un PTCE et que dit la loi de 2014 ?",
    "À quoi servent les monnaies locales complémentaires ?",
    "Comment mesurer l'impact social d'une association ?",
    "Qu'est-ce que l'économie solidaire au Brésil ?",
    "Que propose l'approche du CRISES au Québec ?",
    "Qui détient le capital d'une SCOP ?",
    "Comment fonctionne un club Cigales ?",
    "Quelles sont les conditions pour faire partie de l'ESS selon la loi Hamon ?",
    "Qu'est-ce qu'une AMAP et comment s'organisent les circuits courts ?",
    "Quel rôle jouent les tiers-lieux dans les territoires ?",
    "Qu'est-ce que l'insertion par l'activité économique ?",
    "Comment définir l'utilité sociale ?",
    "Qu'appelle-t-on les communs ?",
    "Quelle place pour la gouvernance démocratique dans l'entreprise sociale ?",
    "Que fait le RIPESS ?",
    "What is social innovation according to the European Commission?",
    "How does microcredit work in France?",
]


# ------------------------------------------------------------------------------------------------ harness

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB, read from /proc (psutil is not a dependency)."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class AppServer:
    """`python app.py` on a free loopback port, its output in a log file; a context manager that stops it."""

    def __init__(self, index: Path, corpus: Path | None = None, extra: list[str] | None = None,
                 log_dir: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._own_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="innosoc-bench-"))
        self.log_path = self.log_dir / f"app-{self.port}.log"
        cmd = [sys.executable, str(ROOT / "app.py"), "--index", str(index), "--port", str(self.port),
               "--no-update", "--feedback", str(self.log_dir / "feedback.jsonl")]
        if corpus:
            cmd += ["--corpus", str(corpus)]
        self.cmd = cmd + list(extra or [])
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> "AppServer":
        self._log = open(self.log_path, "w", encoding="utf-8")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 300) -> float:
        """Seconds from process start to the first HTTP 200 on `/`."""
        while time.perf_counter() - self.started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"l'application s'est arrêtée (code {self.proc.returncode}) :\n"
                                   + self.log_path.read_text(encoding="utf-8")[-3000:])
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - self.started
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.url} ne répond pas après {timeout:.0f} s")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def cleanup(self) -> None:
        """Remove the log folder this server created (once its log has been read)."""
        if self._own_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def client(url: str, auth: tuple[str, str] | None = None):
    """A `gradio_client` session. Over plain http (the loopback server here) there is no certificate to verify:
    with the default ssl_verify=True, gradio_client builds a fresh httpx client for each request and each
    event stream, and each one loads the CA bundle (~26 ms of CPU, 2-3 times per request). On a 2-core
    machine shared with the server that measured the benchmark's own client more than the app."""
    from gradio_client import Client

    return Client(url, verbose=False, auth=auth, download_files=False, analytics_enabled=False,
                  ssl_verify=not url.startswith("http://"))


class HttpClient:
    """Named endpoints called over Gradio's REST API, as curl would (POST /gradio_api/call/NAME, then the result's
    event stream): no client-side polling. gradio_client looks for a result every 50 ms, which rounds each
    latency up to the next 50 ms step (a 55 ms answer counts 0.10 s); this client reads the stream as it comes,
    so its figures are the server's own latency plus the loopback round trips."""

    def __init__(self, url: str):
        self.base = url.rstrip("/")

    def call(self, api_name: str, data: list, timeout: float):
        req = urllib.request.Request(f"{self.base}/gradio_api/call/{api_name.strip('/')}",
                                     data=json.dumps({"data": data}).encode("utf-8"),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            event_id = json.load(r)["event_id"]
        event = None
        with urllib.request.urlopen(f"{self.base}/gradio_api/call/{api_name.strip('/')}/{event_id}",
                                    timeout=timeout) as r:
            for raw in r:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = json.loads(line[5:])
                    if event == "error":
                        raise RuntimeError(f"erreur du serveur : {str(payload)[:200]}")
                    return payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
        raise RuntimeError("flux d'événements terminé sans résultat")

    def close(self) -> None:
        pass


def open_client(url: str, raw: bool = False):
    """A `gradio_client` session, or with `raw` an `HttpClient` (no 50 ms polling)."""
    return HttpClient(url) if raw else client(url)


def call(c, api_name: str, data: list, timeout: float):
    """One call of a named endpoint, through either kind of client."""
    if isinstance(c, HttpClient):
        return c.call(api_name, data, timeout)
    return c.submit(*data, api_name=f"/{api_name.strip('/')}").result(timeout=timeout)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def summary(latencies: list[float]) -> dict:
    return {"n": len(latencies), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "max": max(latencies) if latencies else float("nan"),
            "mean": statistics.fmean(latencies) if latencies else float("nan")}


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in load] if load else None, "gradio": _version("gradio"),
            "gradio_client": _version("gradio_client")}


def _version(pkg: str) -> str | None:
    try:
        from importlib.metadata import version
        return version(pkg)
    except Exception:
        return None


# ------------------------------------------------------------------------------------------------ measures

def time_to_first_page(index: Path, corpus: Path | None, starts: int) -> list[float]:
    out = []
    for _ in range(starts):
        with AppServer(index, corpus) as srv:
            out.append(srv.wait_ready())
        srv.cleanup()
    return out


def ask(c, question: str, timeout: float) -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = call(c, "chat", [question, None], timeout)
    dt = time.perf_counter() - t0
    if not isinstance(r, dict) or not r.get("text"):
        raise RuntimeError(f"réponse inattendue : {str(r)[:200]}")
    return dt, r


def sequential(url: str, questions: list[str], timeout: float) -> dict:
    c = client(url)
    try:
        first, _ = ask(c, "Qu'est-ce que l'économie sociale et solidaire ?", timeout)  # warm-up, reported apart
        lat, found, failures = [], 0, []
        for q in questions:
            try:
                dt, r = ask(c, q, timeout)
                lat.append(dt)
                found += bool(r.get("found"))
            except Exception as e:  # a failed request is a result of the benchmark, not its end
                failures.append(f"{q!r}: {type(e).__name__}: {e}")
    finally:
        c.close()
    return {"first_answer_s": first, "latency": summary(lat), "found": found, "failures": failures,
            "latencies": lat}


def concurrent(url: str, questions: list[str], users: int, per_user: int, timeout: float, deadline: float,
               raw: bool = False) -> dict:
    """`users` threads, each with its own client (gradio_client, or `HttpClient` when `raw`), asking at once."""
    lat: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(users + 1)
    stop_at = [float("inf")]  # set by the main thread once all users are ready; never "already past" before

    def user(u: int):
        try:
            c = open_client(url, raw)
        except Exception as e:
            with lock:
                failures.append(f"client {u}: {type(e).__name__}: {e}")
            start.wait()
            return
        start.wait()
        try:
            for i in range(per_user):
                if time.perf_counter() > stop_at[0]:
                    break
                q = questions[(u * per_user + i) % len(questions)]
                try:
                    dt, _ = ask(c, q, timeout)
                    with lock:
                        lat.append(dt)
                except Exception as e:
                    with lock:
                        failures.append(f"user {u} {q!r}: {type(e).__name__}: {e}")
        finally:
            c.close()

    threads = [threading.Thread(target=user, args=(u,), daemon=True) for u in range(users)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + deadline
    for t in threads:
        t.join(timeout=max(1.0, stop_at[0] + timeout - time.perf_counter()))
    wall = time.perf_counter() - t0
    return {"users": users, "per_user": per_user, "requests": len(lat) + len(failures), "ok": len(lat),
            "failures": failures, "latency": summary(lat), "wall_s": wall,
            "throughput_rps": len(lat) / wall if wall else float("nan"), "latencies": lat}


# ------------------------------------------------------------------------------------------------ report

def fmt(x: float) -> str:
    return "—" if x != x else f"{x:.2f}"


def markdown(res: dict) -> str:
    ttfp, seq, conc = res["time_to_first_page_s"], res["sequential"], res["concurrent"]
    rows = ["| Mesure | Valeur |", "|---|---|",
            f"| Machine | {res['machine']['cpus']} cœurs, Python {res['machine']['python']}, gradio "
            f"{res['machine']['gradio']}, charge moyenne au départ {res['machine']['loadavg_at_start']} |",
            f"| Premier affichage (démarrage → HTTP 200 sur /), médiane de {len(ttfp)} | "
            f"{fmt(statistics.median(ttfp))} s "
            f"(min {fmt(min(ttfp))}, max {fmt(max(ttfp))}) |",
            f"| Première réponse après démarrage | {fmt(seq['first_answer_s'])} s |",
            f"| Chat, 1 utilisateur, {seq['latency']['n']} questions : p50 / p95 / max | "
            f"{fmt(seq['latency']['p50'])} / {fmt(seq['latency']['p95'])} / {fmt(seq['latency']['max'])} s |",
            f"| Chat, {conc['users']} utilisateurs simultanés × {conc['per_user']} questions : p50 / p95 / max | "
            f"{fmt(conc['latency']['p50'])} / {fmt(conc['latency']['p95'])} / {fmt(conc['latency']['max'])} s |",
            f"| Durée totale sous charge, débit | {fmt(conc['wall_s'])} s, "
            f"{fmt(conc['throughput_rps'])} réponses/s |",
            f"| Échecs (séquentiel / simultané) | {len(seq['failures'])} / {len(conc['failures'])} |",
            f"| Réponses trouvées (séquentiel) | {seq['found']}/{seq['latency']['n']} |"]
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True, help="index déjà construit (servi tel quel)")
    p.add_argument("--corpus", type=Path, help="dossier du corpus (seulement pour la liste des chemins bloqués)")
    p.add_argument("--starts", type=int, default=3, help="démarrages pour le temps de premier affichage")
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--per-user", type=int, default=3)
    p.add_argument("--timeout", type=float, default=180, help="limite par requête (s)")
    p.add_argument("--deadline", type=float, default=600, help="limite de la phase simultanée (s)")
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    if not (a.index / "CURRENT").exists():
        print(f"Erreur : {a.index} n'est pas un index construit (construisez-le avec `python -m ingest`).",
              file=sys.stderr)
        return 2

    res = {"machine": machine(), "index": str(a.index), "questions": QUESTIONS}
    print(f"Temps de premier affichage ({a.starts} démarrages)…", file=sys.stderr)
    res["time_to_first_page_s"] = time_to_first_page(a.index, a.corpus, max(1, a.starts))
    with AppServer(a.index, a.corpus) as srv:
        srv.wait_ready()
        print("Chat, un utilisateur…", file=sys.stderr)
        res["sequential"] = sequential(srv.url, QUESTIONS, a.timeout)
        print(f"Chat, {a.users} utilisateurs simultanés…", file=sys.stderr)
        res["concurrent"] = concurrent(srv.url, QUESTIONS, a.users, a.per_user, a.timeout, a.deadline)
        res["server_memory_kb"] = dict(zip(("rss", "hwm"), proc_memory_kb(srv.pid)))
    srv.cleanup()
    res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(markdown(res))
    for f in res["sequential"]["failures"] + res["concurrent"]["failures"]:
        print(f"ÉCHEC : {f}", file=sys.stderr)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if res["sequential"]["failures"] or res["concurrent"]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
