"""Withdrawals read straight from the consent-taking agencies' feeds, ahead of ingest.

A withdrawal takes effect when the hub *receives* it: when the broker has appended it to
its agency's feed. Ingest may be far behind on that feed, so every worker also reads the
feeds of the agencies that record consent (:func:`consent_feeds`) itself, from the start,
keeping the withdrawals and expiries it reads by subject token. Before a decision that could
disclose on consent, the worker reads those feeds to their end (the watermark) and
folds the subject's ends into its consent ledger (``docs/consent.md``)::

    watch = WithdrawalWatch(ingest, store)
    watch.read(feed_message)            # for every feed record, in offset order
    watch.reached(ends)                 # read up to the watermark?
    ledger = watch.fold(token, ledger, at, below=watermark)

Every end is checked exactly as ingest checks it (schema, provenance, the agency's seal)
before it is kept: one that fails raises :class:`UnauthenticatedWithdrawalError` (the reader
refuses, counts and alarms it) and changes nothing. Other records are left to ingest. A
forged record can therefore never *enable* disclosure: the watch only ever ends consent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import datetime

from hub.codec import SchemaStore
from hub.consent.ledger import CONSENT_ENDS, ConsentLedger
from hub.disclosure import FeedMark
from hub.errors import ConsentError, HubError, UnauthenticatedWithdrawalError
from hub.ingest import FeedMessage, Ingest
from hub.models import Event, validate_event
from hub.registry import Registry

#: A feed partition: (topic, partition).
FeedPartition = tuple[str, int]


def consent_feeds(registry: Registry, feed_topic: Mapping[str, str]) -> tuple[str, ...]:
    """The feed topics of the agencies that may publish consent ends, sorted.

    ``feed_topic`` maps an agency id to its feed topic.
    """
    return tuple(
        sorted(feed_topic[a.id] for a in registry.agencies if CONSENT_ENDS & set(a.event_types))
    )


class WithdrawalWatch:
    """The authenticated consent ends read from the feeds, and how far each feed was read."""

    def __init__(self, ingest: Ingest, store: SchemaStore) -> None:
        self._ingest = ingest
        self._store = store
        self._ends: dict[str, dict[str, Event]] = {}
        self._where: dict[str, tuple[FeedPartition, int]] = {}
        self.positions: dict[FeedPartition, int] = {}
        """The next offset to read, per feed partition."""

    def read(self, message: FeedMessage) -> Event | None:
        """Take one feed record (in offset order); returns the end it kept, if any.

        Raises :class:`UnauthenticatedWithdrawalError` for a consent end ingest would refuse.
        The position advances whatever the record holds.
        """
        source = message.source
        self.positions[(source.topic, source.partition)] = source.offset + 1
        try:
            claimed = self._store.decode(message.value).event_type
        except HubError:
            return None  # not a readable event at all: ingest quarantines it
        if claimed not in CONSENT_ENDS:
            return None
        outcome = self._ingest.process(message, {})
        if outcome.status != "accepted":
            raise UnauthenticatedWithdrawalError(outcome.reason)
        event = validate_event(self._store.decode(message.value))
        token = event.subject_token
        if token is None:
            raise UnauthenticatedWithdrawalError("no_subject")
        self._ends.setdefault(token, {})[event.event_id] = event
        self._where.setdefault(event.event_id, ((source.topic, source.partition), source.offset))
        return event

    def reached(self, ends: Mapping[FeedPartition, int]) -> bool:
        """Whether every feed partition has been read up to ``ends`` (exclusive)."""
        return all(self.positions.get(tp, 0) >= end for tp, end in ends.items() if end > 0)

    def ends_for(self, token: str) -> tuple[Event, ...]:
        """The subject's consent ends read so far, in the order they happened."""
        found = self._ends.get(token, {}).values()
        return tuple(sorted(found, key=lambda e: (e.envelope.occurred_at, e.event_id)))

    def where(self, event_id: str) -> tuple[FeedPartition, int] | None:
        """The feed partition and offset an end was first read at, if it was read."""
        return self._where.get(event_id)

    def below(self, event_id: str, watermark: Mapping[FeedPartition, int]) -> bool:
        """Whether an end was read at a feed position below ``watermark`` (exclusive)."""
        found = self._where.get(event_id)
        return found is not None and found[1] < watermark.get(found[0], 0)

    def fold(
        self,
        token: str,
        ledger: ConsentLedger,
        at: datetime,
        below: Iterable[FeedMark] | None = None,
    ) -> ConsentLedger:
        """``ledger`` with every end read for the subject, in effect from ``at``.

        ``below`` (the decision's watermark) keeps out ends the follower read after it, so a
        decision record's ends are exactly those the auditor finds below its watermark
        (``hub audit replay``). An end the ledger already holds (by consent id) is a no-op;
        one it cannot fold is left out, as the correlator leaves it out when it reaches the
        accepted topic.
        """
        bound = None if below is None else {(m.topic, m.partition): m.offset for m in below}
        for event in self.ends_for(token):
            if bound is not None and not self.below(event.event_id, bound):
                continue
            with suppress(ConsentError):
                ledger = ledger.apply(event, at)
        return ledger
