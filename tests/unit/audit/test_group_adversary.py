"""The grouped lane against entries rewritten to look quiet, and hostile text in a form."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest

from hub.audit.answer import Forms
from hub.audit.group import Dispatches
from hub.audit.question import written_question
from tests.unit.audit.simulated import Simulator


@pytest.fixture(scope="module")
def small(shared_small: Simulator) -> Simulator:
    """The session's simulated run of 3,000 decisions (``conftest.py``): read, never changed."""
    return shared_small


@pytest.mark.parametrize("pid", ["p%s", "%(x)s%%", "%d%", "%", "x%%s%sy"])
def test_a_recipient_holding_a_format_is_written_from_its_form(small: Simulator, pid: str) -> None:
    """A quiet denial for a recipient whose name holds ``%`` (an unknown partnership: the
    engine's denial writes the name in its recipient and its clause, so in the decisions'
    form) re-derived exactly: the grouped lane takes it, counts it as the full path does and
    names nothing; a form that did not escape ``%`` would raise or write other bytes."""
    values = list(small.decisions)
    n = next(
        n
        for n, v in enumerate(values)
        if (raw := json.loads(v))["outcome"] == "deny"
        and raw["alert_id"] is None
        and not raw["consents"]
        and n > len(values) // 2
    )
    raw = json.loads(values[n])
    raw["recipient"] = pid
    written = written_question(orjson.dumps(raw))
    assert written is not None
    derived = replace(small.source(), fast=False)().rederiver.rederive(written[0])
    entry = Forms().json_bytes(derived.answer)
    assert entry.count(b"%") >= 2  # the recipient, in the decisions too
    values.insert(n + 1, entry)
    replayer = small.source()()
    groups = replayer.groups
    assert isinstance(groups, Dispatches)
    assert groups.check(entry) is not None  # the grouped lane writes it (from its form)
    fast = small.source()().replay(values)
    full = replace(small.source(), fast=False)().replay(values)
    assert orjson.dumps(fast.to_json()) == orjson.dumps(full.to_json())
    assert fast.ok


def _rewritten(
    sim: Simulator, pick: Callable[[dict[str, Any]], bool], limit: int = 40
) -> tuple[list[bytes], set[str]]:
    """The ledger with up to ``limit`` entries chosen by ``pick`` written as quiet denials
    (outcome deny, no alert, no flag id of the partnership, no consent record), their
    decisions kept; the ids of those entries."""
    values = list(sim.decisions)
    chosen = [n for n, v in enumerate(values) if pick(json.loads(v))][-limit:]
    assert chosen
    named = set()
    for n in chosen:
        raw = json.loads(values[n])
        raw.update(outcome="deny", alert_id=None, recipient_flag_id=None, consents=[])
        values[n] = orjson.dumps(raw)
        named.add(raw["decision_id"])
    return values, named


def _named_as_full(sim: Simulator, values: list[bytes]) -> set[str]:
    fast = sim.source()().replay(values)
    full = replace(sim.source(), fast=False)().replay(values)
    assert orjson.dumps(fast.to_json()) == orjson.dumps(full.to_json())
    return {m.decision_id for m in fast.mismatches}


def test_permits_written_as_quiet_denials_are_named(small: Simulator) -> None:
    """A permit (every decision permits, the rule holds) rewritten as a quiet denial of its
    group, its decisions kept: the grouped lane must ask whether the rule holds, and name it."""
    values, named = _rewritten(small, lambda raw: raw["outcome"] == "permit")
    assert named <= _named_as_full(small, values)


def test_consent_naming_denials_written_as_quiet_denials_are_named(small: Simulator) -> None:
    """A denial that names the consent records it consulted, rewritten with none: the
    grouped lane must not write it quiet (its decisions have consent clauses)."""
    values, named = _rewritten(
        small, lambda raw: raw["outcome"] == "deny" and bool(raw["consents"])
    )
    assert named <= _named_as_full(small, values)
