"""The simulated hub run most audit test modules read, built once per session (per xdist
worker) exactly as each module built its own: ``simulated(keys, 3_000)``, its events seeded,
its ids from development keys made for it. No test changes it (each copies the ledger or the
source it changes), so sharing it keeps every check and saves a build (about a second and a
half of CPU) per module."""

from __future__ import annotations

import pytest

from tests.unit.audit.simulated import Simulator, simulated

SHARED_DECISIONS = 3_000


@pytest.fixture(scope="session")
def shared_small(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    """A simulator that has recorded :data:`SHARED_DECISIONS` decisions (read it, never
    change it: copy what a test changes)."""
    return simulated(tmp_path_factory.mktemp("keys"), SHARED_DECISIONS)
