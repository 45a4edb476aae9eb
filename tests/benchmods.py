"""A module of ``bench/`` loaded from its file: ``bench`` is not an installed package, so a
fresh clone's test process cannot import it by name."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.settings import ROOT


def bench_module(name: str) -> ModuleType:
    """``bench/<name>.py``, executed as the module ``bench_<name>``."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
