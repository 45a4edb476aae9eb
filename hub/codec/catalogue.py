"""Reading the ``schemas/`` tree: one Avro record per ``.avsc``, namespaced and versioned.

Layout::

    schemas/envelope.v1.avsc             record uk.gov.vru.Envelope
    schemas/<family>/<name>.v<N>.avsc    record uk.gov.vru.events.<family>.<Name>
                                         (event type <family>.<name>)

An event record's first field is ``envelope`` of type ``uk.gov.vru.Envelope``; the file names
the envelope by reference and :func:`load_catalogue` inlines it (version ``envelope_version``,
default 1), so every writer schema is self-contained and its fingerprint covers the envelope.
Each record carries its ``version`` and its ``subject`` rule (``required`` or ``forbidden``)
as custom attributes; fields may carry ``sensitivity``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hub.errors import ConfigError

ENVELOPE_NAME = "uk.gov.vru.Envelope"
EVENT_NAMESPACE = "uk.gov.vru.events"
SENSITIVITIES = ("normal", "special_category", "criminal_offence")
SUBJECT_RULES = ("required", "forbidden")
_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>[1-9]\d*)\.avsc$")

SubjectRule = Literal["required", "forbidden"]


@dataclass(frozen=True, slots=True)
class SchemaFile:
    """One version of one event type, with the envelope inlined."""

    event_type: str
    version: int
    subject: SubjectRule
    schema: dict[str, Any]
    path: Path


def load_catalogue(root: Path) -> list[SchemaFile]:
    """Every event schema version under ``root``, sorted by type then version; or ConfigError."""
    if not root.is_dir():
        raise ConfigError(f"{root}: schemas directory not found")
    envelopes = {v: s for v, s, _ in _versioned(root.glob("envelope.v*.avsc"))}
    if not envelopes:
        raise ConfigError(f"{root}: no envelope.v<N>.avsc")
    files = []
    for family_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for version, schema, path in _versioned(family_dir.glob("*.avsc")):
            files.append(_event_file(family_dir.name, version, schema, path, envelopes))
    if not files:
        raise ConfigError(f"{root}: no event schemas")
    return sorted(files, key=lambda f: (f.event_type, f.version))


def _versioned(paths: Any) -> list[tuple[int, dict[str, Any], Path]]:
    found = []
    for path in sorted(paths):
        match = _FILE.match(path.name)
        if match is None:
            raise ConfigError(f"{path}: file name must be <name>.v<N>.avsc")
        schema = _read_json(path)
        version = int(match["version"])
        if schema.get("version") != version:
            raise ConfigError(f'{path}: record must carry "version": {version}')
        found.append((version, schema, path))
    return found


def _read_json(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read schema: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise ConfigError(f"{path}: must hold exactly one Avro record")
    return schema


def _event_file(
    family: str, version: int, schema: dict[str, Any], path: Path, envelopes: dict[int, Any]
) -> SchemaFile:
    name = path.name.split(".")[0]
    if schema.get("namespace") != f"{EVENT_NAMESPACE}.{family}":
        raise ConfigError(f"{path}: namespace must be {EVENT_NAMESPACE}.{family}")
    subject = schema.get("subject")
    if subject not in SUBJECT_RULES:
        raise ConfigError(f'{path}: "subject" must be one of {SUBJECT_RULES}')
    fields = schema.get("fields")
    if not isinstance(fields, list) or not fields or fields[0].get("type") != ENVELOPE_NAME:
        raise ConfigError(f"{path}: first field must be envelope of type {ENVELOPE_NAME}")
    envelope_version = schema.get("envelope_version", 1)
    if envelope_version not in envelopes:
        raise ConfigError(f"{path}: no envelope version {envelope_version}")
    for field in fields:
        if field.get("sensitivity", "normal") not in SENSITIVITIES:
            raise ConfigError(f"{path}: field {field.get('name')!r} has an unknown sensitivity")
    expanded = copy.deepcopy(schema)
    expanded["fields"][0]["type"] = copy.deepcopy(envelopes[envelope_version])
    return SchemaFile(f"{family}.{name}", version, subject, expanded, path)
