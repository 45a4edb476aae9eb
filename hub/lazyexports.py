"""A package's public names imported from their modules on first use (PEP 562).

``hub.audit``, ``hub.board`` and ``hub.partnership`` name many things from many modules; a
process that needs one (a worker's ledger agent, ``hub audit verify``, a spawned backtest
process) should not import the rest. Each package lists where its names are defined and takes
its module ``__getattr__`` and ``__dir__`` from :func:`lazy_exports`, under ``if not
TYPE_CHECKING`` (mypy reads a module ``__getattr__`` as "every name exists", and should see
the names imported under ``TYPE_CHECKING`` instead).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping


def lazy_exports(
    package: str, defined_in: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: a name of ``defined_in`` is imported
    from its module the first time it is asked for, then kept on the package."""
    public = frozenset(names)

    def attribute(name: str) -> object:
        try:
            module = defined_in[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # found there directly from now on
        return value

    def listing() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return attribute, listing
