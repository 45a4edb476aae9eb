"""A subject state's bytes are pydantic's, and what writing them remembers stays bounded.

:meth:`hub.disclosure.SubjectState.to_bytes` joins remembered JSON (each contribution's, each
floors mapping's, the held flags' and consent's) in one copy; each memo is bounded and
forgets when full, and the bytes are pydantic's whatever it remembers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub import disclosure
from hub.consent import ConsentLedger
from hub.consent.ledger import ConsentEnd
from hub.consent.record import ConsentRecord, ConsentStatus
from hub.disclosure import SubjectState, remember_states
from hub.dsa.vocabulary import Purpose
from hub.flags import SubjectWindow
from hub.flags import window as window_module
from hub.flags.window import window_json
from hub.view import Held
from tests.unit.flags.builders import CONTRIBUTING, T0, built, contribution


def _states(n: int) -> list[SubjectState]:
    """``n`` states of one subject, one contribution added each, some holding a flag."""
    window = built([])
    states = []
    for i in range(n):
        window = window.add(contribution(CONTRIBUTING[i % len(CONTRIBUTING)], i / 4))
        if i % 5 == 0:  # floors set (another mapping each time, some equal to others)
            floors_of = {"rule-b": T0 + timedelta(days=i % 15)}
            window = SubjectWindow(contributions=window.contributions, floors=floors_of)
        held = {"reading": {f"flag-{i % 3}": _held(i)}} if i % 2 else {}
        floors = {"reading": {"rule-a": T0 + timedelta(days=i % 5)}} if i % 3 == 0 else {}
        closed = {"reading": {"rule-a|0": i % 4}} if i % 4 else {}
        states.append(SubjectState(window=window, held=held, floors=floors, closed=closed))
    return states


def _held(i: int) -> Held:
    return Held(
        flag_id=f"flag-{i % 3}",
        rule_id="rule-a",
        anchor=T0,
        start=T0,
        end=T0 + timedelta(days=i),
        severity="high",
        events=(f"evt-{i}",),
        revision=f"rev-{i}",
        kind="flag",
        ask=("police",),
    )


def test_a_states_bytes_are_pydantics_with_and_without_flags_floors_and_counts() -> None:
    """The held flags' JSON follows the window's after one comma, its brace written once."""
    for state in (SubjectState(), *_states(12)):
        data = state.to_bytes()
        assert data == state.model_dump_json().encode()
        assert data == state.to_bytes()  # the second time from what was remembered
        assert SubjectState.from_bytes(data) == state


def test_the_memos_of_writing_states_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """More states and contributions than each memo holds: none holds more than its bound,
    and every state is still written as pydantic writes it."""
    monkeypatch.setattr(window_module, "_JSON_CAPACITY", 5)
    monkeypatch.setattr(window_module, "_json", {})
    monkeypatch.setattr(window_module, "_held", type(window_module._held)())
    monkeypatch.setattr(window_module, "_by_id", type(window_module._by_id)())
    monkeypatch.setattr(window_module, "_FLOORS_CAPACITY", 2)
    monkeypatch.setattr(window_module, "_floors", {})
    monkeypatch.setattr(disclosure, "_REST_CAPACITY", 3)
    monkeypatch.setattr(disclosure, "_rest", {})
    monkeypatch.setattr(disclosure, "_decoded", disclosure.DecodedByBytes(4))
    states = _states(40)
    for state in states:
        assert state.to_bytes() == state.model_dump_json().encode()
        assert window_json(state.window) == state.window.model_dump_json().encode()
        assert len(window_module._json) <= 5
        assert len(window_module._held) <= 5
        assert len(window_module._by_id) <= 5
        assert len(window_module._floors) <= 2
        assert len(disclosure._rest) <= 3
        assert len(disclosure._decoded._states) <= 4
    remember_states(2)
    try:
        assert len(disclosure._decoded._states) == 2
    finally:
        remember_states(disclosure.STATE_CAPACITY)


def _one_part_states() -> list[SubjectState]:
    """States with exactly one part besides their contributions set: window floors, held
    flags, expiry floors, retraction counts, a consent record, a consent end (and none)."""
    window = built([]).add(contribution(CONTRIBUTING[0], 1))
    record = ConsentRecord(
        consent_id="c1",
        subject_token="lt1:test",  # a made-up token
        purpose=Purpose.SAFEGUARDING,
        provider="voluntary-sector",
        given_by="subject",
        method="written",
        notice="n1",
        recorded_by="worker-1",
        event_id="evt-consent",
        given_at=T0,
        effective_from=T0,
    )
    end = ConsentEnd(status=ConsentStatus.WITHDRAWN, at=T0, on=T0, by="subject", event_id="evt-end")
    return [
        SubjectState(window=window),
        SubjectState(window=SubjectWindow(contributions=window.contributions, floors={"r": T0})),
        SubjectState(window=window, held={"reading": {"flag-1": _held(1)}}),
        SubjectState(window=window, floors={"reading": {"rule-a": T0}}),
        SubjectState(window=window, closed={"reading": {"rule-a|0": 1}}),
        SubjectState(window=window, consent=ConsentLedger(records=(record,))),
        SubjectState(window=window, consent=ConsentLedger(ends={"c1": end})),
    ]


def test_a_state_with_any_one_part_set_is_written_as_pydantic_writes_it() -> None:
    """Each part alone takes the state off the tail shared by states with none of them:
    the bytes are pydantic's for each, and for the state with none."""
    for state in _one_part_states():
        data = state.to_bytes()
        assert data == state.model_dump_json().encode()
        assert SubjectState.from_bytes(data) == state
