"""Shared builders for flag tests: the shipped rules, contributions and their strategies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from hub.codec import SchemaStore
from hub.flags import Contribution, SubjectWindow
from hub.registry import load_registry
from hub.rules import FieldSpec, FieldValue, RuleSet, catalog_from_store

ROOT = Path(__file__).resolve().parents[3]
STORE = SchemaStore.load(ROOT / "schemas")
CATALOG = catalog_from_store(STORE)
RULES = RuleSet.load(ROOT / "deploy" / "rules", CATALOG)
AGENCY = {
    t: a.id
    for a in load_registry(ROOT / "deploy" / "registry.yaml").agencies
    for t in a.event_types
}
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
TOKEN = "lt1:c3ViamVjdC1vbmUtdG9rZW4"  # noqa: S105  # a made-up linkage token, not a secret
CONTRIBUTING = sorted({c.type for r in RULES.rules for c in r.events})

# Field values that make each contributor of the shipped rules accept the event.
QUALIFYING: dict[str, dict[str, FieldValue]] = {
    "csc.exploitation_screening": {"exploitation_type": "CRIMINAL"},
    "police.violent_incident": {"subject_role": "SUSPECT"},
    "police.arrest": {"offence_group": "ROBBERY", "intent_to_supply": False},
    "police.stop_search": {"outcome": "ARREST"},
    "youth_justice.out_of_court_disposal": {"offence_group": "VIOLENCE_AGAINST_THE_PERSON"},
    "youth_justice.court_outcome": {
        "offence_group": "ROBBERY",
        "outcome": "REFERRAL_ORDER",
    },
}

_counter = iter(range(10**9))


def contribution(
    event_type: str, day: float, *, age: int | None = 15, **fields: FieldValue
) -> Contribution:
    """A contribution ``day`` days after T0, qualifying for the shipped rules unless overridden."""
    values: dict[str, Any] = {**QUALIFYING.get(event_type, {}), **fields}
    return Contribution(
        event_id=f"evt-{next(_counter):06d}",
        event_type=event_type,
        agency_id=AGENCY[event_type],
        occurred_at=T0 + timedelta(days=day),
        council="E06000038",
        lsoa="E01016389",
        age=age,
        fields={k: v for k, v in values.items() if k in RULES.fields_for(event_type)},
    )


def _value(spec: FieldSpec) -> st.SearchStrategy[FieldValue]:
    if spec.kind == "enum":
        return st.sampled_from(sorted(spec.symbols))
    if spec.kind == "boolean":
        return st.booleans()
    if spec.kind == "array":
        return st.lists(st.sampled_from(sorted(spec.symbols)), max_size=3).map(tuple)
    return st.integers(0, 20)


# The strategies ``contributions`` draws from, built once: a strategy built anew at each draw
# had hypothesis work out its properties (can it be empty? is it recursive?) at each draw, most
# of these tests' time. Built once or each time, they draw the same values.
EVENT_TYPES = st.sampled_from(CONTRIBUTING)
FIELD_VALUES = {
    t: tuple((n, _value(CATALOG[t].fields[n])) for n in sorted(RULES.fields_for(t)))
    for t in CONTRIBUTING
}
EVENT_NUMBERS = st.integers(0, 10**6)
MINUTES = st.integers(0, 120 * 24 * 60)
AGES = st.one_of(st.integers(10, 17), st.sampled_from([None, 8, 19, 24, 30]))


@st.composite
def contributions(draw: st.DrawFn) -> Contribution:
    """Any contribution of a contributing type, in a 120-day span, mostly of a child's age."""
    event_type = draw(EVENT_TYPES)
    fields = {n: draw(values) for n, values in FIELD_VALUES[event_type]}
    return Contribution(
        event_id=f"evt-{draw(EVENT_NUMBERS):07d}",
        event_type=event_type,
        agency_id=AGENCY[event_type],
        occurred_at=T0 + timedelta(minutes=draw(MINUTES)),
        council="E06000038",
        lsoa="E01016389",
        age=draw(AGES),
        fields=fields,
    )


sets = st.lists(contributions(), min_size=0, max_size=25, unique_by=lambda c: c.event_id)


def built(items: list[Contribution]) -> SubjectWindow:
    """A window with ``items`` added one at a time, in the order given."""
    window = SubjectWindow()
    for item in items:
        window = window.add(item)
    return window
