"""The board's view of the hub: aggregates for oversight, small numbers suppressed.

::

    inputs = Inputs(decisions, heads, agreements, registry, prefix, keys, quarantine)
    sources = sources_of(inputs, now)                  # parse and verify once
    board = build_board(sources, Period.preset("30d", today), now)
    html = render(board, chooser=Chooser("30d"))       # the dashboard page
    html = render(board)                               # a self-contained report

Pure: no Kafka and no HTTP here (``hub/cli/board.py`` reads the topics and serves the page).
Counts from 1 to 4 are shown as ``<5`` and totals are computed from the shown cells only
(:mod:`hub.board.suppress`). No event id, flag id, token or pseudonym leaves this package.
See ``docs/dashboard.md``.
"""

from hub.board.agreements import AgreementRow, agreement_rows
from hub.board.facts import LedgerFacts, agency_of, read_ledger
from hub.board.inputs import Inputs, board_of, sources_of
from hub.board.page import Chooser, plotly_js, render
from hub.board.period import PRESETS, Period
from hub.board.rejected import QuarantineFacts, read_quarantine
from hub.board.summary import Board, Sources, build_board
from hub.board.suppress import SUPPRESSED, THRESHOLD, Figure, cell, total
from hub.board.table import Table
from hub.board.verification import Verification, verify

__all__ = [
    "PRESETS",
    "SUPPRESSED",
    "THRESHOLD",
    "AgreementRow",
    "Board",
    "Chooser",
    "Figure",
    "Inputs",
    "LedgerFacts",
    "Period",
    "QuarantineFacts",
    "Sources",
    "Table",
    "Verification",
    "agency_of",
    "agreement_rows",
    "board_of",
    "build_board",
    "cell",
    "plotly_js",
    "read_ledger",
    "read_quarantine",
    "render",
    "sources_of",
    "total",
    "verify",
]
