"""Reading agreement documents from YAML, one agreement version per file.

Parse errors name the file, the path inside the document (``data_items.2.fields.0.name``)
and what is wrong, so the person fixing the YAML can go straight to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from hub.dsa.document import Agreement
from hub.errors import AgreementError

SUFFIXES = (".yaml", ".yml")


class ParseProblem(BaseModel):
    """One thing wrong with one document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class Loaded(BaseModel):
    """The agreements of a directory that parsed, and the problems of those that did not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreements: tuple[tuple[str, Agreement], ...]
    problems: tuple[ParseProblem, ...]


def parse_agreement(text: str, source: str) -> Agreement:
    """Parse one YAML document; AgreementError lists every problem with its path."""
    problems = _problems(text, source)
    if isinstance(problems, Agreement):
        return problems
    raise AgreementError("; ".join(str(p) for p in problems))


def load_agreement(path: Path) -> Agreement:
    """Read and parse one agreement file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgreementError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_agreement(text, str(path))


def load_directory(directory: Path) -> Loaded:
    """Every ``*.yaml``/``*.yml`` file of a directory, sorted by name, parsed or reported."""
    if not directory.is_dir():
        raise AgreementError(f"{directory}: not a directory")
    good: list[tuple[str, Agreement]] = []
    bad: list[ParseProblem] = []
    for path in _agreement_files(directory.iterdir()):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            bad.append(ParseProblem(file=str(path), path="", message=f"cannot read: {exc}"))
            continue
        result = _problems(text, str(path))
        if isinstance(result, Agreement):
            good.append((str(path), result))
        else:
            bad.extend(result)
    return Loaded(agreements=tuple(good), problems=tuple(bad))


def _agreement_files(paths: Iterable[Path]) -> list[Path]:
    return sorted(p for p in paths if p.is_file() and p.suffix in SUFFIXES)


def _problems(text: str, source: str) -> Agreement | list[ParseProblem]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        return [ParseProblem(file=source, path=where, message=f"YAML: {problem}")]
    if not isinstance(raw, dict):
        return [ParseProblem(file=source, path="", message="expected a mapping at the top")]
    try:
        return Agreement.model_validate(raw)
    except PydanticValidationError as exc:
        return _explained(exc, source)


def _explained(exc: PydanticValidationError, source: str) -> list[ParseProblem]:
    """One problem per failing leaf; a container that fails only because a child did is dropped."""
    errors = [(tuple(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]
    locs = [loc for loc, _ in errors]
    return [
        ParseProblem(file=source, path=".".join(loc), message=msg)
        for loc, msg in errors
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
    ]
