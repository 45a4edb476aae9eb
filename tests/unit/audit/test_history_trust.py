"""What an auditor's history uses: governance-signed markers and publications only; events
as written without the internal key, MAC-checked with it; times from the records, never the
broker's."""

from __future__ import annotations

from datetime import timedelta

from hub.audit import History, StreamRecord
from hub.audit.history import StreamTrust
from hub.crypto import HmacKey, SigningKey
from hub.crypto.record import Kind, Place, moment_of
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window, seal_record
from hub.governance import switch_record
from hub.policy import Switch
from tests.unit.audit.simulated import (
    ACCEPTED_TOPIC,
    AGREEMENTS_TOPIC,
    GOVERNANCE_KEY,
    INTERNAL_KEY,
    T0,
    event,
    token,
    trusted,
)
from tests.unit.consent.builders import STORE

MALLORY = SigningKey.from_raw(b"\x71" * 32)
MALLORY_MAC = HmacKey(b"\x72" * 32)
AT = T0 + timedelta(hours=1)


def _record(offset: int, value: bytes, broker_ms: int = 0) -> StreamRecord:
    return StreamRecord(0, offset, broker_ms, "", None, value)


def _history(keys: TrustedKeys) -> History:
    return History(STORE, [], StreamTrust(RecordVerifier(keys), AGREEMENTS_TOPIC, ACCEPTED_TOPIC))


def _public() -> TrustedKeys:
    governance = GOVERNANCE_KEY.verify_key
    return TrustedKeys(governance={governance.key_id: (governance, Window())})


PLACE = Place(ACCEPTED_TOPIC, 0)
GENUINE_MARKER = switch_record(Switch(3), AT, PLACE, GOVERNANCE_KEY)
FORGED_MARKER = switch_record(Switch(9), AT, PLACE, MALLORY)
VALUE = event(STORE, token(5), 0, AT, 5)
GENUINE_EVENT = seal_record(Kind.EVENTS, AT, (VALUE,), PLACE, INTERNAL_KEY)
FORGED_EVENT = seal_record(Kind.EVENTS, AT, (VALUE,), PLACE, MALLORY_MAC)


def test_only_governance_signed_markers_switch_and_times_come_from_the_records() -> None:
    history = _history(_public())
    history.add(_record(0, GENUINE_MARKER, broker_ms=1))  # the broker's timestamp is a lie
    history.add(_record(1, FORGED_MARKER))
    history.add(_record(2, b"not a record"))
    assert history.sequence_at(0, 5) == 3  # never 9
    assert history.timestamp(0, 0) == moment_of(int(AT.timestamp() * 1000))
    assert history.timestamp(0, 1) is None  # refused: nothing is known at that position
    assert (history.counts.refused, history.counts.unverified) == (2, 0)


def test_events_are_read_as_written_by_an_auditor_and_mac_checked_by_the_operator() -> None:
    auditor = _history(_public())
    operator = _history(trusted())
    for history in (auditor, operator):
        history.add(_record(0, GENUINE_EVENT))
        history.add(_record(1, FORGED_EVENT))
    assert (auditor.counts.unverified, auditor.counts.refused) == (2, 0)
    assert (operator.counts.unverified, operator.counts.refused) == (0, 1)
    found = operator.event(str(STORE.decode(VALUE).record["envelope"]["event_id"]))
    assert found is not None
    assert (found.offset, found.at) == (0, AT)
