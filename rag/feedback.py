"""What the corpus could not answer: unanswered questions and 👍/👎 votes, stored for staff, grouped for review.

Storage is one SQLite file in WAL mode: several app instances (and their threads) write to it at once, each
record is one short transaction, readers never block writers. Only the question text, the vote, an optional
comment, a random turn id and the time are kept — no account name, address or browser data — and records
older than `retention_days` are deleted at each write. `gaps` groups similar questions with the index's own
embedder (greedy clustering on cosine similarity) into a list of what the corpus should cover next.
"""
from __future__ import annotations

import csv
import datetime as dt
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

KINDS = ("not_found", "down", "up")
KIND_LABELS_FR = {"not_found": "« je n'ai pas trouvé »", "down": "👎", "up": "👍"}
DEFAULT_RETENTION_DAYS = 365
# Cosine similarity above which two questions count as the same need, from bench/gap_similarity.py: e5 gives
# paraphrases 0.916-0.997 and different needs 0.814-0.922 (« SCIC » vs « SCOP » at 0.922 must stay apart);
# MiniLM gives 0.547-0.914 and 0.304-0.662.
SIMILARITY = {"multilingual-e5-small": 0.93, "all-MiniLM-L6-v2": 0.75}
DEFAULT_SIMILARITY = 0.85
MAX_TEXT = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,                 -- unix time
    kind TEXT NOT NULL CHECK (kind IN ('not_found', 'down', 'up')),
    question TEXT NOT NULL,
    comment TEXT,
    turn_id TEXT
);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE INDEX IF NOT EXISTS events_turn ON events(turn_id);
"""


@dataclass
class Gap:
    """Similar questions grouped: what to add to the corpus, with how often and when it was asked."""
    question: str                     # the most frequent wording
    variants: list[str]
    count: int
    not_found: int
    down: int
    comments: list[str] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0


def _day(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")


class FeedbackStore:
    def __init__(self, path: Path, retention_days: int = DEFAULT_RETENTION_DAYS):
        self.path = Path(path)
        self.retention_days = int(retention_days)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            c.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        # one connection per thread (sqlite3 objects are not shared across threads); WAL lets other
        # instances write while this one reads; busy_timeout waits for a concurrent writer instead of failing
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA busy_timeout=10000")
            self._local.conn = c
        return c

    # -- writing --------------------------------------------------------------------------------------
    def record(self, kind: str, question: str, *, turn_id: str | None = None, comment: str | None = None,
               at: float | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        question = " ".join(str(question or "").split())[:MAX_TEXT]
        if not question:
            return
        comment = (" ".join(str(comment).split())[:MAX_TEXT] or None) if comment else None
        c = self._conn()
        c.execute("INSERT INTO events (at, kind, question, comment, turn_id) VALUES (?, ?, ?, ?, ?)",
                  (time.time() if at is None else at, kind, question, comment, turn_id))
        self.purge()

    def vote(self, turn_id: str, question: str, liked: bool) -> None:
        """A 👍/👎 on one answer; voting again on the same answer replaces the earlier vote."""
        c = self._conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("DELETE FROM events WHERE turn_id = ? AND kind IN ('up', 'down')", (turn_id,))
            c.execute("INSERT INTO events (at, kind, question, turn_id) VALUES (?, ?, ?, ?)",
                      (time.time(), "up" if liked else "down", " ".join(question.split())[:MAX_TEXT], turn_id))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def comment(self, turn_id: str, question: str, text: str) -> None:
        """Attach a comment to the 👎 of a turn (recorded as a 👎 when the answer was not voted on)."""
        text = " ".join(str(text or "").split())[:MAX_TEXT]
        if not text:
            return
        c = self._conn()
        cur = c.execute("UPDATE events SET comment = ? WHERE turn_id = ? AND kind = 'down'", (text, turn_id))
        if cur.rowcount == 0:
            self.record("down", question, turn_id=turn_id, comment=text)

    def purge(self) -> int:
        cutoff = time.time() - self.retention_days * 86400
        return self._conn().execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount

    # -- reading --------------------------------------------------------------------------------------
    def events(self, kinds=("not_found", "down")) -> list[dict]:
        q = f"SELECT at, kind, question, comment, turn_id FROM events WHERE kind IN ({','.join('?' * len(kinds))}) ORDER BY at"
        return [dict(zip(("at", "kind", "question", "comment", "turn_id"), r)) for r in self._conn().execute(q, kinds)]

    def gaps(self, embedder, threshold: float | None = None) -> list[Gap]:
        """Unanswered and 👎 questions grouped by meaning, most frequent first.

        A turn that was both unanswered and voted 👎 counts once (its 👎 and comment are kept)."""
        events = self.events()
        if not events:
            return []
        if threshold is None:
            threshold = SIMILARITY.get(getattr(embedder, "model_id", ""), DEFAULT_SIMILARITY)
        texts = sorted({e["question"] for e in events})
        vecs = embedder.encode_queries(texts)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        # greedy: each distinct wording joins the first group whose seed it is close to
        seeds: list[int] = []
        group_of: dict[str, int] = {}
        for i, t in enumerate(texts):
            if seeds:
                sims = vecs[seeds] @ vecs[i]
                j = int(np.argmax(sims))
                if sims[j] >= threshold:
                    group_of[t] = j
                    continue
            seeds.append(i)
            group_of[t] = len(seeds) - 1
        groups: dict[int, dict] = {}
        for e in events:
            g = groups.setdefault(group_of[e["question"]], {"wordings": {}, "not_found": 0, "down": 0,
                                                             "comments": [], "turns": set(), "times": []})
            g["times"].append(e["at"])
            if e["kind"] == "down":
                g["down"] += 1
            else:
                g["not_found"] += 1
            if e["comment"]:
                g["comments"].append(e["comment"])
            key = e["turn_id"] or f"event-{id(e)}"
            if key not in g["turns"]:
                g["turns"].add(key)
                g["wordings"][e["question"]] = g["wordings"].get(e["question"], 0) + 1
        out = []
        for g in groups.values():
            wordings = sorted(g["wordings"].items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(Gap(question=wordings[0][0], variants=[w for w, _ in wordings],
                           count=len(g["turns"]), not_found=g["not_found"], down=g["down"],
                           comments=g["comments"], first=min(g["times"]), last=max(g["times"])))
        out.sort(key=lambda x: (-x.count, -x.last))
        return out


def gaps_csv(gaps: list[Gap], path: Path) -> Path:
    """Write the grouped list as CSV (cells that a spreadsheet would run as a formula are quoted with ')."""
    def cell(v) -> str:
        s = str(v)
        return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s

    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question", "fois", "je n'ai pas trouvé", "votes 👎", "formulations", "commentaires",
                    "première fois", "dernière fois"])
        for g in gaps:
            w.writerow([cell(g.question), g.count, g.not_found, g.down, cell(" | ".join(g.variants)),
                        cell(" | ".join(g.comments)), _day(g.first), _day(g.last)])
    return Path(path)
