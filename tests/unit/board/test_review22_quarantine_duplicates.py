"""Review of ``deliver22``: a re-sent output may reach the broker twice.

:func:`agents.sending.send_all` sends a message again when its delivery failed with a
retriable error, and a retriable failure (a request timed out, a connection lost after the
write) can come after the broker appended the message; a worker that crashes between its
sends and its acknowledgement sends the record's outputs again too. ``agents/sending.py``
says every consumer absorbs this ("deterministic ids, idempotent state"). The board's count
of rejected inputs (:func:`hub.board.read_quarantine`) did not: the same quarantine record
read twice was two rejected inputs. It now counts one per source position.
"""

from __future__ import annotations

from hub.board import read_quarantine
from hub.errors import HubError
from hub.quarantine import SourceRef, quarantine

PREFIX = "vru"


def _rejected(offset: int, index: int | None = None) -> bytes:
    source = SourceRef(topic=f"{PREFIX}.feed.police", partition=1, offset=offset, index=index)
    return quarantine(b"not an event", source, HubError("bad")).to_bytes()


def test_distinct_rejected_inputs_are_each_counted() -> None:
    values = [_rejected(7), _rejected(8), _rejected(9, 0), _rejected(9, 1)]
    assert len(read_quarantine(values, PREFIX).rejected) == 4


def test_a_quarantine_record_delivered_twice_is_one_rejected_input() -> None:
    once = _rejected(7)
    assert len(read_quarantine([once, once], PREFIX).rejected) == 1  # a re-send's duplicate
    again = _rejected(7)  # the same input quarantined again after a crash (a later time)
    assert len(read_quarantine([once, again], PREFIX).rejected) == 1
