"""Writing a backtest report: ``backtest.json`` and a self-contained ``backtest.html``.

The page draws its charts as inline SVG (no script, no network) from shown figures only: an
exact figure is a bar; a range (a total over suppressed cells, shown as ``76-127``) is a
solid bar to its low bound and a pale one to its high bound, the two bounds its text gives;
a ``<5`` cell is a solid bar to 1 and a pale one to 4. Each bar is labelled with its text.
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
    """A bar per label, drawn from what each figure shows (its bounds), labelled with its text."""
    top = max((f.high for f in values.values()), default=0) or 1
    width = max(_PAD * 2 + len(values) * (_BAR_W + _GAP), 480)
    base = _HEIGHT + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT + 70}"'
        f' role="img" aria-label="{_esc(title)}">',
        f'<text x="{_PAD}" y="14" font-size="12">{_esc(title)}</text>',
    ]
    for i, (label, figure) in enumerate(values.items()):
        x = _PAD + i * (_BAR_W + _GAP)
        low = round(figure.low / top * (_HEIGHT - 10))
        high = round(figure.high / top * (_HEIGHT - 10))
        tip = f"<title>{_esc(label)}: {_esc(figure.text)}</title>"
        if high > low:
            parts.append(
                f'<rect x="{x}" y="{base - high}" width="{_BAR_W}" height="{high - low}"'
                f' fill="#b9cde5">{tip}</rect>'
            )
        if low > 0:
            parts.append(
                f'<rect x="{x}" y="{base - low}" width="{_BAR_W}" height="{low}"'
                f' fill="#3b6ea8">{tip}</rect>'
            )
        parts.append(
            f'<text x="{x + _BAR_W / 2}" y="{base - high - 3}" font-size="9"'
            f' text-anchor="middle">{_esc(figure.text)}</text>'
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
