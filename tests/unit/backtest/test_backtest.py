"""Backtests: the flags the live path would have raised, counted in event time, suppressed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.backtest import Backtest, BacktestInputError, BacktestSetup, Period, Policy, Tally
from hub.backtest.batches import single_events
from hub.backtest.plan import Sealed
from hub.backtest.render import render_html, write_report
from hub.backtest.sources import Sealer, demo_months, first_police_csv, police_file
from hub.cli import app
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import Keyring, create_dev_keyring
from hub.feeds.sample import write_sample_data
from hub.quarantine import SourceRef
from hub.registry import load_registry
from tests.unit.backtest.live import LivePath

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # keys made before the period; agreements all signed by July
PERIOD = Period(date(2026, 9, 1), date(2026, 10, 31))


def sample_settings(root: Path, rows: int) -> Settings:
    """The shipped deployment, a dev keyring made at T0 and ``rows`` rows of sample data."""
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    create_dev_keyring(root / "keys", registry, T0)
    return Settings(
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        data_dir=write_sample_data(root / "data", registry, rows=rows),
        keys_dir=root / "keys",
        partitions=2,
    )


def demo_chunks(settings: Settings, period: Period) -> list[list[Sealed]]:
    """The demo's months of ``period``, sealed as the agencies send them."""
    sealer = Sealer(settings, Keyring.open(settings.keys_dir))
    return list(demo_months(sealer, first_police_csv(settings.data_dir), period))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("backtest"), rows=700)


@pytest.fixture(scope="module")
def chunks(settings: Settings) -> list[list[Sealed]]:
    return demo_chunks(settings, PERIOD)


@pytest.fixture(scope="module")
def dated(settings: Settings, chunks: list[list[Sealed]]) -> Backtest:
    """The period's run under the dated agreements (read only)."""
    runner = Backtest(BacktestSetup.load(settings, Policy.DATED, PERIOD, T0), PERIOD)
    for chunk in chunks:
        runner.feed(chunk)
    return runner


def _alerts(tally: Tally) -> Counter[tuple[str, str, str, str]]:
    return Counter(
        {(*key, kind): n for key, kinds in tally.alerts.items() for kind, n in kinds.items() if n}
    )


def test_a_backtest_raises_what_the_live_path_raises_at_those_times(
    settings: Settings, chunks: list[list[Sealed]], dated: Backtest
) -> None:
    runner = dated
    live = LivePath(settings)
    store = SchemaStore.load(settings.schemas_dir)
    n = 0
    for chunk in chunks:
        timed = []
        singles = [(agency, m) for agency, record in chunk for m in single_events(record)]
        for i, (agency, message) in enumerate(singles):  # one event a message, with its seal
            envelope = store.decode(message.value).record["envelope"]
            if PERIOD.contains(envelope["recorded_at"]):
                timed.append((envelope["recorded_at"], envelope["event_id"], i, agency, message))
        for at, _, _, agency, message in sorted(timed, key=lambda t: t[:3]):
            n += 1
            live.take(agency, message, at, n)
    found = _alerts(runner.tally)
    assert sum(n for k, n in found.items() if k[3] == "flag.raised") > 0  # the feed raises flags
    assert found == +live.alerts
    decisions = Counter(
        {(*key, o): n for key, outs in runner.tally.decisions.items() for o, n in outs.items() if n}
    )
    assert decisions == +live.decisions
    assert not runner.tally.quarantined


def test_dated_agreements_before_they_were_signed_raise_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    early = Period(date(2023, 3, 1), date(2023, 4, 30))
    sealer = Sealer(settings, Keyring.open(settings.keys_dir))
    chunks = list(demo_months(sealer, first_police_csv(settings.data_dir), early))
    dated = Backtest(BacktestSetup.load(settings, Policy.DATED, early, T0), early)
    today = datetime(2026, 11, 1, tzinfo=UTC)  # every shipped agreement in force
    current = Backtest(BacktestSetup.load(settings, Policy.CURRENT, early, today), early)
    for chunk in chunks:
        dated.feed(chunk)
        current.feed(chunk)
    assert not any(outcomes["permit"] for outcomes in dated.tally.decisions.values())
    assert not any(k[3] == "flag.raised" for k in _alerts(dated.tally))
    assert any(k[3] == "flag.raised" for k in _alerts(current.tally))


def test_the_report_suppresses_small_numbers(dated: Backtest, tmp_path: Path) -> None:
    report = dated.finish()
    data, page = write_report(report, tmp_path)
    document = json.loads(data.read_text())
    figures = _figures(document)
    assert figures, "the report has figures"
    assert all(f["value"] is None or f["value"] == 0 or f["value"] >= 5 for f in figures)
    assert any(f["text"] == "<5" for f in figures)  # small counts exist, and are hidden
    for row in document["rows"]:
        if row["churn"] is not None:
            assert row["alerts"]["flag.raised"]["value"] >= 5
    html = page.read_text()
    assert "<svg" in html
    assert "<script" not in html


def test_a_rate_is_given_only_from_exact_counts() -> None:
    tally = Tally()
    tally.events["2026-09"] = 40
    tally.about_subjects["2026-09"] = 3
    tally.linked["2026-09"] = 2
    for _ in range(3):
        tally.alert(("r", "p", "2026-09"), "flag.raised", "tok")
    report = tally.report({"period": {"from": "a", "to": "b"}, "agreements": "dated", "read": 40})
    (month,) = report.months
    assert month.link_rate is None
    assert month.linked.text == "<5"
    (row,) = report.rows
    assert row.alerts["flag.raised"].text == "<5"
    assert row.churn is None
    assert "&lt;5" in render_html(report)  # escaped HTML for <5


def _figures(node: object) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        if set(node) == {"text", "value"}:
            return [node]
        return [f for v in node.values() for f in _figures(v)]
    if isinstance(node, list):
        return [f for v in node for f in _figures(v)]
    return []


@pytest.mark.parametrize(
    ("first", "last", "says"),
    [
        ("2022-13-01", "2022-12-31", "--from '2022-13-01' is not a date"),
        ("2022-01-01", "31/12/2022", "--to '31/12/2022' is not a date"),
        ("2022-06-01", "2022-05-31", "is after --to"),
    ],
)
def test_bad_dates_are_refused_clearly(first: str, last: str, says: str) -> None:
    with pytest.raises(BacktestInputError, match=says):
        Period.parse(first, last)
    result = CliRunner().invoke(app, ["backtest", "--from", first, "--to", last, "--demo"])
    assert result.exit_code == 1
    assert says in result.output


def test_an_unreadable_file_is_refused_clearly(settings: Settings, tmp_path: Path) -> None:
    sealer = Sealer(settings, Keyring.open(settings.keys_dir))
    with pytest.raises(BacktestInputError, match="cannot read"):
        list(police_file(sealer, tmp_path / "missing.csv", partners=False))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(BacktestInputError, match="cannot read"):
        list(police_file(sealer, binary, partners=False))


def test_a_messages_source_is_the_one_built_afresh(settings: Settings) -> None:
    """Each message's source is its agency's first copied with another offset: equal to one
    built in full, and no earlier one changed."""
    runner = Backtest(BacktestSetup.load(settings, Policy.DATED, PERIOD, T0), PERIOD)
    wanted = [("police", 1), ("police", 2), ("health", 3), ("police", 4), ("health", 5)]
    made = [runner._source(agency, offset) for agency, offset in wanted]
    built = [SourceRef(topic=f"backtest.{a}", partition=0, offset=n) for a, n in wanted]
    assert made == built
    assert [m.position for m in made] == [b.position for b in built]
    assert [m.model_dump() for m in made] == [b.model_dump() for b in built]
    assert [m.model_fields_set for m in made] == [b.model_fields_set for b in built]
