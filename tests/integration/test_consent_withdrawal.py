"""Consent withdrawal end to end on the real broker: a flag resting on consent is retracted,
the next event is not disclosed, and `hub audit replay` explains both from the real ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from hub.alerts import AlertKind
from hub.config import Settings
from hub.process import stop_process
from tests.integration.cli import Ran, hub
from tests.integration.events import (
    READING_LSOA,
    Message,
    accepted_ids,
    decisions_of,
    record,
    sealed,
    token_for,
)
from tests.integration.flows import alerts_only, open_records, prepare, worker
from tests.integration.kafka import produce, read_to_end, wait_for
from tests.unit.consent.builders import consent_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
SUBJECT = 61
RULE = "disengagement-and-violence"
Records = list[ConsumerRecord[bytes, bytes]]


def consent_message(settings: Settings, consent_id: str, *, given: bool) -> tuple[Message, str]:
    """A sealed consent.given or consent.withdrawn from the voluntary sector, and its event id."""
    event_type = "consent.given" if given else "consent.withdrawn"
    seed = 9000 + (0 if given else 1)
    rec = record(
        event_type, "voluntary-sector", READING_LSOA, seed, subject_token=token_for(SUBJECT)
    )
    now = datetime.now(UTC) - timedelta(minutes=2)
    rec["envelope"] |= {"occurred_at": now, "recorded_at": now}
    body = consent_body(event_type, consent_id)
    message = {"envelope": rec["envelope"], **body}
    return sealed(settings, "voluntary-sector", [(event_type, message)])[0], rec["envelope"][
        "event_id"
    ]


def subject_event(
    settings: Settings, event_type: str, agency: str, seed: int, days_ago: int, **fields: Any
) -> tuple[Message, str]:
    rec = record(
        event_type,
        agency,
        READING_LSOA,
        seed,
        occurred=datetime.now(UTC) - timedelta(days=days_ago),
        fields=fields,
        subject_token=token_for(SUBJECT),
    )
    return sealed(settings, agency, [(event_type, rec)])[0], rec["envelope"]["event_id"]


async def wait_until(
    settings: Settings, topic: str, done: Callable[[Records], bool], timeout_s: float = 90
) -> Records:
    """Read ``topic`` to its end, again and again, until ``done`` holds for what was read."""
    return await wait_for(settings, [topic], done, timeout_s)


def reading_kinds(settings: Settings, records: Records) -> list[tuple[str, AlertKind]]:
    opened = open_records(settings, "reading", alerts_only(records))
    return [(a.body.rule.id, a.body.kind) for a in opened if a.body.kind != AlertKind.UPDATED]


def cli(settings: Settings, *args: str, stdin: str = "") -> Ran:
    """``hub audit ARGS``, in this process (``tests.integration.cli``)."""
    return hub(settings, "audit", *args, stdin=stdin)


def decisions_for(records: Records, event_id: str) -> list[dict[str, Any]]:
    found = decisions_of(records)
    return [d for d in found if d["recipient"] == "reading" and event_id in d["events"]]


@dataclass(frozen=True)
class Run:
    """What the worker recorded and delivered, and the ids the checks need."""

    decisions: list[dict[str, Any]]
    alerts: Records
    withdrawn_id: str
    closed_id: str
    between: datetime


async def run_withdrawal(s: Settings, log: Path) -> Run:
    """Consent, two events (flag raised), withdrawal (flag retracted), then one more event."""
    await prepare(s)
    given, given_id = consent_message(s, "c-61", given=True)
    withdrawn, withdrawn_id = consent_message(s, "c-61", given=False)
    disengaged, _ = subject_event(
        s, "voluntary.engagement", "voluntary-sector", 6101, 6, stage="DISENGAGED"
    )
    weapon, _ = subject_event(s, "police.weapon_possession", "police", 6102, 4)
    closed, closed_id = subject_event(
        s, "voluntary.engagement", "voluntary-sector", 6103, 1, stage="CLOSED_OTHER"
    )
    reading = s.alert_topic("reading")
    proc = worker(s, log)
    try:
        await produce(s, s.feed_topic("voluntary-sector"), [given])
        await wait_until(s, s.accepted_topic, lambda r: given_id in accepted_ids(r))
        await produce(s, s.feed_topic("voluntary-sector"), [disengaged])
        await produce(s, s.feed_topic("police"), [weapon])
        await wait_until(s, reading, lambda r: (RULE, AlertKind.RAISED) in reading_kinds(s, r))
        between = datetime.now(UTC)
        await produce(s, s.feed_topic("voluntary-sector"), [withdrawn])
        await wait_until(s, reading, lambda r: (RULE, AlertKind.RETRACTED) in reading_kinds(s, r))
        await produce(s, s.feed_topic("voluntary-sector"), [closed])
        await wait_until(s, s.decisions_topic, lambda r: bool(decisions_for(r, closed_id)))
    finally:
        assert stop_process(proc) == 0
    # The worker has stopped: the topics are final, read to their ends.
    decisions = await read_to_end(s, [s.decisions_topic])
    alerts = await read_to_end(s, [reading])
    found = decisions_of(decisions)
    return Run(found, alerts, withdrawn_id, closed_id, between)


async def test_withdrawal_retracts_the_flag_and_replay_explains_it(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    run = await run_withdrawal(s, tmp_path / "worker.log")
    assert [k for k in reading_kinds(s, run.alerts) if k[0] == RULE] == [
        (RULE, AlertKind.RAISED),
        (RULE, AlertKind.RETRACTED),
    ]
    mine = [d for d in run.decisions if d["recipient"] == "reading" and d["rule_id"] == RULE]
    retraction = next(d for d in mine if d["outcome"] == "deny" and d["alert_id"])
    [after] = [d for d in mine if run.closed_id in d["events"]]
    assert (after["outcome"], after["alert_id"]) == ("deny", None)
    for entry in (retraction, after):
        assert [(c["status"], c["ended_event"]) for c in entry["consents"]] == [
            ("withdrawn", run.withdrawn_id)
        ]
    check_replay(s, run, retraction["decision_id"], after["decision_id"])
    check_at(s, run, tmp_path / "worker.log")


def check_replay(s: Settings, run: Run, retraction: str, after: str) -> None:
    """`hub audit replay` re-derives the real ledger and explains both denials."""
    done = cli(s, "replay", "--json", "--explain", retraction, "--explain", after)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["entries"] == len({d["decision_id"] for d in run.decisions})
    assert result["summary"]["retractions"] >= 1
    explained = {e["decision_id"]: e for e in result["explanations"]}
    assert explained[retraction]["retraction"] is True
    assert explained[after]["retraction"] is False
    for entry in explained.values():
        [cited] = entry["consents"]
        assert (cited["ended_event"], cited["ended_by"]) == (run.withdrawn_id, "consent.withdrawn")
        denied = [e for e in entry["events"] if e["agency"] == "voluntary-sector"]
        assert denied
        assert all(e["reasons"] == ["consent_missing"] for e in denied)
    assert run.closed_id in [e["event_id"] for e in explained[after]["events"]]


def check_at(s: Settings, run: Run, log: Path) -> None:
    """`hub audit at` shows consent active before the withdrawal and withdrawn after it."""
    token = token_for(SUBJECT)
    during = cli(s, "at", "--time", run.between.isoformat(), "--token", "-", stdin=token + "\n")
    later = cli(s, "at", "--time", datetime.now(UTC).isoformat(), "--token", "-", stdin=token)
    assert during.returncode == later.returncode == 0, during.stderr + later.stderr
    assert [c["state"] for c in json.loads(during.stdout)["consent"]] == ["active"]
    assert [c["state"] for c in json.loads(later.stdout)["consent"]] == ["withdrawn"]
    for output in (during.stdout, during.stderr, later.stdout, later.stderr):
        assert token not in output
    assert token not in log.read_text()
