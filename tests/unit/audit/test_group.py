"""Replay's grouped lane (``hub.audit.group``): a dispatch's entries checked as a group, each
still checked whole.

A group is the quiet denials of one flag dispatched at one position (one per partnership).
One entry of a group is changed in one field, shared with its siblings (time, position,
flag id, rule, rule version, policy sequence, events, inputs digest, severity, consent read)
or its own (decision id, recipient, a decision's reasons, recipient or time, reasons that
hold a format, two decisions' event ids swapped): the report names that entry and no other,
and is the full path's report byte for byte; its siblings are still counted by the group.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

import hub.audit.group as group_module
from hub.audit.group import Dispatches
from hub.audit.question import written_question
from tests.unit.audit.simulated import Simulator, per_simulator


@pytest.fixture(scope="module")
def small(shared_small: Simulator) -> Simulator:
    """The session's simulated run of 3,000 decisions (``conftest.py``): read, never changed."""
    return shared_small


@per_simulator
def _groups(sim: Simulator) -> tuple[tuple[int, ...], ...]:
    """The indices of each dispatch's quiet denials (one flag at one position), for the
    groups of at least four entries, in the second half of the ledger (found once per
    simulator: every test of the module searches the same history)."""
    found: defaultdict[tuple[Any, ...], list[int]] = defaultdict(list)
    for n, value in enumerate(sim.decisions):
        raw = json.loads(value)
        if raw["outcome"] != "deny" or raw["alert_id"] is not None or raw["consents"]:
            continue
        key = (json.dumps(raw["position"]), raw["decided_at"], tuple(raw["events"]), raw["rule_id"])
        found[key].append(n)
    return tuple(tuple(g) for g in found.values() if len(g) >= 4 and g[0] > len(sim.decisions) // 2)


def _later(raw: dict[str, Any]) -> str:
    return (datetime.fromisoformat(raw["decided_at"]) + timedelta(seconds=1)).isoformat()


def _other_rule(raw: dict[str, Any]) -> str:
    return (
        "weapon-and-exclusion"
        if raw["rule_id"] != "weapon-and-exclusion"
        else "disengagement-and-violence"
    )


_SHARED: dict[str, Any] = {
    "decided_at": lambda raw: {"decided_at": _later(raw)},
    "position": lambda raw: {
        "position": {**raw["position"], "offset": raw["position"]["offset"] + 1}
    },
    "flag_id": lambda raw: {"flag_id": "0" * 32},
    "rule_id": lambda raw: {"rule_id": _other_rule(raw)},
    "rule_version": lambda raw: {"rule_version": raw["rule_version"] + 1},
    "policy_sequence": lambda raw: {"policy_sequence": raw["policy_sequence"] + 1},
    "events (one dropped)": lambda raw: {
        "events": raw["events"][:-1],
        "decisions": raw["decisions"][:-1],
    },
    "events (reordered)": lambda raw: {"events": raw["events"][::-1]},
    "inputs_digest": lambda raw: {"inputs_digest": "f" * 32},
    "severity": lambda raw: {"severity": "medium" if raw["severity"] != "medium" else "high"},
    "consent_read": lambda raw: {"consent_read": {"watermark": [], "ends": []}},
}
_OWN: dict[str, Any] = {
    "decision_id": lambda raw: {"decision_id": "0" * 32},
    "recipient": lambda raw: {"recipient": "no-such-partnership"},
    "a decision's reasons": lambda raw: {
        "decisions": [{**raw["decisions"][0], "reasons": ["other"]}, *raw["decisions"][1:]]
    },
    "a decision's recipient": lambda raw: {
        "decisions": [{**raw["decisions"][0], "recipient": "reading-x"}, *raw["decisions"][1:]]
    },
    "a decision's reasons holding a format": lambda raw: {
        "decisions": [{**raw["decisions"][0], "reasons": ["%s"]}, *raw["decisions"][1:]]
    },
    "a decision's time": lambda raw: {
        "decisions": [{**raw["decisions"][0], "at": _later(raw)}, *raw["decisions"][1:]]
    },
    "two decisions' event ids swapped": lambda raw: {
        "decisions": [
            {**raw["decisions"][0], "event_id": raw["decisions"][1]["event_id"]},
            {**raw["decisions"][1], "event_id": raw["decisions"][0]["event_id"]},
            *raw["decisions"][2:],
        ]
    },
}


def _changed(sim: Simulator, probe: Any, member: int, group_at: int = 0) -> tuple[list[bytes], str]:
    """The ledger with one member of a group changed by ``probe``, and that entry's id."""
    group = _groups(sim)[group_at]
    values = list(sim.decisions)
    n = group[member]
    raw = json.loads(values[n])
    written = {**raw, **probe(raw)}
    assert written != raw
    values[n] = orjson.dumps(written)
    return values, written["decision_id"]


def _check(sim: Simulator, values: list[bytes], changed: str) -> None:
    replayer = sim.source()()
    fast = replayer.replay(values)
    full = replace(sim.source(), fast=False)().replay(values)
    assert orjson.dumps(fast.to_json()) == orjson.dumps(full.to_json())
    assert {m.decision_id for m in fast.mismatches} == {changed}
    assert fast.mismatched == 1
    assert fast.entries == len(values)
    groups = replayer.groups
    assert isinstance(groups, Dispatches)
    assert groups.hits > len(values) // 2  # the siblings are still counted by their group


def test_the_ledger_has_groups_to_change(small: Simulator) -> None:
    groups = _groups(small)
    assert len(groups) > 10
    assert max(map(len, groups)) == 9  # a flag asked of the nine partnerships


@pytest.mark.parametrize("field", sorted(_SHARED))
@pytest.mark.parametrize("member", [1, -1])
def test_one_entry_of_a_group_changed_in_a_shared_field_is_named(
    small: Simulator, field: str, member: int
) -> None:
    values, changed = _changed(small, _SHARED[field], member)
    _check(small, values, changed)


@pytest.mark.parametrize("field", sorted(_OWN))
def test_one_entry_of_a_group_changed_in_its_own_field_is_named(
    small: Simulator, field: str
) -> None:
    values, changed = _changed(small, _OWN[field], 2, group_at=1)
    _check(small, values, changed)


@pytest.mark.parametrize("field", ["flag_id", "inputs_digest", "events (reordered)"])
def test_the_first_entry_of_a_group_changed_leaves_its_siblings_verified(
    small: Simulator, field: str
) -> None:
    """The group of the changed first entry is not its siblings' group: each sibling is
    still counted, and only the changed entry is named."""
    values, changed = _changed(small, _SHARED[field], 0, group_at=2)
    _check(small, values, changed)


def test_every_grouped_entry_is_the_lanes_bytes(small: Simulator) -> None:
    """Each entry the grouped lane accepts is, byte for byte, what the fast lane expects for
    its question, and counted as the fast lane counts it; nearly every entry is grouped, with
    far fewer groups than entries."""
    replayer = small.source()()
    groups, lane = replayer.groups, replayer.lane
    assert groups is not None
    assert lane is not None
    grouped = 0
    for value in small.decisions:
        found = groups.check(value)
        if found is not None:
            grouped += 1
            written = written_question(value)
            assert written is not None
            expected = lane.expect(written[0])
            assert expected is not None
            assert expected.value == value
            assert found[0].decode() == written[0].decision_id
            assert found[2] == (
                (expected.outcome, written[0].recipient, expected.retraction),
                expected.agencies,
                (expected.verdict.outcomes, expected.verdict.ids),
            )
        replayer.replay([value])
    assert grouped > len(small.decisions) * 3 // 4
    assert groups.groups < grouped // 3


def test_groups_are_bounded(small: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The groups kept are a window: at most its size, whatever the ledger holds."""
    monkeypatch.setattr(group_module, "_GROUPS_MAX", 16)
    replayer = small.source()()
    report = replayer.replay(small.decisions)
    assert report.ok
    groups = replayer.groups
    assert groups is not None
    assert len(groups._groups) <= 16
    assert groups.groups > 16


def _restated(sim: Simulator, one_sequence: bool = False) -> tuple[int, int]:
    """Two quiet denials of one flag for one partnership whose decisions differ (under
    another agreement sequence, interval of the book or consent state; with
    ``one_sequence``, under the same agreement sequence): the earlier's index and the
    later's."""
    first: dict[tuple[Any, ...], list[tuple[int, Any]]] = defaultdict(list)
    for n, value in enumerate(sim.decisions):
        raw = json.loads(value)
        if raw["outcome"] != "deny" or raw["alert_id"] is not None or raw["consents"]:
            continue
        decided = [{**d, "at": None} for d in raw["decisions"]]
        key = (tuple(raw["events"]), raw["rule_id"], raw["recipient"])
        if one_sequence:
            key += (raw["policy_sequence"],)
        for m, other in first[key]:
            if other != decided:
                return m, n
        first[key].append((n, decided))
    raise AssertionError("no flag decided again otherwise")


def test_a_verdict_is_not_taken_from_another_dispatch_of_the_flag(small: Simulator) -> None:
    """A quiet denial written with the decisions its flag got for the partnership at an
    earlier dispatch, where they were other, is named: the verdicts the grouped lane
    remembers are kept per what they rest on."""
    earlier, later = _restated(small)
    values = list(small.decisions)
    before, raw = json.loads(values[earlier]), json.loads(values[later])
    raw["decisions"] = [{**d, "at": raw["decided_at"]} for d in before["decisions"]]
    values[later] = orjson.dumps(raw)
    _check(small, values, raw["decision_id"])


def test_a_decisions_form_is_its_bytes_whatever_they_hold() -> None:
    """A decision's form, filled with an event id and a time, is its bytes around them, even
    when they hold ``%`` or ``%s`` (written ``%%`` in the form)."""
    pieces = (b'{"a":"%s%d%%",', b'","b":"%", "at":', b'","c":"%s"}')
    form = group_module._form(pieces)
    assert form % (b'"e-%s"', b'"2026') == b'{"a":"%s%d%%","e-%s"","b":"%", "at":"2026","c":"%s"}'
