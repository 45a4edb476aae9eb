"""From the topics' record values to the board's sources: parse, fold, verify."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.board.agreements import agreement_rows
from hub.board.facts import read_ledger
from hub.board.period import Period
from hub.board.rejected import read_quarantine
from hub.board.summary import Board, Sources, build_board
from hub.board.verification import verify
from hub.crypto import VerifyKey
from hub.dsa import AgreementBook
from hub.errors import AgreementError
from hub.registry import Registry
from hub.rules import Rule


@dataclass(frozen=True, slots=True)
class Inputs:
    """Record values of the hub's topics (offset order), the hub's verify keys, the registry.

    ``quarantine`` is None when the quarantine topic was not read (an exported ledger).
    ``rules`` are the current correlation rules, to give entries their flag's severity.
    """

    decisions: Sequence[bytes]
    heads: Sequence[bytes]
    agreements: Sequence[bytes]
    registry: Registry
    topic_prefix: str
    keys: Sequence[VerifyKey] = ()
    quarantine: Sequence[bytes] | None = field(default=None)
    rules: Sequence[Rule] = ()


def sources_of(inputs: Inputs, now: datetime) -> Sources:
    """Parse every topic once; the board for any period is then cheap to build."""
    owners = {t: a.id for a in inputs.registry.agencies for t in a.event_types}
    book = AgreementBook()
    for value in inputs.agreements:
        try:
            book = book.apply(value)
        except AgreementError:
            continue  # not an agreement publication; `hub dsa` and the workers report these
    return Sources(
        ledger=read_ledger(inputs.decisions, owners, {r.id: r for r in inputs.rules}),
        quarantine=(
            None
            if inputs.quarantine is None
            else read_quarantine(inputs.quarantine, inputs.topic_prefix)
        ),
        agreements=agreement_rows(book, now),
        verification=verify(inputs.decisions, inputs.heads, inputs.keys, now),
    )


def board_of(inputs: Inputs, period: Period, now: datetime) -> Board:
    """The board for one period, straight from the topics' values."""
    return build_board(sources_of(inputs, now), period, now)
