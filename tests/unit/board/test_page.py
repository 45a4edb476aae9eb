"""The rendered page: charts by plotly, no network, and no count from 1 to 4 anywhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hub.board import Chooser, Period, build_board, plotly_js, render
from tests.unit.board.builders import START
from tests.unit.board.test_summary import ledger, sources


class Cells(HTMLParser):
    """Texts of every table cell and headline figure."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        self._open = tag in {"td", "div"} and bool({"count", "total"} & set(classes))

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts.append(data.strip())
            self._open = False


def cells(html: str) -> list[str]:
    parser = Cells()
    parser.feed(html)
    return parser.texts


def test_the_report_inlines_plotly_and_shows_every_panel() -> None:
    html = render(build_board(sources(ledger()), Period(), START))
    assert plotly_js()[:200] in html
    assert "<script src=" not in html
    for panel in (
        "totals",
        "flows",
        "denials",
        "flags",
        "agreements",
        "quarantine",
        "verification",
    ):
        assert f'id="{panel}"' in html
    assert 'id="chart-flows"' in html
    assert '"type":"sankey"' in html.replace(" ", "")


def test_the_dashboard_loads_plotly_from_the_hub_and_offers_a_period_chooser() -> None:
    html = render(build_board(sources(ledger()), Period(), START), chooser=Chooser("30d"))
    assert '<script src="/plotly.min.js">' in html
    assert plotly_js()[:200] not in html
    assert '<option value="30d" selected>' in html
    assert not re.search(r"""src=["']https?:""", html)


def test_no_cell_shows_a_count_from_one_to_four() -> None:
    texts = cells(render(build_board(sources(ledger()), Period(), START)))
    assert "<5" in texts
    assert "7" in texts
    assert not [t for t in texts if re.fullmatch(r"[1-4]", t)]
