"""The history decodes each accepted event once: looked up, it is validated from that decoding.

A consent event is validated when indexed (its subject's consent state needs it): a lookup
of its id gives that first occurrence, never a later copy's (a redelivery in the same
partition or another), as a history decoding again on lookup gave.
"""

from __future__ import annotations

import pytest

from hub.consent import is_consent_event
from hub.crypto.record import parse
from tests.unit.audit.simulated import Simulator, simulated
from tests.unit.audit.test_shard_scope import with_record

SMALL = 500


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    return simulated(tmp_path_factory.mktemp("keys"), SMALL)


@pytest.mark.parametrize("elsewhere", [False, True])
def test_a_redelivered_event_is_looked_up_at_its_first_occurrence(
    small: Simulator, elsewhere: bool
) -> None:
    for consents in (True, False):
        record = next(
            r
            for r in small.accepted
            if r.kind == "events"
            and is_consent_event(small.store.decode(parse(r.value).items[0]).event_type) is consents
        )
        items = parse(record.value).items
        event_id = str(small.store.decode(items[0]).record["envelope"]["event_id"])
        partition = (record.partition + 1) % small.partitions if elsewhere else record.partition
        history = with_record(small.source(), partition, items)().rederiver.history
        found = history.event(event_id)
        assert found is not None
        assert (found.partition, found.offset) == (record.partition, record.offset)
        assert found.event == small.history().event(event_id).event  # type: ignore[union-attr]
        assert history.counts.undecodable == 0
