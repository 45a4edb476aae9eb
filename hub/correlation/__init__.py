"""Correlation as a service: an accepted record in, the records to send and rows to store out.

The worker's correlate agent (``agents/correlate.py``) only reads records, calls the service and
writes what it returns; everything it decides lives here::

    service = Correlation(Wiring(settings, correlator, registry, clock, keys, consent),
                          Tables(subjects=table, sna=sna_table))
    result = await service.handle(value, Place(topic, partition), offset)
    for record in result.outbox + result.decisions:
        send(record.topic, record.partition, record.key, record.value)   # first
    for row in result.rows:
        tables[row.table][row.key] = row.value                         # then
    log.info("accepted_processed", **result.outcome.fields())

A record may carry a batch of events: its rows are read and written once each
(:mod:`hub.correlation.rows`), its alerts leave as one record per outbox partition and its
decisions as one record (:mod:`hub.correlation.emission`), its SNA rows once each
(:class:`hub.sna.stream.Counting`). Tables are read through a two-method protocol
(:class:`SealedTable`: a faust table, or a dict in tests), the consent feeds through
:class:`ConsentBarrier`. Nothing here imports faust.
"""

from hub.correlation.batch import ACCEPTED_KINDS, AREA_KEY, POLICY_KEY, SUBJECTS, Tables, Wiring
from hub.correlation.emission import RECORD_BUDGET
from hub.correlation.service import Correlation
from hub.correlation.values import (
    ConsentBarrier,
    Outcome,
    Outgoing,
    Received,
    Result,
    RowWrite,
    SealedTable,
)

__all__ = [
    "ACCEPTED_KINDS",
    "AREA_KEY",
    "POLICY_KEY",
    "RECORD_BUDGET",
    "SUBJECTS",
    "ConsentBarrier",
    "Correlation",
    "Outcome",
    "Outgoing",
    "Received",
    "Result",
    "RowWrite",
    "SealedTable",
    "Tables",
    "Wiring",
]
