"""Rendering the board as one HTML page: the dashboard's, or a self-contained report."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from hub.board.chart import bars, flows_sankey
from hub.board.period import PRESETS
from hub.board.summary import Board
from hub.board.template import PAGE, TABLE

_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True, slots=True)
class Chooser:
    """The dashboard's period chooser: the preset selected and the custom days entered."""

    preset: str = ""
    start: str = ""
    end: str = ""


@cache
def plotly_js() -> str:
    """plotly.min.js as shipped inside the plotly wheel (no network)."""
    return str(get_plotlyjs())


@cache
def _environment() -> Environment:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals["table"] = env.from_string(TABLE).module.table  # type: ignore[attr-defined]  # a macro
    return env


def _embed(figure: go.Figure, name: str) -> Markup:
    html = pio.to_html(
        figure, full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config=_CONFIG
    )
    return Markup(html)  # noqa: S704  # plotly's own output from suppressed figures, no user text


def render(
    board: Board, *, chooser: Chooser | None = None, plotly_src: str = "/plotly.min.js"
) -> str:
    """The page: with a period chooser and plotly.js from ``plotly_src`` (the dashboard), or,
    without a chooser, self-contained with plotly.js inlined (the report)."""
    charts = {
        "flows": _embed(flows_sankey(board.flows), "flows"),
        "denials": _embed(bars(board.denials), "denials"),
        "flags": _embed(bars(board.flags_by_day), "flags"),
    }
    if board.quarantine is not None:
        charts["quarantine"] = _embed(bars(board.quarantine), "quarantine")
    page = _environment().from_string(PAGE)
    return page.render(
        board=board,
        charts=charts,
        kind="dashboard" if chooser else "report",
        chooser=chooser is not None,
        presets=list(PRESETS),
        preset=chooser.preset if chooser else "",
        start=chooser.start if chooser else "",
        end=chooser.end if chooser else "",
        plotly_src=plotly_src,
        plotly_inline=Markup(plotly_js()) if chooser is None else "",  # noqa: S704  # the shipped library
    )
