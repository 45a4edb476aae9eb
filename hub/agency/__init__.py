"""The agency SDK: pseudonymise at source, encode, seal, publish.

Direct identifiers never leave the agency. An integration builds :class:`EventDraft` values
(identifiers in clear) and an :class:`AgencyClient` turns them into :class:`FeedMessage`
batches: the identity becomes a linkage token (HMAC-SHA256 under the agencies' linkage key)
and an age, the raw identifiers are dropped, the record is Avro single-object encoded and
validated as the hub will, and each batch (one feed partition's events) is sealed with one
Ed25519 signature and sent as one batch record (``hub.crypto.batchrecord``), or as one
message per event carrying its inclusion proof in the ``vru-seal`` header.
:class:`FeedProducer` publishes them and waits for the broker's acks. ``docs/feeds.md``
describes the wire contract.

::

    keys = agency_keys(Keyring.open(settings.keys_dir), "education")
    client = AgencyClient(keys, SchemaStore.load(settings.schemas_dir), partitions=4)
    records = client.records(client.prepare(d) for d in drafts)   # one per sealed batch
    async with FeedProducer(kafka_endpoint(settings)) as producer:
        await producer.send(settings.feed_topic("education"), records)
"""

from hub.agency.client import AgencyClient, AgencyKeys, Batch, Prepared, Reject
from hub.agency.draft import EventDraft, draft_of
from hub.agency.mapping import MAPPING_FORMAT, RowMapper, RowMapping
from hub.agency.message import SEAL_HEADER, FeedMessage
from hub.agency.producer import FeedProducer
from hub.agency.record import build_record
from hub.agency.rows import guess_format, read_rows
from hub.agency.send import (
    FileBatch,
    FileFeed,
    RejectedRow,
    SendReport,
    agency_keys,
    send_drafts,
    send_feed,
)

__all__ = [
    "MAPPING_FORMAT",
    "SEAL_HEADER",
    "AgencyClient",
    "AgencyKeys",
    "Batch",
    "EventDraft",
    "FeedMessage",
    "FeedProducer",
    "FileBatch",
    "FileFeed",
    "Prepared",
    "Reject",
    "RejectedRow",
    "RowMapper",
    "RowMapping",
    "SendReport",
    "agency_keys",
    "build_record",
    "draft_of",
    "guess_format",
    "read_rows",
    "send_drafts",
    "send_feed",
]
