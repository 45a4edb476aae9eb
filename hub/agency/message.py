"""A feed message as it goes on the wire: Kafka key, value and headers."""

from __future__ import annotations

from dataclasses import dataclass

#: Kafka header carrying the event's batch seal (``hub.crypto.sealcodec``); the hub reads it.
SEAL_HEADER = "vru-seal"

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One sealed event, or one sealed batch (``hub.crypto.batchrecord``), for a feed topic.

    ``key`` is the subject's linkage token (ASCII) so one subject's events stay in order on one
    partition, or the LSOA code for area-only events. ``value`` is the single-object Avro
    encoding of the event. ``headers`` holds the ``vru-seal`` header.
    """

    key: bytes
    value: bytes
    headers: Headers
    partition: int | None = None
    """The feed partition to send to (None: the producer's partitioner hashes ``key``)."""
    events: int = 1
    """How many events the message carries: more than one for a batch record."""

    @property
    def seal(self) -> bytes:
        """The seal header's bytes."""
        return next(v for k, v in self.headers if k == SEAL_HEADER)
