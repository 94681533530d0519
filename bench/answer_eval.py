"""Answer benchmark: do the answers teach? Fact recall, sentences about documents, length and latency.

    python bench/answer_eval.py --index DIR [--questions bench/answer_questions.jsonl] [--out FILE]
        [--app] [--users 10] [--crowd 30] [--crowd-minutes 3]

Each line of the question file is {"q", "lang", "kind", "facts": [{"pattern", "why"}], "docs"}. Every question
is asked in-process to `Assistant.ask` (the app's own entry point, default extractive answerer) on the index;
the answer body (the text before the sources, [n] markers removed, accents folded) is matched against each
fact's pattern, case-insensitively. Reported:

- fact recall: matched facts / expected facts (and per kind, and the share of questions with every fact);
- sentences about documents: share of answer sentences that rag.sentences.about_document flags (audience,
  reading advice, « ce texte… ») — measured itself against hand labels by bench/about_eval.py;
- answer length in words (body only), found share, citations per answer;
- in-process latency of `Assistant.ask`: p50 / p95 / max over the questions (after one warm-up question).

With --app, the real app is started (as bench/app_bench.py does) and, in one run so that the machine's load is
the same for all figures: `/search` p50 for one user, `/chat` for one user, for --users simultaneous users,
and for --crowd simultaneous users during --crowd-minutes minutes (failures counted).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.app_bench import (AppServer, ask, call, concurrent, machine, open_client,  # noqa: E402
                             percentile, summary)
from rag.sentences import about_document  # noqa: E402
from rag.text import fold, split_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = ROOT / "bench" / "answer_questions.jsonl"
_MARKER = re.compile(r"\s*\[\d+\]")


def load_questions(path: Path) -> list[dict]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        q = json.loads(line)
        if not q.get("q") or not isinstance(q.get("facts"), list):
            raise ValueError(f"{path}:{n} : champs « q » et « facts » attendus")
        out.append(q)
    return out


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer body, markers removed (a comparison's « Scop : » labels stay with theirs)."""
    out = []
    for line in text.splitlines():
        for s in split_sentences(_MARKER.sub("", line).strip()):
            if len(s.split()) >= 3:
                out.append(s)
    return out


def plain(text: str) -> str:
    return fold(_MARKER.sub("", text)).lower()


def score_answer(q: dict, text: str) -> dict:
    body = plain(text)
    matched = []
    for f in q["facts"]:
        try:
            matched.append(re.search(fold(f["pattern"]), body, re.I) is not None)
        except re.error as e:
            raise ValueError(f"motif invalide pour « {q['q']} » : {f['pattern']!r} ({e})") from None
    sents = answer_sentences(text)
    about = [s for s in sents if about_document(s)]
    return {"matched": matched, "sentences": len(sents), "about": len(about), "about_sentences": about,
            "words": len(_MARKER.sub("", text).split())}


def in_process(index: Path, questions: list[dict], show: bool = False) -> dict:
    from rag.assistant import Assistant
    from rag.retrieve import Retriever
    from rag.settings import Settings

    assistant = Assistant(Retriever.open(Settings(index_dir=index)))
    assistant.ask("Qu'est-ce que l'innovation sociale ?")  # warm-up: model and caches loaded
    rows, lat = [], []
    for q in questions:
        t0 = time.perf_counter()
        ans = assistant.ask(q["q"])
        lat.append(time.perf_counter() - t0)
        s = score_answer(q, ans.text if ans.found else "")
        s.update(q=q["q"], kind=q.get("kind"), lang=q.get("lang"), found=ans.found,
                 cited=[c.chunk.doc_id for c in ans.citations], answer=ans.text,
                 further=len(getattr(ans, "further", []) or []))
        rows.append(s)
        if show:
            miss = [f["pattern"] for f, m in zip(q["facts"], s["matched"]) if not m]
            print(f"\n## {q['q']}  ({sum(s['matched'])}/{len(s['matched'])}) manque : {miss}\n{ans.text}",
                  file=sys.stderr)
    # the same questions again: query vectors now come from the LRU cache, so this is the cost of routing,
    # retrieval and composition alone (on a loaded machine, encoding dominates the first pass)
    cached = []
    for q in questions:
        t0 = time.perf_counter()
        assistant.ask(q["q"])
        cached.append(time.perf_counter() - t0)
    return {"rows": rows, "latency": summary(lat), "latency_cached": summary(cached)}


def report(rows: list[dict]) -> dict:
    facts = sum(len(r["matched"]) for r in rows)
    hit = sum(sum(r["matched"]) for r in rows)
    sents = sum(r["sentences"] for r in rows)
    by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        by_kind[r["kind"] or "?"][0] += sum(r["matched"])
        by_kind[r["kind"] or "?"][1] += len(r["matched"])
    words = [r["words"] for r in rows if r["found"]]
    return {
        "questions": len(rows), "facts": facts, "fact_recall": hit / facts if facts else float("nan"),
        "all_facts_share": sum(all(r["matched"]) for r in rows) / len(rows) if rows else float("nan"),
        "found_share": sum(r["found"] for r in rows) / len(rows) if rows else float("nan"),
        "about_share": sum(r["about"] for r in rows) / sents if sents else 0.0,
        "answer_sentences": sents,
        "words_median": statistics.median(words) if words else float("nan"),
        "words_p90": percentile(words, 90) if words else float("nan"),
        "further_mean": statistics.fmean(r["further"] for r in rows) if rows else 0.0,
        "recall_by_kind": {k: round(v[0] / v[1], 3) for k, v in sorted(by_kind.items()) if v[1]},
    }


# ------------------------------------------------------------------------------------------------ app

SEARCHES = ["une coopérative d'insertion en milieu rural", "une étude de cas sur une monnaie locale",
            "un outil pour animer un atelier sur l'ESS", "une thèse sur l'économie solidaire en Amérique latine",
            "évaluation de l'impact social", "finance solidaire et épargne", "tiers-lieux et territoires",
            "microcrédit et création d'entreprise", "SCOP et gouvernance démocratique", "circuits courts, AMAP",
            "une vidéo sur l'entrepreneuriat social", "une banque communautaire au Brésil",
            "les politiques publiques d'innovation sociale en Europe", "une coopérative d'énergie renouvelable",
            "l'histoire des coopératives ouvrières", "un guide pour mesurer l'utilité sociale",
            "les entreprises récupérées en Argentine", "un pôle territorial de coopération économique",
            "un article critique sur le social business", "l'économie sociale au Québec"]
# each timed search is a description the server has not seen (a cached query vector would time arithmetic only);
# the warm-up call uses one of its own
SEARCH_WARM_UP = "une association d'aide à domicile"


def search_latency(url: str, n: int, timeout: float, raw: bool = False) -> dict:
    c = open_client(url, raw)
    lat = []
    try:
        call(c, "search", [SEARCH_WARM_UP, None, None, None, None, 10], timeout)
        for i in range(n):
            t0 = time.perf_counter()
            r = call(c, "search", [SEARCHES[i % len(SEARCHES)], None, None, None, None, 10], timeout)
            lat.append(time.perf_counter() - t0)
            if not isinstance(r, list):
                raise RuntimeError(f"liste attendue : {str(r)[:120]}")
    finally:
        c.close()
    return summary(lat)


def chat_latency(url: str, questions: list[str], timeout: float, raw: bool = False) -> dict:
    c = open_client(url, raw)
    lat = []
    try:
        ask(c, questions[0], timeout)
        for q in questions:
            lat.append(ask(c, q, timeout)[0])   # ask() refuses an answer without text
    finally:
        c.close()
    return summary(lat)


def app_figures(index: Path, questions: list[str], users: int, crowd: int, crowd_minutes: float,
                timeout: float, extra: list[str]) -> dict:
    with AppServer(index, extra=extra) as srv:
        srv.wait_ready()
        print("/search, un utilisateur…", file=sys.stderr)
        search = search_latency(srv.url, 20, timeout)
        print("/chat, un utilisateur…", file=sys.stderr)
        chat1 = chat_latency(srv.url, questions[:20], timeout)
        print(f"/chat, {users} utilisateurs simultanés…", file=sys.stderr)
        chat_n = concurrent(srv.url, questions, users, 3, timeout, 600)
        out = {"search_1": search, "chat_1": chat1, f"chat_{users}": _strip(chat_n)}
        if crowd:
            print(f"/chat, {crowd} utilisateurs simultanés pendant {crowd_minutes} min…", file=sys.stderr)
            chat_c = concurrent(srv.url, questions, crowd, 10_000, timeout, crowd_minutes * 60)
            out[f"chat_{crowd}"] = _strip(chat_c)
    srv.cleanup()
    # the same three phases over the REST API without gradio_client's 50 ms polling (bench/app_bench.py
    # HttpClient): the server's own latency, which the polling rounds up to 50 ms steps. A server of its own,
    # so that no question's vector is already in its cache.
    with AppServer(index, extra=extra) as srv:
        srv.wait_ready()
        print("les mêmes phases par l'API REST (sans gradio_client), nouveau serveur…", file=sys.stderr)
        http = {"search_1": search_latency(srv.url, 20, timeout, raw=True),
                "chat_1": chat_latency(srv.url, questions[:20], timeout, raw=True),
                f"chat_{users}": _strip(concurrent(srv.url, questions, users, 3, timeout, 600, raw=True))}
    srv.cleanup()
    for phases in (out, http):
        phases["ratios"] = {
            "chat1_over_search1": phases["chat_1"]["p50"] / phases["search_1"]["p50"],
            f"chat{users}_p95_over_search1": phases[f"chat_{users}"]["latency"]["p95"] / phases["search_1"]["p50"],
        }
    out["http"] = http
    return out


def _strip(res: dict) -> dict:
    res = dict(res)
    res.pop("latencies", None)
    res["failures"] = res["failures"][:10] + ([f"… {len(res['failures']) - 10} autres"] if len(res["failures"]) > 10 else [])
    return res


# ------------------------------------------------------------------------------------------------ main

def fmt(x, nd=2) -> str:
    return "—" if x is None or x != x else f"{x:.{nd}f}"


def markdown(res: dict) -> str:
    r, lat = res["quality"], res["in_process"]
    rows = ["| Mesure | Valeur |", "|---|---|",
            f"| Questions / faits attendus | {r['questions']} / {r['facts']} |",
            f"| Rappel des faits | {fmt(r['fact_recall'], 3)} |",
            f"| Questions avec tous leurs faits | {fmt(r['all_facts_share'], 3)} |",
            f"| Phrases sur les documents / phrases de réponse | {fmt(100 * r['about_share'], 1)} % "
            f"({r['answer_sentences']} phrases) |",
            f"| Longueur (mots) : médiane / p90 | {fmt(r['words_median'], 0)} / {fmt(r['words_p90'], 0)} |",
            f"| Réponses trouvées | {fmt(r['found_share'], 3)} |",
            f"| `Assistant.ask` en processus : p50 / p95 / max | {fmt(lat['p50'], 3)} / {fmt(lat['p95'], 3)} / "
            f"{fmt(lat['max'], 3)} s |",
            f"| idem, vecteur de la question déjà en cache : p50 / p95 | {fmt(res['in_process_cached']['p50'], 3)} / "
            f"{fmt(res['in_process_cached']['p95'], 3)} s |"]
    app = res.get("app")
    if app:
        rows.append(f"| `/search`, 1 utilisateur : p50 | {fmt(app['search_1']['p50'])} s |")
        rows.append(f"| `/chat`, 1 utilisateur : p50 / p95 | {fmt(app['chat_1']['p50'])} / {fmt(app['chat_1']['p95'])} s |")
        for k, v in app.items():
            if k.startswith("chat_") and k != "chat_1":
                rows.append(f"| `/chat`, {v['users']} utilisateurs simultanés : p50 / p95 / max, échecs | "
                            f"{fmt(v['latency']['p50'])} / {fmt(v['latency']['p95'])} / {fmt(v['latency']['max'])} s, "
                            f"{len(v['failures'])} échec(s) sur {v['requests']} ({fmt(v['wall_s'], 0)} s) |")
        for k, v in app["ratios"].items():
            rows.append(f"| {k} | {fmt(v)} |")
        http = app.get("http")
        if http:
            users = next(v["users"] for k, v in http.items() if k.startswith("chat_") and k != "chat_1")
            n = http[f"chat_{users}"]
            rows.append(f"| API REST sans gradio_client : `/search` p50 ; `/chat` 1 utilisateur p50 / p95 ; "
                        f"{users} utilisateurs p50 / p95 / max, échecs | {fmt(http['search_1']['p50'], 3)} s ; "
                        f"{fmt(http['chat_1']['p50'], 3)} / {fmt(http['chat_1']['p95'], 3)} s ; "
                        f"{fmt(n['latency']['p50'], 3)} / {fmt(n['latency']['p95'], 3)} / {fmt(n['latency']['max'], 3)} s, "
                        f"{len(n['failures'])} échec(s) sur {n['requests']} |")
            for k, v in http["ratios"].items():
                rows.append(f"| {k} (API REST) | {fmt(v)} |")
    rows.append(f"| Machine | {res['machine']['cpus']} cœurs, charge au départ {res['machine']['loadavg_at_start']}, "
                f"à la fin {res['machine'].get('loadavg_at_end')} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True, help="index construit du corpus")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    p.add_argument("--app", action="store_true", help="mesurer aussi /chat et /search dans l'application")
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--crowd", type=int, default=30, help="utilisateurs de la phase longue (0 : aucune)")
    p.add_argument("--crowd-minutes", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=180)
    p.add_argument("--app-arg", action="append", default=[], help="argument passé à app.py (répétable)")
    p.add_argument("--show", action="store_true", help="afficher chaque réponse et les faits manqués")
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    questions = load_questions(a.questions)
    res = {"machine": machine(), "index": str(a.index), "questions_file": str(a.questions)}
    ip = in_process(a.index, questions, show=a.show)
    res["quality"] = report(ip["rows"])
    res["in_process"] = ip["latency"]
    res["in_process_cached"] = ip["latency_cached"]
    res["rows"] = ip["rows"]
    if a.app:
        res["app"] = app_figures(a.index, [q["q"] for q in questions], a.users, a.crowd, a.crowd_minutes,
                                 a.timeout, a.app_arg)
    res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(markdown(res))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
