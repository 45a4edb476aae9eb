"""The grouped lane's keys, numbers and verdicts (``hub.audit.group``), from the review of
``replay17``: a verdict remembered across two intervals of one agreement sequence, a
retraction written as a quiet denial, the remembered decisions bounded, and entries too
long to be kept as keys. Each is checked against the full path's report."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest

import hub.audit.group as group_module
import hub.audit.rederive as rederive_module
from hub.audit.group import Dispatches
from tests.unit.audit.simulated import T0, Simulator, generate, world
from tests.unit.audit.test_group import _restated


@pytest.fixture(scope="module")
def small(shared_small: Simulator) -> Simulator:
    """The session's simulated run of 3,000 decisions (``conftest.py``): read, never changed."""
    return shared_small


@pytest.fixture(scope="module")
def midnight(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    """A history that crosses a breakpoint of the book within one agreement sequence: two
    agreements come into force at midnight, an hour into the run (between the publication
    at a quarter of the way and the suspension at 60 %)."""
    correlator, registry, agreements = world(tmp_path_factory.mktemp("keys"))
    late = {"tv-community-safety", "tv-education-under18"}
    agreements = [
        a.model_copy(update={"effective_from": T0.date()}) if a.id in late else a
        for a in agreements
    ]
    start = T0 - timedelta(hours=1)
    sim = Simulator(correlator, registry, clock_ms=int(start.timestamp() * 1000))
    generate(sim, agreements, 3_000)
    return sim


def _same_as_full(sim: Simulator, values: list[bytes]) -> set[str]:
    """The fast replay's report, equal to the full path's; the decision ids it names."""
    fast = sim.source()().replay(values)
    full = replace(sim.source(), fast=False)().replay(values)
    assert orjson.dumps(fast.to_json()) == orjson.dumps(full.to_json())
    return {m.decision_id for m in fast.mismatches}


def test_a_verdict_is_not_taken_from_another_interval_of_the_sequence(
    midnight: Simulator,
) -> None:
    """A quiet denial rewritten with the decisions its flag had for the partnership before
    midnight (same sequence, an earlier interval of the book) is named."""
    earlier, later = _restated(midnight, one_sequence=True)
    values = list(midnight.decisions)
    before, raw = json.loads(values[earlier]), json.loads(values[later])
    assert before["policy_sequence"] == raw["policy_sequence"]
    raw["decisions"] = [{**d, "at": raw["decided_at"]} for d in before["decisions"]]
    values[later] = orjson.dumps(raw)
    assert _same_as_full(midnight, values) == {raw["decision_id"]}
    replayer = midnight.source()()
    replayer.replay(values)
    assert isinstance(replayer.groups, Dispatches)
    assert replayer.groups.hits > len(values) // 2  # the grouped lane was the one asked


def test_a_retraction_written_as_a_quiet_denial_is_named(small: Simulator) -> None:
    """The partnership holds a flag of exactly these events, so the denial is a retraction
    (an alert id, the partnership's flag id): written quiet, it is named, with the full
    path's report, though its siblings are quiet denials of the same group."""
    values = list(small.decisions)
    retractions = [
        n
        for n, v in enumerate(values)
        if (raw := json.loads(v))["outcome"] == "deny"
        and raw["alert_id"] is not None
        and not raw["consents"]
        and raw["consent_read"] is None
    ]
    assert retractions
    n = retractions[-1]
    raw = json.loads(values[n])
    raw["alert_id"] = raw["recipient_flag_id"] = None
    values[n] = orjson.dumps(raw)
    assert raw["decision_id"] in _same_as_full(small, values)


def _replayed_in_groups(small: Simulator) -> Dispatches:
    """The grouped lane after replaying the history: its report ok, most entries grouped."""
    replayer = small.source()()
    assert replayer.replay(small.decisions).ok
    groups = replayer.groups
    assert isinstance(groups, Dispatches)
    assert groups.hits > len(small.decisions) // 2
    return groups


def test_the_remembered_decisions_are_bounded(
    small: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decisions remembered per event classes, interval and partnership, and the bytes
    kept per decisions, are memos of at most their size, and the report is unchanged."""
    monkeypatch.setattr(group_module, "_VERDICTS_MAX", 4)
    groups = _replayed_in_groups(small)
    assert 0 < len(groups._said) <= 4
    assert 0 < len(groups._written) <= 4
    assert 0 < len(groups._decisions) <= 4


def test_flags_of_many_events_are_not_remembered_by_their_classes(
    small: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remembered value holds a decision and its bytes per event of the flag: flags of
    more events than the cap are derived each time, never kept, and the report is the same
    (the cap set to one event here, so that the history's flags are over it)."""
    monkeypatch.setattr(group_module, "_CLASSES_MAX", 1)
    groups = _replayed_in_groups(small)
    assert all(len(key[0]) <= 1 for key in groups._said)
    assert all(len(ids) <= 1 for ids in groups._written)
    longer = [g for g in groups._groups.values() if g is not None and len(g.classes) > 1]
    assert longer  # not vacuous: the history has flags over the cap


@pytest.mark.parametrize("field", ["flag_id", "recipient"])
def test_entries_too_long_to_be_keys_take_the_lane_and_are_named(
    small: Simulator, field: str
) -> None:
    """Forty quiet denials given a 100 kB flag id or recipient: each is named, as by the full
    path, and none is kept in the grouped lane's memos (whose keys hold those texts)."""
    values = list(small.decisions)
    quiet = [
        n
        for n, v in enumerate(values)
        if (raw := json.loads(v))["outcome"] == "deny"
        and raw["alert_id"] is None
        and not raw["consents"]
    ][:40]
    named = set()
    for n in quiet:
        raw = json.loads(values[n])
        raw[field] = "f" * 100_000
        values[n] = orjson.dumps(raw)
        named.add(raw["decision_id"])
    assert named <= _same_as_full(small, values)
    replayer = small.source()()
    replayer.replay(values)
    groups = replayer.groups
    assert isinstance(groups, Dispatches)
    assert groups.hits > len(values) // 2
    longest = max(len(part) for key in groups._groups for part in key)
    assert longest <= group_module._FLAG_MAX
    assert all(len(key[-1]) <= group_module._RECIPIENT_MAX for key in groups._said)


def test_the_flags_derived_for_the_entries_are_bounded(
    small: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flags re-derived per events and rule are a memo of at most its size, whatever the
    ledger names (a hostile one names ever new events), and the report is unchanged."""
    monkeypatch.setattr(rederive_module, "_KNOWN_MAX", 16)
    replayer = small.source()()
    report = replayer.replay(small.decisions)
    assert report.ok
    flags = replayer.rederiver._flags
    assert 0 < len(flags) <= 16
