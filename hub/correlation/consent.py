"""Withdrawals received on the consent feeds, folded before a decision that rests on consent.

A withdrawal takes effect when the hub receives it, however far behind ingest is on its feed
(``docs/consent.md``). Before deciding for a subject with a live consent (or one being given)
the consent feeds are read to their end (the watermark, recorded with the decisions) and the
subject's ends read below it are folded into its ledger. One barrier serves a whole accepted
record: the follower reads on meanwhile, so only ends below the watermark are folded, and the
decisions say exactly what the auditor can check.
"""

from __future__ import annotations

from dataclasses import replace

import structlog

from hub.correlate import Correlator
from hub.correlation.values import ConsentBarrier
from hub.disclosure import FeedMark, Moment, Step, SubjectState, Trigger

log = structlog.get_logger("hub.correlation")


class Withdrawals:
    """The consent barrier as one accepted record uses it: the watermark taken at most once."""

    def __init__(self, barrier: ConsentBarrier | None, correlator: Correlator) -> None:
        self._barrier = barrier
        self._correlator = correlator
        self._watermark: tuple[FeedMark, ...] | None = None

    @property
    def idle(self) -> bool:
        """Whether there are no consent feeds (no consent-taking agency): :meth:`fold` would
        give back the state and moment it is given, for every subject."""
        return self._barrier is None

    async def fold(
        self, token: str, state: SubjectState, moment: Moment, *, giving: bool, step: bool = True
    ) -> tuple[SubjectState, Moment, Step | None]:
        """The subject's state and moment with the ends received folded in.

        An end that changes the ledger is decided at once (``step``), as a consent event would
        be: the step is returned. Without a live consent (and none being given) nothing is read.
        """
        barrier = self._barrier
        if barrier is None or not (giving or state.consent.live_for(token, moment.at)):
            return state, moment, None
        if self._watermark is None:
            self._watermark = await barrier.watermark()
        moment = replace(moment, watermark=self._watermark)
        ledger = barrier.fold(token, state.consent, moment.at, below=self._watermark)
        if ledger == state.consent:
            return state, moment, None
        updated = state.model_copy(update={"consent": ledger})
        if not step:
            return updated, moment, None
        trigger = Trigger(consent_before=state.consent)
        early = self._correlator.rescan(token, updated, moment, trigger=trigger)
        partition = moment.position.partition if moment.position is not None else None
        log.info("consent_ended_on_receipt", partition=partition)
        return early.state, moment, early
