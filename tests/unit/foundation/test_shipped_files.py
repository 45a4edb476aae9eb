"""``tests/shipped.py`` hands every test the shipped files as the loaders read them, once."""

from __future__ import annotations

from hub.dsa import load_directory
from hub.registry import load_registry
from tests import shipped


def test_the_shared_agreements_are_what_the_loader_reads_now() -> None:
    fresh = load_directory(shipped.AGREEMENTS_DIR)
    assert shipped.agreements() == tuple(a for _, a in fresh.agreements)
    assert len(shipped.agreements()) == len(list(shipped.AGREEMENTS_DIR.glob("*.yaml")))


def test_the_shared_registry_is_what_the_loader_reads_now() -> None:
    assert shipped.registry() == load_registry(shipped.REGISTRY_PATH)


def test_each_is_read_once_and_held_as_one_value() -> None:
    assert shipped.agreements() is shipped.agreements()
    assert shipped.registry() is shipped.registry()
    assert shipped.agreements.cache_info().currsize == 1
    assert shipped.registry.cache_info().currsize == 1
