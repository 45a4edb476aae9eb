"""Publishing agreement versions, suspensions and switch markers; reading the topic back.

Every record written here is signed by information governance (``hub.governance``): the
publisher needs the governance signing key, and reads the topic back with the keys it trusts,
so a forged record on the topic changes neither the next sequence nor what is published.

The agreements topic is written one record per request (send and wait), so its end offset
is exact even on the embedded broker. That broker reports a wrong "latest" offset when the
newest batch holds more than one record (BROKER.md), so we never leave such a batch here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.crypto.record import Place
from hub.crypto.trust import RecordVerifier
from hub.dsa import Action, Agreement, AgreementBook, Party, Suspension
from hub.governance import (
    FoldedBook,
    Governance,
    publication_record,
    suspension_record,
    switch_record,
)
from hub.policy import Switch
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.kafka import KafkaTransport
from hub.transport.protocol import Transport
from hub.transport.record import Record
from hub.transport.topiclog import read_partition


async def read_agreements(
    endpoint: KafkaEndpoint, topic: str, verifier: RecordVerifier
) -> FoldedBook:
    """Every record of the agreements topic, folded: what verified, and what was refused."""
    folded = FoldedBook()
    place = Place(topic, 0)

    def fold(record: Record) -> None:
        folded.add(record.value or b"", record.offset, verifier, place)

    await read_partition(endpoint, topic, fold)
    return folded


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
    *,
    governance: Governance,
) -> tuple[list[str], int]:
    """Publish new versions, then a switch marker into every accepted partition, all signed
    with the governance key.

    Returns the references published and the sequence the marker names.
    """
    folded = await read_agreements(endpoint, agreements_topic, governance.verifier)
    fresh = unpublished(folded.book, agreements)
    sequence = max(folded.book.last_sequence, folded.authenticated_sequence)
    place = Place(agreements_topic, 0)
    async with KafkaTransport(endpoint) as transport:
        for agreement in fresh:
            sequence += 1
            value = publication_record(agreement, sequence, now, place, governance.key)
            await transport.send(agreements_topic, value, key=agreement.id.encode(), partition=0)
        await _mark(transport, accepted_topic, Switch(sequence), (now, governance))
    return [a.ref for a in fresh], sequence


async def _mark(
    transport: Transport,
    accepted_topic: str,
    switch: Switch,
    signer: tuple[datetime, Governance],
) -> None:
    """A switch marker naming ``switch.sequence`` in every partition of the accepted topic."""
    at, governance = signer
    for partition in range(await transport.partitions(accepted_topic)):
        value = switch_record(switch, at, Place(accepted_topic, partition), governance.key)
        await transport.send(accepted_topic, value, key=b"__policy__", partition=partition)


async def publish_suspension(
    endpoint: KafkaEndpoint,
    topics: tuple[str, str],
    target: tuple[Party, str],
    change: tuple[Action, str],
    now: datetime,
    *,
    governance: Governance,
) -> Suspension:
    """Suspend or resume a party: one signed record on the agreements topic, then markers.

    ``topics`` is (agreements topic, accepted topic); ``change`` is (action, reason code).
    Workers apply it at the markers, without a restart (``hub.dsa.suspension``).
    """
    agreements_topic, accepted_topic = topics
    folded = await read_agreements(endpoint, agreements_topic, governance.verifier)
    book = folded.book
    party, party_id = target
    action, reason = change
    record = Suspension(
        party=party,
        party_id=party_id,
        action=action,
        reason=reason,
        sequence=max(book.last_sequence, folded.authenticated_sequence) + 1,
        published_at=max(now, _last_time(book) or now),
    )
    book.apply(record)  # the same checks a worker makes, before anything is sent
    async with KafkaTransport(endpoint) as transport:
        value = suspension_record(record, Place(agreements_topic, 0), governance.key)
        await transport.send(agreements_topic, value, key=party_id.encode(), partition=0)
        signer = (record.published_at, governance)
        await _mark(transport, accepted_topic, Switch(record.sequence), signer)
    return record


def _last_time(book: AgreementBook) -> datetime | None:
    times = [e.published_at for e in book.entries[-1:]]
    times += [s.published_at for s in book.suspensions[-1:]]
    return max(times, default=None)
