"""Checking a language model's reply against the passages it was given, sentence by sentence.

A sentence citing no passage, or a passage number that was not given, is removed (not merely flagged) and listed
in the warnings; a kept sentence whose figures do not appear in the passages it cites is kept but flagged.
Citations are renumbered 1, 2, … in order of first use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import split_sentences

_NUMS = r"\d+(?:\s*(?:[,;–-]|et|and|y|e)\s*\d+)*"
_MARK = re.compile(r"\[\s*(?:(?:passages?|sources?|réf\.?|ref\.?)\s*)?(" + _NUMS + r")\s*\]", re.I)
# Markers written after the full stop ("… fin. [1] Suite") belong to the sentence before them.
_MARKS_AFTER_STOP = re.compile(r"([.!?…]+)([\"»”)]*)((?:[\s,;]*" + _MARK.pattern + r")+)", re.I)
_BULLET = re.compile(r"^(\s*(?:[-*•]|\d{1,2}[.)])\s+)")
_FIGURE = re.compile(r"\d{1,3}(?:[  .]\d{3})+(?!\d)|\d+(?:[.,]\d+)?")
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]|\bet\b|\band\b|\by\b|\be\b)\s*", group):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*[–-]\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            out.extend(range(a, b + 1) if 0 <= b - a <= 20 else (a, b))
        elif part.isdigit():
            out.append(int(part))
    return out


def _plain(sentence: str) -> str:
    """A sentence without its markers, for warnings and citation lists."""
    s = _MARK.sub("", sentence)
    s = re.sub(r"\s+([.,;:!?…])", r"\1", s)
    return " ".join(s.split())


def _short(s: str, n: int = 160) -> str:
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


def _figures(text: str) -> set[str]:
    # Only figures of two digits or more are checked: « 4 » is as often written « quatre » in the sources.
    out = set()
    for m in _FIGURE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 2:
            out.add(digits)
    return out


def strip_reasoning(raw: str, final: bool = True) -> str:
    """The reply without the <think>…</think> block some models write first; while streaming (`final=False`)
    an unclosed block, or what may be the start of one, is held back."""
    out = _THINK.sub("", raw)
    i = out.lower().find("<think>")
    if i >= 0:
        out = out[:i]
    elif not final:
        for k in range(min(6, len(out)), 0, -1):
            if "<think>".startswith(out[-k:].lower()):
                out = out[:-k]
                break
    return out.lstrip()


@dataclass
class Checked:
    """The model's reply after the citation check."""
    text: str                                   # kept sentences, markers renumbered
    used: list[int]                             # passage numbers (1-based, as given) in new-number order
    sentences: dict[int, list[str]] = field(default_factory=dict)  # new number → kept sentences citing it
    warnings: list[str] = field(default_factory=list)
    no_answer: bool = False                     # the model said the passages do not contain the answer


def check_citations(raw: str, passages: list[str]) -> Checked:
    """Keep the sentences of `raw` whose every [n] names one of `passages` (numbered from 1); remove the others.

    Removed sentences, and kept ones whose figures are absent from the passages they cite, are described in
    `warnings`. Kept markers are renumbered in order of first use."""
    n_pass = len(passages)
    raw = strip_reasoning(raw)
    no_answer = re.search(r"\bNO[_ ]ANSWER\b", raw) is not None
    raw = re.sub(r"\bNO[_ ]ANSWER\b[.!]?", "", raw)
    removed: list[str] = []
    lines: list[list] = []   # [prefix, [(sentence, numbers)]] per line; None for a paragraph break
    for line in raw.splitlines():
        if not line.strip():
            lines.append(None)
            continue
        m = _BULLET.match(line)
        prefix = m.group(1).strip() + " " if m else ""
        body = line[m.end():] if m else line
        body = _MARKS_AFTER_STOP.sub(
            lambda mm: " " + "".join(f"[{g}]" for g in _MARK.findall(mm.group(3))) + mm.group(1) + mm.group(2),
            body.strip())
        kept = []
        for s in split_sentences(body):
            plain = _plain(s)
            if not re.search(r"\w", plain):
                continue  # rules, stray markup: nothing to cite
            nums = [n for g in _MARK.findall(s) for n in _numbers(g)]
            if not nums:
                removed.append(f"Phrase retirée (aucune citation) : « {_short(plain)} »")
            elif bad := sorted({n for n in nums if not 1 <= n <= n_pass}):
                listed = ", ".join(f"[{n}]" for n in bad)
                removed.append(f"Phrase retirée (cite {listed}, absent des {n_pass} passages fournis) : "
                               f"« {_short(plain)} »")
            else:
                kept.append((s, nums))
        lines.append([prefix, kept])

    new_of: dict[int, int] = {}
    for item in lines:
        for _s, nums in (item[1] if item else []):
            for n in nums:
                new_of.setdefault(n, len(new_of) + 1)

    def renumber(m: re.Match) -> str:
        return "".join(f"[{n}]" for n in sorted({new_of[n] for n in _numbers(m.group(1))}))

    flags: list[str] = []
    sentences: dict[int, list[str]] = {}
    out_lines: list[str] = []
    for item in lines:
        if item is None:
            if out_lines and out_lines[-1] != "":
                out_lines.append("")
            continue
        prefix, kept = item
        if not kept:
            continue
        parts = []
        for s, nums in kept:
            text = _MARK.sub(renumber, s)
            text = re.sub(r"(\])\s+(?=\[\d)", r"\1", text)  # "[1] [2]" → "[1][2]"
            parts.append(text)
            plain = _plain(s)
            cited = sorted({new_of[n] for n in nums})
            for n in cited:
                sentences.setdefault(n, []).append(plain)
            source_figs = set().union(*(_figures(passages[n - 1]) for n in set(nums)))
            missing = sorted(_figures(plain) - source_figs)
            if missing:
                refs = "".join(f"[{n}]" for n in cited)
                flags.append(f"À vérifier : {', '.join(missing)} ne figure pas dans le passage cité {refs} "
                             f"(« {_short(plain)} »)")
        out_lines.append(prefix + " ".join(parts))
    while out_lines and out_lines[-1] == "":
        out_lines.pop()
    used = sorted(new_of, key=new_of.get)
    return Checked(text="\n".join(out_lines), used=used, sentences=sentences, warnings=removed + flags,
                   no_answer=no_answer)
