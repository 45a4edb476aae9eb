"""Replay's fast lane (``hub.audit.lane``) changes what replay costs, never what it reports.

- The report of a tampered ledger (every probe of ``test_replay.py``, each on its own entry,
  an unreadable record, a repeat, an entry without a position, a time window, explanations)
  is the full path's report, byte for byte; and on the untampered ledger the lane expects
  every entry's bytes (it is taken, not bypassed).
- The key the engine's decisions are remembered per (event class, interval, partnership)
  covers every input: over events, partnerships, agreement sequences and decision times
  varied one at a time, two inputs with the same key always get the same decision from a
  fresh agreements engine (nothing remembered). (With consent records, the key adds the
  ledger's answers; the tampered-ledger tests replay subjects giving and withdrawing consent.)
- The lane's decision id is ``hub.dispatch.decision_ids``'s.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from hub.audit import Window
from hub.audit.answer import Forms, time_text
from hub.audit.ids import decision_id_of
from hub.audit.lane import _NO_AT, Lane
from hub.audit.question import written_question
from hub.audit.verdict import Verdict, event_class
from hub.dispatch import DecisionRecord, Moment, Position, decision_ids
from hub.dsa import NO_CONSENT, Evaluator, EventFacts
from tests.unit.audit.simulated import Simulator
from tests.unit.audit.test_shard import tampered


@pytest.fixture(scope="module")
def small(shared_small: Simulator) -> Simulator:
    """The session's simulated run of 3,000 decisions (``conftest.py``): read, never changed."""
    return shared_small


def _reports(sim: Simulator, values: list[bytes], **options: Any) -> tuple[bytes, bytes]:
    """The fast and the full replay's reports, as bytes."""
    fast = sim.source()().replay(values, **options)
    full = replace(sim.source(), fast=False)().replay(values, **options)
    return orjson.dumps(fast.to_json()), orjson.dumps(full.to_json())


def test_a_tampered_ledger_gets_the_full_paths_report_byte_for_byte(small: Simulator) -> None:
    values, changed = tampered(small)
    explain = {json.loads(small.decisions[9])["decision_id"], "no-such-decision"}
    fast, full = _reports(small, values, explain=explain)
    assert fast == full
    report = json.loads(fast)
    assert {m["decision_id"] for m in report["mismatches"]} >= changed
    assert report["repeats"] == 1
    assert len(report["explanations"]) == 1


def test_a_tampered_ledger_in_a_time_window_gets_the_full_paths_report(
    small: Simulator,
) -> None:
    values, _ = tampered(small)
    times = sorted(DecisionRecord.model_validate_json(v).decided_at for v in small.decisions)
    middle = times[len(times) // 2]
    fast, full = _reports(small, values, window=Window(middle, middle + timedelta(hours=6)))
    assert fast == full
    assert json.loads(fast)["outside_window"] > 0


def test_the_lane_expects_every_untampered_entry(small: Simulator) -> None:
    replayer = small.source()()
    report = replayer.replay(small.decisions)
    assert report.ok
    lane = replayer.lane
    assert lane is not None
    assert lane.hits == report.entries == len(small.decisions)


_BOOKS: dict[tuple[int, int], Any] = {}


def _book(sim: Simulator, sequence: int) -> Any:
    """The agreement book at ``sequence`` (an immutable value: read once per simulator)."""
    key = (id(sim), sequence)
    if key not in _BOOKS:
        _BOOKS[key] = sim.history().book.up_to(sequence)
    return _BOOKS[key]


def _fresh(sim: Simulator, sequence: int, fact: EventFacts, pid: str, at: datetime) -> Any:
    """A fresh engine's decision (nothing remembered), without event id and time."""
    evaluator = Evaluator(_book(sim, sequence), sim.registry)
    return evaluator.outcome(fact, pid, at, NO_CONSENT).model_dump(exclude={"event_id", "at"})


def test_the_verdict_key_covers_every_input(small: Simulator) -> None:
    """Events, partnerships, sequences and times varied one at a time: an equal key
    (event class, interval, partnership) always means an equal decision from a fresh
    engine, and each of those inputs tells keys apart somewhere."""
    replayer = small.source()()
    lane, rederiver = replayer.lane, replayer.rederiver
    assert lane is not None
    facts: dict[str, EventFacts] = {}
    at_of: dict[str, datetime] = {}
    for value in small.decisions:
        question = written_question(value)
        assert question is not None
        basis = rederiver.basis(question[0])
        for fact in basis.facts:
            facts.setdefault(fact.event_id, fact)
            at_of.setdefault(fact.event_id, basis.at)
    sequences = sorted(
        {rederiver.basis(written_question(v)[0]).sequence for v in small.decisions[::50]}
    )  # type: ignore[index]
    pids = sorted(p.id for p in small.registry.partnerships)
    assert len(facts) > 50
    assert len(sequences) > 1
    seen: dict[tuple[Any, ...], Any] = {}
    for n, fact in enumerate(list(facts.values())[:24]):
        some = at_of[fact.event_id]
        for sequence in sequences:
            evaluator = rederiver.evaluator(sequence)
            for pid in pids if n < 4 else pids[n % 4 :: 4]:
                for at in (some, some - timedelta(days=90), datetime(2020, 1, 1, tzinfo=UTC)):
                    key = (event_class(fact, sequence, evaluator), lane.slot(sequence, at), pid)
                    decided = _fresh(small, sequence, fact, pid, at)
                    assert seen.setdefault(key, decided) == decided, key
    assert len({k[0] for k in seen}) > 5  # events and sequences make classes
    assert len({k[0][0] for k in seen}) == len(sequences)
    assert len({k[1] for k in seen}) > 1  # times fall in different intervals
    assert len({k[2] for k in seen}) == len(pids)
    assert len(set(map(str, seen.values()))) > 2  # and the decisions differ between keys


def test_the_lanes_decision_id_is_the_dispatchers() -> None:
    flag = ("f" * 32, "r" * 32)
    for n in range(300):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n * 977, microseconds=n % 7)
        position = None if n % 5 == 0 else Position(partition=n % 4, offset=n * 13)
        moment = Moment(at, None, n % 3, position=position)  # type: ignore[arg-type]  # no policy needed for ids
        events = tuple(f"event-{n}-{k}" for k in range(1 + n % 4))
        expected, inputs = decision_ids(flag, events, f"partnership-{n % 9}", moment)
        where = None if position is None else f"{position.partition}:{position.offset}"
        assert decision_id_of(inputs, f"partnership-{n % 9}", at.isoformat(), where) == expected


def test_a_lane_without_the_rederivers_state_expects_nothing_it_cannot_derive(
    small: Simulator,
) -> None:
    """An entry naming no position, or an unknown event, is left to the full path."""
    replayer = small.source()()
    lane = replayer.lane
    assert isinstance(lane, Lane)
    question = written_question(small.decisions[0])
    assert question is not None
    assert lane.expect(question[0]._replace(position=None)) is None
    assert lane.expect(question[0]._replace(events=("no-such-event",))) is None
    assert lane.expect(question[0]) is not None


def test_decisions_bytes_kept_per_decision_and_event_are_the_written_ones(
    small: Simulator,
) -> None:
    """The decisions' bytes the lane and the grouped lane join (``Forms.decision_chunks``: each
    decision's bytes kept per decision and event id, shared by every flag and verdict that
    holds them) are, joined at an entry's time, what ``Forms.decisions_bytes`` writes for it,
    on every entry of a history; an event id holding the stand-in time is never cut (the
    decisions are then written per entry)."""
    replayer = small.source()()
    lane, rederiver = replayer.lane, replayer.rederiver
    assert lane is not None
    forms = Forms()
    shared = 0
    for value in small.decisions:
        question = written_question(value)
        assert question is not None
        basis = rederiver.basis(question[0])
        place = lane.place(basis.position.partition, basis.position.offset)
        assert place is not None
        verdict = lane.verdict(basis, place, question[0].recipient)
        written = b",".join(forms.decisions_bytes(verdict.outcomes, basis.events, basis.at))
        before = len(forms._cut)  # to count what was shared
        chunks = forms.decision_chunks(verdict.outcomes, basis.events)
        shared += len(forms._cut) == before
        assert chunks is not None
        assert place.text.join(chunks) == written
        assert place.text.join(lane.decisions(basis, verdict)) == written
        odd = replace(basis, events=(f'x"{time_text(_NO_AT)}', *basis.events[1:]))
        fresh = Verdict(verdict.outcomes, verdict.permit, verdict.consulting, verdict.ids)
        expected = b",".join(forms.decisions_bytes(fresh.outcomes, odd.events, odd.at))
        assert lane.decisions(odd, fresh) == [expected]
        assert fresh.chunks == []
    # Shared by many entries (46 % of this history's: fewer since a tick that changes
    # nothing records nothing), none if the chunks were cut per entry.
    assert shared > len(small.decisions) // 3


_QUIET_PROBES: dict[str, Any] = {
    "a decision's time": lambda raw: {"decisions": [{**raw["decisions"][0], "at": _later(raw)}]},
    "the time but not the decisions'": lambda raw: {"decided_at": _later(raw)},
    "the decision id": lambda raw: {"decision_id": "0" * 32},
    "the next position": lambda raw: {
        "position": {**raw["position"], "offset": raw["position"]["offset"] + 1}
    },
    "a decision's reasons": lambda raw: {"decisions": [{**raw["decisions"][0], "reasons": []}]},
    "the policy sequence": lambda raw: {"policy_sequence": raw["policy_sequence"] + 1},
    "a consent read": lambda raw: {"consent_read": {"watermark": [], "ends": []}},
    "a longer decision id": lambda raw: {"decision_id": raw["decision_id"] + "0"},
    "a shorter decision id": lambda raw: {"decision_id": raw["decision_id"][:-1]},
    "an event id holding the decisions' opening": lambda raw: {
        "events": [raw["events"][0] + "[{", *raw["events"][1:]]
    },
}


def _later(raw: dict[str, Any]) -> str:
    return (datetime.fromisoformat(raw["decided_at"]) + timedelta(seconds=1)).isoformat()


def test_a_grouped_entry_changed_gets_the_full_paths_report(small: Simulator) -> None:
    """Quiet denials late in the ledger (checked by the grouped lane, ``hub.audit.group``),
    each changed in one way and written compact as the live path writes: each is reported,
    and the report is the full path's byte for byte (``test_group.py`` changes one entry of
    a dispatch in each field)."""
    values = list(small.decisions)
    changed = set()
    quiet = [
        n
        for n, v in enumerate(values)
        if n > len(values) // 2 and b'"alert_id":null' in v and b'"consents":[]' in v
    ]
    candidates = iter(quiet[::7])
    for probe in _QUIET_PROBES.values():
        # The next candidate the probe changes (a denial's reasons may be empty already).
        for n in candidates:
            raw = json.loads(values[n])
            first = raw["decisions"][:1]
            update = probe(raw)
            if "decisions" in update:
                update["decisions"] = update["decisions"] + raw["decisions"][len(first) :]
            written = {**raw, **update}
            if written != raw:
                break
        else:
            raise AssertionError("too few quiet denials for every probe")
        values[n] = orjson.dumps(written)
        changed.add(written["decision_id"])
    assert len(changed) == len(_QUIET_PROBES)
    fast, full = _reports(small, values)
    assert fast == full
    report = json.loads(fast)
    assert {m["decision_id"] for m in report["mismatches"]} == changed
    assert report["mismatched_entries"] == len(_QUIET_PROBES)
