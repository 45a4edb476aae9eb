"""Suspending a partnership or an agency on the real broker: flows stop at the suspension's
marker without a restart, every refusal is in the decisions ledger with its reason, and a
resume delivers what arose meanwhile (the suspended agency's events stay accepted, undisclosed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.alerts import AlertKind
from hub.config import Settings
from hub.dsa import Action, Party
from hub.process import stop_process
from hub.transport.agreements import publish_suspension
from tests.integration.events import READING_LSOA
from tests.integration.flows import alerts_only, open_records, prepare, scenario, worker
from tests.integration.kafka import consume, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]


async def _change(settings: Settings, party: Party, party_id: str, action: Action) -> int:
    record = await publish_suspension(
        settings.broker_url,
        (settings.agreements_topic, settings.accepted_topic),
        (party, party_id),
        (action, "breach_investigation" if action is Action.SUSPEND else "cleared"),
        datetime.now(UTC),
    )
    return record.sequence


async def _send(settings: Settings, subject: int) -> None:
    for agency, message in scenario(settings, subject=subject, lsoa=READING_LSOA):
        await produce(settings.broker_url, settings.feed_topic(agency), [message])


async def _decisions(settings: Settings, until: int, timeout_s: float) -> list[dict[str, Any]]:
    records = await consume(
        settings.broker_url, [settings.decisions_topic], until=until, timeout_s=timeout_s
    )
    return [json.loads(r.value or b"{}") for r in records]


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
        first = alerts_only(
            await consume(s.broker_url, [s.alert_topic("reading")], until=2, timeout_s=60)
        )
        suspended = await _change(s, Party.PARTNERSHIP, "reading", Action.SUSPEND)
        await _send(s, subject=8)
        decisions = await _decisions(s, until=10_000, timeout_s=15)
        during = alerts_only(
            await consume(s.broker_url, [s.alert_topic("reading")], until=100, timeout_s=3)
        )
        resumed = await _change(s, Party.PARTNERSHIP, "reading", Action.RESUME)
        after = alerts_only(
            await consume(s.broker_url, [s.alert_topic("reading")], until=len(during) + 2,
                          timeout_s=60)
        )  # fmt: skip
        decisions = await _decisions(s, until=len(decisions) + 2, timeout_s=15)
    finally:
        assert stop_process(proc) == 0
    assert len(first) == 2
    opened_during = open_records(s, "reading", during)
    # While suspended: subject 7's open flags are retracted (ids only, no event data) and no
    # flag about subject 8 is raised at Reading.
    assert [a.body.kind for a in opened_during[2:]] == [AlertKind.RETRACTED] * 2
    refused = [
        d for d in decisions if d["recipient"] == "reading" and d["policy_sequence"] == suspended
    ]
    assert refused
    assert {d["outcome"] for d in refused} == {"deny"}
    assert all(_reasons(d) == {"recipient_suspended"} for d in refused)
    others = [d for d in decisions if d["recipient"] != "reading" and d["outcome"] == "deny"]
    assert all("recipient_suspended" not in _reasons(d) for d in others)
    # After the resume, the flags that arose about subject 8 reach Reading.
    new = open_records(s, "reading", after[len(during) :])
    assert sorted(a.body.rule.id for a in new) == ["child-exploitation", "weapon-and-exclusion"]
    assert {a.body.kind for a in new} == {AlertKind.RAISED}
    permits = [d for d in decisions if d["policy_sequence"] == resumed and d["outcome"] == "permit"]
    assert {d["recipient"] for d in permits} == {"reading"}


async def test_suspended_agency_events_stay_accepted_undisclosed_until_resume(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    proc = worker(s, tmp_path / "worker.log")
    try:
        await _send(s, subject=5)  # the worker is up and deciding
        await consume(s.broker_url, [s.alert_topic("reading")], until=2, timeout_s=60)
        suspended = await _change(s, Party.AGENCY, "police", Action.SUSPEND)
        await _send(s, subject=9)
        quarantined = await consume(s.broker_url, [s.quarantine_topic], until=1, timeout_s=3)
        decisions = await _decisions(s, until=10_000, timeout_s=15)
        during = alerts_only(
            await consume(s.broker_url, [s.alert_topic("reading")], until=100, timeout_s=3)
        )
        resumed = await _change(s, Party.AGENCY, "police", Action.RESUME)
        after = alerts_only(
            await consume(s.broker_url, [s.alert_topic("reading")], until=len(during) + 2,
                          timeout_s=60)
        )  # fmt: skip
        decisions = await _decisions(s, until=len(decisions) + 2, timeout_s=15)
    finally:
        assert stop_process(proc) == 0
    assert quarantined == []  # queued, not quarantined: the events were accepted
    opened = open_records(s, "reading", during)
    earlier = opened[0].body.subject  # subject 5's pseudonym at Reading
    # Both rules need the police event: subject 5's flags are retracted, none about 9 raised.
    assert [a.body.kind for a in opened[2:]] == [AlertKind.RETRACTED] * 2
    assert {a.body.subject for a in opened[2:]} == {earlier}
    refused = [d for d in decisions if d["policy_sequence"] == suspended]
    assert refused
    assert {d["outcome"] for d in refused} == {"deny"}
    assert all("agency_suspended" in _reasons(d) for d in refused)
    # The resume re-decides every subject: subject 9's flags reach Reading, police event included.
    new = [a for a in open_records(s, "reading", after[len(during) :]) if a.body.subject != earlier]
    assert sorted(a.body.rule.id for a in new) == ["child-exploitation", "weapon-and-exclusion"]
    assert all("police" in {e.agency for e in a.body.events} for a in new)
    assert any(d["policy_sequence"] == resumed and d["outcome"] == "permit" for d in decisions)
