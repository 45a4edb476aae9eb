"""Every worker follows the whole agreements topic into its policy clock.

Only records signed by information governance under a key the worker trusts, inside that
key's window, are applied (``hub.governance``). Anything else is refused, logged and counted
(``hub.refusal``), never applied; a refused record claiming to be a suspension or resumption
is also logged at ERROR, since not applying it may leave a party sharing that governance
meant to stop.
"""

from __future__ import annotations

from collections.abc import Callable

import faust
import structlog

from hub.config import Settings
from hub.crypto.record import Kind, Place
from hub.crypto.trust import RecordVerifier
from hub.errors import AgreementError, CryptoError
from hub.governance import AGREEMENTS_KINDS, claimed_kind, sequence_of
from hub.policy import PolicyClock
from hub.refusal import Position, refused
from hub.transport import Record, kafka_endpoint
from hub.transport.topiclog import follow_partition

log = structlog.get_logger("agents.policy")


def agreements_reader(
    topic: str, clock: PolicyClock, verifier: RecordVerifier
) -> Callable[[Record], None]:
    """The follower's visit: verify one agreements-topic record, then fold it into ``clock``."""
    place = Place(topic, 0)

    def publish(record: Record) -> None:
        position = Position(topic, record.partition, record.offset)
        value = record.value or b""
        try:
            opened = verifier.open(value, place, AGREEMENTS_KINDS)
        except CryptoError as exc:
            reason = refused(position, exc)
            if claimed_kind(value) == Kind.SUSPENSION.value:
                log.error("suspension_refused", offset=record.offset, reason=reason)  # noqa: TRY400  # a refusal, not a crash: no traceback to show
            return
        for item in opened.items:
            clock.heard(sequence_of(item))
            try:
                clock.publish(item)
            except AgreementError as exc:
                refused(position, exc)
                continue
            log.info("agreement_read", offset=record.offset, sequence=clock.book.last_sequence)

    return publish


def register_policy(
    app: faust.App, settings: Settings, clock: PolicyClock, verifier: RecordVerifier
) -> None:
    """Start a task that reads the agreements topic from the start (no consumer group)."""
    publish = agreements_reader(settings.agreements_topic, clock, verifier)

    async def follow_agreements() -> None:
        await follow_partition(kafka_endpoint(settings), settings.agreements_topic, publish)

    app.task(follow_agreements)
