"""Replay re-derives every decision of an in-process hub run, and names each corrupted field."""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.audit import Replayer, ReplayReport, Window
from hub.audit.collector import REPLAY_YOUNG_THRESHOLD, collection_paused
from hub.audit.question import written_question
from hub.dispatch import DecisionRecord
from tests.unit.audit.simulated import Simulator, generate, simulated, world

SMALL = 4_000


def replay(sim: Simulator, values: list[bytes] | None = None, **options: Any) -> ReplayReport:
    history = sim.history()
    dispatcher = sim.correlator.dispatcher
    replayer = Replayer(
        history, dispatcher.rules, sim.registry, sim.correlator.areas, dispatcher.id_keys()
    )
    return replayer.replay(sim.decisions if values is None else values, **options)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    return simulated(tmp_path_factory.mktemp("keys"), SMALL)


@pytest.fixture(scope="module")
def clean(small: Simulator) -> ReplayReport:
    """The report of the untampered small history, replayed once for the tests that read it
    (a replay is deterministic, and none of them changes the report)."""
    return replay(small)


def records(sim: Simulator) -> list[dict[str, Any]]:
    return [json.loads(v) for v in sim.decisions]


def test_the_small_history_has_what_the_acceptance_asks_for(small: Simulator) -> None:
    found = records(small)
    # police v2 published a quarter of the way in, Reading suspended then resumed
    sequences = {r["policy_sequence"] for r in found}  # shipped set, then three changes
    assert sequences == set(range(min(sequences), min(sequences) + 4))
    withdrawn = [c for r in found for c in r["consents"] if c["status"] == "withdrawn"]
    active = [c for r in found for c in r["consents"] if c["status"] == "active"]
    assert withdrawn
    assert active
    assert Counter(r["outcome"] for r in found).keys() == {"permit", "deny"}
    assert any(r["outcome"] == "deny" and r["alert_id"] for r in found)  # retractions


def test_every_decision_of_the_small_history_re_derives(
    small: Simulator, clean: ReplayReport
) -> None:
    report = clean
    assert report.mismatches == []
    assert report.entries == len({r["decision_id"] for r in records(small)})
    summary = report.tally.to_json()
    assert summary["by_outcome"]["permit"] > 0
    assert "tv-police-svd@2" in summary["by_agreement"]
    assert "tv-voluntary-consent@1" in summary["by_agreement"]
    assert summary["by_denial_reason"]["consent_missing"] > 0
    assert summary["by_denial_reason"]["no_agreement_in_force"] > 0
    assert summary["by_denial_reason"]["recipient_suspended"] > 0
    assert set(summary["by_agency"]) >= {"police", "voluntary-sector"}


def corrupt(
    sim: Simulator, pick: str, change: dict[str, Any], *, compact: bool = False
) -> tuple[list[bytes], str]:
    """The decisions with one record (the first matching ``pick``) changed.

    ``compact``: written as the live path writes a record (no spaces, the same key order),
    so that replay reads its question from the bytes and compares them first."""
    values = list(sim.decisions)
    for n, value in enumerate(values):
        raw = json.loads(value)
        if _matches(raw, pick):
            for path, new in change.items():
                _set(raw, path, new)
            values[n] = orjson.dumps(raw) if compact else json.dumps(raw).encode()
            return values, raw["decision_id"]
    raise AssertionError(f"no record matches {pick}")


def _matches(raw: dict[str, Any], pick: str) -> bool:
    return {
        "permit": raw["outcome"] == "permit",
        "retraction": raw["outcome"] == "deny" and raw["alert_id"] is not None,
        "withdrawn": any(c["status"] == "withdrawn" for c in raw["consents"]),
        "any": True,
    }[pick]


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = raw
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value


PROBES = {
    "outcome flipped": ("permit", {"outcome": "deny"}, {"outcome"}),
    "agreement version": (
        "permit",
        {"decisions.0.agreement_version": 1},
        {"decisions[0].agreement_version"},
    ),
    "policy sequence": ("any", {"policy_sequence": 3}, {"policy_sequence"}),
    "withdrawal hidden": ("withdrawn", {"consents": []}, {"consents"}),
    "retraction dropped": ("retraction", {"alert_id": None}, {"alert_id"}),
    "time moved": ("any", {"decided_at": "2026-10-02T00:00:00Z"}, {"decided_at"}),
}


@pytest.mark.parametrize("compact", [False, True], ids=["spaced", "as-written"])
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_corrupted_decision_is_named_with_the_field_that_differs(
    small: Simulator, probe: str, compact: bool
) -> None:
    pick, change, fields = PROBES[probe]
    values, decision_id = corrupt(small, pick, change, compact=compact)
    report = replay(small, values)
    assert report.mismatched == 1
    assert {m.decision_id for m in report.mismatches} == {decision_id}
    assert {m.field for m in report.mismatches} == fields


def test_an_entry_pointing_at_another_position_is_reported(small: Simulator) -> None:
    values, decision_id = corrupt(small, "permit", {"position.offset": 0})
    report = replay(small, values)
    assert [m.decision_id for m in report.mismatches][:1] == [decision_id]
    assert report.mismatches[0].field in {"events", "flag_id", "decided_at"}


def test_an_entry_without_a_position_cannot_be_replayed(small: Simulator) -> None:
    values, decision_id = corrupt(small, "any", {"position": None})
    report = replay(small, values)
    assert [(m.decision_id, m.field) for m in report.mismatches] == [(decision_id, "position")]


def test_an_unreadable_record_is_a_mismatch(small: Simulator) -> None:
    report = replay(small, [b"not json", *small.decisions])
    assert [(m.decision_id, m.field) for m in report.mismatches] == [("", "record")]


def test_repeated_records_are_skipped_like_the_ledger_does(small: Simulator) -> None:
    report = replay(small, [*small.decisions, small.decisions[0]])
    assert report.ok
    assert report.repeats >= 1


def test_a_time_window_reports_only_the_decisions_inside_it(small: Simulator) -> None:
    found = records(small)
    times = sorted(DecisionRecord.model_validate(r).decided_at for r in found)
    middle = times[len(times) // 2]
    window = Window(middle, middle + timedelta(hours=6))
    report = replay(small, window=window)
    inside = len(
        {
            r["decision_id"]
            for r in found
            if middle <= DecisionRecord.model_validate(r).decided_at <= middle + timedelta(hours=6)
        }
    )
    assert report.ok
    assert report.entries == inside
    assert 0 < inside < len(found)


def test_a_retraction_is_explained_by_the_withdrawal_it_follows(small: Simulator) -> None:
    retraction = next(
        r
        for r in records(small)
        if r["outcome"] == "deny"
        and r["alert_id"]
        and any(c["status"] == "withdrawn" for c in r["consents"])
    )
    report = replay(small, explain={retraction["decision_id"], "no-such-decision"})
    assert report.unexplained == ["no-such-decision"]
    [explained] = report.explanations
    assert explained["retraction"] is True
    assert any("consent_missing" in e["reasons"] for e in explained["events"])
    ended = [c for c in explained["consents"] if c["status"] == "withdrawn"]
    assert ended
    assert {c["ended_by"] for c in ended} == {"consent.withdrawn"}
    assert max(c["ended_in_stream_at"] for c in ended) <= explained["decided_at"]
    assert not [c for c in explained["consents"] if c["status"] == "active"]


@pytest.mark.slow  # about a minute: `make test-all` runs it
@pytest.mark.timeout(600)
def test_replay_agrees_with_a_history_of_100k_decisions(tmp_path: Path) -> None:
    sim = simulated(tmp_path / "keys", 100_000)
    found = records(sim)
    assert len({r["decision_id"] for r in found}) >= 100_000
    sequences = {r["policy_sequence"] for r in found}  # shipped set, then three changes
    assert sequences == set(range(min(sequences), min(sequences) + 4))
    assert any(c["status"] == "withdrawn" for r in found for c in r["consents"])
    # One replay proves both: every other decision agrees, the corrupted one is named.
    values, decision_id = corrupt(sim, "permit", {"decisions.0.outcome": "deny"})
    report = replay(sim, values)
    assert report.entries >= 100_000
    assert report.mismatched == 1
    assert {m.decision_id for m in report.mismatches} == {decision_id}
    assert "decisions[0].outcome" in {m.field for m in report.mismatches}


def test_events_older_than_ingest_accepts_still_replay(tmp_path: Path) -> None:
    """Correlate and replay re-validate accepted events without ingest's timeliness bounds."""
    correlator, registry, agreements = world(tmp_path / "keys")
    long_ago = int(datetime(2014, 1, 6, tzinfo=UTC).timestamp() * 1000)
    sim = Simulator(correlator, registry, clock_ms=long_ago)
    generate(sim, agreements, 300)
    report = replay(sim)
    assert report.entries >= 300
    assert report.mismatches == []


def test_every_entry_of_the_small_history_takes_the_fast_path(clean: ReplayReport) -> None:
    report = clean
    assert report.ok
    assert report.validated == 0  # no entry needed its whole record read


def _parsed(sim: Simulator) -> Iterator[dict[str, Any]]:
    """The history's entries parsed one at a time (a search stops at its first find)."""
    return (json.loads(v) for v in sim.decisions)


def _other(sim: Simulator, name: str, raw: dict[str, Any]) -> Any:
    """Another value of a field that some other entry of the history has."""
    return next(r[name] for r in _parsed(sim) if r[name] != raw[name])


def _first(sim: Simulator, pick: str) -> dict[str, Any]:
    return next(r for r in _parsed(sim) if _matches(r, pick))


#: Each field of the question, changed in one entry: (entry picked, field, new value given
#: the entry and the history). Replay takes these as given, so each must still be caught.
QUESTION_PROBES = {
    "recipient": ("permit", "recipient", lambda sim, raw: _other(sim, "recipient", raw)),
    "rule": ("permit", "rule_id", lambda sim, raw: _other(sim, "rule_id", raw)),
    "an event dropped": ("permit", "events", lambda sim, raw: raw["events"][1:] or ["x"]),
    "events of another entry": ("permit", "events", lambda sim, raw: _other(sim, "events", raw)),
    "partition": (
        "permit",
        "position.partition",
        lambda sim, raw: 1 - raw["position"]["partition"],
    ),
    "offset": ("permit", "position.offset", lambda sim, raw: raw["position"]["offset"] + 1),
    "a consent end added": (
        "permit",
        "consent_read",
        lambda sim, raw: {"watermark": [], "ends": [*_ends(raw), raw["events"][0]]},
    ),
    "consent ends hidden": ("withdrawn", "consent_read", lambda sim, raw: None),
}


def _partition(raw: dict[str, Any]) -> int:
    return int(raw["position"]["partition"])


def _ends(raw: dict[str, Any]) -> list[str]:
    return list((raw.get("consent_read") or {}).get("ends", []))


@pytest.mark.parametrize("compact", [False, True], ids=["spaced", "as-written"])
@pytest.mark.parametrize("probe", sorted(QUESTION_PROBES))
def test_a_changed_question_is_caught_on_the_fast_path(
    small: Simulator, probe: str, compact: bool
) -> None:
    pick, path, new = QUESTION_PROBES[probe]
    raw = _first(small, pick)
    values, decision_id = corrupt(small, pick, {path: new(small, raw)}, compact=compact)
    report = replay(small, values)
    assert report.mismatched >= 1
    assert report.mismatches[0].decision_id == decision_id
    assert report.validated <= 1  # only the changed entry, if any, was read whole


def test_a_changed_outcome_is_caught_on_the_fast_path(small: Simulator) -> None:
    values, decision_id = corrupt(small, "permit", {"outcome": "deny"})
    report = replay(small, values)
    assert [(m.decision_id, m.field) for m in report.mismatches] == [(decision_id, "outcome")]
    assert report.validated == 1  # read whole to name the field


def test_the_same_record_written_otherwise_is_no_mismatch(small: Simulator) -> None:
    """Other spacing and key order: the same JSON, so the same record (no model needed)."""
    values = [
        json.dumps(dict(reversed(json.loads(v).items())), indent=1).encode()
        for v in small.decisions
    ]
    report = replay(small, values)
    assert report.ok
    assert report.validated == 0


def test_a_value_only_validation_reads_the_same_is_judged_by_validation(
    small: Simulator,
) -> None:
    """A version written as a string differs as JSON; as a record it is the same."""
    raw = _first(small, "permit")
    values, _ = corrupt(small, "permit", {"rule_version": str(raw["rule_version"])})
    report = replay(small, values)
    assert report.ok
    assert report.validated == 1


def test_the_live_path_writes_what_replay_reads_from_the_bytes(
    small: Simulator, clean: ReplayReport
) -> None:
    """Every entry is, byte for byte, the record replay re-derives (none parsed)."""
    values = list(small.decisions)
    assert all(orjson.dumps(json.loads(v)) == v for v in values)  # laid out as compact JSON
    assert all(written_question(v) is not None for v in values)
    report = clean
    assert report.ok
    assert report.validated == 0


def _consent_changes(sim: Simulator) -> list[list[dict[str, Any]]]:
    """Entries asking one question (events, recipient, rule, agreements) again, whose event
    decisions name other consents (given, withdrawn, given again) from one to the next."""
    asked: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for raw in records(sim):
        key = (tuple(raw["events"]), raw["recipient"], raw["rule_id"], raw["policy_sequence"])
        asked.setdefault(key, []).append(raw)
    return [
        entries
        for entries in asked.values()
        if len({tuple(d["consent_id"] for d in e["decisions"]) for e in entries}) > 1
    ]


def test_a_consent_change_between_identical_questions_changes_the_answer(
    small: Simulator, clean: ReplayReport
) -> None:
    """Live path and replay (both remember consent decisions): after a withdrawal or a new
    grant, the same question gets the new answer, never the remembered one."""
    changes = _consent_changes(small)
    assert changes  # the history gives, withdraws and gives again for some subjects
    for entries in changes:
        named = [[d["consent_id"] for d in e["decisions"]] for e in entries]
        assert None in {c for n in named for c in n}  # a withdrawal between two grants
        assert len({c for n in named for c in n if c is not None}) >= 1
    report = clean  # re-derives each one with the evaluator's memo
    assert report.ok
    given, withdrawn = next(
        (g, w) for es in changes for g in es for w in es if _consented(g) and _refused(w)
    )
    stale = [
        {**d, "event_id": w["event_id"], "at": w["at"]}
        for d, w in zip(given["decisions"], withdrawn["decisions"], strict=True)
    ]
    changed = orjson.dumps({**withdrawn, "decisions": stale})
    values = [
        changed if json.loads(v)["decision_id"] == withdrawn["decision_id"] else v
        for v in small.decisions
    ]
    report = replay(small, values)  # the remembered (stale) answer written in its place
    assert {m.decision_id for m in report.mismatches} == {withdrawn["decision_id"]}
    assert any(m.field.endswith(".consent_id") for m in report.mismatches)


def _consented(raw: dict[str, Any]) -> bool:
    return any(d["consent_id"] for d in raw["decisions"])


def _refused(raw: dict[str, Any]) -> bool:
    """Whether a consent clause failed for one of the entry's events."""
    return any(
        c["clause"] == "consent" and c["effect"] == "failed"
        for d in raw["decisions"]
        for c in d["clauses"]
    )


def test_the_replay_loop_freezes_what_exists_and_restores_the_collector() -> None:
    """The loop's collector: young collections made rare, what exists when it starts frozen
    (so they do not walk it), and both undone after, even when the loop raises; a caller's
    own freeze is left alone."""
    thresholds = gc.get_threshold()
    gc.unfreeze()  # what other tests in this process froze (a backtest freezes per month)
    inside: list[tuple[int, int]] = []

    def loop() -> None:
        with collection_paused():
            inside.append((gc.get_freeze_count(), gc.get_threshold()[0]))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        loop()
    assert inside[0][0] > 0
    assert inside[0][1] == REPLAY_YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        made = [[] for _ in range(1000)]  # tracked objects a second freeze would take in
        # A frozen object that dies leaves the count (another thread may free one at any
        # time), so the count may fall, never rise: neither unfrozen (0) nor frozen again.
        with collection_paused():
            assert 0 < gc.get_freeze_count() <= frozen
        assert 0 < gc.get_freeze_count() <= frozen
        assert len(made) == 1000
    finally:
        gc.unfreeze()
