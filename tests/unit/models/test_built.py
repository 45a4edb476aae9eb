"""Models built without validation are the models validation builds (hub.models.built)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.consent import ConsentLedger
from hub.flags import Contribution, SubjectWindow
from hub.flags.state import EventRef, FlagState, Status
from hub.models.built import built, replaced

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def _contribution(event_id: str = "e1") -> Contribution:
    return Contribution(
        event_id=event_id,
        event_type="police.arrest",
        agency_id="police",
        occurred_at=AT,
        council="reading",
        lsoa="E01016372",
        age=15,
        fields={"offence": "violence", "tags": ("a", "b"), "n": 3, "flag": True},
    )


def test_built_equals_the_validated_model() -> None:
    validated = _contribution()
    fast = built(Contribution, dict(validated.__dict__))
    assert fast == validated
    assert fast.model_dump_json() == validated.model_dump_json()
    assert fast.model_fields_set == validated.model_fields_set
    assert hash(EventRef.of(fast)) == hash(EventRef.of(validated))


def test_built_flag_state_dumps_as_a_validated_one() -> None:
    ref = EventRef.of(_contribution())
    values = {
        "flag_id": "f" * 32,
        "revision": "r" * 16,
        "rule_id": "county-lines",
        "rule_version": 2,
        "severity": "high",
        "base_severity": "medium",
        "status": Status.ACTIVE,
        "window_start": AT,
        "window_end": AT,
        "events": (ref,),
    }
    assert built(FlagState, dict(values)).model_dump_json() == (
        FlagState(**values).model_dump_json()
    )


def test_replaced_equals_model_copy() -> None:
    window = SubjectWindow(contributions=(_contribution("e1"),), floors={"r": AT})
    update = {"contributions": (_contribution("e0"), _contribution("e1"))}
    copied = window.model_copy(update=update)
    fast = replaced(window, **update)
    assert fast == copied
    assert fast.model_dump_json() == copied.model_dump_json()
    assert fast.model_fields_set == copied.model_fields_set
    assert window.contributions == (_contribution("e1"),)  # the original is untouched


def test_replaced_keeps_private_attributes_through_model_copy() -> None:
    ledger = ConsentLedger()
    copied = replaced(ledger, ends={})
    assert copied == ledger.model_copy(update={"ends": {}})
    assert copied.__pydantic_private__ is not None
