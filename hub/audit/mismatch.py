"""One difference replay found between a recorded decision and what it re-derived."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One field where the recorded decision and the re-derived one differ."""

    decision_id: str
    field: str
    recorded: Any
    derived: Any

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "decision_id": self.decision_id,
            "field": self.field,
            "recorded": self.recorded,
            "derived": self.derived,
        }
