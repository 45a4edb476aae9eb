"""Reading rules from YAML, one rule version per file.

Parse problems name the file, the path inside the document (``events.2.where.0``) and what
is wrong, so the person fixing the YAML can go straight to it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hub.errors import RuleError
from hub.rules.model import Rule
from hub.yamldoc import SUFFIXES, ParseProblem, load_documents, parse_document

__all__ = ["SUFFIXES", "LoadedRules", "ParseProblem", "load_rules", "parse_rule"]


class LoadedRules(BaseModel):
    """The rules of a directory that parsed, each with its file, and the problems of the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[tuple[str, Rule], ...]
    problems: tuple[ParseProblem, ...]


def parse_rule(text: str, source: str) -> Rule:
    """Parse one YAML document; RuleError lists every problem with its path."""
    result = parse_document(text, source, Rule)
    if isinstance(result, Rule):
        return result
    raise RuleError("; ".join(str(p) for p in result))


def load_rules(directory: Path) -> LoadedRules:
    """Every ``*.yaml``/``*.yml`` file of a directory, sorted by name, parsed or reported."""
    if not directory.is_dir():
        raise RuleError(f"{directory}: not a directory")
    rules, problems = load_documents(directory, Rule)
    return LoadedRules(rules=rules, problems=problems)
