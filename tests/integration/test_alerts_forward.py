"""``hub alerts forward`` and ``replay`` to a real local HTTP server, from the real broker."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.alerts import AlertRecord, Heartbeat, OpenedAlert, open_alert
from hub.cli import alerts as alerts_cli
from hub.config import Settings, settings_env
from hub.crypto import HUB, Keyring, partnership_owner
from tests.integration.test_alerts_reader import P, publish, stream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SECRET = b"webhook-shared-secret-for-tests"


@dataclass
class Receiver:
    """What the webhook saw, and the statuses it answers with (then 200)."""

    script: list[int] = field(default_factory=list)
    accepted: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            status = self.script.pop(0) if self.script else 200
            self.statuses.append(status)
            if status == 200:
                self.accepted.append((body, headers))
            return status


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.answer(body, dict(self.headers.items()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # stdlib's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(alerts_cli.app, list(args), env=settings_env(settings))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def forward_args(url: str, secret_file: Path) -> list[str]:
    return ["forward", "--partnership", P, "--url", url, "--secret-file", str(secret_file),
            "--no-follow", "--wait", "1.5"]  # fmt: skip


def opened(settings: Settings, received: list[tuple[bytes, dict[str, str]]]) -> list[object]:
    """Check each request's HMAC, then open its record with the partnership's key."""
    keyring = Keyring.open(settings.keys_dir)
    private, hub_keys = keyring.hpke_key(partnership_owner(P)), keyring.verify_keys(HUB)
    items: list[object] = []
    for body, headers in received:
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-VRU-Signature"], expected)
        record = AlertRecord.from_json(json.loads(body))
        items.append(open_alert(record, P, private, hub_keys))
    return items


def seqs(items: list[object]) -> list[int]:
    return [i.seq for i in items if isinstance(i, OpenedAlert)]


def test_forward_retries_5xx_and_delivers_each_alert_once_in_order(
    hub_settings: Settings, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    state, url = receiver
    state.script = [500, 500]
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET + b"\n")
    asyncio.run(publish(hub_settings, stream(hub_settings)))

    code, output = run_cli(hub_settings, *forward_args(url, secret_file))
    assert code == 0, output
    assert state.statuses == [500, 500, 200, 200, 200, 200, 200]
    items = opened(hub_settings, state.accepted)
    assert seqs(items) == [1, 2, 4, 5]
    assert [i.last_seq for i in items if isinstance(i, Heartbeat)] == [6]
    saved = json.loads((hub_settings.state_dir / f"forward-{P}.json").read_text())
    assert (saved["last_seq"], saved["next_offset"]) == (5, 6)

    code, output = run_cli(hub_settings, *forward_args(url, secret_file))
    assert code == 0, output
    assert len(state.accepted) == 5  # a second run finds nothing new to send


def test_forward_stops_on_4xx_and_a_restart_resumes_from_its_state_file(
    hub_settings: Settings, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    state, url = receiver
    state.script = [200, 200, 422]
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    asyncio.run(publish(hub_settings, stream(hub_settings)))

    code, output = run_cli(hub_settings, *forward_args(url, secret_file))
    assert code == 1
    assert "seq 4" in output
    assert "HTTP 422" in output
    saved = json.loads((hub_settings.state_dir / f"forward-{P}.json").read_text())
    assert saved["last_seq"] == 2

    code, output = run_cli(hub_settings, *forward_args(url, secret_file))
    assert code == 0, output
    items = opened(hub_settings, state.accepted)
    assert seqs(items) == [1, 2, 4, 5]
    assert state.statuses == [200, 200, 422, 200, 200, 200]


def test_replay_prints_records_from_seq_unchanged(hub_settings: Settings) -> None:
    records = stream(hub_settings)
    asyncio.run(publish(hub_settings, records))
    code, output = run_cli(hub_settings, "replay", "--partnership", P, "--from-seq", "2",
                           "--to-seq", "4", "--wait", "1.5")  # fmt: skip
    assert code == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    replayed = [AlertRecord.from_json(doc) for doc in lines]
    assert replayed == [records[1], records[2], records[3]]  # 2, its duplicate, 4: bytes unchanged


def test_replay_posts_to_a_webhook(
    hub_settings: Settings, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    state, url = receiver
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    asyncio.run(publish(hub_settings, stream(hub_settings)))
    args = ["--from-seq", "4", "--url", url, "--secret-file", str(secret_file), "--wait", "1.5"]
    code, output = run_cli(hub_settings, "replay", "--partnership", P, *args)
    assert code == 0, output
    assert seqs(opened(hub_settings, state.accepted)) == [4, 5]
