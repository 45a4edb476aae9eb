"""Suspending a partnership or an agency on the real broker: flows stop at the suspension's
marker without a restart, every refusal is in the decisions ledger with its reason, and a
resume delivers what arose meanwhile (the suspended agency's events stay accepted, undisclosed).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.alerts import AlertKind
from hub.cli.registry import app as registry_app
from hub.config import Settings, settings_env
from hub.dsa import Action, Party
from hub.process import stop_process
from tests.integration.events import READING_LSOA, STORE, accepted_ids, decisions_of
from tests.integration.flows import alerts_only, open_records, prepare, scenario, worker
from tests.integration.kafka import consume, produce, read_to_end, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]


async def _change(settings: Settings, party: Party, party_id: str, action: Action) -> int:
    """``hub registry suspend|resume`` as an operator types it; returns the sequence published."""
    reason = "breach_investigation" if action is Action.SUSPEND else "cleared"
    args = [action.value, f"--{party.value}", party_id, "--reason", reason]
    # The command runs its own event loop, so it runs in a thread beside the test's loop.
    result = await asyncio.to_thread(
        CliRunner().invoke, registry_app, args, env=settings_env(settings)
    )
    assert result.exit_code == 0, result.output
    found = re.search(r"published as sequence (\d+)", result.output)
    assert found is not None, result.output
    return int(found.group(1))


async def _send(settings: Settings, subject: int) -> set[str]:
    """Send the scenario for ``subject``; returns its event ids."""
    ids = set()
    for agency, message in scenario(settings, subject=subject, lsoa=READING_LSOA):
        await produce(settings, settings.feed_topic(agency), [message])
        ids.add(str(STORE.decode(message[0]).record["envelope"]["event_id"]))
    return ids


async def _accepted(settings: Settings, ids: set[str]) -> None:
    """Wait until ``ids`` are on the accepted topic: a marker published next comes after them."""
    await wait_for(settings, [settings.accepted_topic], lambda r: ids <= set(accepted_ids(r)))


async def _alerts(settings: Settings, count: int, timeout_s: float) -> list[Any]:
    """Reading's records, heartbeats left out, once ``count`` alerts arrived."""
    records = await wait_for(
        settings,
        [settings.alert_topic("reading")],
        lambda r: len(alerts_only(r)) >= count,
        timeout_s,
    )
    return alerts_only(records)


async def _decisions(settings: Settings) -> list[dict[str, Any]]:
    records = await read_to_end(settings, [settings.decisions_topic])
    return decisions_of(records)


def _reasons(record: dict[str, Any]) -> set[str]:
    return {reason for d in record["decisions"] for reason in d["reasons"]}


async def test_suspended_partnership_gets_nothing_new_and_receives_it_on_resume(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    proc = worker(s, tmp_path / "worker.log")
    try:
        await _send(s, subject=7)
        await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60)
        suspended = await _change(s, Party.PARTNERSHIP, "reading", Action.SUSPEND)
        listed = await asyncio.to_thread(
            CliRunner().invoke, registry_app, ["list", "--suspensions", "--json"],
            env=settings_env(s),
        )  # fmt: skip
        # Stream order: subject 8's events follow the suspension's marker in their partition,
        # and the resume's marker follows them, so they are decided while suspended.
        await _accepted(s, await _send(s, subject=8))
        resumed = await _change(s, Party.PARTNERSHIP, "reading", Action.RESUME)
        records = await _alerts(s, 8, timeout_s=90)
        decisions = await _decisions(s)
    finally:
        assert stop_process(proc) == 0
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["id"] for r in rows if r["suspended"]] == ["reading"]
    opened = open_records(s, "reading", records)
    seven = opened[0].body.subject  # subject 7's pseudonym at Reading
    kinds = [(a.body.kind, a.body.subject == seven) for a in opened]
    # Raised for 7; at the suspension 7's flags are retracted (ids only, no event data);
    # nothing about 8 until the resume, which raises 8's flags and 7's again.
    assert kinds[:4] == [(AlertKind.RAISED, True)] * 2 + [(AlertKind.RETRACTED, True)] * 2
    # At the resume the retracted flags are raised again (new alert ids) with the new ones.
    assert sorted(kinds[4:], key=str) == sorted(
        [(AlertKind.RAISED, True)] * 2 + [(AlertKind.RAISED, False)] * 2, key=str
    )
    assert sorted(a.body.rule.id for a in opened[4:]) == [
        "child-exploitation",
        "child-exploitation",
        "weapon-and-exclusion",
        "weapon-and-exclusion",
    ]
    refused = [
        d for d in decisions if d["recipient"] == "reading" and d["policy_sequence"] == suspended
    ]
    assert len(refused) >= 4  # 7's two retractions and 8's two flags, at least
    assert {d["outcome"] for d in refused} == {"deny"}
    assert all(_reasons(d) == {"recipient_suspended"} for d in refused)
    others = [d for d in decisions if d["recipient"] != "reading"]
    assert all("recipient_suspended" not in _reasons(d) for d in others)
    permits = [d for d in decisions if d["policy_sequence"] == resumed and d["outcome"] == "permit"]
    assert {d["recipient"] for d in permits} == {"reading"}


async def test_suspended_agency_events_stay_accepted_undisclosed_until_resume(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    proc = worker(s, tmp_path / "worker.log")
    try:
        await _send(s, subject=5)
        await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60)
        suspended = await _change(s, Party.AGENCY, "police", Action.SUSPEND)
        nine = await _send(s, subject=9)
        await _accepted(s, nine)  # queued: accepted, while the police are suspended
        resumed = await _change(s, Party.AGENCY, "police", Action.RESUME)
        records = await _alerts(s, 8, timeout_s=90)
        quarantined = await consume(s, [s.quarantine_topic], until=1, timeout_s=1)
        decisions = await _decisions(s)
    finally:
        assert stop_process(proc) == 0
    assert quarantined == []  # queued, not quarantined
    opened = open_records(s, "reading", records)
    five = opened[0].body.subject  # subject 5's pseudonym at Reading
    # Both rules need the police event: 5's flags are retracted at the suspension and nothing
    # about 9 is raised until the resume re-decides both subjects, police events included.
    kinds = [(a.body.kind, a.body.subject == five) for a in opened]
    assert kinds[:4] == [(AlertKind.RAISED, True)] * 2 + [(AlertKind.RETRACTED, True)] * 2
    # At the resume the retracted flags are raised again (new alert ids) with the new ones.
    assert sorted(kinds[4:], key=str) == sorted(
        [(AlertKind.RAISED, True)] * 2 + [(AlertKind.RAISED, False)] * 2, key=str
    )
    assert sorted(a.body.rule.id for a in opened[4:]) == [
        "child-exploitation",
        "child-exploitation",
        "weapon-and-exclusion",
        "weapon-and-exclusion",
    ]
    assert all("police" in {e.agency for e in a.body.events} for a in opened[4:])
    refused = [d for d in decisions if d["policy_sequence"] == suspended]
    assert len(refused) >= 4
    assert {d["outcome"] for d in refused} == {"deny"}
    assert all("agency_suspended" in _reasons(d) for d in refused)
    assert any(d["policy_sequence"] == resumed and d["outcome"] == "permit" for d in decisions)


async def test_flags_retracted_by_a_suspension_are_raised_again_on_resume(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    proc = worker(s, tmp_path / "worker.log")
    try:
        await _send(s, subject=7)
        await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60)
        await _change(s, Party.PARTNERSHIP, "reading", Action.SUSPEND)
        await consume(s, [s.alert_topic("reading")], until=4, timeout_s=60)
        await _change(s, Party.PARTNERSHIP, "reading", Action.RESUME)
        records = await _alerts(s, 6, timeout_s=60)
    finally:
        assert stop_process(proc) == 0
    kinds = [a.body.kind for a in open_records(s, "reading", records)]
    assert kinds[4:] == [AlertKind.RAISED] * 2
