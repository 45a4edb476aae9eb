"""What one evaluator finds of one subject's window (split from :mod:`hub.decider`): the
window's event classes (:class:`Classified`) and a partnership's decisions on its events,
found when asked (:class:`Decisions`). Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from hub.disclosure import Moment
from hub.dsa import Decision, Evaluator, EventFacts
from hub.flags import SubjectWindow
from hub.view import Sight

Class = tuple[str, str, str | None, int | None]
"""An event's class as the evaluator gives it (:meth:`hub.dsa.Evaluator.event_class`)."""


class Classified:
    """The classes of one window's contributions, as one evaluator finds them for one token."""

    __slots__ = (
        "_by_id",
        "_classes",
        "_first",
        "facts",
        "given",
        "kinds",
        "policy",
        "sights",
        "token",
        "window",
    )

    def __init__(
        self,
        window: SubjectWindow,
        moment: tuple[Evaluator, str],
        found: tuple[list[EventFacts], list[Class]],
    ) -> None:
        self.window = window
        self.policy, self.token = moment
        self.facts, self.kinds = found
        """Each contribution's facts and class, in order."""
        self._classes: frozenset[Class] | None = None
        self.sights: dict[frozenset[Class], Sight] = {}
        """What partnerships may see of it, by the classes of it they are permitted."""
        self.given: tuple[dict[Class, int], tuple[str, ...], list[Sight]] | None = None
        """The last sights given for it (:meth:`hub.decider.Decider.sights`): the masks they
        were found by, the partnerships, and each one's sight."""
        self._first: dict[Class, EventFacts] | None = None
        self._by_id: dict[str, tuple[EventFacts, Class]] | None = None

    def of(self, window: SubjectWindow, policy: Evaluator, token: str) -> bool:
        """Whether these are the classes of this window object, evaluator and token."""
        return self.window is window and self.policy is policy and self.token == token

    @property
    def classes(self) -> frozenset[Class]:
        """Its classes (built once, when asked: most windows' are never asked)."""
        if self._classes is None:
            self._classes = frozenset(self.kinds)
        return self._classes

    @property
    def first(self) -> dict[Class, EventFacts]:
        """Its classes, each with the facts of its first contribution, in order (built once)."""
        if self._first is None:
            first: dict[Class, EventFacts] = {}
            for facts, kind in zip(self.facts, self.kinds, strict=True):
                first.setdefault(kind, facts)
            self._first = first
        return self._first

    @property
    def by_id(self) -> dict[str, tuple[EventFacts, Class]]:
        """Each contribution's facts and class, by event id (built once, when asked)."""
        if self._by_id is None:
            ids = (c.event_id for c in self.window.contributions)
            self._by_id = dict(zip(ids, zip(self.facts, self.kinds, strict=True), strict=True))
        return self._by_id


def groups(masks: Iterable[int], count: int) -> list[int]:
    """``count`` partnerships split by the classes they are permitted: each mask is a class's
    permitted partnerships (bit n: the n-th), and each group found (a mask of partnerships)
    holds those permitted exactly the same classes. The groups are disjoint and cover all."""
    everyone = (1 << count) - 1
    found = [everyone] if count else []
    for mask in masks:
        if mask == 0 or mask & everyone == everyone:
            continue  # a class permitted to none or to all splits no group
        split = []
        for group in found:
            inside = group & mask
            if inside:
                split.append(inside)
            if inside != group:
                split.append(group & ~mask)
        found = split
    return found


def members(group: int) -> Iterator[int]:
    """The partnerships (their numbers, from 0) of a group of :func:`groups`."""
    while group:
        low = group & -group
        yield low.bit_length() - 1
        group ^= low


class Decisions(Mapping[str, Decision]):
    """One partnership's decisions on a window's events, by event id
    (:meth:`hub.decider.Decider.decisions`)."""

    __slots__ = ("_known", "_moment", "_partnership", "_table")

    def __init__(
        self,
        partnership_id: str,
        moment: Moment,
        table: dict[Class, Decision],
        known: Classified,
    ) -> None:
        self._partnership = partnership_id
        self._moment = moment
        self._table = table
        self._known = known

    def __getitem__(self, event_id: str) -> Decision:
        facts, kind = self._known.by_id[event_id]
        decision = self._table.get(kind)
        if decision is None:
            moment = self._moment
            decision = self._table[kind] = moment.policy.outcome(
                facts, self._partnership, moment.at, moment.consent
            )
        return decision

    def __iter__(self) -> Iterator[str]:
        return iter(self._known.by_id)

    def __len__(self) -> int:
        return len(self._known.by_id)
