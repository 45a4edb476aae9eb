"""``python -m bench``: run every benchmark in turn; each prints its own figures.

A benchmark that fails is reported and the others still run; the exit status is 1 if any
failed, naming them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def main() -> None:
    """Run each ``bench_*`` module's ``main()``."""
    here = Path(__file__).resolve().parent
    failed: list[str] = []
    for module in sorted(m.name for m in pkgutil.iter_modules([str(here)])):
        if not module.startswith("bench_"):
            continue
        print(f"\n== {module} ==", flush=True)
        started = time.perf_counter()
        sys.argv = [module]
        try:
            importlib.import_module(f"bench.{module}").main()
        except Exception:  # noqa: BLE001  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(module)
        print(f"({module}: {time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
