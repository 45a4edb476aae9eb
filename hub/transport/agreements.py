"""Publishing agreement versions, suspensions and switch markers; reading the topic back.

The agreements topic is written one record per request (send and wait), so its end offset
is exact even on the embedded broker. That broker reports a wrong "latest" offset when the
newest batch holds more than one record (BROKER.md), so we never leave such a batch here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from hub.dsa import (
    Action,
    Agreement,
    AgreementBook,
    Party,
    Suspension,
    encode_agreement_message,
    encode_suspension_message,
)
from hub.policy import KIND_HEADER, SWITCH_KIND, Switch
from hub.transport.clients import new_producer
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.failure import translated
from hub.transport.topiclog import read_partition


async def read_agreements(endpoint: KafkaEndpoint, topic: str) -> AgreementBook:
    """Every publication on the agreements topic, folded into a book."""
    book = AgreementBook()

    def fold(record: ConsumerRecord[bytes, bytes]) -> None:
        nonlocal book
        book = book.apply(record.value or b"")

    await read_partition(endpoint, topic, fold)
    return book


def unpublished(book: AgreementBook, agreements: Iterable[Agreement]) -> list[Agreement]:
    """The agreement versions not yet in ``book``, in (id, version) order."""
    known = {(e.agreement.id, e.agreement.version) for e in book.entries}
    return sorted(
        (a for a in agreements if (a.id, a.version) not in known), key=lambda a: (a.id, a.version)
    )


async def publish_agreements(
    endpoint: KafkaEndpoint,
    agreements_topic: str,
    accepted_topic: str,
    agreements: Iterable[Agreement],
    now: datetime,
) -> tuple[list[str], int]:
    """Publish new versions, then a switch marker into every accepted partition.

    Returns the references published and the sequence the marker names.
    """
    book = await read_agreements(endpoint, agreements_topic)
    fresh = unpublished(book, agreements)
    producer = new_producer(endpoint, acks="all")
    sequence = book.last_sequence
    try:
        async with translated(endpoint, "publish agreements"):
            await producer.start()
            for agreement in fresh:
                sequence += 1
                value = encode_agreement_message(agreement, sequence, now)
                await producer.send_and_wait(agreements_topic, value, key=agreement.id.encode())
            await _mark(producer, accepted_topic, sequence)
    finally:
        await producer.stop()
    return [a.ref for a in fresh], sequence


async def _mark(producer: AIOKafkaProducer, accepted_topic: str, sequence: int) -> None:
    """A switch marker naming ``sequence`` in every partition of the accepted topic."""
    marker = Switch(sequence).to_bytes()
    for partition in sorted(await producer.partitions_for(accepted_topic)):
        await producer.send_and_wait(
            accepted_topic,
            marker,
            key=b"__policy__",
            partition=partition,
            headers=[(KIND_HEADER, SWITCH_KIND.encode())],
        )


async def publish_suspension(
    endpoint: KafkaEndpoint,
    topics: tuple[str, str],
    target: tuple[Party, str],
    change: tuple[Action, str],
    now: datetime,
) -> Suspension:
    """Suspend or resume a party: one record on the agreements topic, then switch markers.

    ``topics`` is (agreements topic, accepted topic); ``change`` is (action, reason code).
    Workers apply it at the markers, without a restart (``hub.dsa.suspension``).
    """
    agreements_topic, accepted_topic = topics
    book = await read_agreements(endpoint, agreements_topic)
    party, party_id = target
    action, reason = change
    record = Suspension(
        party=party,
        party_id=party_id,
        action=action,
        reason=reason,
        sequence=book.last_sequence + 1,
        published_at=max(now, _last_time(book) or now),
    )
    book.apply(record)  # the same checks a worker makes, before anything is sent
    producer = new_producer(endpoint, acks="all")
    try:
        async with translated(endpoint, "publish the suspension"):
            await producer.start()
            value = encode_suspension_message(record)
            await producer.send_and_wait(agreements_topic, value, key=party_id.encode())
            await _mark(producer, accepted_topic, record.sequence)
    finally:
        await producer.stop()
    return record


def _last_time(book: AgreementBook) -> datetime | None:
    times = [e.published_at for e in book.entries[-1:]]
    times += [s.published_at for s in book.suspensions[-1:]]
    return max(times, default=None)
