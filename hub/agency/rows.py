"""Reading an agency's export file: CSV with a header row, or JSON Lines; one dict per row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from hub.errors import ConfigError, DecodeError

FileFormat = Literal["csv", "jsonl"]

Row = tuple[int, dict[str, Any] | DecodeError]
"""A 1-based line number (the data line: a CSV's header is line 1) and the row or its error."""


def guess_format(path: Path) -> FileFormat:
    """``csv`` or ``jsonl`` from the file name; ConfigError when it says neither."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ConfigError(f"{path.name}: cannot tell the format from the name; give --format")


def read_rows(path: Path, fmt: FileFormat) -> Iterator[Row]:
    """Every row of the file, in order; unreadable lines come back as DecodeError."""
    return _csv_rows(path) if fmt == "csv" else _jsonl_rows(path)


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line = reader.line_num
            if None in row:
                yield line, DecodeError("row has more cells than the header")
            else:
                yield line, {k: v for k, v in row.items() if k is not None}


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            yield line, _json_object(text)


def _json_object(text: str) -> dict[str, Any] | DecodeError:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return DecodeError("line is not valid JSON")
    if not isinstance(value, dict):
        return DecodeError("line is not a JSON object")
    return value
