"""The board dashboard in a real browser: a running hub with data, Chromium, the ledger.

A worker processes flagged scenarios for seven young people (six in Reading, one in
Wokingham) and some unsealed junk; then ``hub dashboard`` serves the topics and headless
Chromium (Debian's, through its chromedriver) loads the page. The figures shown must equal
those worked out here from the decisions topic and from what this test sent, suppressed;
no cell may show a count from 1 to 4; the page must load nothing from outside the hub. A
screenshot goes to the test's tmp dir and to ``bench/results/dashboard.png``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hub.config import Settings, settings_env
from hub.crypto.record import Kind
from hub.process import stop_process
from hub.quarantine import QuarantineRecord
from tests.integration.cli import hub
from tests.integration.events import READING_LSOA, STORE, WOKINGHAM_LSOA, items_of
from tests.integration.flows import prepare, scenario, worker
from tests.integration.kafka import consume, produce, read_to_end

if TYPE_CHECKING:
    from aiokafka.structs import ConsumerRecord
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "bench" / "results" / "dashboard.png"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)
JUNK = {"police": 2, "health": 6}


def suppressed(count: int) -> str:
    """The rule, written out again here: 0, <5 for 1 to 4, else the count."""
    return "0" if count == 0 else "<5" if count < 5 else str(count)


async def wait_for_ledger(settings: Settings, timeout_s: float) -> list[bytes]:
    """The decisions once they stop growing and the newest head covers them all."""
    deadline, last = time.monotonic() + timeout_s, -1
    while time.monotonic() < deadline:
        decisions = items_of(await _all(settings, settings.decisions_topic), Kind.DECISIONS)
        heads = [r.value or b"" for r in await _all(settings, settings.heads_topic)]
        ids = {json.loads(v)["decision_id"] for v in decisions}
        if ids and heads and json.loads(heads[-1])["size"] == len(ids) == last:
            return decisions
        last = len(ids)
        await asyncio.sleep(3)
    raise AssertionError("the ledger did not settle under a signed head")


async def _all(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    return await read_to_end(settings, [topic])


def expected_panels(
    decisions: list[bytes], agency_of_event: dict[str, str]
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Flows (agency, partnership) and denials (reason, count) from the raw ledger."""
    seen: set[str] = set()
    flows: dict[tuple[str, str], set[str]] = {}
    denials: dict[tuple[str, str], set[str]] = {}
    for value in decisions:
        record = json.loads(value)
        if record["decision_id"] in seen:
            continue
        seen.add(record["decision_id"])
        for d in record["decisions"]:
            if d["outcome"] == "permit" and record["outcome"] == "permit":
                key = (agency_of_event[d["event_id"]], record["recipient"])
                flows.setdefault(key, set()).add(d["event_id"])
            elif d["outcome"] == "deny":
                key = (d["reasons"][0], "count")
                denials.setdefault(key, set()).add(f"{d['event_id']}|{record['recipient']}")
    return (
        Counter({k: len(v) for k, v in flows.items()}),
        Counter({k: len(v) for k, v in denials.items()}),
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        )
    from selenium import webdriver  # noqa: PLC0415  # only this test needs a browser driver
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def start_dashboard(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``hub dashboard --port 0`` for ``settings``; the process and its URL."""
    env = {**os.environ, **settings_env(settings)}
    code = "import typer; from hub.cli.board import dashboard; typer.run(dashboard)"
    with log.open("wb") as errors:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(  # fixed argument list: this interpreter, our module
            [sys.executable, "-c", code, "--port", "0", "--refresh", "3600"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert found, f"no address from the dashboard: {line!r}; see {log}"
    return proc, found.group(0)


def table(driver: WebDriver, panel: str) -> dict[tuple[str, str], str]:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    cells = driver.find_elements(By.CSS_SELECTOR, f'table[data-panel="{panel}"] td')
    return {(c.get_attribute("data-row"), c.get_attribute("data-col")): c.text for c in cells}


@dataclass(frozen=True)
class Expected:
    """What the page must show, worked out from the topics and from what was sent."""

    entries: int
    flows: Counter[tuple[str, str]]
    denials: Counter[tuple[str, str]]
    rejected: Counter[tuple[str, str]]


async def run_hub(s: Settings, tmp_path: Path) -> Expected:
    """A worker processes seven subjects' scenarios and some junk; the ledger settles."""
    await prepare(s)
    agency_of_event: dict[str, str] = {}
    proc = worker(s, tmp_path / "worker.log")
    try:
        subjects = [(n, READING_LSOA) for n in range(1, 7)] + [(7, WOKINGHAM_LSOA)]
        for subject, lsoa in subjects:
            for agency, message in scenario(s, subject=subject, lsoa=lsoa):
                event_id = STORE.decode(message[0]).record["envelope"]["event_id"]
                agency_of_event[event_id] = agency
                await produce(s, s.feed_topic(agency), [message])
        for agency, count in JUNK.items():
            junk = [(f"junk {n}".encode(), []) for n in range(count)]
            await produce(s, s.feed_topic(agency), junk)
        decisions = await wait_for_ledger(s, timeout_s=150)
        quarantined = await consume(s, [s.quarantine_topic], until=8, timeout_s=30)
    finally:
        assert stop_process(proc) == 0
    flows, denials = expected_panels(decisions, agency_of_event)
    rejected = Counter(
        (r.source.topic.rsplit(".", 1)[-1], r.reason)
        for r in (QuarantineRecord.from_bytes(q.value or b"") for q in quarantined)
    )
    entries = len({json.loads(v)["decision_id"] for v in decisions})
    return Expected(entries, flows, denials, rejected)


def grid(counts: Counter[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Every (row, column) cell of a table of ``counts``, suppressed, zeros included."""
    rows, columns = sorted({r for r, _ in counts}), sorted({c for _, c in counts})
    return {(r, c): suppressed(counts[(r, c)]) for r in rows for c in columns}


def inner(cells: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return {k: v for k, v in cells.items() if "total" not in k}


async def test_the_dashboard_shows_the_ledger_suppressed_in_a_real_browser(
    hub_settings: Settings, tmp_path: Path, browser: WebDriver
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: PLC0415

    s = hub_settings.model_copy(update={"head_interval_s": 1.0})
    expected = await run_hub(s, tmp_path)
    assert max(expected.flows.values()) >= 5, expected.flows  # some flows show exactly
    assert min(expected.flows.values()) < 5, expected.flows  # and some are suppressed
    assert sum(expected.rejected.values()) == sum(JUNK.values())

    dashboard, url = start_dashboard(s, tmp_path / "dashboard.log")
    driver = browser
    try:
        driver.get(url + "?period=all")
        WebDriverWait(driver, 60).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= 4
        )
        flows = table(driver, "flows")
        assert inner(flows) == grid(expected.flows)
        assert flows[("total", "total")] == shown_total(list(expected.flows.values()))
        assert table(driver, "denials") == {
            **grid(expected.denials),
            ("total", "count"): shown_total(list(expected.denials.values())),
        }
        assert inner(table(driver, "quarantine")) == grid(expected.rejected)
        entries = driver.find_element(By.CSS_SELECTOR, 'div.count[data-total="ledger entries"]')
        assert entries.text == suppressed(expected.entries)
        figures = [
            e.text for e in driver.find_elements(By.CSS_SELECTOR, "td.count, td.total, div.count")
        ]
        assert "<5" in figures
        assert not [t for t in figures if re.fullmatch(r"[1-4]", t)]
        assert driver.find_elements(By.CSS_SELECTOR, "#chart-flows .sankey")
        assert driver.find_element(By.ID, "verification-outcome").text.startswith("verified")
        assert not _severe(driver)
        _screenshot(driver, tmp_path / "dashboard.png")

        Select(driver.find_element(By.ID, "preset")).select_by_value("7d")
        driver.find_element(By.ID, "apply").click()
        WebDriverWait(driver, 30).until(lambda d: "period=7d" in d.current_url)
        assert table(driver, "flows") == flows
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        driver.get(f"{url}?from={tomorrow}")
        empty = driver.find_element(By.CSS_SELECTOR, 'p[data-panel="flows"]').text
        assert empty == "Nothing in this period."
    finally:
        assert stop_process(dashboard) == 0
        if dashboard.stdout is not None:
            dashboard.stdout.close()
    report = run_report(s, tmp_path / "report.html")
    assert report["flows"]["rows"] == sorted({a for a, _ in expected.flows})
    shown = {
        (row, column): cell["text"]
        for row, cells in zip(report["flows"]["rows"], report["flows"]["cells"], strict=True)
        for column, cell in zip(report["flows"]["columns"], cells, strict=True)
    }
    assert shown == grid(expected.flows)
    assert report["verification"]["outcome"] == "verified"
    assert (tmp_path / "report.html").stat().st_size > 1_000_000  # plotly.js is inlined


def run_report(settings: Settings, out: Path) -> dict[str, Any]:
    """``hub audit report --out OUT --json`` on the same topics; its JSON."""
    done = hub(settings, "audit", "report", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def shown_total(values: list[int]) -> str:
    """The total the page must show for a one-column table (see hub.board.suppress)."""
    low = sum(v if v >= 5 else 1 for v in values)
    high = sum(v if v >= 5 else 4 for v in values)
    if low == high:
        return str(low)
    return f"<{high + 1}" if low < 5 else f"{low}\u2013{high}"


def _severe(driver: WebDriver) -> list[str]:
    logs = driver.get_log("browser")
    return [e["message"] for e in logs if e["level"] == "SEVERE"]


def _screenshot(driver: WebDriver, path: Path) -> None:
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, int(height) + 40)
    time.sleep(1)  # let plotly's responsive charts redraw at the new size (not an assertion)
    assert driver.save_screenshot(str(path))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOT)
    print(f"dashboard screenshot: {path} and {SCREENSHOT}")  # noqa: T201  # for the note
