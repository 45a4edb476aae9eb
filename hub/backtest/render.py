"""Writing a backtest report: ``backtest.json`` and a self-contained ``backtest.html``.

The page draws its charts as inline SVG (no script, no network); a suppressed or ranged
total is drawn as a gap labelled with its text, never as a bar that would give it away.
"""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup

from hub.alerts import AlertKind
from hub.backtest.tally import Report
from hub.board.suppress import Figure

_BAR_W, _GAP, _HEIGHT, _PAD = 26, 6, 160, 24


def bars_svg(title: str, values: dict[str, Figure]) -> Markup:
    """A bar per label; exact figures only are drawn, others are shown as their text."""
    exact = [f.value for f in values.values() if f.value is not None]
    top = max(exact, default=0) or 1
    width = _PAD * 2 + len(values) * (_BAR_W + _GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT + 70}"'
        f' role="img" aria-label="{_esc(title)}">',
        f'<text x="{_PAD}" y="14" font-size="12">{_esc(title)}</text>',
    ]
    for i, (label, figure) in enumerate(values.items()):
        x = _PAD + i * (_BAR_W + _GAP)
        base = _HEIGHT + 20
        if figure.value is not None and figure.value > 0:
            h = round(figure.value / top * (_HEIGHT - 10))
            parts.append(
                f'<rect x="{x}" y="{base - h}" width="{_BAR_W}" height="{h}" fill="#3b6ea8">'
                f"<title>{_esc(label)}: {_esc(figure.text)}</title></rect>"
            )
        parts.append(
            f'<text x="{x + _BAR_W / 2}" y="{base - 4}"'
            f' font-size="9" text-anchor="middle">{_esc(figure.text)}</text>'
        )
        parts.append(
            f'<text x="{x + _BAR_W / 2}" y="{base + 12}" font-size="9" text-anchor="end"'
            f' transform="rotate(-45 {x + _BAR_W / 2} {base + 12})">{_esc(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  # every text above went through _esc


def _esc(text: str) -> str:
    return str(Markup.escape(text))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Backtest {{ meta.period.from }} to {{ meta.period.to }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:72em}
table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}
td.l,th.l{text-align:left}</style>
</head><body>
<h1>Backtest, {{ meta.period.from }} to {{ meta.period.to }}</h1>
<p>Agreements: <b>{{ meta.agreements }}</b>. Nothing was delivered to any partnership.
Events read: {{ meta.read }}; outside the period: {{ outside.text }}.
{{ suppression }}.</p>
{% for chart in charts %}{{ chart }}{% endfor %}
<h2>Input by month</h2>
<table><tr><th class="l">month</th><th>events</th><th>about a person</th>
<th>joined a known person</th><th>link rate</th></tr>
{% for m in months %}<tr><td class="l">{{ m.month }}</td><td>{{ m.events.text }}</td>
<td>{{ m.about_subjects.text }}</td><td>{{ m.linked.text }}</td>
<td>{{ "%.1f%%"|format(m.link_rate * 100) if m.link_rate is not none else "-" }}</td></tr>
{% endfor %}</table>
<h2>Flags by rule, partnership and month</h2>
<table><tr><th class="l">rule</th><th class="l">partnership</th><th class="l">month</th>
{% for k in kinds %}<th>{{ k }}</th>{% endfor %}
<th>subjects</th><th>permits</th><th>denials</th><th>churn</th></tr>
{% for r in rows %}<tr><td class="l">{{ r.rule or "(unknown)" }}</td>
<td class="l">{{ r.partnership }}</td><td class="l">{{ r.month }}</td>
{% for k in kinds %}<td>{{ r.alerts[k].text }}</td>{% endfor %}<td>{{ r.subjects.text }}</td>
<td>{{ r.decisions.permit.text }}</td><td>{{ r.decisions.deny.text }}</td>
<td>{{ "%.2f"|format(r.churn) if r.churn is not none else "-" }}</td></tr>
{% endfor %}</table>
{% if quarantined %}<h2>Refused at ingest</h2><table>
{% for reason, f in quarantined.items() %}
<tr><td class="l">{{ reason }}</td><td>{{ f.text }}</td></tr>{% endfor %}
</table>{% endif %}
</body></html>
"""


def render_html(report: Report) -> str:
    """The report as one HTML page with inline SVG charts."""
    kinds = [k.value for k in AlertKind]
    charts = [
        bars_svg(f"flags {kind} per month (all rules and partnerships)", report.by_month(kind))
        for kind in (AlertKind.RAISED.value, AlertKind.RETRACTED.value)
    ]
    charts.append(bars_svg("events per month", {m.month: m.events for m in report.months}))
    env = Environment(autoescape=True)
    return env.from_string(_PAGE).render(
        meta=report.meta,
        outside=report.outside,
        suppression=report.to_json()["suppression"],
        charts=charts,
        months=report.months,
        rows=report.rows,
        kinds=kinds,
        quarantined=report.quarantined,
    )


def write_report(report: Report, directory: Path) -> tuple[Path, Path]:
    """``backtest.json`` and ``backtest.html`` under ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    data, page = directory / "backtest.json", directory / "backtest.html"
    data.write_text(json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n", "utf-8")
    page.write_text(render_html(report), "utf-8")
    return data, page
