"""StreamTracker: gaps reported once, duplicates dropped, late arrivals delivered, state kept."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from hub.partnership import Delivered, Duplicate, Gap, StreamTracker, TrackerState


def _id(seq: int) -> str:
    return f"al-{seq:04d}"


def test_in_order_stream_delivers_everything() -> None:
    tracker = StreamTracker()
    outcomes = [o for seq in range(1, 6) for o in tracker.observe(seq, _id(seq))]
    assert outcomes == [Delivered(s, _id(s)) for s in range(1, 6)]
    assert tracker.missing == []


def test_skip_reports_gap_then_delivers() -> None:
    tracker = StreamTracker()
    tracker.observe(1, _id(1))
    tracker.observe(2, _id(2))
    assert tracker.observe(2, _id(2)) == [Duplicate(2, _id(2))]
    assert tracker.observe(5, _id(5)) == [Gap(3, 4), Delivered(5, _id(5))]
    assert tracker.observe(4, _id(4)) == [Delivered(4, _id(4), late=True)]
    assert tracker.missing == [Gap(3, 3)]
    assert tracker.observe(4, _id(4)) == [Duplicate(4, _id(4))]


def test_same_alert_id_under_a_new_seq_is_a_duplicate_but_consumes_the_seq() -> None:
    tracker = StreamTracker()
    tracker.observe(1, _id(1))
    assert tracker.observe(2, _id(1)) == [Duplicate(2, _id(1))]
    assert tracker.observe(3, _id(3)) == [Delivered(3, _id(3))]


def test_heartbeat_reveals_a_trailing_gap_once() -> None:
    tracker = StreamTracker()
    tracker.observe(1, _id(1))
    assert tracker.observe_heartbeat(1) == []
    assert tracker.observe_heartbeat(3) == [Gap(2, 3)]
    assert tracker.observe_heartbeat(3) == []
    assert tracker.observe(3, _id(3)) == [Delivered(3, _id(3), late=True)]


def test_from_seq_starts_the_stream_later() -> None:
    tracker = StreamTracker(from_seq=10)
    assert tracker.observe(9, _id(9)) == [Duplicate(9, _id(9))]
    assert tracker.observe(10, _id(10)) == [Delivered(10, _id(10))]


def test_state_round_trips_through_json_and_resumes() -> None:
    tracker = StreamTracker()
    for seq in (1, 2, 5):
        tracker.observe(seq, _id(seq))
    state = TrackerState.from_json(json.loads(json.dumps(tracker.state().to_json())))
    resumed = StreamTracker(state)
    assert resumed.observe(2, _id(2)) == [Duplicate(2, _id(2))]
    assert resumed.observe(3, _id(3)) == [Delivered(3, _id(3), late=True)]
    assert resumed.observe(6, _id(6)) == [Delivered(6, _id(6))]


def test_recent_ids_are_bounded() -> None:
    tracker = StreamTracker(window=3)
    for seq in range(1, 11):
        tracker.observe(seq, _id(seq))
    assert tracker.state().recent == (_id(8), _id(9), _id(10))


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[int, set[int], list[int]]:
    """A stream of ``n`` alerts: which arrive at all, in what order, with what repeats."""
    n = draw(st.integers(1, 60))
    present = draw(st.sets(st.integers(1, n)))
    base = list(present)
    repeats = draw(st.lists(st.sampled_from(base), max_size=20)) if base else []
    order = draw(st.permutations(base + repeats))
    return n, present, order


@given(arrivals(), st.booleans())
def test_any_arrival_order_reports_each_missing_seq_once_and_delivers_each_once(
    stream: tuple[int, set[int], list[int]], final_heartbeat: bool
) -> None:
    n, present, order = stream
    tracker = StreamTracker()
    outcomes = [o for seq in order for o in tracker.observe(seq, _id(seq))]
    if final_heartbeat:
        outcomes += tracker.observe_heartbeat(n)
    end = n if final_heartbeat else max(present, default=0)

    delivered = [o.seq for o in outcomes if isinstance(o, Delivered)]
    assert sorted(delivered) == sorted(present)  # each arrival delivered exactly once

    reported = [
        s for o in outcomes if isinstance(o, Gap) for s in range(o.missing_from, o.missing_to + 1)
    ]
    assert len(reported) == len(set(reported))  # no seq is reported twice
    never = set(range(1, end + 1)) - present
    assert never <= set(reported)  # every seq that never came was reported
    late = {o.seq for o in outcomes if isinstance(o, Delivered) and o.late}
    assert set(reported) - never == late  # and nothing else, except arrivals after their gap
    still_missing = {s for g in tracker.missing for s in range(g.missing_from, g.missing_to + 1)}
    assert still_missing == never


@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 10)), max_size=80))
def test_no_alert_id_is_ever_delivered_twice(arrivals: list[tuple[int, int]]) -> None:
    tracker = StreamTracker()
    outcomes = [o for seq, ident in arrivals for o in tracker.observe(seq, f"al-{ident}")]
    ids = [o.alert_id for o in outcomes if isinstance(o, Delivered)]
    seqs = [o.seq for o in outcomes if isinstance(o, Delivered)]
    assert len(ids) == len(set(ids))
    assert len(seqs) == len(set(seqs))
