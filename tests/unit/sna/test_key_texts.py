"""A row key's remembered texts stay bounded (``hub.sna.stream``, checked by review
``review19b``): the type, agency and age band share one remembered text per combination,
and a feed of more combinations than it keeps leaves it at its bound, every key still the
:class:`hub.sna.stream.Place`'s."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.models import validate_event
from hub.sna import stream
from hub.sna.stream import key_of, place_of
from tests.integration.events import READING_LSOA, STORE, record


def test_the_kind_texts_remembered_stay_within_their_bound() -> None:
    """5,000 events of distinct agencies (made with a copy, as an odd feed's would read):
    the remembered texts of type, agency and age band never exceed their cache's bound, and
    every key is its Place's."""
    occurred = datetime(2026, 11, 3, 14, tzinfo=UTC)
    rec = record("police.violent_incident", "police", READING_LSOA, 1, occurred=occurred)
    rec["envelope"]["key_id"] = "k1"
    event = validate_event(STORE.decode(STORE.encode("police.violent_incident", rec)), clock=None)
    bound = stream._kind_text.cache_info().maxsize
    assert bound is not None
    for n in range(bound + 1000):
        envelope = event.envelope.model_copy(update={"agency_id": f"agency-{n}", "age": n % 30})
        odd = event.model_copy(update={"envelope": envelope})
        assert key_of(n % 3, odd, "E06000038") == place_of(n % 3, odd, "E06000038").key()
        assert stream._kind_text.cache_info().currsize <= bound
