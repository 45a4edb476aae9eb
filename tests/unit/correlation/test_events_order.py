"""A record is read whole before any of its events is folded: a record with an item that
does not read is refused for that, whatever a fold before it would have raised, and stores
nothing (the record goes to quarantine as a whole either way)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.config import Settings
from hub.errors import ConsentError, DecodeError
from tests.integration.events import STORE, record, token_for
from tests.unit.consent.builders import consent_body
from tests.unit.correlation.builders import NOW, Hub, events, in_partition, settings_in

S1 = in_partition(0, 1)[0]


def _given_by(subject: int, consent_id: str, seed: int) -> bytes:
    """A consent.given for ``subject`` whose event id is ``seed``'s."""
    rec = record(
        "consent.given", "voluntary-sector", "E01016353", seed, subject_token=token_for(subject)
    )
    at = NOW - timedelta(minutes=60)
    rec["envelope"] |= {"occurred_at": at, "recorded_at": at, "key_id": "k1"}
    body = consent_body("consent.given", consent_id)
    return STORE.encode("consent.given", {"envelope": rec["envelope"], **body})


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_in(tmp_path_factory.mktemp("order"))


async def test_a_record_with_an_unreadable_item_is_refused_before_any_fold(
    settings: Settings,
) -> None:
    hub = Hub(settings)
    await hub.run(events([_given_by(S1, "c-1", 9001)], offset=10))
    again = _given_by(S1, "c-1", 9002)  # the same consent given by another event
    with pytest.raises(ConsentError):  # alone, its fold raises
        await hub.service.process(events([again], offset=11))
    with pytest.raises(DecodeError):  # with an unreadable item after it, the read decides
        await hub.service.process(events([again, b"\x00 unreadable"], offset=11))
