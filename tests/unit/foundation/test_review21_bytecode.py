"""review21: the rewritten pyc ``tests.bytecode`` writes is the one pytest's import hook loads.

``test_bytecode`` checks ``_read_pyc`` on the path ``tests.bytecode`` computes itself; this runs
the hook's own ``exec_module`` (the worker's path) with ``_rewrite_test`` made to fail, so it
fails if the hook looks elsewhere or rewrites anyway (a pytest upgrade): the suite would then
run correct code, only slower, and nothing else would say so.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from _pytest.assertion import rewrite

from tests import bytecode

SOURCE = "def test_one():\n    x = 1\n    assert x == 2\n"


def test_the_hook_loads_the_written_pyc_without_rewriting(
    tmp_path: Path, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "test_review21_sample.py"
    source.write_text(SOURCE)
    bytecode.write_all(pytestconfig, [(True, source)])
    hook = pytestconfig.stash[rewrite.assertstate_key].hook
    assert hook is not None
    spec = hook.find_spec("test_review21_sample", [str(tmp_path)])
    assert spec is not None
    assert spec.loader is hook, "pytest's hook does not take the module"

    def refuse(*_args: object) -> object:
        raise AssertionError("the hook rewrote the module instead of loading the pyc")

    monkeypatch.setattr(rewrite, "_rewrite_test", refuse)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    module = importlib.util.module_from_spec(spec)
    hook.exec_module(module)
    with pytest.raises(AssertionError, match="assert 1 == 2"):
        module.test_one()
