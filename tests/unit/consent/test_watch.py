"""The withdrawal watch keeps only consent ends that authenticate as ingest would accept them.

A forged end must never be applied (it would be refused, counted and alarmed by the reader),
yet the watch's position moves past it, so a barrier is never held up by a bad record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.config import Settings
from hub.consent import ConsentLedger
from hub.consent.watch import WithdrawalWatch
from hub.crypto import create_dev_keyring
from hub.dispatch import FeedMark
from hub.errors import UnauthenticatedWithdrawalError
from hub.ingest import FeedMessage, Ingest
from hub.quarantine import SourceRef
from hub.registry import load_registry
from hub.runtime import load_ingest_context
from tests.integration.events import Message, token_for
from tests.integration.test_consent_withdrawal import SUBJECT, consent_message

ROOT = Path(__file__).resolve().parents[3]
AGENCY = "voluntary-sector"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    create_dev_keyring(tmp_path / "keys", registry, datetime.now(UTC))
    return Settings(
        broker_url="kafka://127.0.0.1:9",  # never reached: the watch is pure
        topic_prefix="watch",
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        keys_dir=tmp_path / "keys",
        state_dir=tmp_path / "state",
    )


def _watch(settings: Settings) -> WithdrawalWatch:
    context = load_ingest_context(settings)
    return WithdrawalWatch(Ingest(context), context.decoder)


def _feed(settings: Settings, message: Message, offset: int, agency: str = AGENCY) -> FeedMessage:
    value, headers = message
    source = SourceRef(topic=settings.feed_topic(agency), partition=0, offset=offset)
    return FeedMessage(value, None, tuple(headers), source, agency)


def _tampered(message: Message) -> Message:
    value, headers = message
    flipped = [(k, v[:-1] + bytes([v[-1] ^ 1])) if v else (k, v) for k, v in headers]
    assert flipped != headers, "the seal header must be there to tamper with"
    return value, flipped


def test_an_authentic_withdrawal_is_kept_and_the_position_moves(settings: Settings) -> None:
    watch = _watch(settings)
    withdrawal, event_id = consent_message(settings, "c-1", given=False)
    kept = watch.read(_feed(settings, withdrawal, offset=7))
    assert kept is not None
    assert kept.event_id == event_id
    assert [e.event_id for e in watch.ends_for(token_for(SUBJECT))] == [event_id]
    feed = (settings.feed_topic(AGENCY), 0)
    assert watch.positions == {feed: 8}
    assert watch.reached({feed: 8})
    assert not watch.reached({feed: 9})


def test_a_withdrawal_with_a_broken_seal_is_refused_and_never_kept(settings: Settings) -> None:
    watch = _watch(settings)
    withdrawal, _ = consent_message(settings, "c-1", given=False)
    with pytest.raises(UnauthenticatedWithdrawalError):
        watch.read(_feed(settings, _tampered(withdrawal), offset=3))
    assert watch.ends_for(token_for(SUBJECT)) == ()
    assert watch.positions == {(settings.feed_topic(AGENCY), 0): 4}  # moved past it


def test_a_withdrawal_without_a_seal_is_refused(settings: Settings) -> None:
    watch = _watch(settings)
    (value, _), _ = consent_message(settings, "c-1", given=False)
    with pytest.raises(UnauthenticatedWithdrawalError):
        watch.read(_feed(settings, (value, []), offset=0))
    assert watch.ends_for(token_for(SUBJECT)) == ()


def test_a_withdrawal_on_another_agencys_feed_is_refused(settings: Settings) -> None:
    watch = _watch(settings)
    withdrawal, _ = consent_message(settings, "c-1", given=False)
    with pytest.raises(UnauthenticatedWithdrawalError):
        watch.read(_feed(settings, withdrawal, offset=0, agency="police"))
    assert watch.ends_for(token_for(SUBJECT)) == ()


def test_other_records_are_left_to_ingest(settings: Settings) -> None:
    watch = _watch(settings)
    given, _ = consent_message(settings, "c-1", given=True)
    assert watch.read(_feed(settings, given, offset=0)) is None
    assert watch.read(_feed(settings, (b"\x00not avro", []), offset=1)) is None
    assert watch.ends_for(token_for(SUBJECT)) == ()
    assert watch.positions == {(settings.feed_topic(AGENCY), 0): 2}


def test_fold_keeps_out_ends_read_at_or_beyond_the_watermark(settings: Settings) -> None:
    watch = _watch(settings)
    withdrawal, event_id = consent_message(settings, "c-1", given=False)
    watch.read(_feed(settings, withdrawal, offset=5))
    topic = settings.feed_topic(AGENCY)
    assert watch.where(event_id) == ((topic, 0), 5)
    at = datetime.now(UTC)
    token = token_for(SUBJECT)
    short = (FeedMark(topic=topic, partition=0, offset=5),)
    assert watch.fold(token, ConsentLedger(), at, below=short) == ConsentLedger()
    past = (FeedMark(topic=topic, partition=0, offset=6),)
    assert watch.fold(token, ConsentLedger(), at, below=past).ends
    assert watch.fold(token, ConsentLedger(), at).ends  # no watermark: every end read
