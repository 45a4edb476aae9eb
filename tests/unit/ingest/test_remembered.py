"""Ingest remembers each accepted event for correlation, and nothing else.

Correlation reads every accepted event, area-level ones included (it counts them for the SNA
and folds them into their area's counts), so each is remembered and read back once.
"""

from __future__ import annotations

from hub.ingest import SEAL_HEADER, FeedMessage, Outcome
from hub.models import read_accepted, validate_event
from hub.models.accepted import _recent
from hub.quarantine import SourceRef
from tests.unit.ingest.test_ingest_fuzz import INGEST, SETTINGS, STORE, VALID


def _ingest(agency: str, value: bytes, seal: bytes, offset: int) -> str:
    source = SourceRef(topic=SETTINGS.feed_topic(agency), partition=0, offset=offset)
    message = FeedMessage(value, None, ((SEAL_HEADER, seal),), source, agency)
    return INGEST.process(message, {}).status


def test_accepted_events_are_remembered_and_read_once_area_ones_too() -> None:
    about_person = area_level = 0
    for offset, (agency, value, seal) in enumerate(VALID):
        _recent.clear()
        assert _ingest(agency, value, seal, offset) == "accepted"
        event = validate_event(STORE.decode(value), clock=None)
        if event.subject_token is None:
            area_level += 1
        else:
            about_person += 1
        assert list(_recent) == [(STORE.identity, value)]
        assert read_accepted(STORE, value) == event
        assert not _recent  # read once
    assert about_person
    assert area_level


def test_a_quarantined_event_is_not_remembered() -> None:
    agency, value, seal = next(v for v in VALID if v[0] != "health")
    _recent.clear()
    assert _ingest(agency, value, seal[:-1] + bytes([seal[-1] ^ 1]), 0) == "quarantined"
    assert not _recent


def test_judging_a_message_gives_processing_its_outcome_without_records() -> None:
    """What a backtest asks (:meth:`Ingest.judge`): the status, reason and event id alone."""
    for offset, (agency, value, seal) in enumerate(VALID[:6]):
        for tampered in (seal, seal[:-1] + bytes([seal[-1] ^ 1])):
            source = SourceRef(topic=SETTINGS.feed_topic(agency), partition=0, offset=offset)
            message = FeedMessage(value, None, ((SEAL_HEADER, tampered),), source, agency)
            processed, judged = INGEST.process(message, {}), INGEST.judge(message, {})
            assert (judged.status, judged.reason, judged.event_id) == (
                processed.status,
                processed.reason,
                processed.event_id,
            )
            if judged.status == "accepted":
                assert processed.messages
                assert not judged.messages
                assert judged == Outcome("accepted", "accepted", processed.event_id, ())
    _recent.clear()


def test_judging_notes_the_event_where_it_was_read() -> None:
    """A judged event is noted at its position: judged again there it is accepted (a
    redelivery), judged from another position it is a duplicate."""
    agency, value, seal = VALID[0]
    seen: dict[str, str] = {}
    judged = []
    for offset in (3, 3, 4):
        source = SourceRef(topic=SETTINGS.feed_topic(agency), partition=0, offset=offset)
        message = FeedMessage(value, None, ((SEAL_HEADER, seal),), source, agency)
        judged.append(INGEST.judge(message, seen).reason)
    assert judged == ["accepted", "accepted", "duplicate_event"]
    assert list(seen.values()) == [f"{SETTINGS.feed_topic(agency)}:0:3"]
    _recent.clear()
