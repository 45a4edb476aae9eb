"""A loopback TCP proxy that can cut every connection and refuse new ones for a while.

It runs its own asyncio loop in a thread, so a test can block (wait for processes, sleep)
without stalling the traffic it relays. Kafka clients learn broker addresses from metadata,
so the broker behind it must advertise the proxy's address (:func:`broker_behind_proxy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

from hub.broker import LOOPBACK, broker_binary, free_port, wait_for_port
from hub.process import stop_process

CHUNK = 64 * 1024


class CutProxy:
    """Relays ``LOOPBACK:port`` to ``LOOPBACK:target_port`` until told to cut."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.port = port or free_port()
        self.target_port = target_port
        self.cuts = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()

    def start(self) -> CutProxy:
        """Start the loop thread and listen."""
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        """Close every relayed connection and stop accepting: connections are refused."""
        self._call(self._cut())
        self.cuts += 1

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        self._call(self._listen())

    def stop(self) -> None:
        """Cut everything, end the loop thread and close its loop."""
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def _call(self, coro: object) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]  # a coroutine
        future.result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, LOOPBACK, self.port, reuse_address=True
        )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, as a dropped network would give
        self._writers.clear()
        # A relay still connecting to the broker holds sockets no writer set knows yet: end
        # it here, so no socket outlives the loop (an unclosed one is a ResourceWarning).
        relays = list(self._relays)
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        relay = asyncio.current_task()
        assert relay is not None  # a server callback runs in a task
        self._relays.add(relay)
        broker_w: asyncio.StreamWriter | None = None
        try:
            broker_r, broker_w = await asyncio.open_connection(LOOPBACK, self.target_port)
            self._writers |= {client_w, broker_w}
            await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))
        except OSError:
            pass  # the broker is unreachable: the client sees its connection reset
        finally:
            for writer in (client_w, broker_w):
                if writer is not None:
                    writer.transport.abort()
                    self._writers.discard(writer)
            self._relays.discard(relay)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@contextlib.contextmanager
def broker_behind_proxy(log: Path) -> Iterator[tuple[str, CutProxy]]:
    """A fresh Tansu on a private port that advertises a :class:`CutProxy` in front of it.

    Yields the broker URL to give clients (the proxy's) and the proxy. The session broker
    cannot be used: it advertises its own address, so clients would bypass any proxy after
    their first metadata request.
    """
    port = free_port()
    proxy = CutProxy(port).start()
    args = [
        str(broker_binary()),
        "broker",
        "--listener-url",
        f"tcp://{LOOPBACK}:{port}",
        "--advertised-listener-url",
        f"tcp://{LOOPBACK}:{proxy.port}",
        "--storage-engine",
        "memory://tansu/",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(  # fixed argument list, our own binary path
            args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port(LOOPBACK, port, 10)
        yield f"kafka://{LOOPBACK}:{proxy.port}", proxy
    finally:
        proxy.stop()
        stop_process(proc)
