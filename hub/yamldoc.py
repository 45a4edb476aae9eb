"""Reading YAML documents, one per file, into frozen pydantic models.

Agreements and rules are both written this way. A problem names the file, the path inside
the document (``data_items.2.fields.0.name``) and what is wrong, so the person fixing the
YAML can go straight to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

SUFFIXES = (".yaml", ".yml")

M = TypeVar("M", bound=BaseModel)


class ParseProblem(BaseModel):
    """One thing wrong with one document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (eight times faster on an agreement;
the same values, since the types are resolved by the same Python resolver), else PyYAML's."""


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml when PyYAML has it.

    A document libyaml refuses is parsed again by PyYAML's own parser, so that what is
    refused, and the problem and place an error names, are PyYAML's as before. A document
    holding a tab is parsed by PyYAML alone: libyaml accepts a tab where PyYAML refuses it
    (``a: <tab>1``), the one difference in what is accepted that ``review21`` found over
    about thirty edge cases. The shipped files hold none.
    """
    if "\t" in text:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506  # a safe loader, C or Python
    except yaml.YAMLError:
        return yaml.safe_load(text)


def parse_document(text: str, source: str, model: type[M]) -> M | list[ParseProblem]:
    """The document as ``model``, or every problem found in it."""
    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        return [ParseProblem(file=source, path=where, message=f"YAML: {problem}")]
    if not isinstance(raw, dict):
        return [ParseProblem(file=source, path="", message="expected a mapping at the top")]
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        return explain(exc, source)


def load_documents(
    directory: Path, model: type[M]
) -> tuple[tuple[tuple[str, M], ...], tuple[ParseProblem, ...]]:
    """Every ``*.yaml``/``*.yml`` file of a directory, sorted by name, parsed or reported.

    The caller checks that ``directory`` is one, so it can raise its own error.
    """
    good: list[tuple[str, M]] = []
    bad: list[ParseProblem] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            bad.append(ParseProblem(file=str(path), path="", message=f"cannot read: {exc}"))
            continue
        result = parse_document(text, str(path), model)
        if isinstance(result, list):
            bad.extend(result)
        else:
            good.append((str(path), result))
    return tuple(good), tuple(bad)


def explain(exc: PydanticValidationError, source: str) -> list[ParseProblem]:
    """One problem per failing leaf; a container that fails only because a child did is dropped."""
    errors = [
        (tuple(str(p) for p in err["loc"]), err["msg"])
        for err in exc.errors(include_input=False, include_url=False)
    ]
    locs = [loc for loc, _ in errors]
    return [
        ParseProblem(file=source, path=".".join(loc), message=msg)
        for loc, msg in errors
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
    ]
