"""Place-based alerts: area rules over each LSOA's event counts, delivered like any alert.

Area-level events (no subject) are keyed by ``area:<LSOA>`` on the accepted topic, so one
LSOA's events meet in one partition and its :class:`AreaState` lives in one table row. Per
LSOA the state holds daily counts per event type over the longest baseline any area rule
needs, the first day it saw each type, the event ids folded (a redelivered event changes
nothing), and the episode each rule last alerted for. A rule judges an LSOA only once its
baseline period has been observed whole (the area's first event of the rule's types is at
least the baseline's length before the window): a feed that has just started, or an area
with too little history, raises nothing rather than "hot spots" against an empty baseline.
Time is the data's: a rule is judged over the window ending on the latest event's day, so a
replay of the same events judges the same way whatever the clock.

When a rule starts to hold, the partnership of the LSOA's council gets one ``area.raised``
alert, if the agreements in force let the triggering event go to it (the ISTV agreement
does, at area level). The alert carries the window count (at least 5, by the rule) and the
baseline, both suppressed as releases are (a figure from 1 to 4 reads ``<5``). It is not
raised again until the rule has stopped holding. Pure: the agent supplies state and moment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from hub.alerts import AlertBody, AlertKind, ContributingEvent, RuleRef, encrypt_alert
from hub.disclosure import DecodedByBytes
from hub.dispatch import Moment, Recipient
from hub.dsa import EventFacts
from hub.geo import AreaLookup
from hub.models import Event
from hub.models.built import built, replaced
from hub.registry import Registry
from hub.rules.area import AreaRule
from hub.sequencer import Pending

SMALL = 5
AREA_CAPACITY = 4096
"""Area states remembered by the bytes they were written as (the newest kept)."""
_decoded: DecodedByBytes[AreaState] = DecodedByBytes(AREA_CAPACITY)


def shown(count: int) -> int | str:
    """A count as an alert may carry it: ``<5`` from 1 to 4."""
    return f"<{SMALL}" if 0 < count < SMALL else count


class AreaState(BaseModel):
    """One LSOA's daily counts per event type, the ids folded, and open episodes by rule."""

    model_config = ConfigDict(frozen=True)

    days: dict[str, dict[str, int]] = Field(default_factory=dict)
    since: dict[str, str] = Field(default_factory=dict)
    """Per event type, the earliest day folded (never pruned): how long the area is observed."""
    seen: dict[str, str] = Field(default_factory=dict)
    raised: dict[str, str] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Compact JSON for the state table (remembered: the next read is of these bytes)."""
        data = self.__pydantic_serializer__.to_json(self)  # model_dump_json's, as bytes
        _decoded.keep(data, self)
        return data

    @classmethod
    def from_bytes(cls, data: bytes | None) -> AreaState:
        """The stored state (empty for a new area).

        Bytes this process wrote (:meth:`to_bytes`) give back the state they were written
        from without parsing, as :meth:`hub.disclosure.SubjectState.from_bytes` does: the
        state's JSON round-trips and nothing changes a state once built (:func:`fold_area`
        builds new mappings), so the two are the same value. Any other bytes are parsed and
        validated.
        """
        if not data:
            return cls()
        known = _decoded.take(data)
        return known if known is not None else cls.model_validate_json(data)

    def count(self, types: tuple[str, ...], first: date, last: date) -> int:
        """Events of ``types`` on days ``first`` to ``last`` inclusive."""
        low, high = first.isoformat(), last.isoformat()
        return sum(n for t in types for d, n in self.days.get(t, {}).items() if low <= d <= high)


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A rule that started to hold for an LSOA: the figures behind it."""

    rule: AreaRule
    lsoa: str
    last_day: date
    current: int
    baseline: int

    @property
    def expected(self) -> float:
        """The baseline's mean count per window."""
        return self.baseline * self.rule.window_days / self.rule.baseline_days


def fold_area(
    state: AreaState, event: Event, rules: tuple[AreaRule, ...]
) -> tuple[AreaState, list[Hotspot]]:
    """Add one area-level event to its LSOA and judge the rules that count its type."""
    relevant = [r for r in rules if event.event_type in r.event_types]
    if not relevant or event.event_id in state.seen:
        return state, []
    day = event.envelope.occurred_at.date().isoformat()
    latest = max([day, *map(max, filter(None, state.days.values()))])  # a day's key is its date
    keep = (
        date.fromisoformat(latest)
        - timedelta(days=max(r.window_days + r.baseline_days for r in rules))
    ).isoformat()
    # The days and ids after the event, those not after ``keep`` dropped, in one copy each
    # (in the order adding the event and then dropping would leave them).
    days = {t: {d: n for d, n in c.items() if d > keep} for t, c in state.days.items()}
    counts = days.setdefault(event.event_type, {})
    seen = {i: d for i, d in state.seen.items() if d > keep}
    if day > keep:
        counts[day] = state.days.get(event.event_type, {}).get(day, 0) + 1
        seen[event.event_id] = day
    since = {**state.since, event.event_type: min(day, state.since.get(event.event_type, day))}
    # Every value is a new mapping of strings (and day counts) already: validating them
    # again would only copy them.
    updated = built(
        AreaState, {"days": days, "since": since, "seen": seen, "raised": dict(state.raised)}
    )
    return _judge(updated, relevant, event.envelope.lsoa, date.fromisoformat(latest))


def _judge(
    state: AreaState, rules: list[AreaRule], lsoa: str, last: date
) -> tuple[AreaState, list[Hotspot]]:
    raised, found = dict(state.raised), []
    for rule in rules:
        start = last - timedelta(days=rule.window_days - 1)
        current = state.count(rule.event_types, start, last)
        before = start - timedelta(days=1)
        baseline = state.count(
            rule.event_types, before - timedelta(days=rule.baseline_days - 1), before
        )
        hotspot = Hotspot(rule, lsoa, last, current, baseline)
        observed = min((state.since[t] for t in rule.event_types if t in state.since), default="")
        if observed > (before - timedelta(days=rule.baseline_days - 1)).isoformat():
            continue  # a baseline not yet observed whole says nothing: judge nothing yet
        holds = current >= rule.min_events and current >= rule.min_ratio * hotspot.expected
        if holds and rule.id not in raised:
            raised[rule.id] = last.isoformat()
            found.append(hotspot)
        elif not holds:
            raised.pop(rule.id, None)
    return replaced(state, raised=raised), found


@dataclass(frozen=True, slots=True)
class AreaWatch:
    """The fixed inputs of place-based alerting: rules, areas, registry and recipients."""

    rules: tuple[AreaRule, ...]
    areas: AreaLookup
    registry: Registry
    recipients: tuple[Recipient, ...]

    def alert(self, hotspot: Hotspot, event: Event, moment: Moment) -> Pending | None:
        """The encrypted alert for the LSOA's partnership, if the agreements allow it."""
        council = self.areas.council(hotspot.lsoa)
        partnership = None if council is None else self.registry.partnership_for_council(council)
        recipient = next(
            (r for r in self.recipients if partnership and r.partnership_id == partnership.id),
            None,
        )
        if council is None or recipient is None:
            return None
        facts = EventFacts(
            event_id=event.event_id,
            agency_id=event.envelope.agency_id,
            event_type=event.event_type,
            occurred_at=event.envelope.occurred_at,
            council=council,
            lsoa=hotspot.lsoa,
            fields=event.fields,
        )
        decision = moment.policy.decide(facts, recipient.partnership_id, moment.at)
        if not decision.permitted:
            return None
        ref = f"{decision.agreement_id}@{decision.agreement_version}"
        body = _body(hotspot, (recipient.partnership_id, ref), event, moment)
        sealed = encrypt_alert(body, recipient.partnership_id, recipient.hpke)
        return Pending(recipient.partnership_id, body.alert_id, sealed.value, sealed.headers)


def hotspot_id(hotspot: Hotspot, partnership_id: str) -> str:
    """The alert id: the rule version, the LSOA, the day the episode began, the partnership."""
    parts = [
        "area-alert",
        hotspot.rule.id,
        str(hotspot.rule.version),
        hotspot.lsoa,
        hotspot.last_day.isoformat(),
        partnership_id,
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _body(hotspot: Hotspot, to: tuple[str, str], event: Event, moment: Moment) -> AlertBody:
    """``to``: the partnership and the agreement (id@version) that lets the alert go."""
    partnership_id, agreement = to
    rule = hotspot.rule
    alert_id = hotspot_id(hotspot, partnership_id)
    figures: dict[str, int | str | float | bool | None] = {
        "lsoa": hotspot.lsoa,
        "events_in_window": shown(hotspot.current),
        "window_days": rule.window_days,
        "baseline_events": shown(hotspot.baseline),
        "baseline_days": rule.baseline_days,
        "baseline_per_window": round(hotspot.expected, 1)
        if hotspot.baseline >= SMALL
        else f"<{SMALL}",
        "min_events": rule.min_events,
        "min_ratio": rule.min_ratio,
    }
    return AlertBody(
        alert_id=alert_id,
        kind=AlertKind.AREA_RAISED,
        flag_id=alert_id,
        rule=RuleRef(rule.id, rule.version, rule.title, rule.explanation),
        severity=rule.severity,
        subject=f"area:{hotspot.lsoa}",
        window_start=hotspot.last_day - timedelta(days=rule.window_days - 1),
        window_end=hotspot.last_day,
        events=(
            ContributingEvent(
                event.event_type, event.envelope.agency_id, hotspot.last_day, figures
            ),
        ),
        ask=(event.envelope.agency_id,),
        agreements=(agreement,),
        decided_at=moment.at,
    )
