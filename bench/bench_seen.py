"""The de-duplication table's cost per event in faust: a row per event or a row per record.

Run: ``.venv/bin/python -m bench.bench_seen [--records N] [--batch B] [--rounds R]``. Starts
the embedded broker, then for each shape of ``bench.seen_floor`` (interleaved, ``R`` rounds)
a faust process that reads ``N`` batch records of ``B`` events, writes the ``seen-events``
table and forwards each record; prints µs per event and per record. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.seen_floor import SHAPES
from bench.stack import ROOT, prepare_phase, producer
from hub.broker import EmbeddedBroker
from hub.config import Settings, load_settings, settings_env
from hub.crypto import SigningKey, create_dev_keyring
from hub.crypto.batchrecord import encode_batch_record
from hub.runtime import load_registry_from

WARMUP = 20


def records(count: int, batch: int) -> list[tuple[bytes, bytes]]:
    """``count`` (key, batch record) pairs of ``batch`` 200-byte events (not real events)."""
    key = SigningKey.generate()
    out = []
    for n in range(count):
        events = [n.to_bytes(4, "big") + i.to_bytes(4, "big") + bytes(192) for i in range(batch)]
        out.append((f"k{n}".encode(), encode_batch_record(events, key, "police")))
    return out


async def run_shape(
    base: Settings, shape: str, name: str, load: list[tuple[bytes, bytes]]
) -> float:
    """Seconds the shape's process took for ``load`` after its warm-up."""
    phase = await prepare_phase(base, name, base.state_dir)
    phase.workdir.mkdir(parents=True, exist_ok=True)
    topic = phase.settings.feed_topic("police")
    argv = ["bench.seen_floor", shape, str(WARMUP), str(len(load) - WARMUP)]
    with (phase.workdir / "floor.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *argv,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, **settings_env(phase.settings)},
        )
        try:
            async with producer(phase.endpoint) as out:
                for key, value in load[:WARMUP]:
                    await out.send(topic, value, key=key)
                await _line_with(proc, b"warm")
                started = time.time()
                for key, value in load[WARMUP:]:
                    await out.send(topic, value, key=key)
                line = await _line_with(proc, b"{")
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            await asyncio.wait_for(proc.wait(), 30)
    return float(json.loads(line[line.index(b"{") :])["finished"]) - started


async def _line_with(proc: asyncio.subprocess.Process, marker: bytes) -> bytes:
    assert proc.stdout is not None  # noqa: S101  # stdout=PIPE
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 300)
        if not line:
            raise RuntimeError(f"the floor exited ({proc.returncode}) before {marker!r}")
        if marker in line:
            return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=220)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = ROOT / ".hub" / "bench-seen"
    workdir.mkdir(parents=True, exist_ok=True)
    load = records(args.records + WARMUP, args.batch)
    timed_events = args.records * args.batch
    with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
        base = load_settings(deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas")
        base = base.model_copy(
            update={
                "broker_url": broker.url,
                "kafka_security_protocol": "PLAINTEXT",
                "keys_dir": workdir / "keys",
                "state_dir": workdir,
                "log_format": "json",
            }
        )
        create_dev_keyring(base.keys_dir, load_registry_from(base), datetime.now(UTC))
        print(f"{args.records} records of {args.batch} events, {time.strftime('%Y-%m-%d')}")
        for round_ in range(args.rounds):
            for shape in SHAPES:
                took = asyncio.run(run_shape(base, shape, f"{shape}-{round_}", load))
                print(
                    f"{shape:<16} round {round_}: {took / timed_events * 1e6:7.1f} µs/event"
                    f" {took / args.records * 1e3:8.2f} ms/record"
                    f" {timed_events / took:10,.0f} events/s"
                )


if __name__ == "__main__":
    main()
