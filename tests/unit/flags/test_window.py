"""Contributions from accepted events, and the subject window: idempotent, canonical, storable."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import StateError
from hub.flags import SubjectWindow, contribution_of, evaluate
from hub.models import Envelope, Event
from hub.rules import RuleSet, parse_rule
from tests.unit.flags.builders import RULES, T0, contribution


def _event(
    event_type: str,
    fields: dict[str, Any],
    token: str | None = "lt1:0123456789abcdef:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # noqa: S107  # a made-up linkage token
) -> Event:
    envelope = Envelope(
        event_id="01890a5d-ac96-774b-bcce-b302099a8057",
        agency_id="police",
        event_type=event_type,
        occurred_at=T0,
        recorded_at=T0 + timedelta(hours=2),
        subject_token=token,
        lsoa="E01016389",
        age=16,
        schema_version=1,
        key_id="police-2025-01",
    )
    return Event(event_type=event_type, writer_version=1, envelope=envelope, fields=fields)


def test_contribution_keeps_only_the_fields_rules_test() -> None:
    fields = {
        "offence_group": "DRUG_OFFENCES",
        "drug_class": "CLASS_A",
        "intent_to_supply": True,
        "outcome": "CHARGED",
    }
    made = contribution_of(_event("police.arrest", fields), "E06000038", RULES)
    assert made is not None
    assert dict(made.fields) == {"offence_group": "DRUG_OFFENCES", "intent_to_supply": True}
    assert (made.council, made.age, made.occurred_at, made.agency_id) == (
        "E06000038",
        16,
        T0,
        "police",
    )


def test_array_fields_become_tuples_and_can_be_tested() -> None:
    rule = parse_rule(
        "id: cce-referral\nversion: 1\ntitle: CCE referral\nseverity: low\nwindow_days: 30\n"
        "explanation: A referral naming child criminal exploitation as a factor.\n"
        "events: [{type: csc.referral,"
        " where: ['factors contains [CHILD_CRIMINAL_EXPLOITATION]']}]\n",
        "inline.yaml",
    )
    rules = RuleSet([rule])
    factors = ["GANGS", "CHILD_CRIMINAL_EXPLOITATION"]
    made = contribution_of(
        _event("csc.referral", {"factors": factors, "outcome": "EARLY_HELP"}), None, rules
    )
    assert made is not None
    assert dict(made.fields) == {"factors": ("GANGS", "CHILD_CRIMINAL_EXPLOITATION")}
    assert SubjectWindow.from_bytes(SubjectWindow().add(made).to_bytes()).contributions == (made,)
    assert [
        f.rule_id
        for f in evaluate(
            rules,
            "lt1:0123456789abcdef:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            SubjectWindow().add(made),
            T0,
        )
    ] == ["cce-referral"]


def test_area_level_and_non_contributing_events_make_no_contribution() -> None:
    assert contribution_of(_event("police.arrest", {}, token=None), None, RULES) is None
    assert contribution_of(_event("community_safety.asb_case", {}), None, RULES) is None
    assert not RULES.contributes("health.ed_assault")


def test_add_is_idempotent_by_event_id_and_keeps_time_order() -> None:
    a, b, c = (contribution("police.arrest", d) for d in (5, 1, 3))
    window = SubjectWindow().add(a).add(b).add(c)
    assert [x.event_id for x in window.contributions] == [b.event_id, c.event_id, a.event_id]
    assert window.add(b) is window
    assert a.event_id in window
    assert len(window) == 3


@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.integers(0, 3), st.sampled_from([0, 1, -5])),
        max_size=8,
    )
)
def test_a_window_grown_one_by_one_is_the_validated_window_of_its_contributions(
    drawn: list[tuple[str, int, int]],
) -> None:
    """Events in any order, at equal instants (written in other offsets too) or not, an id
    arriving again at another time: each ``add`` gives the window validation builds from
    the contributions kept (the first of an id), in the same order, and the same bytes."""
    window, kept = SubjectWindow(), {}
    for name, hour, offset in drawn:
        zone = timezone(timedelta(hours=offset))
        at = (T0 + timedelta(hours=hour)).astimezone(zone)
        item = contribution("police.arrest", 0).model_copy(
            update={"event_id": f"evt-{name}", "occurred_at": at}
        )
        grown = window.add(item)
        if name in kept:
            assert grown is window
        kept.setdefault(name, item)
        window = grown
        expected = SubjectWindow(contributions=tuple(kept.values()))
        assert window.contributions == expected.contributions
        assert [c.occurred_at for c in window.contributions] == [
            c.occurred_at for c in expected.contributions
        ]
        assert window.to_bytes() == expected.to_bytes()


def test_bytes_round_trip_is_compact_and_canonical() -> None:
    items = [contribution("police.arrest", d) for d in (5, 1, 3)]
    window = SubjectWindow(contributions=tuple(items), floors={"county-lines": T0})
    data = window.to_bytes()
    assert SubjectWindow.from_bytes(data) == window
    assert b" " not in data.replace(b"T0", b"")
    assert (
        SubjectWindow(contributions=tuple(reversed(items))).to_bytes()
        == SubjectWindow(contributions=tuple(items)).to_bytes()
    )


@pytest.mark.parametrize("data", [b"", b"{", b'{"contributions": [{"event_id": 1}]}', b"\xff"])
def test_unreadable_bytes_are_a_state_error_without_the_bytes(data: bytes) -> None:
    with pytest.raises(StateError) as caught:
        SubjectWindow.from_bytes(data)
    assert caught.value.reason == "state_error"
    assert caught.value.__cause__ is None


def test_each_rule_set_gives_its_own_fields_when_several_are_used_in_turn() -> None:
    """What a type's contribution keeps is read from its own rule set: alternating between
    two rule sets never keeps the other's fields or types."""
    rule = parse_rule(
        "id: arrest-outcome\nversion: 1\ntitle: Charged\nseverity: low\nwindow_days: 30\n"
        "explanation: An arrest that led to a charge.\n"
        "events: [{type: police.arrest, where: ['outcome == CHARGED']}]\n",
        "inline.yaml",
    )
    other = RuleSet([rule])
    fields = {"offence_group": "DRUG_OFFENCES", "intent_to_supply": True, "outcome": "CHARGED"}
    event = _event("police.arrest", fields)
    missing = _event("csc.missing_episode", {})
    for _ in range(2):
        mine = contribution_of(event, None, RULES)
        theirs = contribution_of(event, None, other)
        assert mine is not None
        assert theirs is not None
        assert dict(mine.fields) == {"offence_group": "DRUG_OFFENCES", "intent_to_supply": True}
        # sorted by name: the order sets the bytes of every stored window
        assert list(mine.fields) == ["intent_to_supply", "offence_group"]
        assert dict(theirs.fields) == {"outcome": "CHARGED"}
        assert contribution_of(missing, None, RULES) is not None
        assert contribution_of(missing, None, other) is None  # not a type it lists
