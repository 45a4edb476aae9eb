"""The versioned agreement book and the agreement message format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hub.dsa import (
    AgreementBook,
    DenialReason,
    Evaluator,
    Publication,
    decode_agreement_message,
    encode_agreement_message,
)
from hub.dsa.loader import load_directory
from hub.errors import AgreementError
from tests.unit.dsa.builders import NOW, SHIPPED, agreement, event, registry

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HISTORY = [
    {"version": 1, "changed_on": "2025-11-01", "summary": "first"},
    {"version": 2, "changed_on": "2026-05-01", "summary": "second"},
]


def test_message_round_trip_is_exact_and_deterministic() -> None:
    original = agreement()
    data = encode_agreement_message(original, 7, NOW)
    assert data == encode_agreement_message(agreement(), 7, NOW)
    publication = decode_agreement_message(data)
    assert publication == Publication(agreement=original, sequence=7, published_at=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m | {"digest": "sha256:" + "0" * 64},
        lambda m: m | {"agreement": m["agreement"] | {"title": "changed"}},
        lambda m: m | {"kind": "something.else"},
        lambda m: m | {"format": 2},
        lambda m: m | {"published_at": "2026-11-24T12:00:00"},
        lambda m: {k: v for k, v in m.items() if k != "sequence"},
    ],
)
def test_tampered_or_malformed_messages_are_refused(tamper: object) -> None:
    message = json.loads(encode_agreement_message(agreement(), 1, NOW))
    bad = json.dumps(tamper(message)).encode()  # type: ignore[operator]  # the lambdas above
    with pytest.raises(AgreementError):
        decode_agreement_message(bad)


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"[]", b"{", b'{"kind": "vru.dsa.agreement"}'])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(AgreementError):
        decode_agreement_message(data)


def test_redelivered_message_is_a_no_op() -> None:
    data = encode_agreement_message(agreement(), 1, T0)
    book = AgreementBook().apply(data)
    assert book.apply(data) is book
    assert len(book.entries) == 1


def test_history_is_append_only() -> None:
    book = AgreementBook().apply(encode_agreement_message(agreement(), 5, T0))
    with pytest.raises(AgreementError, match="sequence"):
        book.apply(encode_agreement_message(agreement(id="other"), 4, T0))
    with pytest.raises(AgreementError, match="published before"):
        book.apply(encode_agreement_message(agreement(id="other"), 6, T0 - timedelta(1)))
    newer = book.apply(
        encode_agreement_message(agreement(version=2, change_history=HISTORY), 6, T0)
    )
    with pytest.raises(AgreementError, match="older"):
        newer.apply(encode_agreement_message(agreement(), 7, T0))
    with pytest.raises(AgreementError, match="different terms"):
        book.apply(encode_agreement_message(agreement(title="changed"), 6, T0))


def test_signing_may_be_republished_under_the_same_version() -> None:
    doc = agreement().model_dump(mode="json")
    doc["signatories"][0]["signed_on"] = None
    draft = agreement(signatories=doc["signatories"])
    book = AgreementBook().apply(encode_agreement_message(draft, 1, T0))
    assert book.in_force(NOW) == ()
    signed = book.apply(encode_agreement_message(agreement(), 2, NOW))
    assert [a.ref for a in signed.in_force(NOW)] == ["test-police@1"]
    assert signed.in_force(NOW - timedelta(seconds=1)) == ()


def test_newer_version_governs_from_its_start_and_older_still_before() -> None:
    v1 = agreement()
    v2 = agreement(version=2, change_history=HISTORY, effective_from="2026-06-01")
    book = AgreementBook.from_agreements([v1, v2])
    assert [a.ref for a in book.in_force(datetime(2026, 5, 31, tzinfo=UTC))] == ["test-police@1"]
    assert [a.ref for a in book.in_force(datetime(2026, 6, 1, tzinfo=UTC))] == ["test-police@2"]


def test_a_terminating_version_ends_the_agreement() -> None:
    v1 = agreement()
    v2 = agreement(version=2, change_history=HISTORY, effective_to="2026-05-31")
    book = AgreementBook.from_agreements([v1, v2])
    assert book.in_force(datetime(2026, 6, 1, tzinfo=UTC)) == ()


def test_an_unsigned_newer_version_does_not_displace_the_signed_one() -> None:
    doc = agreement().model_dump(mode="json")
    doc["signatories"][1]["signed_on"] = None
    v2 = agreement(version=2, change_history=HISTORY, signatories=doc["signatories"])
    book = AgreementBook.from_agreements([agreement(), v2])
    assert [a.ref for a in book.in_force(NOW)] == ["test-police@1"]


def test_decision_at_t_ignores_later_publications() -> None:
    published = datetime(2026, 11, 1, tzinfo=UTC)
    book = AgreementBook().apply(encode_agreement_message(agreement(), 1, published))
    before = Evaluator(book, registry()).decide(event(), "reading", NOW)
    stricter = agreement(
        version=2,
        change_history=HISTORY,
        prohibitions=[{"id": "stop", "description": "stop everything"}],
    )
    later = book.apply(encode_agreement_message(stricter, 2, NOW + timedelta(hours=1)))
    judge = Evaluator(later, registry())
    assert judge.decide(event(), "reading", NOW) == before
    assert not judge.decide(event(), "reading", NOW + timedelta(hours=1)).permitted


def test_shipped_history_replays_2025_under_v1_and_today_under_v2() -> None:
    book = AgreementBook.from_agreements(a for _, a in load_directory(SHIPPED).agreements)
    refs_2025 = {a.ref for a in book.in_force(datetime(2025, 6, 1, tzinfo=UTC))}
    refs_now = {a.ref for a in book.in_force(NOW)}
    assert "tv-police-svd@1" in refs_2025
    assert "tv-police-svd@2" in refs_now
    assert "tv-police-knife-pilot@1" not in refs_now
    assert "tv-police-knife-pilot@1" in {
        a.ref for a in book.in_force(datetime(2024, 6, 1, tzinfo=UTC))
    }
    assert not any(r.startswith("tv-csc-cp-plans") for r in refs_now)
    assert not any(
        r.startswith("tv-csc-cp-plans")
        for r in {a.ref for a in book.in_force(datetime(2031, 1, 1, tzinfo=UTC))}
    )
    future = {a.ref for a in book.in_force(datetime(2029, 6, 1, tzinfo=UTC))}
    assert {"tv-police-svd@2", "tv-education-under18@1", "tv-health-ed-assault@1"} <= future


def test_a_stream_prefix_counts_what_it_holds_whatever_the_clock() -> None:
    stricter = agreement(
        version=2,
        change_history=HISTORY,
        prohibitions=[{"id": "stop", "description": "stop everything"}],
    )
    book = (
        AgreementBook()
        .apply(encode_agreement_message(agreement(), 1, T0))
        .apply(encode_agreement_message(stricter, 2, NOW + timedelta(hours=1)))
    )
    by_time = Evaluator(book, registry()).decide(event(), "reading", NOW)
    assert by_time.permitted
    assert by_time.agreement_version == 1
    switched = Evaluator(book.up_to(2), registry()).decide(event(), "reading", NOW)
    assert switched.reasons == (DenialReason.PROHIBITED,)
    before_marker = Evaluator(book.up_to(1), registry()).decide(event(), "reading", NOW)
    assert before_marker == by_time
    assert book.up_to(1).last_sequence == 1
    assert book.up_to(0).in_force(NOW) == ()
