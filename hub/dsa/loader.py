"""Reading agreement documents from YAML, one agreement version per file.

Parse errors name the file, the path inside the document (``data_items.2.fields.0.name``)
and what is wrong, so the person fixing the YAML can go straight to it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hub.dsa.document import Agreement
from hub.errors import AgreementError
from hub.yamldoc import SUFFIXES, ParseProblem, load_documents, parse_document

__all__ = [
    "SUFFIXES",
    "Loaded",
    "ParseProblem",
    "load_agreement",
    "load_directory",
    "parse_agreement",
]


class Loaded(BaseModel):
    """The agreements of a directory that parsed, and the problems of those that did not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreements: tuple[tuple[str, Agreement], ...]
    problems: tuple[ParseProblem, ...]


def parse_agreement(text: str, source: str) -> Agreement:
    """Parse one YAML document; AgreementError lists every problem with its path."""
    result = parse_document(text, source, Agreement)
    if isinstance(result, Agreement):
        return result
    raise AgreementError("; ".join(str(p) for p in result))


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
    agreements, problems = load_documents(directory, Agreement)
    return Loaded(agreements=agreements, problems=problems)
