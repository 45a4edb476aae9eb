"""The consent ledger: stream-order folding, withdrawal at once, the evaluator's view, receipts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.consent import (
    ConsentLedger,
    ConsentStatus,
    is_consent_event,
    principal_reference,
    to_receipt,
)
from hub.dsa import AgreementBook, Evaluator, EventFacts, Purpose, load_directory
from hub.errors import ConsentError
from hub.registry import load_registry
from tests.unit.consent.builders import T0, consent_event, token

EI = Purpose.EARLY_INTERVENTION
VCS = "voluntary-sector"


def at(minute: int) -> object:
    return T0 + timedelta(minutes=minute)


def test_consent_types_are_recognised() -> None:
    assert is_consent_event("consent.withdrawn")
    assert not is_consent_event("voluntary.engagement")


def test_given_consent_covers_its_flow_from_the_stream_point_it_was_read() -> None:
    ledger = ConsentLedger().apply(consent_event("consent.given", "c-1"), T0 + timedelta(minutes=5))
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=4)) is None
    ref = ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=5))
    assert ref is not None
    assert (ref.consent_id, ref.given_at) == ("c-1", T0)
    assert ledger.consent_for(token(2), EI, VCS, "reading", T0 + timedelta(hours=1)) is None
    other = Purpose.SERIOUS_VIOLENCE_PREVENTION
    assert ledger.consent_for(token(1), other, VCS, "reading", T0 + timedelta(hours=1)) is None


def test_named_recipients_limit_the_consent() -> None:
    event = consent_event("consent.given", "c-1", recipients=["reading"])
    ledger = ConsentLedger().apply(event, T0)
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0) is not None
    assert ledger.consent_for(token(1), EI, VCS, "slough", T0) is None


def test_withdrawal_stops_every_later_decision_and_is_kept_on_the_record() -> None:
    ledger = ConsentLedger().apply(consent_event("consent.given", "c-1"), T0)
    ledger = ledger.apply(
        consent_event("consent.withdrawn", "c-1", minute=30), T0 + timedelta(minutes=31)
    )
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=30)) is not None
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=31)) is None
    record = ledger.record("c-1")
    assert record is not None
    assert record.status is ConsentStatus.WITHDRAWN
    assert record.status_at(T0) is ConsentStatus.ACTIVE


def test_expiry_date_and_expiry_event_both_end_consent() -> None:
    dated = consent_event("consent.given", "c-1", expires_at=T0 + timedelta(days=1))
    ledger = ConsentLedger().apply(dated, T0)
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(days=1)) is None
    ledger = ConsentLedger().apply(consent_event("consent.given", "c-2"), T0)
    ledger = ledger.apply(
        consent_event("consent.expired", "c-2", minute=9), T0 + timedelta(minutes=9)
    )
    record = ledger.record("c-2")
    assert record is not None
    assert record.status is ConsentStatus.EXPIRED
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=9)) is None


def test_redelivery_is_a_no_op_and_a_changed_regrant_is_refused() -> None:
    given_event = consent_event("consent.given", "c-1")
    ledger = ConsentLedger().apply(given_event, T0)
    assert ledger.apply(given_event, T0 + timedelta(minutes=1)) == ledger
    withdrawn = ledger.apply(
        consent_event("consent.withdrawn", "c-1", minute=2), T0 + timedelta(minutes=2)
    )
    assert withdrawn.apply(given_event, T0 + timedelta(minutes=3)) == withdrawn
    with pytest.raises(ConsentError):
        ledger.apply(consent_event("consent.given", "c-1", minute=1, recipients=["slough"]), T0)


def test_an_agency_cannot_record_consent_for_another_providers_data() -> None:
    with pytest.raises(ConsentError, match="provider"):
        ConsentLedger().apply(consent_event("consent.given", "c-1", agency_id="police"), T0)


def test_withdrawal_read_before_its_grant_leaves_the_grant_born_withdrawn() -> None:
    ledger = ConsentLedger().apply(consent_event("consent.withdrawn", "c-1", minute=1), T0)
    ledger = ledger.apply(consent_event("consent.given", "c-1"), T0 + timedelta(minutes=1))
    assert ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=2)) is None


def test_ledger_round_trips_through_bytes() -> None:
    ledger = ConsentLedger().apply(consent_event("consent.given", "c-1"), T0)
    ledger = ledger.apply(
        consent_event("consent.withdrawn", "c-1", minute=5), T0 + timedelta(minutes=5)
    )
    back = ConsentLedger.from_bytes(ledger.to_bytes())
    assert back == ledger
    assert back.consent_for(token(1), EI, VCS, "reading", T0) is not None
    assert ConsentLedger.from_bytes(None) == ConsentLedger()


def test_receipt_has_kantara_and_27560_fields_and_no_token() -> None:
    ledger = ConsentLedger().apply(consent_event("consent.given", "c-1"), T0)
    ledger = ledger.apply(
        consent_event("consent.withdrawn", "c-1", minute=5), T0 + timedelta(minutes=5)
    )
    record = ledger.record("c-1")
    assert record is not None
    receipt = to_receipt(record, T0 + timedelta(hours=1))
    text = json.dumps(receipt)
    assert token(1) not in text
    assert receipt["piiPrincipalId"] == principal_reference(token(1))
    assert receipt["consentReceiptID"] == "c-1"
    assert receipt["services"][0]["purposes"][0]["purpose"] == "early_intervention"
    assert receipt["iso27560"]["state"] == "withdrawn"
    assert [e["event"] for e in receipt["iso27560"]["events"]] == ["given", "withdrawn"]
    assert to_receipt(record, T0)["iso27560"]["state"] == "active"


def test_evaluator_permits_the_consent_flow_only_while_consent_is_live() -> None:
    loaded = load_directory(Path("deploy/agreements"))
    book = AgreementBook.from_agreements(a for _, a in loaded.agreements)
    evaluator = Evaluator(book, load_registry(Path("deploy/registry.yaml")))
    facts = EventFacts(
        event_id="ev-1",
        agency_id=VCS,
        event_type="voluntary.engagement",
        occurred_at=T0,
        council="E06000038",
        age=15,
        subject_token=token(1),
        fields={"programme": "MENTORING", "stage": "ENGAGED", "needs": ("HOUSING",)},
    )
    ledger = ConsentLedger().apply(consent_event("consent.given", "c-1"), T0)
    live = evaluator.decide(facts, "reading", T0 + timedelta(minutes=1), ledger, EI)
    assert live.permitted
    assert live.consent_id == "c-1"
    ledger = ledger.apply(
        consent_event("consent.withdrawn", "c-1", minute=2), T0 + timedelta(minutes=2)
    )
    after = evaluator.decide(facts, "reading", T0 + timedelta(minutes=3), ledger, EI)
    assert not after.permitted
    assert [str(r) for r in after.reasons] == ["consent_missing"]


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=12))
def test_consent_is_live_exactly_while_some_grant_has_not_been_withdrawn(
    steps: list[int | None],
) -> None:
    """None grants a fresh consent id; n withdraws id c-n (granted or not)."""
    ledger, granted, ended = ConsentLedger(), set[str](), set[str]()
    for minute, step in enumerate(steps):
        kind, consent_id = ("given", f"c-{minute}") if step is None else ("withdrawn", f"c-{step}")
        event = consent_event(f"consent.{kind}", consent_id, minute=minute)
        ledger = ledger.apply(event, T0 + timedelta(minutes=minute))
        (granted if step is None else ended).add(consent_id)
    ref = ledger.consent_for(token(1), EI, VCS, "reading", T0 + timedelta(minutes=len(steps)))
    live = granted - ended
    assert (ref is not None) == bool(live)
    if ref is not None:
        assert ref.consent_id == min(live, key=lambda c: int(c[2:]))
