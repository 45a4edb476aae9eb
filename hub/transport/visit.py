"""A reader's visit to one record: whatever it lets escape refuses that record only."""

from __future__ import annotations

from hub.refusal import Position, refused
from hub.transport.record import Record, Visit


def position_of(record: Record) -> Position:
    """Where ``record`` was read, for a refusal or a quarantine record."""
    return Position(record.topic, record.partition, record.offset)


def visit_safely(visit: Visit, record: Record) -> None:
    """Call ``visit``; an error it lets escape refuses the record instead of ending the read."""
    try:
        visit(record)
    except Exception as exc:  # noqa: BLE001  # no record may stop a reader (docs/threat-model.md)
        refused(position_of(record), exc)
