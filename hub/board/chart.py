"""The board's charts, drawn by plotly from suppressed figures only.

A chart never receives a hidden count: a suppressed cell is plotted as a gap (``None``) with
its text ``<5`` in the hover label, and a Sankey link is drawn only for an exact flow. The
figures are plain plotly JSON; the page loads plotly.js from the hub itself (or inlines it
in a report), never from a network.
"""

from __future__ import annotations

import plotly.graph_objects as go

from hub.board.table import Table

_LAYOUT = {
    "margin": {"l": 40, "r": 20, "t": 30, "b": 80},
    "height": 360,
    "template": "plotly_white",
}


def flows_sankey(flows: Table) -> go.Figure:
    """Agencies (left) to partnerships (right); a link per exact flow, suppressed ones left out."""
    labels = [*flows.rows, *flows.columns]
    source, target, value = [], [], []
    for i, agency in enumerate(flows.rows):
        for j, partnership in enumerate(flows.columns):
            exact = flows.at(agency, partnership).value
            if exact:
                source.append(i)
                target.append(len(flows.rows) + j)
                value.append(exact)
    sankey = go.Sankey(
        arrangement="snap",
        node={"label": labels, "pad": 14, "thickness": 14},
        link={"source": source, "target": target, "value": value},
        valueformat="d",
    )
    figure = go.Figure(sankey)
    figure.update_layout(**{**_LAYOUT, "height": 420})
    return figure


def bars(table: Table, *, stacked: bool = True) -> go.Figure:
    """One bar trace per column of ``table`` over its rows; suppressed cells are gaps."""
    figure = go.Figure()
    for column in table.columns:
        shown = [table.at(row, column) for row in table.rows]
        figure.add_trace(
            go.Bar(
                name=column,
                x=list(table.rows),
                y=[f.value for f in shown],
                text=[f.text for f in shown],
                hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
                textposition="none",
            )
        )
    figure.update_layout(
        **_LAYOUT, barmode="stack" if stacked else "group", showlegend=len(table.columns) > 1
    )
    figure.update_xaxes(type="category")
    return figure
