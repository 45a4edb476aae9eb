"""Backward compatibility: can a new reader schema read data written with an old one?

Follows the Avro specification's schema-resolution rules:

- records match by full name (or a reader alias); a reader field absent from the writer needs a
  default; writer fields the reader dropped are skipped;
- enums match by name; writer symbols the reader lacks need a reader enum ``default``;
- fixed types match by name and size; arrays and maps by their items and values;
- a writer union needs every branch readable; a reader union needs one branch that reads
  the writer's type;
- primitives match exactly or by promotion (int → long, float, double; long → float, double;
  float → double; string ↔ bytes).

One rule is stricter than the spec: a changed ``logicalType`` on the same underlying type
(``timestamp-millis`` → ``timestamp-micros``) is refused, because the bytes still decode but
their meaning changes silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema

from hub.codec.fingerprint import Schema
from hub.errors import IncompatibleSchemaError, SchemaError

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a reader cannot read a writer's data: where (a field path) and why."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.problem}"


def incompatibilities(reader: Schema, writer: Schema) -> list[Incompatibility]:
    """Every way ``reader`` fails to read data written with ``writer`` (empty when compatible).

    Raises SchemaError when either schema does not parse.
    """
    reader_names: dict[str, Any] = {}
    writer_names: dict[str, Any] = {}
    try:
        parsed_reader = parse_schema(reader, named_schemas=reader_names, _write_hint=False)
        parsed_writer = parse_schema(writer, named_schemas=writer_names, _write_hint=False)
    except Exception as exc:  # fastavro's parser raises assorted types; translated once, here
        raise SchemaError(f"schema does not parse: {exc}") from exc
    walk = _Comparison(reader_names, writer_names, set())
    walk.compare(parsed_reader, parsed_writer, "")
    return walk.found


def check_backward(label: str, reader: Schema, writer: Schema) -> None:
    """Raise IncompatibleSchemaError naming ``label``, each field and why, when incompatible."""
    found = incompatibilities(reader, writer)
    if found:
        raise IncompatibleSchemaError(f"{label}: " + "; ".join(str(i) for i in found))


class _Comparison:
    """One reader/writer walk over parsed schemas, with each side's named types."""

    def __init__(
        self, reader_names: dict[str, Any], writer_names: dict[str, Any], seen: set[Any]
    ) -> None:
        self._reader_names = reader_names
        self._writer_names = writer_names
        self._seen: set[tuple[str, str]] = seen
        self.found: list[Incompatibility] = []

    def _flag(self, path: str, problem: str) -> None:
        self.found.append(Incompatibility(path, problem))

    def compare(self, reader: Any, writer: Any, path: str) -> None:
        reader = _deref(reader, self._reader_names)
        writer = _deref(writer, self._writer_names)
        if isinstance(writer, list):
            for branch in writer:
                self.compare(reader, branch, path)
        elif isinstance(reader, list):
            if not any(self._readable(branch, writer) for branch in reader):
                self._flag(path, f"no branch of the reader's union reads {_kind(writer)}")
        elif _kind(reader) != _kind(writer):
            self._compare_kinds(reader, writer, path)
        else:
            self._compare_same(reader, writer, path)

    def _readable(self, reader: Any, writer: Any) -> bool:
        trial = _Comparison(self._reader_names, self._writer_names, set(self._seen))
        trial.compare(reader, writer, "")
        return not trial.found

    def _compare_kinds(self, reader: Any, writer: Any, path: str) -> None:
        if _kind(reader) in PROMOTIONS.get(_kind(writer), set()):
            return
        self._flag(path, f"type changed from {_kind(writer)} to {_kind(reader)}")

    def _compare_same(self, reader: Any, writer: Any, path: str) -> None:
        kind = _kind(reader)
        if _logical(reader) != _logical(writer):
            self._flag(path, f"logical type changed from {_logical(writer)} to {_logical(reader)}")
        if kind in PRIMITIVES:
            return
        if kind in ("record", "enum", "fixed") and not _names_match(reader, writer):
            self._flag(path, f"{kind} name changed from {writer['name']} to {reader['name']}")
            return
        if kind == "record":
            self._compare_records(reader, writer, path)
        elif kind == "enum":
            self._compare_enums(reader, writer, path)
        elif kind == "fixed" and reader["size"] != writer["size"]:
            self._flag(path, f"fixed size changed from {writer['size']} to {reader['size']}")
        elif kind in ("array", "map"):
            part = "items" if kind == "array" else "values"
            self.compare(reader[part], writer[part], f"{path}[]")

    def _compare_records(self, reader: Any, writer: Any, path: str) -> None:
        pair = (reader["name"], writer["name"])
        if pair in self._seen:  # a recursive type already being compared
            return
        self._seen.add(pair)
        by_name = {field["name"]: field for field in writer["fields"]}
        for field in reader["fields"]:
            names = [field["name"], *field.get("aliases", [])]
            source = next((by_name[n] for n in names if n in by_name), None)
            where = f"{path}.{field['name']}" if path else field["name"]
            if source is not None:
                self.compare(field["type"], source["type"], where)
            elif "default" not in field:
                self._flag(where, "field added without a default")

    def _compare_enums(self, reader: Any, writer: Any, path: str) -> None:
        removed = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if removed and "default" not in reader:
            self._flag(path, f"enum symbols {removed} removed and the reader's enum has no default")


def _deref(schema: Any, names: dict[str, Any]) -> Any:
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return names[schema]
    return schema


def _kind(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return str(schema["type"])


def _logical(schema: Any) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    namespace = reader["name"].rpartition(".")[0]
    aliases = {
        a if "." in a or not namespace else f"{namespace}.{a}" for a in reader.get("aliases", [])
    }
    return bool(reader["name"] == writer["name"] or writer["name"] in aliases)
