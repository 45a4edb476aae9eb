"""Only what information governance signed is applied: agreements, suspensions, switch markers.

Each probe is what someone with a plain Kafka producer and no governance key can write; each
must be refused with its reason and change nothing in the book.
"""

from __future__ import annotations

import json
from datetime import timedelta

from hub.crypto import SigningKey
from hub.crypto.record import Kind, Place, parse
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window, seal_record
from hub.dsa import Action, Party, Suspension, encode_agreement_message
from hub.governance import (
    fold_book,
    publication_record,
    sequence_of,
    suspension_record,
    switch_record,
)
from hub.policy import PolicyClock, Switch
from tests.unit.dsa.builders import NOW, agreement

GOVERNANCE = SigningKey.from_raw(b"\x61" * 32)
HUB = SigningKey.from_raw(b"\x62" * 32)
TOPIC = "vru.agreements"
HERE = Place(TOPIC, 0)


def verifier(window: Window | None = None) -> RecordVerifier:
    key = GOVERNANCE.verify_key
    hub = HUB.verify_key
    return RecordVerifier(
        TrustedKeys(
            governance={key.key_id: (key, window or Window())},
            hub={hub.key_id: (hub, Window())},
        )
    )


def suspend(sequence: int, minutes: int = 1) -> Suspension:
    return Suspension(
        party=Party.PARTNERSHIP,
        party_id="reading",
        action=Action.SUSPEND,
        reason="breach_investigation",
        sequence=sequence,
        published_at=NOW + timedelta(minutes=minutes),
    )


GENUINE = publication_record(agreement(), 1, NOW, HERE, GOVERNANCE)


def test_signed_publications_and_suspensions_are_applied() -> None:
    folded = fold_book(
        [GENUINE, suspension_record(suspend(2), HERE, GOVERNANCE)], verifier(), TOPIC
    )
    assert folded.refused == []
    assert [e.sequence for e in folded.book.entries] == [1]
    assert [s.sequence for s in folded.book.suspensions] == [2]


def test_what_a_producer_without_the_key_writes_is_refused_and_never_applied() -> None:
    relaxed = agreement(version=2)
    unsigned_json = encode_agreement_message(relaxed, 2, NOW)
    forged_suspension = suspension_record(suspend(3), HERE, SigningKey.from_raw(b"\x63" * 32))
    by_the_hub = seal_record(Kind.AGREEMENT, NOW, (unsigned_json,), HERE, HUB)
    copied = publication_record(relaxed, 2, NOW, Place("other.agreements", 0), GOVERNANCE)
    values = [GENUINE, unsigned_json, forged_suspension, by_the_hub, copied]
    folded = fold_book(values, verifier(), TOPIC)
    assert [(r.offset, r.reason) for r in folded.refused] == [
        (1, "malformed_record"),
        (2, "unknown_key"),
        (3, "unknown_key"),  # the hub's key signs decisions, never agreements
        (4, "bad_signature"),
    ]
    assert folded.refused[1].kind == Kind.SUSPENSION.value  # what the alarm says it claimed
    assert [e.agreement.ref for e in folded.book.entries] == [agreement().ref]
    assert folded.book.suspensions == ()
    assert folded.authenticated_sequence == 1


def test_a_governance_key_outside_its_window_is_refused() -> None:
    expired = Window(not_after=NOW - timedelta(days=1))
    folded = fold_book([GENUINE], verifier(expired), TOPIC)
    assert [r.reason for r in folded.refused] == ["key_expired"]
    assert folded.book.entries == ()


def test_an_authenticated_but_invalid_record_is_refused_and_its_sequence_still_heard() -> None:
    older = publication_record(agreement(), 2, NOW - timedelta(days=1), HERE, GOVERNANCE)
    folded = fold_book([GENUINE, older], verifier(), TOPIC)
    assert [r.reason for r in folded.refused] == ["agreement_error"]
    assert folded.authenticated_sequence == 2  # a marker naming 2 must not wait for ever
    clock = PolicyClock(folded.book)
    assert not clock.ready_for(Switch(2))
    clock.heard(folded.authenticated_sequence)
    assert clock.ready_for(Switch(2))


def test_switch_markers_are_signed_for_their_partition() -> None:
    marker = switch_record(Switch(5), NOW, Place("vru.accepted", 1), GOVERNANCE)
    opened = verifier().open(marker, Place("vru.accepted", 1), (Kind.SWITCH,))
    assert Switch.from_bytes(opened.items[0]) == Switch(5)
    assert opened.at == NOW
    assert json.loads(parse(marker).items[0])["sequence"] == 5
    assert sequence_of(b"not json") == 0
    assert sequence_of(b'{"sequence": true}') == 0
