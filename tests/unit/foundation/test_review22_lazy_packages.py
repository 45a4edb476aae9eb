"""Review of ``suite22``: ``hub.audit``, ``hub.board`` and ``hub.partnership`` made lazy (PEP 562).

A module-level ``__getattr__`` tells mypy that *any* name may be asked of the module: with the
eager imports, ``from hub.audit import Ledgr`` was an ``attr-defined`` error; with the lazy
``__getattr__`` visible to the type checker it is accepted as an ``object``, so a misspelt or
removed public name is no longer caught by ``make types``. The names imported under
``TYPE_CHECKING`` are what mypy should see; the catch-all should be hidden from it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.settings import ROOT

_MISSPELT = """\
from hub.audit import Ledgr
from hub.partnership import forwardd
import hub.board
print(hub.board.rendr)
"""


@pytest.mark.timeout(180)
def test_mypy_still_refuses_a_name_the_lazy_packages_do_not_have(tmp_path: Path) -> None:
    checked = tmp_path / "misspelt.py"
    checked.write_text(_MISSPELT)
    result = subprocess.run(  # this interpreter's mypy, fixed arguments
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), str(checked)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    refused = [line for line in result.stdout.splitlines() if "[attr-defined]" in line]
    assert [line.split(":")[1] for line in refused] == ["1", "2", "4"], result.stdout
