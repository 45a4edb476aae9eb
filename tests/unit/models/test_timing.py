"""Timeliness at ingest: events from the future or from long ago are refused with their reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import ValidationError
from hub.models import (
    MAX_CLOCK_SKEW,
    MAX_EVENT_AGE,
    Clock,
    EventInFutureError,
    EventTooOldError,
    validate_event,
)
from hub.quarantine import REASONS

from .conftest import OCCURRED, Decoder

RECORDED = OCCURRED + timedelta(days=1)  # conftest's envelope: recorded a day after
TYPE = "police.violent_incident"
FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def at(moment: datetime) -> Clock:
    """A hub clock stopped at ``moment``."""
    return lambda: moment


def test_reasons_are_in_the_closed_list() -> None:
    assert {EventInFutureError.reason, EventTooOldError.reason} <= REASONS
    assert issubclass(EventInFutureError, ValidationError)
    assert issubclass(EventTooOldError, ValidationError)


def test_recorded_within_the_skew_is_accepted(decoded: Decoder) -> None:
    event = validate_event(decoded(TYPE), clock=at(RECORDED - MAX_CLOCK_SKEW))
    assert event.envelope.recorded_at == RECORDED


def test_recorded_beyond_the_skew_is_in_the_future(decoded: Decoder) -> None:
    hub_now = RECORDED - MAX_CLOCK_SKEW - timedelta(seconds=61)
    with pytest.raises(EventInFutureError, match=r"^envelope.recorded_at: 6 min after") as err:
        validate_event(decoded(TYPE), clock=at(hub_now))
    assert err.value.reason == "event_in_future"


def test_far_future_is_refused_with_the_default_wall_clock(decoded: Decoder) -> None:
    future = datetime.now(UTC) + timedelta(days=365 * 30)
    event = decoded(TYPE, envelope={"occurred_at": future, "recorded_at": future})
    with pytest.raises(EventInFutureError):
        validate_event(event)


def test_too_old_is_refused(decoded: Decoder) -> None:
    with pytest.raises(EventTooOldError, match=r"^envelope.occurred_at: more than 3653 days"):
        validate_event(decoded(TYPE), clock=at(OCCURRED + MAX_EVENT_AGE + timedelta(seconds=1)))
    assert validate_event(decoded(TYPE), clock=at(OCCURRED + MAX_EVENT_AGE)).event_type == TYPE


def test_epoch_default_date_is_too_old(decoded: Decoder) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(EventTooOldError):
        validate_event(decoded(TYPE, envelope={"occurred_at": epoch}))


def test_no_clock_skips_the_bounds(decoded: Decoder) -> None:
    """Re-validating an accepted event later (correlate, replay) must not depend on the clock."""
    long_after = OCCURRED + MAX_EVENT_AGE * 3
    assert validate_event(decoded(TYPE), clock=None).event_type == TYPE
    with pytest.raises(EventTooOldError):
        validate_event(decoded(TYPE), clock=at(long_after))


def test_errors_never_carry_the_times(decoded: Decoder) -> None:
    with pytest.raises(EventInFutureError) as err:
        validate_event(decoded(TYPE), clock=at(OCCURRED - timedelta(days=400)))
    assert str(OCCURRED.year) not in str(err.value)
    assert RECORDED.isoformat() not in str(err.value)


@FIXTURES
@given(offset=st.timedeltas(min_value=timedelta(days=-4000), max_value=timedelta(days=4000)))
def test_outcome_follows_the_bounds(decoded: Decoder, offset: timedelta) -> None:
    """Over any hub clock, exactly the two bounds decide."""
    hub_now = RECORDED + offset
    too_new = RECORDED - hub_now > MAX_CLOCK_SKEW
    too_old = hub_now - OCCURRED > MAX_EVENT_AGE
    try:
        validate_event(decoded(TYPE), clock=at(hub_now))
    except EventInFutureError:
        assert too_new
    except EventTooOldError:
        assert too_old
        assert not too_new
    else:
        assert not too_new
        assert not too_old
