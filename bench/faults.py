"""Nothing lost: kill ingest, make its writes fail, fill its disk — the index is always one whole version.

    python bench/faults.py [--random 30] [--window 15] [--model all-MiniLM-L6-v2] [--no-disk] [--out FILE]

Set-up: a corpus (the tiny test corpus plus generated files) indexed once — version A, "old" — then edited
(one file changed, one deleted, two added); an incremental ingest of the edited corpus from A gives version B,
"new". Both are kept as references, with their answers to a few queries.

Each trial copies A into a fresh index folder and runs the real command, `python -m ingest`, on the edited
corpus, and something goes wrong:

    random      SIGKILL at a uniformly random moment of the whole run (start-up, parsing, encoding, writing)
    window      SIGKILL at a random moment inside write_index (INNOSOC_FAULT_POINT=begin:killafter=S)
    step        SIGKILL at each named step of write_index, including each step of the swap (rename, pointer, …)
    error       an OSError (EIO) injected at each step before the swap: a clear error is expected
    disk        the index folder on a tmpfs too small for A and B together (root only; mount/umount)

Afterwards the index must load (checksums and counts verified), be exactly A or exactly B — same chunks, same
vectors, same files — and answer the queries exactly as that reference does. After a failed write (error,
disk) the command must exit with status 2 and a message saying the previous index is intact, and leave no
temporary generation behind. Every tenth killed trial is followed by a plain ingest, which must give B and
clean up what the killed run left. Prints one line per trial and a summary; exit status 1 on any violation.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from ingest import ingest  # noqa: E402
from rag.errors import InnosocError  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import FAULT_STEPS, load_index  # noqa: E402

TINY = ROOT / "tests" / "data" / "tiny"
QUERIES = ["monnaie locale complémentaire à Toulouse", "Qui possède une Scop ?", "microcrédit Bangladesh",
           "paniers de légumes d'une AMAP", "coopérative numéro 7 et finance solidaire", "économie solidaire Brésil"]


# ---------------------------------------------------------------- corpus versions and references

def make_corpus(d: Path, extra: int) -> None:
    shutil.copytree(TINY, d)
    for i in range(extra):
        (d / f"fiche-{i:02d}.md").write_text(f"# Fiche {i}\n\n" + " ".join(
            f"La coopérative numéro {i} organise son assemblée générale {j} et place son épargne en finance "
            f"solidaire." for j in range(12)), encoding="utf-8")


def edit_corpus(d: Path) -> None:
    p = d / "amap.md"
    p.write_text(p.read_text(encoding="utf-8").replace("paysan", "maraîcher du village"), encoding="utf-8")
    (d / "fiche-00.md").unlink()
    for name in ("nouvelle-a", "nouvelle-b"):
        (d / f"{name}.md").write_text(f"# {name}\n\nUne régie de quartier à Lille emploie des habitants pour "
                                      f"l'entretien des immeubles ({name}).", encoding="utf-8")


def answers(index, settings: Settings) -> list[list[tuple[str, float]]]:
    r = Retriever(index, settings)
    return [[(h.chunk.chunk_id, round(float(h.score), 4)) for h in r.search(q, k=8)] for q in QUERIES]


class Reference:
    def __init__(self, path: Path, settings: Settings):
        self.path = path
        idx = load_index(path)
        self.chunks = [(c.chunk_id, c.text) for c in idx.chunks]
        self.files = idx.manifest["files"]
        self.vectors = idx.vectors
        self.answers = answers(idx, settings.with_(index_dir=path))

    def matches(self, idx) -> bool:
        return ([(c.chunk_id, c.text) for c in idx.chunks] == self.chunks and idx.manifest["files"] == self.files
                and idx.vectors.shape == self.vectors.shape and np.allclose(idx.vectors, self.vectors, atol=1e-5))


def same_answers(a, b) -> bool:
    return all([i for i, _ in x] == [i for i, _ in y] and all(abs(s - t) <= 1e-3 for (_, s), (_, t) in zip(x, y))
               for x, y in zip(a, b))


# ---------------------------------------------------------------- one trial

def run_ingest(index_dir: Path, corpus: Path, s: Settings, fault: str | None = None,
               kill_after: float | None = None, timeout: float = 900) -> tuple[int | None, str, float]:
    env = dict(os.environ)
    env.pop("INNOSOC_FAULT_POINT", None)
    if fault:
        env["INNOSOC_FAULT_POINT"] = fault
    cmd = [sys.executable, "-m", "ingest", "-q", "--model", s.model, "--chunk-tokens", str(s.chunk_tokens),
           "--chunk-overlap", str(s.chunk_overlap), "--index", str(index_dir), str(corpus)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate(timeout=kill_after if kill_after is not None else timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err, time.perf_counter() - t0


def leftovers(index_dir: Path) -> list[str]:
    current = (index_dir / "CURRENT").read_text().strip()
    return sorted(p.name for p in index_dir.iterdir()
                  if p.name.startswith(".tmp-") or p.name == ".CURRENT.tmp"
                  or (p.name.startswith("gen-") and p.name != current))


def check(index_dir: Path, s: Settings, old: Reference, new: Reference) -> tuple[str, str]:
    """('old' | 'new', '') or ('VIOLATION', why)."""
    try:
        idx = load_index(index_dir)
    except InnosocError as e:
        return "VIOLATION", f"index illisible : {e}"
    version = "old" if old.matches(idx) else "new" if new.matches(idx) else None
    if version is None:
        return "VIOLATION", f"ni A ni B : {len(idx.chunks)} passages, {len(idx.manifest['files'])} fichiers"
    ref = old if version == "old" else new
    if not same_answers(answers(idx, s.with_(index_dir=index_dir)), ref.answers):
        return "VIOLATION", f"version {version} mais réponses différentes"
    return version, ""


class Bench:
    def __init__(self, work: Path, s: Settings, old: Reference, new: Reference, corpus: Path):
        self.work, self.s, self.old, self.new, self.corpus = work, s, old, new, corpus
        self.rows: list[dict] = []
        self.n = 0

    def fresh(self, where: Path | None = None) -> Path:
        d = where or (self.work / "essai")
        if d.exists():
            for p in d.iterdir():
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        shutil.copytree(self.old.path, d, dirs_exist_ok=True)
        return d

    def trial(self, kind: str, label: str, fault: str | None = None, kill_after: float | None = None,
              must_fail: bool = False, index_dir: Path | None = None, recover: bool = False) -> dict:
        """One run and its checks. Whatever happened, the index must be A or B, whole, answering as it does;
        exit 0 must mean B; exit 2 must mean A, said so, and nothing left behind; `must_fail`: exit 2 expected."""
        self.n += 1
        d = self.fresh(index_dir)
        rc, err, secs = run_ingest(d, self.corpus, self.s, fault, kill_after)
        version, why = check(d, self.s, self.old, self.new)
        killed = rc is not None and rc < 0
        problems = [why] if why else []
        message = next((ln for ln in err.splitlines() if ln.startswith("Erreur")), "")
        if rc == 0:
            if version != "new":
                problems.append("terminé sans erreur mais index non remplacé")
        elif rc == 2:
            if "L'index précédent reste intact" not in message:
                problems.append(f"message inattendu : {err.strip()[-300:]}")
            if version != "old":
                problems.append("erreur annoncée mais index remplacé")
        elif not killed:
            problems.append(f"code {rc} : {err.strip()[-300:]}")
        if must_fail and rc != 2:
            problems.append(f"échec attendu (code 2), obtenu {'tué' if killed else f'code {rc}'}")
        if not killed and not why and leftovers(d):
            problems.append(f"restes : {leftovers(d)}")
        row = {"n": self.n, "kind": kind, "label": label, "rc": rc, "seconds": round(secs, 2), "version": version,
               "message": message[:300]}
        if recover and not problems:
            rc2, err2, _ = run_ingest(d, self.corpus, self.s)
            v2, why2 = check(d, self.s, self.old, self.new)
            row["recovery"] = v2
            if rc2 != 0 or v2 != "new" or leftovers(d):
                problems.append(f"reprise : code {rc2}, version {v2} {why2}, restes {leftovers(d)}")
        row["problems"] = problems
        self.rows.append(row)
        state = {"old": "ancien (A)", "new": "nouveau (B)"}.get(version, version)
        how = "tué" if killed else f"code {rc}"
        print(f"#{self.n:3d} {kind:6} {label:38} → {state:12} {how:8} {secs:6.1f} s"
              + (f"  reprise → {row['recovery']}" if "recovery" in row else "")
              + (f"  !! {'; '.join(problems)}" if problems else ""), flush=True)
        return row


# ---------------------------------------------------------------- tmpfs

def mount_tmpfs(d: Path, size_kb: int) -> bool:
    d.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(d)], capture_output=True)
    return r.returncode == 0


def umount(d: Path) -> None:
    subprocess.run(["umount", str(d)], capture_output=True)


def du_kb(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file():
            total += (p.stat().st_size + 4095) // 4096 * 4
    return total


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=30, help="kills at random moments of the whole run")
    ap.add_argument("--window", type=int, default=20, help="kills at random moments inside write_index")
    ap.add_argument("--extra", type=int, default=30, help="generated files added to the tiny corpus")
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--no-disk", action="store_true", help="skip the full-disk trials")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    work = Path(tempfile.mkdtemp(prefix="innosoc-faults-"))
    try:
        return run(a, rng, work)
    finally:
        umount(work / "disque")
        shutil.rmtree(work, ignore_errors=True)


def run(a, rng: random.Random, work: Path) -> int:
    s = Settings(index_dir=work / "ref-a", model=a.model, chunk_tokens=120, chunk_overlap=20)
    corpus = work / "corpus"
    make_corpus(corpus, a.extra)
    ingest([corpus], s)
    shutil.copytree(work / "ref-a", work / "ref-b")
    edit_corpus(corpus)
    marks: dict[str, float] = {}

    def clock(stage, done, total):
        if stage == "écriture":
            marks[f"w{done}"] = time.perf_counter()

    ingest([corpus], s.with_(index_dir=work / "ref-b"), progress=clock)
    write_s = marks["w1"] - marks["w0"]  # write_index alone, measured in this process
    old, new = Reference(work / "ref-a", s), Reference(work / "ref-b", s)
    print(f"A : {len(old.chunks)} passages, {len(old.files)} fichiers ; B : {len(new.chunks)} passages, "
          f"{len(new.files)} fichiers ; requêtes de contrôle : {len(QUERIES)}", flush=True)
    b = Bench(work, s, old, new, corpus)

    # calibration: how long a whole run of the command takes, to spread the random kills over it
    b.trial("calib", "sans panne")
    full = b.rows[-1]["seconds"]
    print(f"durée d'un ingest complet : {full:.1f} s ; écriture de l'index (write_index) : {write_s * 1000:.0f} ms",
          flush=True)

    for i in range(a.random):
        t = rng.uniform(0.0, full * 1.05)
        b.trial("random", f"SIGKILL à {t:.2f} s", kill_after=t, recover=(i % 10 == 9))
    for i in range(a.window):
        t = rng.uniform(0.0, 1.5 * write_s)
        b.trial("window", f"SIGKILL {t * 1000:.0f} ms après le début", fault=f"begin:killafter={t:.3f}",
                recover=(i % 10 == 9))
    for step in FAULT_STEPS:
        b.trial("step", f"SIGKILL à l'étape {step}", fault=f"{step}:kill", recover=(step == "pointer"))
    for step in FAULT_STEPS:
        if step in ("swap", "gc"):
            continue  # after the swap the new index is live; an error there is not a failed write
        b.trial("error", f"EIO à l'étape {step}", fault=f"{step}:error", must_fail=True)

    disk_skipped = ""
    if not a.no_disk:
        if os.geteuid() != 0:
            disk_skipped = "essais disque plein ignorés : il faut être root pour monter un tmpfs"
        else:
            size_a = du_kb(old.path)
            size_b = du_kb(next(new.path.glob("gen-*")))
            mnt = work / "disque"
            for frac in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.5):
                size = size_a + 16 + int(size_b * frac)
                if not mount_tmpfs(mnt, size):
                    disk_skipped = "mount -t tmpfs impossible ici : essais disque plein ignorés"
                    break
                try:
                    # up to 60 % of B the write cannot fit; around 100 % it may or may not (page rounding)
                    b.trial("disk", f"tmpfs de {size} Ko (A {size_a} + {frac:.0%} de B)", index_dir=mnt,
                            must_fail=frac <= 0.6)
                finally:
                    umount(mnt)
            if not disk_skipped:
                for r in b.rows:
                    if r["kind"] == "disk" and r["rc"] == 2 and "disque plein" not in r["message"]:
                        r["problems"].append("pas de mention « disque plein »")

    rows = [r for r in b.rows if r["kind"] != "calib"]
    print()
    print("| essais | nombre | index ancien (A) | index nouveau (B) | violations |")
    print("|---|---:|---:|---:|---:|")
    for kind in ("random", "window", "step", "error", "disk"):
        rs = [r for r in rows if r["kind"] == kind]
        if rs:
            c = Counter(r["version"] for r in rs)
            print(f"| {kind} | {len(rs)} | {c.get('old', 0)} | {c.get('new', 0)} | {sum(1 for r in rs if r['problems'])} |")
    bad = [r for r in rows if r["problems"]]
    recov = [r for r in rows if "recovery" in r]
    print(f"\n{len(rows)} essais, {len(rows) - len(bad)} sans violation ; {len(recov)} reprises après coup, "
          f"toutes vers B : {all(r['recovery'] == 'new' for r in recov)}")
    if disk_skipped:
        print(disk_skipped)
    for r in bad:
        print(f"  VIOLATION #{r['n']} {r['kind']} {r['label']} : {'; '.join(r['problems'])}")
    if a.out:
        a.out.write_text(json.dumps({"trials": b.rows, "full_run_s": full}, indent=1, ensure_ascii=False),
                         encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
