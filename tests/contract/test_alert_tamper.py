"""Tamper probes on alert records: every change must fail, each with the expected error.

The order of checks is part of the contract: the signature is checked before anything is
decrypted, so any change to a header or to the ciphertext is a BadSignatureError (or an
UnknownKeyError when the named hub key is not known); only an authentic record reaches
decryption, where a key the reader does not hold is a DecryptionError.
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.alerts import AlertRecord, OpenedAlert, heartbeat, open_alert, seal_alert
from hub.alerts.headers import SIGNATURE, signed_message
from hub.crypto import HpkePrivateKey
from hub.errors import (
    BadSignatureError,
    DecryptionError,
    MalformedAlertError,
    MisdirectedAlertError,
    UnknownKeyError,
)
from tests.unit.alerts.builders import HUB, OTHER_HUB, READING, SLOUGH, sample_body

RECORD = seal_alert(sample_body("al-0001"), 5, "reading", READING.public_key, HUB)
OTHER = seal_alert(sample_body("al-0002"), 6, "reading", READING.public_key, HUB)
BEAT = heartbeat("reading", 9, datetime(2024, 5, 6, 10, 0, tzinfo=UTC), HUB)


def _open(record: AlertRecord, partnership: str = "reading") -> object:
    return open_alert(record, partnership, READING, [HUB.verify_key])


def _with_header(record: AlertRecord, name: str, value: bytes) -> AlertRecord:
    headers = tuple((n, value if n == name else v) for n, v in record.headers)
    return dataclasses.replace(record, headers=headers)


def test_genuine_records_open() -> None:
    assert isinstance(_open(RECORD), OpenedAlert)
    assert isinstance(_open(OTHER), OpenedAlert)


HEADER_PROBES = [
    pytest.param(record, name, value, id=f"{label}-{name}")
    for label, record in (("alert", RECORD), ("heartbeat", BEAT))
    for name, value in record.headers
]


@pytest.mark.parametrize(("record", "name", "value"), HEADER_PROBES)
def test_flipping_any_header_value_fails(record: AlertRecord, name: str, value: bytes) -> None:
    flipped = bytes([value[0] ^ 0x01]) + value[1:]
    with pytest.raises((BadSignatureError, UnknownKeyError)):
        _open(_with_header(record, name, flipped))


@given(st.data())
def test_flipping_any_value_bit_fails(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(RECORD.value) - 1))
    bit = data.draw(st.integers(0, 7))
    value = bytearray(RECORD.value)
    value[position] ^= 1 << bit
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(RECORD, value=bytes(value)))


@pytest.mark.parametrize("cut", [0, 1, 47, -1])
def test_truncated_value_fails(cut: int) -> None:
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(RECORD, value=RECORD.value[:cut]))


def test_changing_the_key_fails() -> None:
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(RECORD, key=b"al-0002"))


def test_swapping_seq_between_records_fails() -> None:
    with pytest.raises(BadSignatureError):
        _open(_with_header(RECORD, "vru-seq", b"6"))


def test_swapping_values_between_records_fails() -> None:
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(RECORD, value=OTHER.value))


def test_moving_to_another_partnership_fails() -> None:
    with pytest.raises(MisdirectedAlertError):
        _open(RECORD, "slough")
    relabelled = _with_header(RECORD, "vru-partnership", b"slough")
    relabelled = _with_header(relabelled, "ce_source", b"/vru-hub/alerts/slough")
    with pytest.raises(BadSignatureError):
        _open(relabelled, "slough")


def test_resigned_move_still_cannot_be_decrypted() -> None:
    """Even the hub's own key cannot move a ciphertext: HPKE info binds partnership and id."""
    moved = _resign(_with_header(RECORD, "vru-partnership", b"slough"), "slough")
    with pytest.raises(DecryptionError):
        open_alert(moved, "slough", READING, [HUB.verify_key])
    renamed = _resign(
        _with_header(dataclasses.replace(RECORD, key=b"al-0002"), "ce_id", b"al-0002")
    )
    with pytest.raises(DecryptionError):
        _open(renamed)


def _resign(record: AlertRecord, partnership: str = "reading") -> AlertRecord:
    record = _with_header(record, "ce_source", f"/vru-hub/alerts/{partnership}".encode())
    unsigned = [(n, v) for n, v in record.headers if n != SIGNATURE]
    signature = base64.b64encode(HUB.sign(signed_message(record.key, unsigned, record.value)))
    return dataclasses.replace(record, headers=(*unsigned, (SIGNATURE, signature)))


def test_wrong_hpke_key_fails_to_decrypt() -> None:
    with pytest.raises(DecryptionError):
        open_alert(RECORD, "reading", SLOUGH, [HUB.verify_key])
    with pytest.raises(DecryptionError):
        open_alert(RECORD, "reading", HpkePrivateKey.generate(), [HUB.verify_key])


def test_unknown_hub_key_fails() -> None:
    with pytest.raises(UnknownKeyError):
        open_alert(RECORD, "reading", READING, [OTHER_HUB.verify_key])


def test_signature_by_another_key_under_the_hubs_id_fails() -> None:
    unsigned = [(n, v) for n, v in RECORD.headers if n != SIGNATURE]
    forged = base64.b64encode(OTHER_HUB.sign(signed_message(RECORD.key, unsigned, RECORD.value)))
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(RECORD, headers=(*unsigned, (SIGNATURE, forged))))


@pytest.mark.parametrize("name", ["vru-seq", "ce_type", "vru-hub-key", SIGNATURE, "ce_id"])
def test_a_removed_header_fails(name: str) -> None:
    headers = tuple((n, v) for n, v in RECORD.headers if n != name)
    with pytest.raises((BadSignatureError, UnknownKeyError)):
        _open(dataclasses.replace(RECORD, headers=headers))


def test_a_repeated_signed_header_is_malformed() -> None:
    with pytest.raises(MalformedAlertError):
        _open(dataclasses.replace(RECORD, headers=(*RECORD.headers, ("vru-seq", b"4"))))


def test_an_added_signed_header_fails() -> None:
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(RECORD, headers=(*RECORD.headers, ("vru-priority", b"1"))))


def test_an_unsigned_foreign_header_is_ignored() -> None:
    traced = dataclasses.replace(RECORD, headers=(*RECORD.headers, ("traceparent", b"00-ab")))
    assert _open(traced) == _open(RECORD)


def test_reordered_headers_still_verify() -> None:
    shuffled = dataclasses.replace(RECORD, headers=tuple(reversed(RECORD.headers)))
    assert _open(shuffled) == _open(RECORD)


def test_heartbeat_last_seq_cannot_be_raised_or_moved() -> None:
    with pytest.raises(BadSignatureError):
        _open(_with_header(BEAT, "vru-last-seq", b"10"))
    with pytest.raises(MisdirectedAlertError):
        _open(BEAT, "slough")


def test_an_alert_cannot_pass_as_a_heartbeat() -> None:
    with pytest.raises(BadSignatureError):
        _open(_with_header(RECORD, "ce_type", b"vru.heartbeat"))
