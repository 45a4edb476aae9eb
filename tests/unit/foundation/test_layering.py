"""The domain library never imports faust: only agents/ may."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import hub

ROOT = Path(__file__).resolve().parents[3]


def test_no_hub_module_imports_faust() -> None:
    modules = [
        m.name
        for m in pkgutil.walk_packages(hub.__path__, "hub.")
        if not m.name.endswith("__main__")
    ]
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'faust' or m.startswith('faust.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""
