"""Agreement switching at stream markers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.dsa import encode_agreement_message
from hub.errors import AgreementError
from hub.policy import PolicyClock, Switch
from tests import shipped

ROOT = Path(__file__).resolve().parents[3]
AGREEMENTS = sorted(shipped.agreements(), key=lambda a: (a.id, a.version))


def publish(clock: PolicyClock, upto: int) -> None:
    for n, agreement in enumerate(AGREEMENTS[:upto], start=1):
        clock.publish(encode_agreement_message(agreement, n, datetime(2026, 1, 1, tzinfo=UTC)))


def test_a_partition_uses_only_what_its_last_marker_named() -> None:
    clock = PolicyClock()
    publish(clock, 5)
    clock.switch(0, Switch(3))
    assert clock.sequence(0) == 3
    assert clock.sequence(1) == 0
    assert len(clock.book_for(0).entries) == 3
    assert clock.book_for(1).entries == ()
    publish(clock, 5)  # redelivered publications change nothing
    assert clock.book.last_sequence == 5


def test_a_marker_ahead_of_the_publications_read_must_wait() -> None:
    clock = PolicyClock()
    publish(clock, 2)
    assert not clock.ready_for(Switch(4))
    with pytest.raises(AgreementError):
        clock.switch(0, Switch(4))


def test_markers_round_trip_and_refuse_garbage() -> None:
    assert Switch.from_bytes(Switch(7).to_bytes()) == Switch(7)
    for bad in (b"", b"[]", b'{"kind": "vru.dsa.switch"}', b'{"kind": "x", "sequence": 1}'):
        with pytest.raises(AgreementError):
            Switch.from_bytes(bad)
