"""``hub.audit``, ``hub.board`` and ``hub.partnership`` import each public name when it is first
used (PEP 562), so that a process pays for what it uses: the ledger agent in every worker loads
no replay, history or report; ``hub audit verify``, which needs only the partnership keys, no
webhook client (aiohttp); a backtest process that tallies and renders, no dashboard. Every
public name is still there, and is the object its module defines (docs/testing.md, "Where the
time goes")."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types

import pytest

from tests.settings import ROOT

PACKAGES = ("hub.audit", "hub.board", "hub.partnership")

_CODE = """
import json, sys
loaded = {}
import hub.audit, hub.board, hub.partnership
loaded["packages"] = sorted(sys.modules)
from hub.audit import DECISIONS_KINDS, HeadChain, Ledger, TreeHead
loaded["ledger agent"] = sorted(sys.modules)
from hub.partnership import load_hub_keys
loaded["partnership keys"] = sorted(sys.modules)
from hub.board.suppress import THRESHOLD, Figure, cell, total
loaded["backtest tally"] = sorted(sys.modules)
print(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """The modules loaded after each step of ``_CODE``, in a fresh interpreter."""
    result = subprocess.run(  # this interpreter, fixed code
        [sys.executable, "-c", _CODE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    steps: dict[str, list[str]] = json.loads(result.stdout)
    return steps


def _under(modules: list[str], *prefixes: str) -> list[str]:
    return [m for m in modules if m in prefixes or m.startswith(tuple(f"{p}." for p in prefixes))]


def test_importing_the_packages_loads_none_of_their_modules(loaded: dict[str, list[str]]) -> None:
    assert set(PACKAGES) <= set(loaded["packages"])
    assert _under(loaded["packages"], *PACKAGES) == sorted(PACKAGES)
    assert _under(loaded["packages"], "aiohttp", "plotly", "jinja2") == []


def test_the_ledger_agent_loads_no_replay_history_or_report(loaded: dict[str, list[str]]) -> None:
    modules = loaded["ledger agent"]
    assert "hub.audit.ledger" in modules
    heavy = ("hub.audit.replay", "hub.audit.history", "hub.audit.report", "hub.audit.rederive")
    assert _under(modules, *heavy) == []


def test_the_partnership_keys_load_no_webhook_client(loaded: dict[str, list[str]]) -> None:
    modules = loaded["partnership keys"]
    assert "hub.partnership.keys" in modules
    assert _under(modules, "aiohttp", "hub.partnership.webhook", "hub.partnership.forward") == []


def test_the_backtest_tally_loads_no_dashboard(loaded: dict[str, list[str]]) -> None:
    modules = loaded["backtest tally"]
    assert "hub.board.suppress" in modules
    board = ("hub.board.page", "hub.board.inputs", "hub.board.facts", "hub.board.summary")
    assert _under(modules, *board, "plotly", "jinja2") == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_its_module_s_object(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        value = getattr(module, name)
        defined_in = importlib.import_module(module._DEFINED_IN[name])  # the map under test
        assert value is getattr(defined_in, name), name
        assert name in dir(module)
    assert set(module._DEFINED_IN) == set(module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name
    with pytest.raises(ImportError):
        exec(f"from {package} import no_such_name")  # noqa: S102  # fixed text, the import statement under test


def test_forward_is_the_function_after_its_module_is_imported() -> None:
    """``hub.partnership.forward`` names both a module and the function it defines: the
    package's name is the function's, whichever is imported first, as when imported eagerly."""
    forward_module = importlib.import_module("hub.partnership.forward")
    import hub.partnership  # noqa: PLC0415  # after its submodule, on purpose

    assert isinstance(forward_module, types.ModuleType)
    assert hub.partnership.forward is forward_module.forward
    assert isinstance(hub.partnership.forward, types.FunctionType)
    from hub.partnership import forward  # noqa: PLC0415  # the import statement under test

    assert forward is forward_module.forward
