"""Checks on a whole ``schemas/`` tree, for ``hub schemas check`` and for CI.

- every file parses and follows the catalogue's layout;
- each type's versions run 1, 2, … n with no gap;
- each version reads the previous version's data (backward compatible), and the current
  version reads every earlier one (the hub reads all producers with its current schema);
- no version changes the type's subject rule;
- against a published tree: every published version is still there, byte-for-byte the same
  schema (same fingerprint), since producers may still be writing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hub.codec.catalogue import SchemaFile, load_catalogue
from hub.codec.compat import incompatibilities
from hub.codec.single_object import WriterSchema
from hub.errors import ConfigError, SchemaError


def check_tree(root: Path, against: Path | None = None) -> list[str]:
    """Every problem in the tree at ``root`` (and against a published tree); empty when fine."""
    try:
        files = load_catalogue(root)
    except ConfigError as exc:
        return [str(exc)]
    problems = _unparsable(files)
    by_type = _group(files)
    for event_type, versions in sorted(by_type.items()):
        problems += _check_type(event_type, versions)
    if against is not None:
        problems += _check_published(by_type, against)
    return problems


def _group(files: Iterable[SchemaFile]) -> dict[str, dict[int, SchemaFile]]:
    grouped: dict[str, dict[int, SchemaFile]] = {}
    for file in files:
        grouped.setdefault(file.event_type, {})[file.version] = file
    return grouped


def _unparsable(files: Iterable[SchemaFile]) -> list[str]:
    problems = []
    for file in files:
        try:
            WriterSchema.of(file.schema)
        except SchemaError as exc:
            problems.append(f"{file.path}: {exc}")
    return problems


def _check_type(event_type: str, versions: dict[int, SchemaFile]) -> list[str]:
    numbers = sorted(versions)
    if numbers != list(range(1, len(numbers) + 1)):
        listed = ", ".join(f"v{n}" for n in numbers)
        return [f"{event_type}: versions {listed} are not consecutive from v1"]
    problems = []
    current = versions[numbers[-1]]
    for number in numbers[1:]:
        problems += _compare(event_type, versions[number], versions[number - 1])
        if versions[number].subject != versions[number - 1].subject:
            problems.append(f"{event_type} v{number}: changes the subject rule")
    for number in numbers[:-2]:
        problems += _compare(event_type, current, versions[number])
    return problems


def _compare(event_type: str, reader: SchemaFile, writer: SchemaFile) -> list[str]:
    try:
        found = incompatibilities(reader.schema, writer.schema)
    except SchemaError as exc:
        return [f"{event_type} v{reader.version} vs v{writer.version}: cannot compare ({exc})"]
    return [
        f"{event_type} v{reader.version} cannot read v{writer.version} data: {item}"
        for item in found
    ]


def _check_published(proposed: dict[str, dict[int, SchemaFile]], published_root: Path) -> list[str]:
    try:
        published = _group(load_catalogue(published_root))
    except ConfigError as exc:
        return [f"published tree: {exc}"]
    problems = []
    for event_type, versions in sorted(published.items()):
        for number, file in sorted(versions.items()):
            mine = proposed.get(event_type, {}).get(number)
            if mine is None:
                problems.append(f"{event_type} v{number}: published, but removed")
            elif _fingerprint(mine) != _fingerprint(file):
                successor = max(proposed[event_type]) + 1
                problems.append(
                    f"{event_type} v{number}: published schema was changed; "
                    f"publish the change as v{successor} instead"
                )
    return problems


def _fingerprint(file: SchemaFile) -> bytes | None:
    try:
        return WriterSchema.of(file.schema).fingerprint
    except SchemaError:
        return None
