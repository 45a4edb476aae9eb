"""Suspensions on the agreements topic: folded into the book, ordered, denying in evaluation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hub.dsa import (
    Action,
    AgreementBook,
    DenialReason,
    Evaluator,
    Outcome,
    Party,
    Suspension,
    encode_agreement_message,
    encode_suspension_message,
)
from hub.errors import AgreementError
from hub.policy import PolicyClock, Switch
from tests.unit.dsa.builders import NOW, WOKINGHAM, agreement, event, registry


def suspension(
    sequence: int, party: Party, party_id: str, action: Action = Action.SUSPEND, minutes: int = 0
) -> bytes:
    record = Suspension(
        party=party,
        party_id=party_id,
        action=action,
        reason="breach_investigation",
        sequence=sequence,
        published_at=NOW + timedelta(minutes=minutes),
    )
    return encode_suspension_message(record)


def book_with(*records: bytes) -> AgreementBook:
    book = AgreementBook().apply(encode_agreement_message(agreement(), 1, NOW - timedelta(days=1)))
    for record in records:
        book = book.apply(record)
    return book


def test_suspended_recipient_is_denied_and_others_still_permitted() -> None:
    book = book_with(suspension(2, Party.PARTNERSHIP, "reading")).up_to(2)
    evaluator = Evaluator(book, registry())
    denied = evaluator.decide(event(), "reading", NOW)
    assert denied.outcome is Outcome.DENY
    assert denied.reasons == (DenialReason.RECIPIENT_SUSPENDED,)
    assert [c.clause for c in denied.clauses] == ["suspension"]
    assert evaluator.decide(event(council=WOKINGHAM), "wokingham", NOW).permitted


def test_suspended_agency_is_denied_for_every_recipient() -> None:
    book = book_with(suspension(2, Party.AGENCY, "police")).up_to(2)
    evaluator = Evaluator(book, registry())
    for recipient in ("reading", "wokingham"):
        assert evaluator.decide(event(), recipient, NOW).reasons == (DenialReason.AGENCY_SUSPENDED,)


def test_both_suspended_gives_both_reasons() -> None:
    book = book_with(
        suspension(2, Party.AGENCY, "police"), suspension(3, Party.PARTNERSHIP, "reading")
    ).up_to(3)
    decision = Evaluator(book, registry()).decide(event(), "reading", NOW)
    assert decision.reasons == (DenialReason.RECIPIENT_SUSPENDED, DenialReason.AGENCY_SUSPENDED)


def test_resume_lifts_the_suspension() -> None:
    book = book_with(
        suspension(2, Party.PARTNERSHIP, "reading"),
        suspension(3, Party.PARTNERSHIP, "reading", Action.RESUME, minutes=5),
    )
    assert book.up_to(2).suspended(NOW) == {(Party.PARTNERSHIP, "reading")}
    assert book.up_to(3).suspended(NOW) == frozenset()
    assert Evaluator(book.up_to(3), registry()).decide(event(), "reading", NOW).permitted


def test_time_cut_book_applies_a_suspension_from_its_publication_time() -> None:
    book = book_with(
        suspension(2, Party.PARTNERSHIP, "reading", minutes=10),
        suspension(3, Party.PARTNERSHIP, "reading", Action.RESUME, minutes=20),
    )
    evaluator = Evaluator(book, registry())
    before, during, after = (NOW + timedelta(minutes=m) for m in (5, 15, 25))
    assert evaluator.decide(event(), "reading", before).permitted
    assert evaluator.decide(event(), "reading", during).reasons == (
        DenialReason.RECIPIENT_SUSPENDED,
    )
    assert evaluator.decide(event(), "reading", after).permitted


def test_suspension_shares_the_publisher_sequence_with_agreements() -> None:
    book = book_with(suspension(2, Party.AGENCY, "police"))
    assert book.last_sequence == 2
    assert len(book.entries) == 1
    assert len(book.suspensions) == 1
    with pytest.raises(AgreementError, match="sequence 2 after 2"):
        book.apply(encode_agreement_message(agreement(version=2), 2, NOW + timedelta(hours=1)))
    assert book.apply(suspension(2, Party.AGENCY, "police")) is book  # redelivery: no-op


def test_marker_switches_a_partition_to_the_suspension() -> None:
    clock = PolicyClock(book_with())
    clock.switch(0, Switch(1))
    clock.publish(suspension(2, Party.PARTNERSHIP, "reading"))
    assert clock.book_for(0).suspended(NOW) == frozenset()  # not until the marker
    clock.switch(0, Switch(2))
    assert clock.book_for(0).suspended(NOW) == {(Party.PARTNERSHIP, "reading")}
    assert clock.book_for(1).suspended(NOW) == frozenset()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"format": 9}, "unsupported suspension format"),
        ({"party": "council"}, "invalid at ['party']"),
        ({"reason": "Free text with a Name"}, "invalid at ['reason']"),
        ({"party_id": "../x"}, "invalid at ['party_id']"),
        ({"sequence": 0}, "invalid at ['sequence']"),
    ],
)
def test_malformed_suspension_is_refused_with_a_reason(
    change: dict[str, object], problem: str
) -> None:
    raw = json.loads(suspension(2, Party.AGENCY, "police"))
    raw.update(change)
    with pytest.raises(AgreementError) as info:
        book_with(json.dumps(raw).encode())
    assert problem in str(info.value)
