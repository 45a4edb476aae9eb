"""The board page as a Jinja2 template (autoescaped); :mod:`hub.board.page` fills it in."""

# ruff: noqa: E501  # HTML template text: its lines follow the markup, not Python's width

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>VRU hub: board {{ kind }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 2rem;
       color: #1b1b1b; }
header p { color: #555; margin: .2rem 0; }
section { border-top: 1px solid #ddd; padding: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: .6rem 0; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; }
td.count, td.total { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.total, th.total { font-weight: 600; background: #f4f4f4; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
.card .count { font-size: 1.6rem; font-weight: 600; }
.overdue { background: #fde0dc; } .due-soon { background: #fff4ce; }
.verified { color: #0a6b2a; } .failed { color: #b00020; } .not-checked { color: #8a6d00; }
.note { color: #555; font-size: .85rem; }
.panel { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.panel .chart { flex: 3 1 560px; min-width: 0; }
.panel .figures { flex: 1 1 280px; overflow-x: auto; }
form.period { display: flex; gap: .6rem; align-items: end; flex-wrap: wrap; }
form.period label { display: flex; flex-direction: column; font-size: .85rem; }
</style>
{% if plotly_inline %}<script>{{ plotly_inline }}</script>
{% else %}<script src="{{ plotly_src }}"></script>{% endif %}
</head>
<body>
<header>
<h1>VRU hub: board {{ kind }}</h1>
<p>Period: <strong id="period">{{ board.period.label }}</strong>.
Drawn {{ board.generated_at.strftime("%Y-%m-%d %H:%M UTC") }} from the audit ledger, the
agreements and the quarantine topic. Read-only.</p>
<p class="note">Aggregates only. Counts from 1 to 4 are shown as &lt;5; a total over suppressed
cells is the range those cells allow (for example 12&ndash;18, or &lt;9).</p>
{% if chooser %}
<form class="period" method="get" action="/">
<label>Period <select name="period" id="preset">
{% for name in presets %}<option value="{{ name }}"{% if name == preset %} selected{% endif %}>{{ name }}</option>{% endfor %}
</select></label>
<label>or from <input type="date" name="from" value="{{ start }}"></label>
<label>to <input type="date" name="to" value="{{ end }}"></label>
<button type="submit" id="apply">Show</button>
</form>
{% endif %}
</header>

<section id="totals"><h2>Totals</h2>
<div class="cards">{% for name, figure in board.totals.items() %}
<div class="card"><div class="count" data-total="{{ name }}">{{ figure.text }}</div>{{ name }}</div>
{% endfor %}</div>
{% if board.unreadable %}<p class="note">{{ board.unreadable }} records could not be read and are not counted.</p>{% endif %}
</section>

<section id="flows"><h2>Flows from agency to partnership</h2>
<p class="note">Distinct events disclosed by each agency to each partnership. Flows under 5
are not drawn in the diagram.</p>
<div class="panel"><div class="chart">{{ charts.flows }}</div>
<div class="figures">{{ table(board.flows, "flows", "agency / partnership") }}</div></div>
</section>

<section id="denials"><h2>Denials by reason</h2>
<p class="note">Distinct events refused to a partnership, by the first reason in evaluation order.</p>
<div class="panel"><div class="chart">{{ charts.denials }}</div>
<div class="figures">{{ table(board.denials, "denials", "reason") }}</div></div>
</section>

<section id="flags"><h2>Flags by rule and severity</h2>
<p class="note">Distinct flags, on the day of their first decision in the period, at the highest severity recorded.</p>
<div class="panel"><div class="chart">{{ charts.flags }}</div>
<div class="figures">{{ table(board.flags, "flags", "rule / severity") }}</div></div>
</section>

<section id="agreements"><h2>Agreements</h2>
{% if board.agreements %}<table data-panel="agreements">
<tr><th>agreement</th><th>version</th><th>title</th><th>status</th><th>effective</th><th>review date</th><th>review</th></tr>
{% for a in board.agreements %}
<tr class="{{ a.review | replace(' ', '-') }}"><td>{{ a.agreement_id }}</td><td>{{ a.version }}</td><td>{{ a.title }}</td>
<td>{{ a.status }}</td><td>{{ a.effective_from }}{% if a.effective_to %} to {{ a.effective_to }}{% endif %}</td>
<td>{{ a.review_date }}</td><td>{{ a.review }}</td></tr>
{% endfor %}</table>
{% else %}<p>No agreement has been published.</p>{% endif %}
</section>

<section id="quarantine"><h2>Quarantine by agency and reason</h2>
{% if board.quarantine is none %}<p>The quarantine topic was not read (an exported ledger has none).</p>
{% else %}<div class="panel"><div class="chart">{{ charts.quarantine }}</div>
<div class="figures">{{ table(board.quarantine, "quarantine", "agency / reason") }}</div></div>{% endif %}
</section>

<section id="verification"><h2>Latest audit verification</h2>
{% set v = board.verification %}
<p class="{{ v.outcome | replace(' ', '-') }}" id="verification-outcome"><strong>{{ v.outcome }}</strong>
at {{ v.checked_at.strftime("%Y-%m-%d %H:%M:%S UTC") }}.</p>
{% if v.ok %}<p>{{ v.entries }} ledger entries; {{ v.heads }} signed tree heads, the newest of
size {{ v.signed_size }}{% if v.last_head_at %} signed {{ v.last_head_at.strftime("%Y-%m-%d %H:%M:%S UTC") }}{% endif %};
{{ v.unsealed }} entries not yet under a signed head.<br><span class="note">root {{ v.signed_root }}</span></p>
{% else %}<p>{{ v.error }} {{ v.detail }}</p>{% endif %}
</section>
</body>
</html>
"""

TABLE = """{% macro table(t, panel, corner) -%}
{% if not t.rows %}<p data-panel="{{ panel }}" class="empty">Nothing in this period.</p>
{% else %}<table data-panel="{{ panel }}">
<tr><th>{{ corner }}</th>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}{% if t.columns | length > 1 %}<th class="total">total</th>{% endif %}</tr>
{% for r in t.rows %}<tr><th>{{ r }}</th>{% for c in t.columns %}<td class="count" data-row="{{ r }}" data-col="{{ c }}">{{ t.at(r, c).text }}</td>{% endfor %}
{% if t.columns | length > 1 %}<td class="total" data-row="{{ r }}" data-col="total">{{ t.row_total(r).text }}</td>{% endif %}</tr>
{% endfor %}<tr><th class="total">total</th>{% for c in t.columns %}<td class="total" data-row="total" data-col="{{ c }}">{{ t.column_total(c).text }}</td>{% endfor %}
{% if t.columns | length > 1 %}<td class="total" data-row="total" data-col="total">{{ t.grand_total.text }}</td>{% endif %}</tr>
</table>{% endif %}
{%- endmacro %}"""
