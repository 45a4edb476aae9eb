"""Faults on the real broker with real worker processes: nothing the input implies is lost.

* **Connection loss.** A :class:`~tests.integration.proxy.CutProxy` sits between every client
  and a private Tansu that advertises the proxy. The test cuts every connection and refuses
  new ones for longer than the session timeout, then restores; the same worker process must
  recover by itself.
* **Two workers, one killed.** Two workers share the consumer group; one is SIGKILLed while
  events flow; the survivor must take over its partitions.
* **Partnership consumer down.** A partnership reads with the SDK's ``AlertReader`` (what
  ``hub alerts tail`` uses), goes away while alerts accumulate, and resumes from its last
  sequence number: it gets everything it missed, in order, with no gap;
  ``hub alerts replay --from-seq`` re-sends the same records.

The expected flags come from the pure pipeline (``test_restart.expected_flags``); delivered
flags are counted after the partnership side's de-duplication. Short forms run in
``make test``; the ``soak`` forms repeat them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import time
from contextlib import aclosing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.alerts import AlertRecord
from hub.cli import alerts as alerts_cli
from hub.config import Settings, settings_env
from hub.crypto import Keyring
from hub.partnership import AlertReader, Gap, OpenedAlert, PartnershipKeys, ReadOptions, Rejected
from hub.process import stop_process
from tests.integration.events import READING_LSOA, STORE, accepted_ids
from tests.integration.flows import prepare, scenario, worker
from tests.integration.kafka import produce, read_to_end
from tests.integration.proxy import CutProxy, broker_behind_proxy
from tests.integration.test_restart import (
    LSOAS,
    delivered_flags,
    expected_flags,
    feed_slowly,
)

pytestmark = pytest.mark.integration

SETTLE_S = 120.0
#: Longer than the 6 s session timeout: the group may forget the worker while it is cut off.
REFUSE_S = 9.0

Feed = list[tuple[str, tuple[bytes, list[tuple[str, bytes]]]]]


def events(settings: Settings, subjects: range, lsoas: tuple[str, ...] = LSOAS) -> Feed:
    return [m for n in subjects for m in scenario(settings, n + 1, lsoas[n % len(lsoas)])]


def flags_of(settings: Settings, feed: Feed) -> set[tuple[str, str]]:
    return expected_flags(settings, [(agency, message[0]) for agency, message in feed])


async def send(settings: Settings, feed: Feed) -> None:
    for agency, message in feed:
        await produce(settings, settings.feed_topic(agency), [message])


async def settle(settings: Settings, expected: set[tuple[str, str]]) -> None:
    """Poll the alert topics until the expected flags are there or SETTLE_S passes."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and (await delivered_flags(settings))[0] != expected:  # noqa: ASYNC110  # polls topics another process writes
        await asyncio.sleep(2)


async def first_alert(settings: Settings) -> None:
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and not (await delivered_flags(settings))[0]:  # noqa: ASYNC110  # polls topics another process writes
        await asyncio.sleep(1)


def log_lines(path: Path, event: str) -> list[dict[str, object]]:
    """The worker's JSON log lines for ``event``."""
    lines = path.read_text(errors="replace").splitlines()
    found = []
    for line in lines:
        if line.startswith("{") and f'"{event}"' in line:
            with contextlib.suppress(json.JSONDecodeError):  # a SIGKILLed worker's last line
                found.append(json.loads(line))
    return found


# -- connection loss -------------------------------------------------------------------------


async def cut_and_restore(
    settings: Settings, tmp_path: Path, proxy: CutProxy, refused_s: list[float]
) -> None:
    """Send a batch, then for each cut: send the next batch and cut while it is processed."""
    cuts = len(refused_s)
    chunks = [events(settings, range(6 * n, 6 * n + 6)) for n in range(cuts + 1)]
    feed = [m for chunk in chunks for m in chunk]
    expected = flags_of(settings, feed)
    rng = random.Random()
    proc = worker(settings, tmp_path / "worker.log")
    try:
        await send(settings, chunks[0])
        await first_alert(settings)
        for chunk, refused in zip(chunks[1:], refused_s, strict=True):
            await send(settings, chunk)
            await asyncio.sleep(rng.uniform(0.0, 0.3))  # the batch is in flight: ingest onwards
            proxy.cut()
            await asyncio.sleep(refused)
            assert proc.poll() is None, "the worker died while cut off"
            proxy.restore()
        await settle(settings, expected)
        assert proc.poll() is None, "the worker died after the connection came back"
    finally:
        stop_process(proc)
    delivered, dropped, gaps = await delivered_flags(settings)
    lost = await unaccepted(settings, feed)
    print(  # noqa: T201  # figures for docs/reliability.md
        f"connection loss: {cuts} cuts refusing {', '.join(f'{r:.0f}' for r in refused_s)} s, "
        f"{len(feed)} events, {len(expected)} flags expected, {len(delivered)} delivered, "
        f"{dropped} duplicates dropped, {len(gaps)} gaps, {proxy.connections} connections relayed"
    )
    assert expected, "the scenario must imply flags"
    assert lost == [], f"feed events that never reached the accepted topic: {lost}"
    assert delivered == expected
    assert gaps == []


def connection_loss(hub_settings: Settings, tmp_path: Path, refused_s: list[float]) -> None:
    with broker_behind_proxy(tmp_path / "broker.log") as (url, proxy):
        settings = hub_settings.model_copy(update={"broker_url": url})
        asyncio.run(prepare(settings))
        asyncio.run(cut_and_restore(settings, tmp_path, proxy, refused_s))


@pytest.mark.timeout(300)
def test_worker_recovers_by_itself_after_a_connection_cut(
    hub_settings: Settings, tmp_path: Path
) -> None:
    connection_loss(hub_settings, tmp_path, [REFUSE_S])


@pytest.mark.soak
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_worker_recovers_after_repeated_connection_cuts(
    hub_settings: Settings, tmp_path: Path
) -> None:
    rng = random.Random()
    connection_loss(hub_settings, tmp_path, [rng.uniform(1.0, 15.0) for _ in range(8)])


# -- two workers, one killed -----------------------------------------------------------------


async def kill_one_of_two(settings: Settings, tmp_path: Path, subjects: int) -> None:
    feed = events(settings, range(subjects))
    expected = flags_of(settings, feed)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    chatty = settings.model_copy(update={"log_level": "DEBUG"})  # one line per event
    procs: list[subprocess.Popen[bytes]] = [worker(chatty, log) for log in logs]
    feeding = asyncio.create_task(feed_slowly(settings, feed, spread_s=30))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(  # noqa: ASYNC110  # waits on log files
            log_lines(log, "event_processed") for log in logs
        ):
            await asyncio.sleep(0.5)
        assert all(log_lines(log, "event_processed") for log in logs), "both must be working"
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait(timeout=10)
        await feeding
        await settle(settings, expected)
        assert procs[1].poll() is None, "the survivor died"
    finally:
        feeding.cancel()
        for proc in procs:
            stop_process(proc)
    delivered, dropped, gaps = await delivered_flags(settings)
    lost = await unaccepted(settings, feed)
    survivor = {(r["topic"], r["partition"]) for r in log_lines(logs[1], "event_processed")}
    print(  # noqa: T201  # figures for docs/reliability.md
        f"two workers, one SIGKILLed: {len(feed)} events, {len(expected)} flags expected, "
        f"{len(delivered)} delivered, {dropped} duplicates dropped, {len(gaps)} gaps; survivor "
        f"processed feed partitions {sorted(survivor)}"
    )
    assert expected, "the scenario must imply flags"
    assert lost == [], f"feed events that never reached the accepted topic: {lost}"
    assert delivered == expected, f"missing {sorted(expected - delivered)}"
    assert gaps == []


async def unaccepted(settings: Settings, feed: Feed) -> list[str]:
    """Event ids of ``feed`` absent from the accepted topic, read to its end."""
    accepted = set(accepted_ids(await read_to_end(settings, [settings.accepted_topic])))
    sent = [str(STORE.decode(message[0]).record["envelope"]["event_id"]) for _, message in feed]
    return [event_id for event_id in sent if event_id not in accepted]


@pytest.mark.timeout(300)
def test_survivor_takes_over_when_one_of_two_workers_is_killed(
    hub_settings: Settings, tmp_path: Path
) -> None:
    asyncio.run(prepare(hub_settings))
    asyncio.run(kill_one_of_two(hub_settings, tmp_path, subjects=12))


@pytest.mark.soak
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("round_", range(5))
def test_survivor_takes_over_soak(hub_settings: Settings, tmp_path: Path, round_: int) -> None:
    asyncio.run(prepare(hub_settings))
    asyncio.run(kill_one_of_two(hub_settings, tmp_path, subjects=24))


# -- partnership consumer down ---------------------------------------------------------------

P = "reading"


async def read(reader: AlertReader) -> list[object]:
    """Everything the reader yields until the topic stays quiet."""
    async with aclosing(reader.__aiter__()) as items:  # type: ignore[type-var]  # async generator
        return [item async for item in items]


async def wait_for_flags(settings: Settings, flags: int, keys: PartnershipKeys) -> None:
    """Poll until the partnership's alerts cover ``flags`` distinct flags (or SETTLE_S passes)."""
    deadline = time.monotonic() + SETTLE_S
    seen: set[str] = set()
    while time.monotonic() < deadline and len(seen) < flags:
        reader = AlertReader(settings, keys, options=ReadOptions(idle_s=1.0))
        items = await read(reader)
        seen = {i.body.flag_id for i in items if isinstance(i, OpenedAlert)}
        await asyncio.sleep(1)


async def consumer_down(settings: Settings, tmp_path: Path, rounds: int) -> tuple[int, list[int]]:
    """Run the scenario; the first sequence number missed and the seqs the reader resumed with."""
    keys = PartnershipKeys.from_keyring(Keyring.open(settings.keys_dir), P)
    batches = [events(settings, range(4 * n, 4 * n + 4), (READING_LSOA,)) for n in range(rounds)]
    proc = worker(settings, tmp_path / "worker.log")
    try:
        await send(settings, batches[0])
        first = {f for p, f in flags_of(settings, batches[0]) if p == P}
        await wait_for_flags(settings, len(first), keys)
        # The partnership reads what is there, then goes away.
        reader = AlertReader(settings, keys, options=ReadOptions(idle_s=2.0))
        seen = await read(reader)
        opened = [i for i in seen if isinstance(i, OpenedAlert)]
        got = {a.body.flag_id for a in opened}
        last_seq, next_offset = max(a.seq for a in opened), reader.stats.next_offset
        missed_from = last_seq + 1
        for n in range(1, rounds):
            await send(settings, batches[n])  # alerts pile up while the consumer is down
        everything = [m for batch in batches for m in batch]
        all_flags = {f for p, f in flags_of(settings, everything) if p == P}
        await wait_for_flags(settings, len(all_flags), keys)
    finally:
        stop_process(proc)
    # Back again: resume from the last sequence number it had.
    resumed = AlertReader(
        settings, keys, from_seq=missed_from, options=ReadOptions(next_offset, idle_s=2.0)
    )
    items = await read(resumed)
    alerts = [i for i in items if isinstance(i, OpenedAlert)]
    seqs = [a.seq for a in alerts]
    print(  # noqa: T201  # figures for docs/reliability.md
        f"partnership consumer down: read {len(got)} flags up to seq {last_seq}, then missed "
        f"{len(alerts)} alerts (seq {seqs[:1]}..{seqs[-1:]}), "
        f"{resumed.stats.duplicates} duplicates dropped, {resumed.stats.gaps} gaps"
    )
    assert all_flags > first, "alerts must have accumulated while the consumer was down"
    assert [i for i in items if isinstance(i, Gap | Rejected)] == []
    assert seqs == list(range(missed_from, missed_from + len(seqs)))
    assert got | {a.body.flag_id for a in alerts} == all_flags
    return missed_from, seqs


def replayed_seqs(settings: Settings, from_seq: int) -> list[int]:
    """Sequence numbers that ``hub alerts replay --from-seq`` writes, in order."""
    result = CliRunner().invoke(
        alerts_cli.app,
        ["replay", "--partnership", P, "--from-seq", str(from_seq), "--wait", "1.5"],
        env=settings_env(settings),
    )
    assert result.exit_code == 0, result.output
    records = [AlertRecord.from_json(json.loads(line)) for line in result.stdout.splitlines()]
    metas = [r.meta() for r in records]
    return [m.seq for m in metas if not m.is_heartbeat and m.seq is not None]


@pytest.mark.timeout(240)
def test_partnership_consumer_resumes_from_its_last_seq_gap_free(
    hub_settings: Settings, tmp_path: Path
) -> None:
    asyncio.run(prepare(hub_settings))
    missed_from, seqs = asyncio.run(consumer_down(hub_settings, tmp_path, rounds=2))
    assert replayed_seqs(hub_settings, missed_from) == seqs


@pytest.mark.soak
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_partnership_consumer_down_for_many_rounds(hub_settings: Settings, tmp_path: Path) -> None:
    asyncio.run(prepare(hub_settings))
    missed_from, seqs = asyncio.run(consumer_down(hub_settings, tmp_path, rounds=6))
    assert replayed_seqs(hub_settings, missed_from) == seqs
