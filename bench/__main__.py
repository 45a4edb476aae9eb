"""``python -m bench``: run every benchmark in turn; each prints its own figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    """Run each ``bench_*`` module's ``main()``."""
    here = Path(__file__).resolve().parent
    for module in sorted(m.name for m in pkgutil.iter_modules([str(here)])):
        if not module.startswith("bench_"):
            continue
        print(f"\n== {module} ==", flush=True)
        bench = importlib.import_module(f"bench.{module}")
        sys.argv = [module]
        bench.main()


if __name__ == "__main__":
    main()
