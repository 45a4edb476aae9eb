"""When an event may claim to have happened, judged against the hub's clock at ingest.

An agency's clock can be wrong. Two bounds keep what it claims plausible:

- ``recorded_at`` more than :data:`MAX_CLOCK_SKEW` after the hub's clock is an event from the
  future (``event_in_future``). The skew allowance is Kerberos's customary five minutes. The
  record stays in quarantine and ``hub quarantine redrive`` accepts it once its time has come,
  if the agency's clock was only ahead.
- ``occurred_at`` more than :data:`MAX_EVENT_AGE` before the hub's clock is too old to share
  (``event_too_old``): beyond every correlation window and beyond the youth of anyone a
  Violence Reduction Unit works with. It is almost always a wrong date (a year typed as 1925,
  or an epoch default).

An agency clock that goes backwards is accepted: events need not arrive in time order, and
correlation works on ``occurred_at``, not on arrival (``docs/reliability.md``).

The check belongs at the hub's front door only. A step that re-validates an accepted event
later (correlate, a replay) passes ``now=None`` so that a hub clock stepped back never turns
an accepted event into a rejected one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.errors import ValidationError
from hub.models.envelope import Envelope

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=3653)  # ten years


class EventInFutureError(ValidationError):
    """The event was recorded after the hub's clock, beyond the allowed skew."""

    reason = "event_in_future"


class EventTooOldError(ValidationError):
    """The event happened longer ago than the hub accepts."""

    reason = "event_too_old"


def check_timeliness(envelope: Envelope, now: datetime) -> None:
    """Raise when the envelope's times are implausible at ``now`` (an aware datetime)."""
    ahead = envelope.recorded_at - now
    if ahead > MAX_CLOCK_SKEW:
        raise EventInFutureError(
            f"envelope.recorded_at: {_minutes(ahead)} min after the hub's clock"
            f" (allowed {_minutes(MAX_CLOCK_SKEW)})"
        )
    if now - envelope.occurred_at > MAX_EVENT_AGE:
        raise EventTooOldError(
            f"envelope.occurred_at: more than {MAX_EVENT_AGE.days} days before the hub's clock"
        )


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
