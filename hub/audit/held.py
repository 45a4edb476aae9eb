"""The flags each partnership holds in a replay, from the permits it re-derived in ledger order.

A retraction's alert id needs the revision last sent to the partnership, and a permit's flag id
whether the partnership already holds a flag it continues: :class:`Held` keeps that state for
:class:`~hub.audit.rederive.Rederiver` (split from :mod:`hub.audit.rederive`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hub.alerts import AlertKind
from hub.dispatch import alert_revision, anchor_key
from hub.idkey import IdKey
from hub.view import continued

if TYPE_CHECKING:
    from hub.audit.rederive import Basis


@dataclass(frozen=True, slots=True)
class Live:
    """A partnership's flag as replay's own permits left it: events, start, anchor, revision."""

    events: frozenset[str]
    start: datetime
    anchor: datetime
    revision: str


@dataclass
class Held:
    """The flags each partnership holds per (partnership, subject, rule), from re-derived permits.

    Partnership ids are keyed (:mod:`hub.idkey`): replay derives them with the id keys it is
    given, and a partnership without one gets ``None`` (a mismatch if the entry has an id).
    """

    keys: Mapping[str, IdKey]
    live: dict[tuple[str, str, str], dict[str, Live]] = field(default_factory=dict)
    closed: dict[tuple[str, str, str], int] = field(default_factory=dict)
    subjects: set[str] = field(default_factory=set)
    """Every subject whose held flags were read (a sharded replay checks that no two
    shards read one subject's)."""

    def permit(self, basis: Basis, pid: str) -> Ids:
        """A permit's ids, and the change it makes to the flags held (not yet made)."""
        key = self.keys.get(pid)
        self.subjects.add(basis.token)
        if key is None:
            return None, None, nothing
        members = basis.ids
        revision = alert_revision(basis.flag[1], pid, members)
        place = (pid, basis.token, basis.rule.id)
        live = self.live.get(place, {})
        own = continued(members, {i: (f.events, f.start) for i, f in live.items()})
        start = basis.members[0].occurred_at
        if own is None:
            reopened = self.closed.get((pid, basis.token, anchor_key(basis.rule.id, start)), 0)
            own, anchor = key.flag_id(basis.rule.id, basis.token, start, reopened), start
        else:
            anchor = live[own].anchor
        held = Live(members, start, anchor, revision)

        def hold() -> None:
            self.live.setdefault(place, {})[own] = held

        return own, key.alert_id(own, revision), hold

    def deny(self, basis: Basis, pid: str) -> Ids:
        """A retraction's ids when the entry's events are a flag the partnership held, and
        the change it makes to the flags held (not yet made)."""
        key = self.keys.get(pid)
        self.subjects.add(basis.token)
        place = (pid, basis.token, basis.rule.id)
        live = self.live.get(place)
        if key is None or not live:  # most denials: the partnership holds no such flag
            return None, None, nothing
        members = basis.ids
        own = next((i for i, f in live.items() if f.events == members), None)
        if own is None:
            return None, None, nothing
        gone = live[own]
        closed = (pid, basis.token, anchor_key(basis.rule.id, gone.anchor))

        def close() -> None:
            del self.live[place][own]
            self.closed[closed] = self.closed.get(closed, 0) + 1

        return own, key.closed_id(own, AlertKind.RETRACTED.value, gone.revision), close


Ids = tuple[str | None, str | None, Callable[[], None]]
"""A partnership's flag id and alert id for an entry, and its change to the flags held."""


def nothing() -> None:
    """No change to the flags held."""
