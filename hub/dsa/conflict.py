"""Contradictions: two agreements in force at the same time that disagree about one flow.

A flow is (provider, event type, recipient). Two different agreements contradict when their
in-force windows overlap, they share a purpose, and either both permit the flow on different
terms (fields, level, consent, age scope) or one permits what the other prohibits outright.
Versions of one agreement never contradict each other: a newer version supersedes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import combinations

from hub.dsa.document import Agreement, DataItem
from hub.registry import Registry

Flow = tuple[str, str, str]
_SHOWN = 3
_Located = tuple[str, Agreement]


def find_contradictions(
    agreements: tuple[_Located, ...], registry: Registry
) -> list[tuple[str, str, str]]:
    """``(file, path, message)`` per contradicting pair and kind, reported on the later file."""
    publishes = {a.id: frozenset(a.event_types) for a in registry.agencies}
    found: list[tuple[str, str, str]] = []
    for (_, a), (file_b, b) in combinations(sorted(agreements, key=lambda x: x[0]), 2):
        if a.id == b.id or not _overlap(a, b) or not set(a.purposes) & set(b.purposes):
            continue
        flows_a, flows_b = _flows(a, publishes), _flows(b, publishes)
        differ = [
            f
            for f in sorted(flows_a.keys() & flows_b.keys())
            if _terms(a, flows_a[f]) != _terms(b, flows_b[f])
        ]
        if differ:
            found.append((file_b, "data_items", _say(differ, a, "on different terms")))
        banned_by_a = sorted({f for f, _ in _banned(a, publishes, flows_b)})
        if banned_by_a:
            found.append(
                (file_b, "data_items", _say(banned_by_a, a, "it prohibits what this permits"))
            )
        for rule, flows in _group(_banned(b, publishes, flows_a)).items():
            found.append(
                (file_b, f"prohibitions.{rule}", _say(flows, a, "it permits what this prohibits"))
            )
    return found


def _group(pairs: Iterator[tuple[Flow, str]]) -> dict[str, list[Flow]]:
    grouped: dict[str, list[Flow]] = {}
    for flow, rule in pairs:
        grouped.setdefault(rule, []).append(flow)
    return grouped


def _say(flows: list[Flow], other: Agreement, how: str) -> str:
    shown = ", ".join(f"{p} {t} -> {r}" for p, t, r in flows[:_SHOWN])
    more = f" and {len(flows) - _SHOWN} more" if len(flows) > _SHOWN else ""
    return f"contradicts {other.ref}, also in force, for {shown}{more}: {how}"


def _overlap(a: Agreement, b: Agreement) -> bool:
    wa, wb = a.in_force_window(), b.in_force_window()
    if wa is None or wb is None:
        return False
    return _before(wa[0], wb[1]) and _before(wb[0], wa[1])


def _before(start: datetime, end: datetime | None) -> bool:
    return end is None or start < end


def _flows(agreement: Agreement, publishes: dict[str, frozenset[str]]) -> dict[Flow, DataItem]:
    return {
        (p, item.event_type, r): item
        for p in agreement.provider_ids
        for item in agreement.data_items
        if item.event_type in publishes.get(p, frozenset())
        for r in agreement.recipient_ids
    }


def _terms(agreement: Agreement, item: DataItem) -> tuple[object, ...]:
    scope = item.age_scope or agreement.age_scope
    bounds = None if scope is None else (scope.min, scope.max)
    return (item.level, item.field_names, item.consent_required, bounds)


def _banned(
    agreement: Agreement, publishes: dict[str, frozenset[str]], permitted: dict[Flow, DataItem]
) -> Iterator[tuple[Flow, str]]:
    own = _flows_any(agreement, publishes)
    for index, rule in enumerate(agreement.prohibitions):
        if not rule.whole_flow or rule.age_scope is not None:
            continue
        for flow in sorted(permitted.keys() & own):
            _, event_type, recipient = flow
            if (not rule.event_types or event_type in rule.event_types) and (
                not rule.recipients or recipient in rule.recipients
            ):
                yield flow, str(index)


def _flows_any(agreement: Agreement, publishes: dict[str, frozenset[str]]) -> set[Flow]:
    return {
        (p, t, r)
        for p in agreement.provider_ids
        for t in publishes.get(p, frozenset())
        for r in agreement.recipient_ids
    }
