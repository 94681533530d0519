"""Load test: simulated workshop participants on one app for a few minutes — failures, latency, memory.

    python bench/load.py --index DIR [--corpus DIR] --users 10 --minutes 3 [--think 2] [--out FILE]

Starts the real app on a free loopback port (as bench/app_bench.py does) and runs --users participants, each a
thread with its own `gradio_client` session. A participant asks a question on `/chat` (sometimes a follow-up
that passes the earlier questions as history) or looks for resources on `/search` (sometimes with type,
language or year filters), waits a random think time (0 to 2×--think seconds), and now and then leaves and
comes back as a new session, until --minutes have passed or it has made --max-requests requests. Requests in
flight at the end are waited for (each bounded by --timeout); then the server is stopped: the test always ends
by itself.

Reported: requests done and failed (with the errors), latency p50/p95/max per endpoint, the server's peak
memory (VmHWM) and its resident memory sampled every --sample seconds — after --warmup seconds of load, the
mean of the first third of the samples against the last third: the growth a leak would show. Exit code 1 when
any request failed.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.app_bench import QUESTIONS, AppServer, client, machine, proc_memory_kb, summary  # noqa: E402

FOLLOW_UPS = ["Et au Brésil ?", "Et en France ?", "Quels exemples concrets ?", "Et pour les associations ?",
              "Qui en parle dans le corpus ?", "Et depuis la loi de 2014 ?"]
SEARCHES = [
    ("une coopérative d'insertion en milieu rural", {}),
    ("une étude de cas sur une monnaie locale", {"types": ["etude_de_cas"]}),
    ("un outil pour animer un atelier sur l'ESS", {"types": ["outil_pedagogique"]}),
    ("une thèse sur l'économie solidaire en Amérique latine", {"types": ["these"]}),
    ("une vidéo qui présente l'innovation sociale", {"types": ["video"]}),
    ("évaluation de l'impact social", {"year_min": 2010}),
    ("finance solidaire et épargne", {"languages": ["fr"]}),
    ("social innovation policy in Europe", {"languages": ["en"]}),
    ("tiers-lieux et territoires", {"year_min": 2015, "year_max": 2024}),
    ("SCOP et gouvernance démocratique", {"types": ["publication", "article"]}),
    ("microcrédit et création d'entreprise", {}),
    ("circuits courts alimentaires, AMAP", {"k": 5}),
]


class Run:
    """What the participants record, shared between their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.failures: list[dict] = []
        self.sessions = 0

    def ok(self, endpoint: str, dt: float):
        with self.lock:
            self.latency[endpoint].append(dt)

    def fail(self, endpoint: str, what: str, err: BaseException, dt: float):
        with self.lock:
            self.failures.append({"endpoint": endpoint, "request": what, "error": f"{type(err).__name__}: {err}"[:300],
                                  "after_s": round(dt, 2)})


def participant(u: int, url: str, run: Run, start: threading.Barrier, stop_at: list[float], a) -> None:
    rng = random.Random(a.seed * 1000 + u)
    try:
        c = client(url)
        with run.lock:
            run.sessions += 1
    except Exception as e:
        run.fail("session", "connexion", e, 0.0)
        start.wait()
        return
    start.wait()
    asked: list[str] = []
    try:
        for n in range(a.max_requests):
            if time.perf_counter() >= stop_at[0]:
                break
            if n and n % a.reconnect_every == 0:  # this participant leaves; a new one takes the seat
                c.close()
                try:
                    c, asked = client(url), []
                except Exception as e:
                    run.fail("session", "reconnexion", e, 0.0)
                    return
                with run.lock:
                    run.sessions += 1
            t0 = time.perf_counter()
            if rng.random() < a.chat_share:
                follow = asked and rng.random() < 0.25
                q = rng.choice(FOLLOW_UPS) if follow else rng.choice(QUESTIONS)
                history = asked[-3:] if follow else None
                try:
                    r = c.submit(q, history, api_name="/chat").result(timeout=a.timeout)
                    if not isinstance(r, dict) or not r.get("text"):
                        raise RuntimeError(f"réponse vide ou inattendue : {str(r)[:120]}")
                    run.ok("chat", time.perf_counter() - t0)
                    asked.append(q)
                except Exception as e:
                    run.fail("chat", q, e, time.perf_counter() - t0)
            else:
                desc, f = rng.choice(SEARCHES)
                try:
                    r = c.submit(desc, f.get("types"), f.get("languages"), f.get("year_min"), f.get("year_max"),
                                 f.get("k", 10), api_name="/search").result(timeout=a.timeout)
                    if not isinstance(r, list):
                        raise RuntimeError(f"liste attendue : {str(r)[:120]}")
                    run.ok("search", time.perf_counter() - t0)
                except Exception as e:
                    run.fail("search", desc, e, time.perf_counter() - t0)
            time.sleep(rng.uniform(0, 2 * a.think))
    finally:
        c.close()


def sample_memory(pid: int, every: float, stop: threading.Event, out: list[tuple[float, int, int]]) -> None:
    t0 = time.perf_counter()
    while not stop.is_set():
        try:
            rss, hwm = proc_memory_kb(pid)
        except OSError:
            return
        out.append((time.perf_counter() - t0, rss, hwm))
        stop.wait(every)


def growth(samples: list[tuple[float, int, int]], warmup: float) -> dict:
    """Mean RSS of the first third of the run after the warm-up against the last third (MB)."""
    rss = [s[1] for s in samples if s[0] >= warmup]
    if len(rss) < 3:
        return {"first_third_mb": None, "last_third_mb": None, "growth_mb": None, "growth_pct": None}
    k = len(rss) // 3
    first, last = statistics.fmean(rss[:k]) / 1024, statistics.fmean(rss[-k:]) / 1024
    return {"first_third_mb": round(first, 1), "last_third_mb": round(last, 1), "growth_mb": round(last - first, 1),
            "growth_pct": round(100 * (last - first) / first, 2)}


def fmt(x) -> str:
    return "—" if x is None or x != x else f"{x:.2f}"


def markdown(res: dict) -> str:
    mem, g = res["memory"], res["memory"]["growth"]
    rows = [f"**{res['users']} participants, {res['minutes']} min** (réflexion 0–{2 * res['think']:.0f} s, "
            f"{round(100 * res['chat_share'])} % chat) — {res['machine']['cpus']} cœurs, "
            f"gradio {res['machine']['gradio']}, "
            f"charge moyenne {res['machine']['loadavg_at_start']} → {res['machine'].get('loadavg_at_end')}", "",
            "| Point d'accès | Requêtes réussies | Échecs | p50 (s) | p95 (s) | max (s) |",
            "|---|---:|---:|---:|---:|---:|"]
    for ep in ("chat", "search"):
        lat = res["latency"].get(ep, {"n": 0, "p50": None, "p95": None, "max": None})
        n_fail = sum(1 for f in res["failures"] if f["endpoint"] == ep)
        rows.append(f"| /{ep} | {lat['n']} | {n_fail} | {fmt(lat['p50'])} | {fmt(lat['p95'])} | {fmt(lat['max'])} |")
    rows += ["", f"- Requêtes : {res['requests']} en {res['wall_s']:.0f} s ({res['requests'] / res['wall_s']:.2f}/s), "
                 f"échecs : {len(res['failures'])}, sessions ouvertes : {res['sessions']}",
             f"- Mémoire du serveur : avant la charge {mem['before_mb']:.0f} Mo, pic (VmHWM) {mem['peak_mb']:.0f} Mo, "
             f"après {mem['after_mb']:.0f} Mo",
             f"- Évolution de la mémoire résidente ({mem['samples']} mesures toutes les {res['sample_s']:.0f} s ; "
             f"après {res['warmup_s']:.0f} s de mise en route) : premier tiers {fmt(g['first_third_mb'])} Mo, "
             f"dernier tiers {fmt(g['last_third_mb'])} Mo, "
             f"écart {fmt(g['growth_mb'])} Mo ({fmt(g['growth_pct'])} %)",
             f"- Journal du serveur : {res['server_log']['tracebacks']} traces d'erreur, serveur "
             f"{'toujours en marche' if res['server_alive'] else 'ARRÊTÉ'} à la fin"]
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--corpus", type=Path)
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--think", type=float, default=2.0, help="temps de réflexion moyen entre deux requêtes (s)")
    p.add_argument("--chat-share", type=float, default=0.6, help="part des requêtes envoyées à /chat")
    p.add_argument("--max-requests", type=int, default=400, help="plafond de requêtes par participant")
    p.add_argument("--reconnect-every", type=int, default=15, help="nouvelle session après N requêtes")
    p.add_argument("--timeout", type=float, default=180, help="limite par requête (s)")
    p.add_argument("--sample", type=float, default=3.0, help="intervalle des mesures de mémoire (s)")
    p.add_argument("--warmup", type=float, default=30.0,
                   help="secondes de charge avant la comparaison de mémoire (le temps que les caches se remplissent)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--app-arg", action="append", default=[], help="argument passé à app.py (répétable)")
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    if not (a.index / "CURRENT").exists():
        print(f"Erreur : {a.index} n'est pas un index construit.", file=sys.stderr)
        return 2
    a.minutes = min(a.minutes, 60.0)  # a load test that forgets to stop is not a load test
    a.users = max(1, min(a.users, 200))

    run = Run()
    res = {"machine": machine(), "users": a.users, "minutes": a.minutes, "think": a.think, "chat_share": a.chat_share,
           "sample_s": a.sample, "warmup_s": a.warmup, "app_args": a.app_arg}
    with AppServer(a.index, a.corpus, extra=a.app_arg) as srv:
        res["time_to_first_page_s"] = srv.wait_ready()
        warm = client(srv.url)  # load the models' lazy parts before measuring memory
        warm.predict("Qu'est-ce que l'innovation sociale ?", None, api_name="/chat")
        warm.predict("coopérative", None, None, None, None, 5, api_name="/search")
        warm.close()
        before = proc_memory_kb(srv.pid)[0]
        samples: list[tuple[float, int, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(srv.pid, a.sample, stop, samples), daemon=True)
        start = threading.Barrier(a.users + 1)
        stop_at = [float("inf")]
        users = [threading.Thread(target=participant, args=(u, srv.url, run, start, stop_at, a), daemon=True)
                 for u in range(a.users)]
        print(f"{a.users} participants pendant {a.minutes} min sur {srv.url}…", file=sys.stderr)
        for t in users:
            t.start()
        start.wait()
        t0 = time.perf_counter()
        stop_at[0] = t0 + 60 * a.minutes
        sampler.start()
        for t in users:
            t.join(timeout=max(1.0, stop_at[0] + a.timeout + 30 - time.perf_counter()))
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join(timeout=10)
        res["server_alive"] = srv.proc.poll() is None
        after, hwm = proc_memory_kb(srv.pid) if res["server_alive"] else (0, 0)
        res["stuck_participants"] = sum(t.is_alive() for t in users)
    log = srv.log_path.read_text(encoding="utf-8", errors="replace")
    srv.cleanup()
    res["server_log"] = {"tracebacks": log.count("Traceback"),
                         "tail": log[-2000:] if "Traceback" in log else ""}
    res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    res["wall_s"] = wall
    res["requests"] = sum(len(v) for v in run.latency.values()) + len(run.failures)
    res["sessions"] = run.sessions
    res["latency"] = {ep: summary(v) for ep, v in run.latency.items()}
    res["failures"] = run.failures
    res["memory"] = {"before_mb": before / 1024, "after_mb": after / 1024,
                     "peak_mb": max([s[2] for s in samples] + [hwm]) / 1024, "samples": len(samples),
                     "growth": growth(samples, a.warmup), "rss_series_kb": [(round(t, 1), r) for t, r, _ in samples]}
    print(markdown(res))
    for f in run.failures[:20]:
        print(f"ÉCHEC /{f['endpoint']} {f['request']!r} après {f['after_s']} s : {f['error']}", file=sys.stderr)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if run.failures or res["stuck_participants"] or not res["server_alive"] else 0


if __name__ == "__main__":
    sys.exit(main())
