"""The agents count a group's outcomes with one update of each series (``hub.metrics``
``count_ingest_many``, ``count_decisions``): the counts are those of one call per event or
decision, which is what the agents made before."""

from __future__ import annotations

from typing import cast

import faust

from hub import metrics
from hub.dsa import Outcome
from hub.ingest import Outbound
from tests.unit.ingest.test_batch_ingest import VALUES
from tests.unit.ingest.test_ingest_groups import TOPIC, Event, Message, batch, ingest_agent
from tests.unit.metrics.test_metrics import decision, record, value


async def test_a_group_counts_each_accepted_event_once() -> None:
    sent: list[Outbound] = []

    async def send(out: Outbound) -> None:
        sent.append(out)

    agent = ingest_agent(send)
    group = [Event(batch(VALUES[n : n + 3]), Message(TOPIC, 0, 40 + n)) for n in range(0, 9, 3)]
    before = value("vru_ingest_events_total", agency="police", outcome="accepted")
    await agent.handle_group(cast("list[faust.EventT[bytes]]", group))
    assert sent
    after = value("vru_ingest_events_total", agency="police", outcome="accepted")
    assert after == before + 9


def test_counting_many_at_once_equals_counting_each() -> None:
    accepted = ("unit-many", "accepted", "accepted")
    refused = ("unit-many", "quarantined", "bad_signature")
    before = value("vru_ingest_events_total", agency="unit-many", outcome="accepted")
    refused_before = value("vru_ingest_events_total", agency="unit-many", outcome="quarantined")
    held = value("vru_quarantined_total", step="ingest", agency="unit-many", reason="bad_signature")
    metrics.count_ingest_many({accepted: 3, refused: 2})
    metrics.count_ingest(*accepted)
    assert value("vru_ingest_events_total", agency="unit-many", outcome="accepted") == before + 4
    assert (
        value("vru_ingest_events_total", agency="unit-many", outcome="quarantined")
        == refused_before + 2
    )
    after = value(
        "vru_quarantined_total", step="ingest", agency="unit-many", reason="bad_signature"
    )
    assert after == held + 2


def test_decisions_counted_together_are_counted_as_one_by_one() -> None:
    permit = record("permit", "a" * 32, decision(Outcome.PERMIT, "tv-police-svd"))
    deny = record("deny", None, decision(Outcome.DENY, None))
    labels = {"partnership": "unit-reading", "outcome": "permit", "agreement": "tv-police-svd"}
    denied = {"partnership": "unit-reading", "outcome": "deny", "agreement": "none"}
    before = (value("vru_decisions_total", **labels), value("vru_decisions_total", **denied))
    flags = value("vru_flags_total", rule="unit-rule", partnership="unit-reading")
    metrics.count_decisions([permit, deny, permit])
    assert value("vru_decisions_total", **labels) == before[0] + 2
    assert value("vru_decisions_total", **denied) == before[1] + 1
    assert value("vru_flags_total", rule="unit-rule", partnership="unit-reading") == flags + 2
