"""Sealing and opening one record on a partnership's alert topic.

An alert record is (key = alert id, value = HPKE ciphertext, headers). The ciphertext is sealed
to the partnership's X25519 key with ``info = alert_info(partnership, alert id)``, so it cannot
be opened as another alert or by another partnership. The hub's Ed25519 signature in
``vru-signature`` covers the key, every signed header and the value (see ``headers``).
Opening checks in a fixed order: signature first (``BadSignatureError``/``UnknownKeyError``),
then the addressee (``MisdirectedAlertError``), then decryption (``DecryptionError``), then
the body (``DecodeError``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.alerts import headers as h
from hub.alerts.body import AlertBody, utc_text
from hub.crypto import HpkePrivateKey, HpkePublicKey, SigningKey, VerifyKey, alert_info
from hub.errors import (
    DecodeError,
    DecryptionError,
    MisdirectedAlertError,
    UnknownKeyError,
    ValidationError,
)

RECORD_FORMAT = "vru-alert-record/v1"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One Kafka record on a partnership topic: key, value and headers, exactly as sent."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def meta(self) -> h.RecordMeta:
        """The record's signed headers, parsed but NOT verified."""
        return h.parse_meta(self.headers)

    def to_json(self) -> dict[str, Any]:
        """Lossless JSON-ready form for replay and webhooks; still encrypted and signed."""
        return {
            "format": RECORD_FORMAT,
            "key": self.key.decode("ascii"),
            "headers": [[name, value.decode("ascii")] for name, value in self.headers],
            "value_b64": base64.b64encode(self.value).decode("ascii"),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AlertRecord:
        """The record a :meth:`to_json` document describes; DecodeError if malformed."""
        try:
            if doc["format"] != RECORD_FORMAT:
                raise DecodeError("alert record: unknown format")
            return cls(
                key=str(doc["key"]).encode("ascii"),
                value=base64.b64decode(doc["value_b64"], validate=True),
                headers=tuple((str(n), str(v).encode("ascii")) for n, v in doc["headers"]),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise DecodeError(f"alert record does not parse ({type(exc).__name__})") from exc


@dataclass(frozen=True, slots=True)
class OpenedAlert:
    """An alert that verified and decrypted: its sequence number, body and key ids."""

    seq: int
    body: AlertBody
    hub_key: str
    recipient_key: str

    @property
    def alert_id(self) -> str:
        """The alert's id (also the record key and ``ce_id``)."""
        return self.body.alert_id


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A verified heartbeat: the last sequence number the hub had sent at ``at``."""

    partnership: str
    last_seq: int
    at: datetime
    hub_key: str


def _signed(
    key: bytes, headers: list[tuple[str, bytes]], value: bytes, hub: SigningKey
) -> AlertRecord:
    signature = hub.sign(h.signed_message(key, headers, value))
    return AlertRecord(key, value, (*headers, (h.SIGNATURE, h.encode_signature(signature))))


@dataclass(frozen=True, slots=True)
class Unnumbered:
    """An alert encrypted to its partnership, waiting for its sequence number and signature."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def encrypt_alert(body: AlertBody, partnership_id: str, recipient: HpkePublicKey) -> Unnumbered:
    """Encrypt ``body`` to the partnership, with every header but the number and signature."""
    value = recipient.seal(body.to_bytes(), alert_info(partnership_id, body.alert_id))
    headers = (
        (h.CE_SPECVERSION, h.SPEC_VERSION.encode()),
        (h.CE_ID, body.alert_id.encode()),
        (h.CE_TYPE, (h.TYPE_PREFIX + body.kind.value).encode()),
        (h.CE_SOURCE, h.source_of(partnership_id).encode()),
        (h.CE_TIME, utc_text(body.decided_at).encode()),
        (h.CONTENT_TYPE_HEADER, h.CONTENT_TYPE.encode()),
        (h.PARTNERSHIP, partnership_id.encode()),
        (h.RECIPIENT_KEY, recipient.key_id.encode()),
    )
    return Unnumbered(body.alert_id.encode(), value, headers)


def number_alert(alert: Unnumbered, seq: int, hub_key: SigningKey) -> AlertRecord:
    """Give an encrypted alert its sequence number and the hub's signature."""
    if not 1 <= seq <= h.MAX_SEQ:
        raise ValidationError("alert sequence numbers start at 1 and fit 63 bits")
    headers = [*alert.headers, (h.SEQ, str(seq).encode()), (h.HUB_KEY, hub_key.key_id.encode())]
    return _signed(alert.key, headers, alert.value, hub_key)


def seal_alert(
    body: AlertBody,
    seq: int,
    partnership_id: str,
    recipient: HpkePublicKey,
    hub_key: SigningKey,
) -> AlertRecord:
    """Encrypt ``body`` to the partnership, number it ``seq`` and sign the record."""
    return number_alert(encrypt_alert(body, partnership_id, recipient), seq, hub_key)


def heartbeat(partnership_id: str, last_seq: int, at: datetime, hub_key: SigningKey) -> AlertRecord:
    """A signed, bodiless record saying the last sequence number sent so far was ``last_seq``."""
    if not 0 <= last_seq <= h.MAX_SEQ:
        raise ValidationError("last_seq is 0 before the first alert, never negative")
    when = utc_text(at)
    heartbeat_id = f"hb:{last_seq}:{when}"
    headers = [
        (h.CE_SPECVERSION, h.SPEC_VERSION.encode()),
        (h.CE_ID, heartbeat_id.encode()),
        (h.CE_TYPE, h.HEARTBEAT_TYPE.encode()),
        (h.CE_SOURCE, h.source_of(partnership_id).encode()),
        (h.CE_TIME, when.encode()),
        (h.LAST_SEQ, str(last_seq).encode()),
        (h.PARTNERSHIP, partnership_id.encode()),
        (h.HUB_KEY, hub_key.key_id.encode()),
    ]
    return _signed(heartbeat_id.encode(), headers, b"", hub_key)


def verify_record(record: AlertRecord, hub_keys: Iterable[VerifyKey]) -> h.RecordMeta:
    """Check the hub's signature over the record; return its headers, now trustworthy."""
    meta = record.meta()
    by_id = {k.key_id: k for k in hub_keys}
    if meta.hub_key not in by_id:
        raise UnknownKeyError(meta.hub_key)
    message = h.signed_message(record.key, record.headers, record.value)
    by_id[meta.hub_key].verify(meta.signature, message)
    return meta


def open_alert(
    record: AlertRecord,
    partnership_id: str,
    hpke_private: HpkePrivateKey | Iterable[HpkePrivateKey],
    hub_verify_keys: Iterable[VerifyKey],
) -> OpenedAlert | Heartbeat:
    """Verify, check the addressee, decrypt and parse one record (in that order)."""
    meta = verify_record(record, hub_verify_keys)
    return open_verified(record, meta, partnership_id, hpke_private)


def open_verified(
    record: AlertRecord,
    meta: h.RecordMeta,
    partnership_id: str,
    hpke_private: HpkePrivateKey | Iterable[HpkePrivateKey],
) -> OpenedAlert | Heartbeat:
    """:func:`open_alert` after :func:`verify_record` returned ``meta`` for this record."""
    _check_addressee(record, meta, partnership_id)
    if meta.is_heartbeat:
        return _heartbeat_of(meta)
    if meta.seq is None or meta.recipient_key is None:
        raise DecodeError("alert record without vru-seq or vru-recipient-key")
    private = _private_key(hpke_private, meta.recipient_key)
    body = AlertBody.from_bytes(private.open(record.value, alert_info(partnership_id, meta.id)))
    if body.alert_id != meta.id or h.TYPE_PREFIX + body.kind.value != meta.type:
        raise DecodeError("alert body disagrees with its signed headers")
    return OpenedAlert(meta.seq, body, meta.hub_key, meta.recipient_key)


def _check_addressee(record: AlertRecord, meta: h.RecordMeta, partnership_id: str) -> None:
    if meta.partnership != partnership_id or meta.source != h.source_of(partnership_id):
        raise MisdirectedAlertError(partnership_id, meta.partnership)
    if record.key != meta.id.encode():
        raise DecodeError("record key is not the ce_id")


def _heartbeat_of(meta: h.RecordMeta) -> Heartbeat:
    if meta.last_seq is None:
        raise DecodeError("heartbeat without vru-last-seq")
    return Heartbeat(
        meta.partnership, meta.last_seq, datetime.fromisoformat(meta.time), meta.hub_key
    )


def _private_key(keys: HpkePrivateKey | Iterable[HpkePrivateKey], key_id: str) -> HpkePrivateKey:
    candidates = [keys] if isinstance(keys, HpkePrivateKey) else list(keys)
    for key in candidates:
        if key.key_id == key_id:
            return key
    raise DecryptionError(f"no private key with id {key_id} to open this alert")
