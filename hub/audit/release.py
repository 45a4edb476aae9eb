"""Replaying an SNA release: count again from the accepted topic and compare.

A release record (:mod:`hub.sna.release`) names its query: the period, the area level and the
accepted-topic cut-off it was counted to. Replay counts the same events again below that
cut-off, under the agreements the switch markers had put in force where each was accepted,
protects the figures again, and compares the digest of the figures, the number counted, what
was left out, and the agreements that permitted. Any difference is a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hub.audit.history import History
from hub.audit.mismatch import Mismatch
from hub.dsa import Evaluator
from hub.geo import AreaLookup
from hub.registry import Registry
from hub.sna import CountContext, Query, count, is_release_record, rederive


def release_record(value: bytes) -> dict[str, Any] | None:
    """The release record a ledger entry holds, or None when it holds a decision."""
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return raw if is_release_record(raw) and isinstance(raw.get("decision_id"), str) else None


class ReleaseReplayer:
    """Re-derives release records from the history."""

    def __init__(self, history: History, registry: Registry, areas: AreaLookup) -> None:
        self._history = history
        self._context = CountContext(areas, registry, self._evaluator)
        self._registry = registry
        self._built: dict[int, Evaluator] = {}

    def _evaluator(self, partition: int, offset: int) -> Evaluator:
        sequence = self._history.sequence_at(partition, offset)
        if sequence not in self._built:
            self._built[sequence] = Evaluator(self._history.book.up_to(sequence), self._registry)
        return self._built[sequence]

    def compare(self, recorded: Mapping[str, Any]) -> list[Mismatch]:
        """Every difference between the recorded release and the one counted again."""
        decision_id = str(recorded["decision_id"])
        try:
            query = Query.from_json(recorded["query"])
        except (KeyError, TypeError, ValueError):
            return [Mismatch(decision_id, "query", recorded.get("query"), "a readable query")]
        events = self._history.located()
        counted = count(events, query.period, query.cutoff, self._context)
        derived = rederive(recorded, counted, self._history.book)
        return [
            Mismatch(decision_id, name, recorded.get(name), value)
            for name, value in derived.items()
            if recorded.get(name) != value
        ]
