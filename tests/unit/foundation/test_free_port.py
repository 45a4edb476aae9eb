"""``free_port`` gives a port below the kernel's ephemeral range, where no outgoing connection
can take it before the server that asked binds it (a worker's health server once lost its port
that way in a loaded ``make test``)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hub import broker
from hub.broker import LISTEN_PORTS_FROM, ephemeral_start, free_port


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((broker.LOOPBACK, port))
        except OSError:
            return False
        return True


def test_a_port_below_the_ephemeral_range_that_is_free() -> None:
    for _ in range(20):
        port = free_port()
        assert LISTEN_PORTS_FROM <= port < ephemeral_start()
        assert _bindable(port)


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as spare:
        spare.bind((broker.LOOPBACK, 0))
        free = spare.getsockname()[1]  # free again once closed
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind((broker.LOOPBACK, 0))
        held.listen()
        taken = held.getsockname()[1]
        tried: list[int] = []
        tries = iter([taken, taken, free])

        def pick(*_: int) -> int:
            tried.append(next(tries))
            return tried[-1]

        monkeypatch.setattr(broker.random, "randrange", pick)
        monkeypatch.setattr(broker, "ephemeral_start", lambda: 65536)
        assert free_port() == free
    assert tried == [taken, taken, free]


def test_no_room_below_the_range_falls_back_to_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker, "ephemeral_start", lambda: LISTEN_PORTS_FROM)
    port = free_port()
    assert _bindable(port)


def test_the_range_is_read_from_the_kernel_or_defaults(tmp_path: Path) -> None:
    given = tmp_path / "range"
    given.write_text("40000\t60999\n")
    assert ephemeral_start(given) == 40000
    given.write_text("")
    assert ephemeral_start(given) == 32768
    assert ephemeral_start(tmp_path / "missing") == 32768
