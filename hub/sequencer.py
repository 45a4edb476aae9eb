"""Gap-free numbering of each partnership's alerts, and de-duplication by alert id.

The sequencer is the only writer of the partnership topics. It writes one record per request,
so the topic's end offset is exact, and the topic itself is its state. After a restart or a
rebalance it rebuilds a :class:`PartnershipLog` by reading the partnership's topic from the
start, **from records that verify as the hub's alerts for that partnership only**
(:func:`verified_meta`): anyone can write to the topic, and a forged number must change
neither the numbering nor the heartbeats. An alert id already on the topic is never numbered
twice. So a delivery that reaches
the sequencer twice (at-least-once upstream) reaches the partnership once, and the numbers
stay 1, 2, 3, … with no holes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from hub.alerts.headers import RecordMeta, parse_meta
from hub.alerts.record import AlertRecord, verify_record
from hub.crypto import VerifyKey
from hub.errors import DecodeError, MisdirectedAlertError, UnknownKeyError

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Pending:
    """An encrypted, not yet numbered alert on its way to one partnership (an outbox record)."""

    partnership_id: str
    alert_id: str
    value: bytes
    headers: Headers

    def to_bytes(self) -> bytes:
        """JSON for the outbox topic (the value stays encrypted to the partnership)."""
        return json.dumps(
            {
                "partnership": self.partnership_id,
                "alert_id": self.alert_id,
                "value_b64": base64.b64encode(self.value).decode(),
                "headers": [[k, v.decode("ascii")] for k, v in self.headers],
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Pending:
        """Parse an outbox record; DecodeError if it is not one."""
        try:
            doc = json.loads(data)
            return cls(
                partnership_id=str(doc["partnership"]),
                alert_id=str(doc["alert_id"]),
                value=base64.b64decode(doc["value_b64"], validate=True),
                headers=tuple((str(k), str(v).encode("ascii")) for k, v in doc["headers"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DecodeError(f"outbox record does not parse ({type(exc).__name__})") from exc


def verified_meta(
    record: AlertRecord, partnership_id: str, hub_key: Callable[[str], VerifyKey | None]
) -> RecordMeta:
    """The headers of a record that verifies as the hub's, for ``partnership_id``; else raise.

    ``hub_key`` finds a hub verify key by id (None when not trusted). Raises a CryptoError
    (bad or missing signature, unknown key, another partnership's record) or DecodeError.
    """
    meta = parse_meta(record.headers)
    key = hub_key(meta.hub_key)
    if key is None:
        raise UnknownKeyError(meta.hub_key)
    verified = verify_record(record, (key,))
    if verified.partnership != partnership_id:
        raise MisdirectedAlertError(partnership_id, verified.partnership)
    if record.key != verified.id.encode():
        raise DecodeError("record key is not the ce_id")
    return verified


@dataclass
class PartnershipLog:
    """What one partnership's topic already holds: the last number and every alert id."""

    last_seq: int = 0
    alert_ids: set[str] = field(default_factory=set)

    @classmethod
    def rebuild(cls, records: Iterable[RecordMeta]) -> PartnershipLog:
        """Fold every verified record of the topic, in offset order."""
        log = cls()
        for meta in records:
            log.observe(meta)
        return log

    def observe(self, meta: RecordMeta) -> None:
        """Account for one verified record read back (heartbeats carry no number)."""
        if meta.is_heartbeat or meta.seq is None:
            return
        self.last_seq = max(self.last_seq, meta.seq)
        self.alert_ids.add(meta.id)

    def assign(self, alert_id: str) -> int | None:
        """The next number for a new alert, or None if the alert was numbered before."""
        if alert_id in self.alert_ids:
            return None
        return self.last_seq + 1

    def sent(self, alert_id: str, seq: int) -> None:
        """Record that ``alert_id`` went out as ``seq``."""
        self.last_seq = seq
        self.alert_ids.add(alert_id)
