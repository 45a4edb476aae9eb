"""Refused records: every record a reader cannot authenticate or use is a security event.

One call per refused record: a WARNING log line ``record_refused`` with the topic, partition,
offset, reason code and error class (never the record's content, key or headers), and the
``vru_records_refused_total{topic, reason}`` counter, which the shipped alert rule
``HubRecordRefused`` pages on (``docs/threat-model.md``, ``docs/monitoring.md``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import structlog

from hub import metrics
from hub.errors import HubError

log = structlog.get_logger("hub.refusal")

#: The reason of an error that is not a HubError (a defect in the hub, never the record's).
UNUSABLE = "unusable_record"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a refused record was read."""

    topic: str
    partition: int
    offset: int


def refused(position: Position, error: BaseException) -> str:
    """Log and count one refused record; returns its reason code.

    A :class:`~hub.errors.HubError`'s message is logged (hub errors carry ids and sizes, never
    content); any other error only by its class name.
    """
    hub_error = isinstance(error, HubError)
    reason = error.reason if isinstance(error, HubError) else UNUSABLE
    metrics.count_refusal(position.topic, reason)
    # A closed log stream (a test harness's) must not stop the reader: the counter has it.
    with contextlib.suppress(ValueError, OSError):
        log.warning(
            "record_refused",
            topic=position.topic,
            partition=position.partition,
            offset=position.offset,
            reason=reason,
            error=type(error).__name__,
            detail=str(error) if hub_error else None,
        )
    return reason
