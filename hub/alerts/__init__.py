"""The wire format of alerts on a partnership's topic: sealed, signed, numbered records.

* :class:`AlertBody` and its parts: the minimised plaintext, as deterministic JSON (``body``).
* :func:`seal_alert`, :func:`heartbeat`, :func:`open_alert`, :func:`verify_record` and the
  record types :class:`AlertRecord`, :class:`OpenedAlert`, :class:`Heartbeat` (``record``).
* Header names and the signature input: ``hub.alerts.headers``.

See ``docs/alerts.md``.
"""

from hub.alerts.body import AlertBody, AlertKind, ContributingEvent, RuleRef
from hub.alerts.headers import HEARTBEAT_TYPE, RecordMeta, signed_message
from hub.alerts.record import (
    AlertRecord,
    Heartbeat,
    OpenedAlert,
    Unnumbered,
    encrypt_alert,
    heartbeat,
    number_alert,
    open_alert,
    open_verified,
    seal_alert,
    verify_record,
)

__all__ = [
    "HEARTBEAT_TYPE",
    "AlertBody",
    "AlertKind",
    "AlertRecord",
    "ContributingEvent",
    "Heartbeat",
    "OpenedAlert",
    "RecordMeta",
    "RuleRef",
    "Unnumbered",
    "encrypt_alert",
    "heartbeat",
    "number_alert",
    "open_alert",
    "open_verified",
    "seal_alert",
    "signed_message",
    "verify_record",
]
