# ruff: noqa: E501  # the page template below is HTML and CSS, kept readable on its own lines
"""The release as an HTML report: one self-contained file that opens offline.

Drawn from the released figures only (a suppressed figure is a gap in a chart and ``[c]`` in
a table: the report never sees a hidden count). Charts use plotly, as the board does, with
plotly.js inlined. Sections: the headline, trends per area and month, the mix by agency and
by event type, the age profile, the top areas, and how the figures were protected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment
from markupsafe import Markup

from hub.board.page import plotly_js

_LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 20, "t": 40, "b": 90},
    "height": 380,
    "template": "plotly_white",
}
_CONFIG = {"displaylogo": False, "responsive": True}
TOP_AREAS = 10

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Strategic needs assessment release {{ release_id[:12] }}</title>
<script>{{ plotly }}</script>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2733}
header{background:#123a5c;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px;padding:16px 28px}
section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 3px #0002}
h2{font-size:16px;margin:4px 0 8px} .wide{grid-column:1/-1}
.kpis{display:flex;gap:28px;flex-wrap:wrap} .kpi b{display:block;font-size:28px}
table{border-collapse:collapse;width:100%} td,th{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:right}
td:first-child,th:first-child{text-align:left} footer{padding:8px 28px 24px;font-size:12px;color:#56606b}
</style></head><body>
<header><h1>Serious violence: strategic needs assessment</h1>
<p>{{ period }} &middot; by {{ by }} &middot; release {{ release_id[:12] }} &middot; signed by the hub key {{ key_id }}</p></header>
<main>
<section class="wide"><h2>Headline</h2><div class="kpis">
<div class="kpi"><b>{{ total }}</b>events counted</div>
<div class="kpi"><b>{{ areas }}</b>{{ by }} areas</div>
<div class="kpi"><b>{{ months }}</b>months</div>
<div class="kpi"><b>{{ suppressed }}</b>figures suppressed</div></div></section>
<section class="wide"><h2>Trend per {{ by }} and month</h2>{{ charts.trend }}</section>
<section><h2>Mix by agency</h2>{{ charts.agency }}</section>
<section><h2>Mix by event type</h2>{{ charts.event_type }}</section>
<section><h2>Age profile</h2>{{ charts.age_band }}</section>
<section><h2>Top {{ by }} areas</h2><table><tr><th>{{ by }}</th><th>events</th></tr>
{% for name, text in top %}<tr><td>{{ name }}</td><td>{{ text }}</td></tr>{% endfor %}</table></section>
</main>
<footer>[c]: suppressed. Counts from 1 to {{ threshold - 1 }} are never shown, and further
figures are suppressed so that none can be worked out from row, column or period totals{% if rounding > 1 %};
every figure shown is rounded to a multiple of {{ rounding }}{% endif %}. Shared under
{{ agreements }}. Verify with <code>hub sna verify</code>; re-derive with <code>hub audit replay</code>.</footer>
</body></html>
"""


SUPPRESSED = "[c]"
"""A suppressed figure, as official statistics write it: small, or hidden to protect one."""


def _text(value: int | None, threshold: int) -> str:
    del threshold  # a complement may be large: "<5" would mislead
    return SUPPRESSED if value is None else str(value)


def _embed(figure: go.Figure, name: str) -> Markup:
    figure.update_layout(**_LAYOUT)
    html = pio.to_html(
        figure, full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config=_CONFIG
    )
    return Markup(html)  # noqa: S704  # plotly's own output from released figures


def _trend(table: Mapping[str, Any], threshold: int, names: Mapping[str, str]) -> go.Figure:
    figure = go.Figure()
    ranked = _ranked(table)[:TOP_AREAS]
    for name in ranked:
        row = table["cells"][table["rows"].index(name)]
        figure.add_trace(
            go.Scatter(
                x=table["columns"],
                y=row,
                name=names.get(name, name),
                mode="lines+markers",
                hovertext=[_text(v, threshold) for v in row],
                connectgaps=False,
            )
        )
    figure.update_layout(yaxis_title="events", legend_title="area", xaxis_type="category")
    return figure


def _bars(table: Mapping[str, Any], threshold: int) -> go.Figure:
    values = [row[0] for row in table["cells"]]
    return go.Figure(
        go.Bar(
            x=table["rows"],
            y=values,
            text=[_text(v, threshold) for v in values],
            textposition="outside",
            marker_color="#2f6f9f",
        )
    )


def _ranked(table: Mapping[str, Any]) -> list[str]:
    """Rows by shown period total, largest first (suppressed totals last)."""
    pairs = zip(table["rows"], table["row_totals"], strict=True)
    return [name for name, _ in sorted(pairs, key=lambda p: (-(p[1] or -1), p[0]))]


def render_report(document: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """The release document (``hub sna export --format json``) as a self-contained page;
    ``names`` labels area codes (a council's partnership name), codes stay in the figures."""
    names = names or {}
    figures = document["figures"]
    tables, query, control = figures["tables"], figures["query"], figures["control"]
    threshold = int(control["threshold"])
    area = tables["area"]
    charts = {"trend": _embed(_trend(area, threshold, names), "trend")}
    for name in ("agency", "event_type", "age_band"):
        charts[name] = _embed(_bars(tables[name], threshold), name)
    totals = dict(zip(area["rows"], area["row_totals"], strict=True))
    top = [
        (f"{names[n]} ({n})" if n in names else n, _text(totals[n], threshold))
        for n in _ranked(area)[:TOP_AREAS]
    ]
    env = Environment(autoescape=True)
    return env.from_string(_PAGE).render(
        plotly=Markup(plotly_js()),  # noqa: S704  # the shipped library
        release_id=document["release_id"],
        key_id=document["signature"]["key_id"],
        period=f"{query['from']} to {query['to']}",
        by=query["by"],
        total=_text(area["total"], threshold),
        areas=len(area["rows"]),
        months=len(area["columns"]),
        suppressed=sum(int(t["suppressed"]) for t in tables.values()),
        charts=charts,
        top=top,
        threshold=threshold,
        rounding=int(control["rounding"]),
        agreements=", ".join(document["agreements"]) or "no agreement",
    )
