"""From the topics' record values to the board's sources: parse, fold, verify."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.audit import open_decisions
from hub.board.agreements import agreement_rows
from hub.board.facts import read_ledger
from hub.board.period import Period
from hub.board.rejected import read_quarantine
from hub.board.summary import Board, Sources, build_board
from hub.board.verification import verify
from hub.crypto import VerifyKey
from hub.crypto.trust import RecordVerifier, TrustedKeys
from hub.governance import fold_book
from hub.registry import Registry
from hub.rules import Rule


@dataclass(frozen=True, slots=True)
class Inputs:
    """Record values of the hub's topics (offset order), the hub's verify keys, the registry.

    ``quarantine`` is None when the quarantine topic was not read (an exported ledger).
    ``rules`` are the current correlation rules, to give entries their flag's severity.
    Only records that verify under ``trusted`` (hub and governance public keys) are counted,
    each against the topic it came from (``decisions_topic``, ``agreements_topic``).
    """

    decisions: Sequence[bytes]
    heads: Sequence[bytes]
    agreements: Sequence[bytes]
    registry: Registry
    topic_prefix: str
    keys: Sequence[VerifyKey] = ()
    quarantine: Sequence[bytes] | None = field(default=None)
    rules: Sequence[Rule] = ()
    trusted: TrustedKeys = field(default_factory=TrustedKeys)
    decisions_topic: str = ""
    agreements_topic: str = ""


def sources_of(inputs: Inputs, now: datetime) -> Sources:
    """Parse every topic once; the board for any period is then cheap to build."""
    owners = {t: a.id for a in inputs.registry.agencies for t in a.event_types}
    verifier = RecordVerifier(inputs.trusted)
    # Only what verifies; the workers and `hub audit verify` name what is refused.
    book = fold_book(inputs.agreements, verifier, inputs.agreements_topic).book
    entries = open_decisions(inputs.decisions, verifier, inputs.decisions_topic).entries
    return Sources(
        ledger=read_ledger(entries, owners, {r.id: r for r in inputs.rules}),
        quarantine=(
            None
            if inputs.quarantine is None
            else read_quarantine(inputs.quarantine, inputs.topic_prefix)
        ),
        agreements=agreement_rows(book, now),
        verification=verify(
            (inputs.decisions, inputs.heads), inputs.keys, now, inputs.decisions_topic
        ),
    )


def board_of(inputs: Inputs, period: Period, now: datetime) -> Board:
    """The board for one period, straight from the topics' values."""
    return build_board(sources_of(inputs, now), period, now)
