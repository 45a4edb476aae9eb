"""What one evaluator finds of one subject's window (split from :mod:`hub.decider`): the
window's event classes (:class:`Classified`), each a number of the evaluator's
(:class:`Numbering`), and a partnership's decisions on its events, found when asked
(:class:`Decisions`). Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from hub.disclosure import Moment
from hub.dsa import Decision, Evaluator, EventFacts
from hub.flags import SubjectWindow
from hub.view import Sight

Class = tuple[str, str, str | None, int | None]
"""An event's class as the evaluator gives it (:meth:`hub.dsa.Evaluator.event_class`)."""


class Numbering:
    """A number for each class one evaluator has met, from 0 in the order met: what the
    decider keys classes by (a number hashes and compares at once, and a set of numbers is
    one int, bit n the class numbered n). Numbers of two numberings never meet: everything
    keyed by them names the numbering it holds (:class:`Classified`, the decider's shared
    memos), and a numbering is replaced, never emptied."""

    __slots__ = ("numbers", "policy")

    def __init__(self, policy: Evaluator) -> None:
        self.policy = policy
        self.numbers: dict[Class, int] = {}

    def full(self, most: int) -> bool:
        """Whether it holds ``most`` classes or more."""
        return len(self.numbers) >= most

    def number(self, kind: Class) -> int:
        """The class's number (a new one when first met)."""
        numbers = self.numbers
        found = numbers.get(kind)
        if found is None:
            found = numbers[kind] = len(numbers)
        return found


class Classified:
    """The classes of one window's contributions, as one evaluator finds them for one token:
    each a number of :attr:`numbering`."""

    __slots__ = (
        "_bits",
        "_by_id",
        "_first",
        "facts",
        "given",
        "kinds",
        "numbering",
        "sights",
        "token",
        "window",
    )

    def __init__(
        self,
        window: SubjectWindow,
        moment: tuple[Numbering, str],
        found: tuple[list[EventFacts], list[int]],
    ) -> None:
        self.window = window
        self.numbering, self.token = moment
        self.facts, self.kinds = found
        """Each contribution's facts and class number, in order."""
        self._bits: int | None = None
        self.sights: dict[int, Sight] = {}
        """What partnerships may see of it, by the classes of it they are permitted (bit n
        the class numbered n)."""
        self.given: tuple[dict[int, int], tuple[str, ...], list[Sight], list[int]] | None = None
        """The last sights given for it (:meth:`hub.decider.Decider.sights`): the masks they
        were found by, the partnerships, and each one's sight and permitted classes."""
        self._first: dict[int, EventFacts] | None = None
        self._by_id: dict[str, tuple[EventFacts, int]] | None = None

    @property
    def policy(self) -> Evaluator:
        """The evaluator whose classes these are."""
        return self.numbering.policy

    def of(self, window: SubjectWindow, numbering: Numbering, token: str) -> bool:
        """Whether these are the classes of this window object, numbering and token."""
        return self.window is window and self.numbering is numbering and self.token == token

    @property
    def bits(self) -> int:
        """Its classes, bit n the class numbered n (built once, when asked)."""
        if self._bits is None:
            self._bits = bits_of(self.kinds)
        return self._bits

    @bits.setter
    def bits(self, bits: int) -> None:
        self._bits = bits

    @property
    def first(self) -> dict[int, EventFacts]:
        """Its classes, each with the facts of its first contribution, in order (built once)."""
        if self._first is None:
            first: dict[int, EventFacts] = {}
            for facts, kind in zip(self.facts, self.kinds, strict=True):
                if kind not in first:
                    first[kind] = facts
            self._first = first
        return self._first

    @property
    def by_id(self) -> dict[str, tuple[EventFacts, int]]:
        """Each contribution's facts and class, by event id (built once, when asked)."""
        if self._by_id is None:
            ids = (c.event_id for c in self.window.contributions)
            self._by_id = dict(zip(ids, zip(self.facts, self.kinds, strict=True), strict=True))
        return self._by_id


def bits_of(kinds: Iterable[int]) -> int:
    """The set of these class numbers as one int (bit n: the class numbered n)."""
    bits = 0
    for kind in kinds:
        bits |= 1 << kind
    return bits


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
        table: dict[int, Decision],
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
