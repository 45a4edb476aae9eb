"""Every worker follows the whole agreements topic into its policy clock."""

from __future__ import annotations

import faust
import structlog
from aiokafka.structs import ConsumerRecord

from hub.config import Settings
from hub.errors import AgreementError
from hub.policy import PolicyClock
from hub.transport import kafka_endpoint
from hub.transport.topiclog import follow_partition

log = structlog.get_logger("agents.policy")


def register_policy(app: faust.App, settings: Settings, clock: PolicyClock) -> None:
    """Start a task that reads the agreements topic from the start (no consumer group)."""

    def publish(record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            clock.publish(record.value or b"")
        except AgreementError as exc:
            log.warning("agreement_rejected", offset=record.offset, error=str(exc))
            return
        log.info("agreement_read", offset=record.offset, sequence=clock.book.last_sequence)

    async def follow_agreements() -> None:
        await follow_partition(kafka_endpoint(settings), settings.agreements_topic, publish)

    app.task(follow_agreements)
