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

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.lazyexports import lazy_exports

if TYPE_CHECKING:  # the names as the type checker sees them; at run time, __getattr__ below
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

#: Where each public name is defined. Nothing is imported with the package: a backtest process that
#: tallies or renders loads only what it uses (``tests/unit/foundation/test_lazy_packages.py``).
_DEFINED_IN = {
    "AgreementRow": "hub.board.agreements",
    "agreement_rows": "hub.board.agreements",
    "LedgerFacts": "hub.board.facts",
    "agency_of": "hub.board.facts",
    "read_ledger": "hub.board.facts",
    "Inputs": "hub.board.inputs",
    "board_of": "hub.board.inputs",
    "sources_of": "hub.board.inputs",
    "Chooser": "hub.board.page",
    "plotly_js": "hub.board.page",
    "render": "hub.board.page",
    "PRESETS": "hub.board.period",
    "Period": "hub.board.period",
    "QuarantineFacts": "hub.board.rejected",
    "read_quarantine": "hub.board.rejected",
    "Board": "hub.board.summary",
    "Sources": "hub.board.summary",
    "build_board": "hub.board.summary",
    "SUPPRESSED": "hub.board.suppress",
    "THRESHOLD": "hub.board.suppress",
    "Figure": "hub.board.suppress",
    "cell": "hub.board.suppress",
    "total": "hub.board.suppress",
    "Table": "hub.board.table",
    "Verification": "hub.board.verification",
    "verify": "hub.board.verification",
}


if not TYPE_CHECKING:  # hidden from mypy, which would otherwise take any name as defined
    __getattr__, __dir__ = lazy_exports(__name__, _DEFINED_IN, __all__)
