"""A backtest across processes reports exactly what one process reports, byte for byte.

The load is the demo's generator over three months of a 3,000-row sample (5,000 until the
nineteenth session: the same kinds of alert, refusals and cross-process ids are met, and the
shares' settling of ids and the merge of linked counts, each left out, still fail it), decided
by today's agreements with one ending and one starting inside the period (``loads.changed``),
with consent given and withdrawn by the voluntary sector about people its engagement events
concern, a few event ids an agency sealed for two subjects (one source reference reused), so
that de-duplication crosses processes, and a message that is not an event.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.agency import FeedMessage as SealedMessage
from hub.backtest import Backtest, BacktestSetup, Report
from hub.backtest.batches import single_events
from hub.backtest.plan import Sealed
from hub.backtest.render import write_report
from hub.backtest.shards import BacktestProcessError, ShardedBacktest, share_of
from hub.backtest.sources import Sealer, first_police_csv
from hub.cli import app
from hub.codec import SchemaStore
from hub.config import Settings, settings_env
from hub.crypto import Keyring
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.source import SourceEvent
from tests.unit.backtest.loads import PERIOD, changed, dying, failing
from tests.unit.backtest.test_backtest import ROOT, sample_settings
from tests.unit.consent.builders import consent_body

PROCESSES = 3
REUSED = 8
"""Source references reused for a second subject, per month."""


@pytest.fixture(scope="module", autouse=True)
def importable() -> Iterator[None]:
    """The processes import the set-up function from this module (by its name, spawned)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(ROOT))
        yield


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("shards"), rows=3000)


@pytest.fixture(scope="module")
def chunks(settings: Settings) -> list[list[Sealed]]:
    sealer = Sealer(settings, Keyring.open(settings.keys_dir))
    police_csv = first_police_csv(settings.data_dir)
    out = []
    for n, month in enumerate(PERIOD.months()):
        start = datetime.combine(month, datetime.min.time(), UTC)
        police = list(police_events(police_csv, sealer.areas, sealer.store, rebase_to=start))
        partners = list(partner_events(police, sealer.registry, sealer.store, seed=2018 + n))
        out.append(sealer.seal([*police, *partners, *_consents(partners), *_reused(police)]))
    out[1].insert(100, ("police", SealedMessage(b"k", b"not an event", ())))  # refused, counted
    return out


def _consents(events: list[SourceEvent]) -> list[SourceEvent]:
    """Consent given before every other engagement's person's engagement; every third of
    those withdrawn ten days later."""
    out: list[SourceEvent] = []
    engaged = [e for e in events if e.event_type == "voluntary.engagement" and e.person]
    for n, event in enumerate(engaged[::2]):
        for kind, days in (("consent.given", -2), ("consent.withdrawn", 10))[: 1 + (n % 3 == 0)]:
            at = event.occurred_at + timedelta(days=days)
            body = consent_body(kind, f"c-{event.source_ref}")
            ref = f"{event.source_ref}|{kind}"
            out.append(replace(event, event_type=kind, occurred_at=at, fields=body, source_ref=ref))
    return out


def _reused(police: list[SourceEvent]) -> list[SourceEvent]:
    """Events sealed under the source reference (so the event id) of another person's."""
    people = [e for e in police if e.person is not None]
    return [
        replace(a, person=b.person) for a, b in zip(people[:REUSED], people[-REUSED:], strict=True)
    ]


def _one(settings: Settings, chunks: list[list[Sealed]]) -> Backtest:
    runner = Backtest(changed(settings), PERIOD)
    for chunk in chunks:
        runner.feed(chunk)
    return runner


def _split(
    settings: Settings, chunks: list[list[Sealed]], processes: int
) -> tuple[ShardedBacktest, Report]:
    store = SchemaStore.load(settings.schemas_dir)
    load = functools.partial(changed, settings)
    with ShardedBacktest(load, store, PERIOD, processes, daily=False) as runner:
        for chunk in chunks:
            runner.feed(chunk)
        return runner, runner.finish({"refused_at_source": {}})


def test_a_run_across_processes_reports_what_one_process_reports(
    settings: Settings, chunks: list[list[Sealed]], tmp_path: Path
) -> None:
    one = _one(settings, chunks)
    split, report = _split(settings, chunks, PROCESSES)
    counts = one.tally
    kinds = {kind for alerts in counts.alerts.values() for kind, n in alerts.items() if n}
    assert {"flag.raised", "flag.updated", "flag.retracted"} <= kinds
    assert counts.quarantined == {"duplicate_event": REUSED * len(chunks), "decode_error": 1}
    assert counts.outside  # events of the months' edges, counted by the command's process
    shares = {share_of(k, PROCESSES) for k in _reused_keys(settings, chunks)}
    assert len(shares) > 1  # some reused ids are met in two processes
    assert split.tally == counts  # every exact count
    assert (split.rescans, split.unrecorded) == (one.rescans, one.unrecorded)
    assert 0 < one.unrecorded < one.rescans
    assert len(split.shares) == PROCESSES
    assert all(share.tally.events for share in split.shares)  # each ran a share
    a, b = tmp_path / "one", tmp_path / "split"
    write_report(one.finish({"refused_at_source": {}}), a)
    write_report(report, b)
    for name in ("backtest.json", "backtest.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def _reused_keys(settings: Settings, chunks: list[list[Sealed]]) -> list[str]:
    """The keys of the messages whose event id another message has too."""
    store = SchemaStore.load(settings.schemas_dir)
    by_id: dict[str, list[str]] = {}
    for chunk in chunks:
        for message in (m for _, record in chunk for m in single_events(record)):
            if message.value == b"not an event":
                continue
            envelope = store.decode(message.value).record["envelope"]
            by_id.setdefault(str(envelope["event_id"]), []).append(message.key.decode())
    return [k for keys in by_id.values() if len(keys) > 1 for k in keys]


@pytest.mark.parametrize(
    ("load", "says"),
    [
        (failing, "backtest process 0 failed: ConfigError: no deployment here"),
        (dying, "backtest process 0 stopped (exit code 3)"),
    ],
)
def test_a_process_that_fails_stops_the_run_clearly(
    settings: Settings,
    chunks: list[list[Sealed]],
    load: Callable[[Settings], BacktestSetup],
    says: str,
) -> None:
    load_one = functools.partial(load, settings)
    with pytest.raises(BacktestProcessError, match=re.escape(says)):
        _run(load_one, SchemaStore.load(settings.schemas_dir), chunks)


def _run(load: Callable[[], BacktestSetup], store: SchemaStore, chunks: list[list[Sealed]]) -> None:
    """Feed a run and finish it (a process that fails says so at one or the other)."""
    with ShardedBacktest(load, store, PERIOD, 1, daily=False) as run:
        for chunk in chunks:
            run.feed(chunk)
        run.finish()


def test_the_command_writes_the_same_files_across_processes(tmp_path: Path) -> None:
    """The command's wiring: a month of a small sample (the run across processes is compared
    with one process's in depth above, on a larger load)."""
    env = settings_env(sample_settings(tmp_path / "deployment", rows=2000))
    for processes in ("1", "2"):
        out = tmp_path / processes
        command = ["backtest", "--from", "2026-09-01", "--to", "2026-09-30", "--demo"]
        options = ["--processes", processes, "--out", str(out)]
        result = CliRunner().invoke(app, [*command, *options], env=env)
        assert result.exit_code == 0, result.output
    for name in ("backtest.json", "backtest.html"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
    rows = json.loads((tmp_path / "2" / "backtest.json").read_text())["rows"]
    assert any(row["alerts"]["flag.raised"]["value"] != 0 for row in rows)  # flags were raised
