"""Sub-commands imported when they are used, so that ``hub worker`` loads no other command.

A command's module imports what the command does (charts, the dashboard's web server, the
backtest, the audit replay); the ``hub`` group names each such command by ``module:attribute``
and imports it the first time the command is looked up (run, completed, or listed in help).
A ``typer.Typer`` attribute becomes a group, as ``add_typer`` would make it; a function
becomes a command, as ``Typer.command`` would.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command, get_group

# The click typer's groups are made of: recent typer vendors it as typer._click, for types only.
if TYPE_CHECKING:
    from typer._click import Command


class _Commands(MutableMapping[str, "Command"]):
    """A group's commands: those built already, then those named by ``module:attribute``."""

    def __init__(
        self,
        built: MutableMapping[str, Command],
        lazy: Mapping[str, str],
        first: tuple[str, ...] = (),
    ):
        self._built = built
        self._lazy = {name: spec for name, spec in lazy.items() if name not in built}
        self._first = first

    def __getitem__(self, name: str) -> Command:
        if name not in self._built and name in self._lazy:
            self._built[name] = load_command(name, self._lazy.pop(name))
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._lazy.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if self._lazy.pop(name, None) is None:
            del self._built[name]

    def __iter__(self) -> Iterator[str]:
        names = [*self._built, *self._lazy]
        yield from [name for name in self._first if name in self]
        yield from [name for name in names if name not in self._first]

    def __len__(self) -> int:
        return len(self._built) + len(self._lazy)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._lazy


def load_command(name: str, spec: str) -> Command:
    """Import ``module:attribute`` and make it the command ``name``."""
    module, _, attribute = spec.partition(":")
    target = getattr(importlib.import_module(module), attribute)
    command: Command
    if isinstance(target, typer.Typer):
        command = get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = get_command(single)
    command.name = name
    return command


def lazy_group(commands: Mapping[str, str], first: tuple[str, ...] = ()) -> type[TyperGroup]:
    """A group class (``typer.Typer(cls=...)``) that adds ``commands`` (name to
    ``module:attribute``), each imported when first looked up. Help lists the ``first``
    names first, then the group's own commands, then the others."""

    class LazyGroup(TyperGroup):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.commands = _Commands(self.commands, commands, first)

    return LazyGroup
