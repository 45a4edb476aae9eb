"""The agreements and registry shipped in ``deploy/``, read once per test process.

Parsing the twelve agreements (PyYAML's pure-Python loader, then pydantic) takes about 0.17 s.
Four test modules read them at import, so every xdist worker paid that four times while
collecting, and some tests paid it again per test. The models are frozen (pydantic
``frozen=True``, tuples), so one copy is shared read-only. Each cache takes no argument: it
holds one value, its bound. Tests of the loaders themselves call the loaders, not these.
"""

from __future__ import annotations

import functools
from pathlib import Path

from hub.dsa import Agreement, load_directory
from hub.registry import Registry, load_registry

ROOT = Path(__file__).resolve().parents[1]
AGREEMENTS_DIR = ROOT / "deploy" / "agreements"
REGISTRY_PATH = ROOT / "deploy" / "registry.yaml"


@functools.cache
def agreements() -> tuple[Agreement, ...]:
    """The shipped agreements, in file-name order."""
    loaded = load_directory(AGREEMENTS_DIR)
    assert not loaded.problems, loaded.problems
    return tuple(agreement for _, agreement in loaded.agreements)


@functools.cache
def registry() -> Registry:
    """The shipped registry."""
    return load_registry(REGISTRY_PATH)
