"""Shared fixtures: the embedded broker (one per session) and per-test unique settings.

``make test`` runs the suite with pytest-xdist: each xdist worker is its own pytest session,
so it starts its own broker, and every test gets its own topic prefix and consumer group.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import hub.log
from hub.broker import EmbeddedBroker
from hub.config import Settings
from tests import bytecode
from tests.settings import unique_settings

# Commands run in process configure logging again and again: no logger may be cached under
# one configuration, or structlog's capture_logs in a later test cannot see it (hub.log).
hub.log.CACHE_LOGGERS = False

# Property tests are independent of the machine's load: no per-example deadline, no health
# check on generation speed (a loaded 2-core machine is slow, not wrong). Example counts are
# each test's own; the profile changes only time limits.
settings.register_profile(
    "load-independent",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("load-independent")


def pytest_configure(config: pytest.Config) -> None:
    """Write the bytecode the xdist workers read, before they start (``tests/bytecode.py``)."""
    bytecode.warm(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests so that every xdist worker starts with its share of the long ones.

    A test's ``timeout`` mark is the bound its author gave it, a fair guess at its length (the
    integration tests and the slow ones have one). ``--dist worksteal`` first hands each
    worker one contiguous slice of the list, in order, and an idle worker later steals the
    tail of the longest queue. Sorted longest first, the first worker's slice held every
    integration test and ran them one after another while the others stole them late, so
    the suite ended on a tail of long tests. Dealt round-robin instead (the longest to the
    first worker, the next to the second, ...), each slice starts with its longest tests,
    they overlap from the start, and the short unit tests fill the gaps and the end.
    """

    def bound(item: pytest.Item) -> float:
        mark = item.get_closest_marker("timeout")
        return float(mark.args[0]) if mark is not None and mark.args else 0.0

    items.sort(key=bound, reverse=True)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        items[:] = [item for start in range(workers) for item in items[start::workers]]


@pytest.fixture(autouse=True)
def collector_as_found() -> Iterator[None]:
    """The cyclic collector left as the test found it: enabled or not, its thresholds, and
    nothing frozen that the test froze.

    Code run in process freezes on purpose (``hub.gcpolicy.settle``, the backtest's
    ``chunk_collected``: what a worker or a backtest keeps lives as long as its process). In a
    test process that freeze outlived its test, and every later ``gc.get_freeze_count()``
    walked the frozen objects: a replay called once per entry (``test_lane.py``) took 120 s
    after the backtest tests instead of 1 s.
    """
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    frozen = gc.get_freeze_count() > 0
    yield
    if not frozen and gc.get_freeze_count():
        gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A real Tansu broker on a free loopback port, stopped by the PID we started."""
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as embedded:
        yield embedded


@pytest.fixture
def hub_settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings with a unique topic prefix and consumer group, pointing at the test broker."""
    return unique_settings(broker.url, tmp_path)
