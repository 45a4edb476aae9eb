"""Replay checks a decision's consent watermark against the consent feeds themselves.

Every authenticated end of the subject below the watermark must be among the decision's ends;
an end beyond it is not required (and may not be listed); a forged end is ignored and
counted; a permit that a consent allowed needs a watermark; a trimmed feed is reported as not
checkable, never as a mismatch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.audit import History
from hub.audit.history import StreamTrust
from hub.audit.watermark import ENDS, TRIMMED, WATERMARK, WatermarkCheck
from hub.config import Settings
from hub.crypto import create_dev_keyring
from hub.crypto.trust import RecordVerifier, TrustedKeys
from hub.dispatch import ConsentRead, DecisionRecord, FeedMark, Position
from hub.dsa import Decision
from hub.dsa.vocabulary import Outcome, Purpose
from hub.registry import load_registry
from tests.integration.events import token_for
from tests.integration.test_consent_withdrawal import SUBJECT, consent_message
from tests.unit.audit.simulated import ACCEPTED_TOPIC, AGREEMENTS_TOPIC
from tests.unit.consent.builders import STORE
from tests.unit.consent.test_watch import AGENCY, _feed, _tampered, _watch

ROOT = Path(__file__).resolve().parents[3]
AT = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    keys = tmp_path_factory.mktemp("keys")
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    create_dev_keyring(keys, registry, datetime.now(UTC))
    return Settings(
        broker_url="kafka://127.0.0.1:9",  # never reached: the check is pure
        topic_prefix="watermark",
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        keys_dir=keys,
        state_dir=keys / "state",
    )


@pytest.fixture
def withdrawn(settings: Settings) -> tuple[WatermarkCheck, str]:
    """The feed: a consent given at offset 0, its withdrawal at offset 1."""
    check = WatermarkCheck(_watch(settings))
    given, _ = consent_message(settings, "c-1", given=True)
    withdrawal, end = consent_message(settings, "c-1", given=False)
    check.read(_feed(settings, given, offset=0))
    check.read(_feed(settings, withdrawal, offset=1))
    return check, end


def history() -> History:
    return History(
        STORE, [], StreamTrust(RecordVerifier(TrustedKeys()), AGREEMENTS_TOPIC, ACCEPTED_TOPIC)
    )


def decision(
    settings: Settings, offset: int | None, ends: tuple[str, ...] = (), *, on_consent: bool = False
) -> DecisionRecord:
    """A decision of the subject, read up to ``offset`` of the feed (None: no watermark)."""
    marks = (
        ()
        if offset is None
        else (FeedMark(topic=settings.feed_topic(AGENCY), partition=0, offset=offset),)
    )
    event = Decision(
        outcome=Outcome.PERMIT if on_consent else Outcome.DENY,
        event_id="e-1",
        recipient="reading",
        purpose=Purpose.EARLY_INTERVENTION,
        at=AT,
        consent_id="c-1" if on_consent else None,
    )
    read = ConsentRead(watermark=marks, ends=ends) if marks or ends else None
    return DecisionRecord(
        decision_id="d-1",
        decided_at=AT,
        recipient="reading",
        flag_id="f-1",
        rule_id="r",
        rule_version=1,
        policy_sequence=1,
        outcome="permit" if on_consent else "deny",
        events=("e-1",),
        inputs_digest="i",
        decisions=(event,),
        position=Position(partition=0, offset=9),
        consent_read=read,
    )


def run(check: WatermarkCheck, record: DecisionRecord) -> list[tuple[str, object]]:
    found = check.check(record, record, token_for(SUBJECT), history())
    return [(m.field, m.derived) for m in found]


def test_an_end_below_the_watermark_left_out_is_a_mismatch_naming_it(
    settings: Settings, withdrawn: tuple[WatermarkCheck, str]
) -> None:
    check, end = withdrawn
    [(field, derived)] = run(check, decision(settings, offset=2))
    assert field == ENDS
    assert isinstance(derived, str)
    assert derived.startswith(f"{end} at {settings.feed_topic(AGENCY)}:0:1")
    assert run(check, decision(settings, offset=2, ends=(end,))) == []
    assert check.checked == 2


def test_an_end_beyond_the_watermark_is_not_required_and_may_not_be_listed(
    settings: Settings, withdrawn: tuple[WatermarkCheck, str]
) -> None:
    check, end = withdrawn
    assert run(check, decision(settings, offset=1)) == []  # read up to the withdrawal, not past
    [(field, derived)] = run(check, decision(settings, offset=1, ends=(end,)))
    assert field == ENDS
    assert "below the watermark" in str(derived)


def test_a_forged_end_is_ignored_and_counted(settings: Settings) -> None:
    check = WatermarkCheck(_watch(settings))
    withdrawal, end = consent_message(settings, "c-1", given=False)
    check.read(_feed(settings, _tampered(withdrawal), offset=0))
    assert check.refused_ends == 1
    assert run(check, decision(settings, offset=1)) == []  # not required
    [(field, _)] = run(check, decision(settings, offset=1, ends=(end,)))  # nor a ground
    assert field == ENDS


def test_a_permit_on_consent_needs_a_watermark(
    settings: Settings, withdrawn: tuple[WatermarkCheck, str]
) -> None:
    check, _ = withdrawn
    assert run(check, decision(settings, None, on_consent=True)) == [
        (WATERMARK, "a watermark: a consent permitted")
    ]
    assert run(check, decision(settings, offset=1, on_consent=True)) == []


def test_a_trimmed_feed_is_not_checkable_rather_than_a_mismatch(settings: Settings) -> None:
    check = WatermarkCheck(_watch(settings))
    withdrawal, end = consent_message(settings, "c-1", given=False)
    check.read(_feed(settings, withdrawal, offset=40))  # offsets 0..39 are gone
    assert run(check, decision(settings, offset=41, ends=(end,))) == []
    assert check.unchecked == 1
    assert check.to_json()["not_checkable_feeds"] == [
        {"topic": settings.feed_topic(AGENCY), "partition": 0, "reason": TRIMMED}
    ]
    [(field, _)] = run(check, decision(settings, offset=41))  # what is retained still counts
    assert field == ENDS


def test_shards_counts_merge_into_one_checks_counts(settings: Settings) -> None:
    """A sharded replay checks each decision in one process, over the same feeds read by
    every process: the merged counts are those of one check of every decision."""

    def feeds() -> WatermarkCheck:
        check = WatermarkCheck(_watch(settings))
        withdrawal, _ = consent_message(settings, "c-1", given=False)
        check.read(_feed(settings, _tampered(withdrawal), offset=40))  # trimmed, and refused
        given, _ = consent_message(settings, "c-1", given=True)
        check.read(_feed(settings, given, offset=41))
        return check

    decisions = [decision(settings, offset) for offset in (None, 1, 42, 41, 2)]
    one, first, second = feeds(), feeds(), feeds()
    for n, record in enumerate(decisions):
        run(one, record)
        run(first if n % 2 else second, record)
    merged = first.counted().merge(second.counted()).to_json()
    assert merged == one.to_json()
    assert (merged["refused_ends"], merged["not_checkable"]) == (1, 4)
