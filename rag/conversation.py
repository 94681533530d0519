"""A conversation: its turns, bounded, and the completion of a follow-up into a standalone question.

Each `Turn` keeps the question as asked, the standalone question it was understood as, its route and slots,
and the documents its answer cited. A follow-up (« Et au Québec ? », « Et en anglais ? », « Comment est-elle
financée ? ») is completed from the previous turn's *standalone* subject only — its topic and the criteria
the follow-up does not replace — never by joining the earlier questions, so the search never snowballs:
the standalone question is at most the previous subject plus the new question.

The history is bounded (`MAX_TURNS` turns, `MAX_CHARS` characters; the oldest turns are dropped), and a
caller that sends a history of its own (the /chat API) is refused past `MAX_HISTORY_ITEMS` questions or
`MAX_HISTORY_CHARS` characters, with a message saying so.
"""
from __future__ import annotations

import dataclasses
import re
from collections import deque
from dataclasses import dataclass, field

from .errors import QueryError
from .text import analyze_query
from .vocab import normalize

MAX_TURNS = 12            # turns kept for follow-ups and feedback context
MAX_CHARS = 12_000        # characters kept across those turns (questions + standalone questions)
MAX_HISTORY_ITEMS = 50    # earlier questions an API caller may send
MAX_HISTORY_CHARS = 20_000

# A follow-up opens on a connective, or leans on a pronoun, or is too short to stand alone.
# (« ¿Y en Brasil? » opens on its inverted mark)
_CONNECTIVE = re.compile(
    r"^[\s¿¡]*(?:et pour ce qui est de|et concernant|et du cote de|et pour|ou bien|what about|how about|et|mais|aussi|"
    r"puis|ou|sinon|and|but|also|or|y|e|pero|tambien|tambem)(?![\w-])", re.I)
_ANAPHORA = re.compile(r"(?<![\w-])(?:il|elle|ils|elles|cela|ca|celle|celui|ceux|celles|leur|leurs|"
                       r"it|they|them|this|that|these|those|its|their|ella|ellos|ellas|eso|esto|su|sus|"
                       r"ele|ela|eles|elas|isso|isto|seu|sua|seus|suas)(?![\w-])")
_WHOLE_CORPUS = re.compile(r"(?<![\w-])(?:corpus|catalogue|catalog|catalogo|collection|colecao|coleccion|"
                           r"base documentaire|centre de ressources)(?![\w-])")
_SHORT = 3                 # content words at most: a question this short needs the previous subject


@dataclass
class Turn:
    question: str                       # as asked
    standalone: str                     # as understood (follow-ups completed)
    route: str = "passage"
    slots: object = None                # rag.understand.Slots of the standalone question
    cited: list[str] = field(default_factory=list)
    followup: bool = False
    lang: str = ""                      # the language of its subject (a follow-up keeps its subject's)

    @property
    def subject(self) -> str:
        """What the turn was about: its topic, or its standalone question when it had no separate topic."""
        s = self.slots
        return (getattr(s, "topic", "") or "").strip() or self.standalone


class Conversation:
    """The bounded turns of one participant's conversation."""

    def __init__(self, max_turns: int = MAX_TURNS, max_chars: int = MAX_CHARS):
        self.max_turns, self.max_chars = max_turns, max_chars
        self.turns: deque[Turn] = deque()

    def __len__(self) -> int:
        return len(self.turns)

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)
        while len(self.turns) > self.max_turns or (
                len(self.turns) > 1 and sum(len(t.question) + len(t.standalone) for t in self.turns) > self.max_chars):
            self.turns.popleft()

    @property
    def queries(self) -> list[str]:
        return [t.standalone for t in self.turns]

    @classmethod
    def check_history(cls, history) -> list[str]:
        """A caller's list of earlier questions, validated: refused (QueryError) when oversized."""
        if history is None:
            return []
        if isinstance(history, str) or not isinstance(history, (list, tuple)):
            raise QueryError("« history » doit être une liste de questions (les plus anciennes d'abord).")
        if len(history) > MAX_HISTORY_ITEMS:
            raise QueryError(f"Historique trop long : {len(history)} questions, au plus {MAX_HISTORY_ITEMS} "
                             f"acceptées. Envoyez seulement les dernières questions de la conversation.")
        total = sum(len(str(h)) for h in history)
        if total > MAX_HISTORY_CHARS:
            raise QueryError(f"Historique trop long : {total} caractères, au plus {MAX_HISTORY_CHARS} acceptés. "
                             f"Envoyez seulement les dernières questions de la conversation.")
        return [str(h) for h in history if str(h).strip()]


def is_follow_up(question: str, own_subject: bool) -> bool:
    """A question that cannot stand alone: it opens on a connective, or is short, or leans on a pronoun while
    naming no subject of its own."""
    n = normalize(question)
    content = analyze_query(question)
    if _CONNECTIVE.match(n):
        return not own_subject or len(content) <= _SHORT
    if not own_subject:
        # « Combien d'articles contient le corpus ? » asks about the whole collection: it stands alone
        return not (_WHOLE_CORPUS.search(n) and _ANAPHORA.search(n) is None)
    return len(content) <= 1 or (_ANAPHORA.search(n) is not None and len(content) <= _SHORT)


def complete(question: str, u, previous: Turn | None):
    """(standalone question, completed slots or None) for `question` understood as `u`, after `previous`.

    The follow-up keeps its own criteria and inherits what it does not say from the previous turn's
    standalone reading: its topic always, its places/types/languages/period unless it names new ones.
    Returns (question, None) when the question stands alone."""
    if previous is None or previous.slots is None:
        return question, None
    s = u.slots
    own_subject = bool(s.topic or s.compare or s.authors)
    if not is_follow_up(question, own_subject):
        return question, None
    p = previous.slots
    merged = dataclasses.replace(
        s,
        topic=(s.topic if own_subject and s.topic and not _CONNECTIVE.match(normalize(question)) else "")
        or p.topic,
        types=s.types or p.types, languages=s.languages or p.languages,
        places=s.places if s.places else p.places,
        authors=s.authors or (p.authors if not s.topic else ()),
        year_min=s.year_min if (s.year_min or s.year_max or s.recent) else p.year_min,
        year_max=s.year_max if (s.year_min or s.year_max or s.recent) else p.year_max,
        recent=s.recent or (p.recent and not (s.year_min or s.year_max)),
        compare=s.compare or p.compare)
    if s.topic and own_subject and merged.topic != s.topic:
        merged = dataclasses.replace(merged, topic=f"{p.topic} {s.topic}".strip())
    standalone = _standalone_text(question, merged, previous, s)
    return standalone, merged


def _standalone_text(question: str, merged, previous: Turn, own) -> str:
    """The text searched for a follow-up: the previous subject with the follow-up's own words
    (« Et au Québec ? » after « Qu'est-ce qu'un PTCE ? » → « PTCE au Québec »)."""
    subject = previous.subject
    q = question.strip()
    if _ANAPHORA.search(normalize(q)):
        # « Comment est-elle financée ? »: the question itself, with the subject it leans on
        return q if subject.lower() in q.lower() else f"{q} ({subject})"
    m = _CONNECTIVE.match(normalize(q))   # normalize keeps lengths: the match cuts the original too
    rest = q[m.end():] if m else q
    rest = rest.strip(" ,;:?!.¿¡")
    return f"{subject} {rest}".strip() if rest else subject
