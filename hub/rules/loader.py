"""Reading rules from YAML, one rule version per file.

Parse problems name the file, the path inside the document (``events.2.where.0``) and what
is wrong, so the person fixing the YAML can go straight to it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from hub.errors import RuleError
from hub.rules.model import Rule

SUFFIXES = (".yaml", ".yml")


class ParseProblem(BaseModel):
    """One thing wrong with one rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class LoadedRules(BaseModel):
    """The rules of a directory that parsed, each with its file, and the problems of the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[tuple[str, Rule], ...]
    problems: tuple[ParseProblem, ...]


def parse_rule(text: str, source: str) -> Rule:
    """Parse one YAML document; RuleError lists every problem with its path."""
    result = _parse(text, source)
    if isinstance(result, Rule):
        return result
    raise RuleError("; ".join(str(p) for p in result))


def load_rules(directory: Path) -> LoadedRules:
    """Every ``*.yaml``/``*.yml`` file of a directory, sorted by name, parsed or reported."""
    if not directory.is_dir():
        raise RuleError(f"{directory}: not a directory")
    good: list[tuple[str, Rule]] = []
    bad: list[ParseProblem] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            bad.append(ParseProblem(file=str(path), path="", message=f"cannot read: {exc}"))
            continue
        result = _parse(text, str(path))
        if isinstance(result, Rule):
            good.append((str(path), result))
        else:
            bad.extend(result)
    return LoadedRules(rules=tuple(good), problems=tuple(bad))


def _parse(text: str, source: str) -> Rule | list[ParseProblem]:
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
        return Rule.model_validate(raw)
    except PydanticValidationError as exc:
        return _explained(exc, source)


def _explained(exc: PydanticValidationError, source: str) -> list[ParseProblem]:
    """One problem per failing leaf; a container failing only because a child did is dropped."""
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
