"""A feed message as it goes on the wire: Kafka key, value and headers."""

from __future__ import annotations

from dataclasses import dataclass

#: Kafka header carrying the event's batch seal (``hub.crypto.sealcodec``); the hub reads it.
SEAL_HEADER = "vru-seal"

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One sealed event for an agency's feed topic.

    ``key`` is the subject's linkage token (ASCII) so one subject's events stay in order on one
    partition, or the LSOA code for area-only events. ``value`` is the single-object Avro
    encoding of the event. ``headers`` holds the ``vru-seal`` header.
    """

    key: bytes
    value: bytes
    headers: Headers

    @property
    def seal(self) -> bytes:
        """The seal header's bytes."""
        return next(v for k, v in self.headers if k == SEAL_HEADER)
