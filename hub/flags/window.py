"""One subject's window: the set of contributions the rules are evaluated over.

Immutable; ``add`` is idempotent by event id, and the contributions are kept sorted by
(occurred_at, event_id), so the window, its bytes and every evaluation depend only on the
SET of contributions, never on the order they arrived in.

``floors`` record, per rule id, the earliest instant a new flag of that rule may be anchored
at. :func:`hub.flags.engine.expire` sets them when it drops old contributions, so dropping
can never make an expired flag's events look like a new flag, and
:func:`hub.correlate.admit` raises them below a late event (see ``docs/rules.md``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import repeat
from operator import attrgetter

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from hub.errors import StateError
from hub.flags.contribution import Contribution
from hub.models.built import built, replaced_one


class SubjectWindow(BaseModel):
    """The contributions of one linkage token (the token itself is the table key, not here)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contributions: tuple[Contribution, ...] = ()
    floors: Mapping[str, AwareDatetime] = Field(default_factory=dict)

    @field_validator("contributions")
    @classmethod
    def _canonical(cls, value: tuple[Contribution, ...]) -> tuple[Contribution, ...]:
        """Sorted by (occurred_at, event_id), one per event id, however it was built."""
        unique: dict[str, Contribution] = {}
        for contribution in sorted(value, key=lambda c: c.key):
            unique.setdefault(contribution.event_id, contribution)
        return tuple(unique.values())

    def __len__(self) -> int:
        return len(self.contributions)

    def __contains__(self, event_id: object) -> bool:
        return event_id in map(_EVENT_ID, self.contributions)  # compared in C, not a genexpr

    def add(self, contribution: Contribution) -> SubjectWindow:
        """This window with the contribution; the same window when its event id is present.

        An event id is unique at source and ingest refuses an id seen at another position,
        so a second contribution with a known id is a redelivery of the same event.
        """
        items = self.contributions
        if contribution.event_id in map(_EVENT_ID, items):  # ``in self``, without its call
            return self
        if not items:
            return replaced_one(self, "contributions", (contribution,))
        # The latest (events mostly come in order): ``_KEY(last) < _KEY(contribution)``,
        # compared field by field as the tuples would be, without making them.
        last, new = items[-1].occurred_at, contribution.occurred_at
        if last < new or (last == new and items[-1].event_id < contribution.event_id):
            return replaced_one(self, "contributions", (*items, contribution))
        key = _KEY(contribution)
        at = bisect_left(items, key, key=_KEY)
        return replaced_one(self, "contributions", (*items[:at], contribution, *items[at:]))

    def without_before(self, cut: datetime, floors: Mapping[str, datetime]) -> SubjectWindow:
        """Drop contributions that occurred before ``cut`` and record the new floors."""
        contributions = self.contributions
        if not contributions or contributions[0].occurred_at >= cut:
            kept = contributions  # in time order: none is before the cut
        else:
            kept = tuple(c for c in contributions if c.occurred_at >= cut)
        ordered = dict(sorted(floors.items()))
        if len(kept) == len(contributions) and all(map(_aware, ordered.values())):
            # Nothing dropped: the contributions are canonical already and the floors are
            # aware, so validation would return exactly these values; skip it.
            return built(SubjectWindow, {"contributions": self.contributions, "floors": ordered})
        return SubjectWindow(contributions=kept, floors=ordered)

    def floor(self, rule_id: str) -> datetime | None:
        """The earliest anchor a new flag of this rule may have, if expiry has set one."""
        return self.floors.get(rule_id)

    def to_bytes(self) -> bytes:
        """Compact JSON, for a faust table value."""
        return self.model_dump_json(exclude_defaults=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> SubjectWindow:
        """Read :meth:`to_bytes` output; StateError (without the bytes) when it is not one."""
        try:
            return cls.model_validate_json(data)
        except PydanticValidationError as exc:
            # from None: pydantic's error would carry the stored values into logs
            raise StateError(f"subject window: {exc.error_count()} invalid parts") from None


def window_json(window: SubjectWindow) -> bytes:
    """``window.model_dump_json()``, with each contribution's JSON written once.

    The window's JSON is pydantic's, joined around its contributions' (:func:`joined_json`)
    and its floors' (:func:`floors_json`) in one copy.
    """
    return b"".join(
        (b'{"contributions":[', joined_json(window.contributions), b"],", floors_json(window))
    )


def joined_json(contributions: tuple[Contribution, ...]) -> bytes:
    """The contributions' JSON, comma-separated, as pydantic writes them in a window.

    A contribution is immutable and stays in its subject's window for many events; its JSON
    is remembered (bounded) and joined with the others', byte for byte as pydantic writes
    them. The memo is by identity: an entry holds its contribution, so no other object can
    have its id while the entry is there, and a hit needs no identity check; the lookups are
    made in C (``map``), only a miss in Python.
    """
    parts: list[bytes] = list(map(_json.get, map(id, contributions), _NO_JSON))
    if b"" in parts:  # a contribution's JSON is never empty: only a miss is
        for i, found in enumerate(parts):
            if not found:
                contribution = contributions[i]
                parts[i] = _remember(contribution, id(contribution))
    return b",".join(parts)


def _remember(contribution: Contribution, key: int) -> bytes:
    """A contribution's JSON, written and remembered (the oldest forgotten past capacity)."""
    # model_dump_json's bytes without its keyword handling and str round trip
    data: bytes = contribution.__pydantic_serializer__.to_json(contribution)
    if len(_held) >= _JSON_CAPACITY:
        _json.pop(_held.popitem(last=False)[0])  # the oldest, not all: those in use stay
    _held[key] = contribution  # holding it keeps its id from being reused
    _json[key] = data
    return data


def floors_json(window: SubjectWindow) -> bytes:
    """``"floors":{...}}``: the window's JSON after its contributions, remembered per floors.

    A window's floors change only when expiry drops a contribution (or a late event
    arrives), so one floors mapping serves a subject's windows from event to event: its JSON
    is remembered by the mapping's identity (held, so that its id is not reused), and by
    value for equal floors of other subjects (those expired at one cut).
    """
    floors = window.floors
    if not floors:
        return _NO_FLOORS  # most windows: nothing expired yet
    found = _by_id.get(id(floors))
    if found is not None and found[0] is floors:
        return found[1]
    # Equal instants in other offsets are written differently: the offset is in the key.
    key = tuple((rule, at, at.utcoffset()) for rule, at in floors.items())
    known = _floors.get(key)
    if known is None:
        known = window.model_dump_json(exclude={"contributions"}).encode()[1:]
        if len(_floors) >= _FLOORS_CAPACITY:
            _floors.clear()
        _floors[key] = known
    if len(_by_id) >= _JSON_CAPACITY:
        _by_id.popitem(last=False)  # the oldest
    _by_id[id(floors)] = (floors, known)
    return known


_EVENT_ID = attrgetter("event_id")
_KEY = attrgetter("occurred_at", "event_id")  # Contribution.key, without the property call
_JSON_CAPACITY = 16384
_json: dict[int, bytes] = {}
"""Each remembered contribution's JSON, by its id (:func:`window_json`)."""
_NO_JSON = repeat(b"")
""":func:`window_json`'s default for a miss (a contribution's JSON is never empty)."""
_held: OrderedDict[int, Contribution] = OrderedDict()
"""The contributions :data:`_json` remembers, oldest first: held, so that their ids stay theirs."""
_FLOORS_CAPACITY = 1024
_floors: dict[tuple[tuple[str, datetime, timedelta | None], ...], bytes] = {}
_by_id: OrderedDict[int, tuple[Mapping[str, datetime], bytes]] = OrderedDict()


_NO_FLOORS = SubjectWindow().model_dump_json(exclude={"contributions"}).encode()[1:]
""":func:`floors_json` of a window without floors (pydantic's, written once)."""


def _aware(moment: object) -> bool:
    """Whether pydantic's AwareDatetime would accept the value as it is."""
    return isinstance(moment, datetime) and moment.utcoffset() is not None
