"""A send's report says how many events it sent that no rule's window can still hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hub.agency import AgencyClient, AgencyKeys
from hub.agency.send import SendReport
from hub.codec import SchemaStore
from tests.unit.agency.conftest import WHEN
from tests.unit.agency.test_client import suspension


def test_a_batch_knows_when_each_of_its_events_occurred(
    keys: AgencyKeys, store: SchemaStore
) -> None:
    days = [0, 10, 100]
    drafts = [
        replace(suspension(store, str(d)), occurred_at=WHEN - timedelta(days=d)) for d in days
    ]
    (batch,) = AgencyClient(keys, store).batches(enumerate(drafts, start=1))
    assert batch.occurred == tuple(WHEN - timedelta(days=d) for d in days)


def test_events_before_the_cutoff_are_counted_once_sent(
    keys: AgencyKeys, store: SchemaStore
) -> None:
    days = [0, 89, 91, 400, 30]
    drafts = [
        replace(suspension(store, str(d)), occurred_at=WHEN - timedelta(days=d)) for d in days
    ]
    client = AgencyClient(keys, store, batch_size=2)
    report = SendReport(cutoff=WHEN - timedelta(days=90))
    for batch in client.batches(enumerate(drafts, start=1)):
        report.add(batch, len(batch.messages))
    assert (report.sent, report.outside_every_window) == (5, 2)
    assert report.as_dict()["outside_every_window"] == 2


def test_an_unsent_batch_and_a_report_without_cutoff_count_nothing(
    keys: AgencyKeys, store: SchemaStore
) -> None:
    old = replace(suspension(store, "old"), occurred_at=WHEN - timedelta(days=400))
    (batch,) = AgencyClient(keys, store).batches([(1, old)])
    unsent = SendReport(cutoff=WHEN)
    unsent.add(batch, 0)
    assert unsent.outside_every_window == 0
    silent = SendReport()
    silent.add(batch, 1)
    assert silent.outside_every_window == 0
    assert "outside_every_window" not in silent.as_dict()
