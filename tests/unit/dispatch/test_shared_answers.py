"""A dispatch shares, between partnerships, the answers that do not depend on which
partnership asks (``hub.rounds.Round``): each shared answer must still be the one the
partnership's own computation gives, including for flags of different rules over the same
events."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest

from hub.codec import SchemaStore
from hub.disclosure import Recipient
from hub.dispatch import SubjectState, Trigger
from hub.flags import FlagState, Status
from hub.rounds import Round
from hub.view import Seen, see
from tests.unit.dispatch.test_dispatch import (
    ROOT,
    TOKEN,
    World,
    events,
    fold_all,
    moment,
    world,  # noqa: F401  # the fixture
)

PID = "reading"


def _state(world: World) -> SubjectState:  # noqa: F811
    state, _ = fold_all(world, events(SchemaStore.load(ROOT / "schemas")))
    return state


def _seen_of(state: SubjectState, run: Round, types: set[str], pid: str = PID) -> Seen:
    """The partnership's real decisions on every event, but only ``types`` visible."""
    full = see(state.window, run.decider.decide(pid))
    visible = tuple(c for c in state.window.contributions if c.event_type in types)
    return Seen(full.decisions, visible, frozenset(c.event_id for c in visible))


def _deny_unseen(run: Round, flag: FlagState, ids: frozenset[str], pid: str, seen: Seen) -> None:
    """What dispatch does for a hub flag a partnership holds nothing of: a denial unless
    what it sees of the flag still holds."""
    if run._unseen(flag, ids, seen):  # type: ignore[arg-type]  # a Seen has a Sight's ids
        run._deny(pid, flag, ids)


@pytest.mark.parametrize("first", ["weapon-and-exclusion", "child-exploitation"])
def test_flags_of_two_rules_over_the_same_events_are_each_judged_by_their_own_rule(
    world: World,  # noqa: F811
    first: str,
) -> None:
    """What a partnership sees of the scenario (a weapon possession and a suspension) holds
    for weapon-and-exclusion and not for child-exploitation (three events at least): only the
    child-exploitation flag is denied, whichever the dispatch judges first."""
    state = _state(world)
    dispatcher = world[0].dispatcher
    run = Round(dispatcher, TOKEN, state, moment(world))
    seen = _seen_of(state, run, {"police.weapon_possession", "education.suspension"})
    ids = frozenset(c.event_id for c in state.window.contributions)
    second = ({"weapon-and-exclusion", "child-exploitation"} - {first}).pop()
    for rule_id in (first, second):
        _deny_unseen(run, SimpleNamespace(rule_id=rule_id), ids, PID, seen)  # type: ignore[arg-type]
    assert [(r.rule_id, r.outcome, r.recipient) for r in run.records] == [
        ("child-exploitation", "deny", PID)
    ]
    assert run.records[0].events == tuple(c.event_id for c in state.window.contributions)


@pytest.mark.parametrize("order", [("reading", "slough"), ("slough", "reading")])
def test_partnerships_that_see_different_parts_of_one_flag_are_each_answered_for_their_own(
    world: World,  # noqa: F811
    order: tuple[str, str],
) -> None:
    """One hub flag, one rule: Reading sees the weapon possession and the suspension (the
    rule holds on them), Slough the suspension alone (it does not). Only Slough is denied,
    whichever partnership the dispatch asks first."""
    state = _state(world)
    run = Round(world[0].dispatcher, TOKEN, state, moment(world))
    views = {
        "reading": {"police.weapon_possession", "education.suspension"},
        "slough": {"education.suspension"},
    }
    ids = frozenset(c.event_id for c in state.window.contributions)
    flag = SimpleNamespace(rule_id="weapon-and-exclusion")
    for pid in order:
        seen = _seen_of(state, run, views[pid], pid)
        _deny_unseen(run, flag, ids, pid, seen)  # type: ignore[arg-type]
    assert [(r.rule_id, r.outcome, r.recipient) for r in run.records] == [
        ("weapon-and-exclusion", "deny", "slough")
    ]


def _hidden_round(world: World, state: SubjectState) -> Round:  # noqa: F811
    """A round of the subject whose trigger every partnership is told it may not see."""
    run = Round(world[0].dispatcher, TOKEN, state, moment(world))
    run.start()
    run._hidden_trigger = lambda seen, trigger: True  # type: ignore[method-assign]
    return run


def _active(run: Round) -> list[tuple[FlagState, frozenset[str]]]:
    flags = run.evaluate(run.state.window)
    return [(f, f.event_ids) for f in flags if f.status is Status.ACTIVE]


def _decide(
    run: Round, recipient: Recipient, active: list[tuple[FlagState, frozenset[str]]]
) -> None:
    """The round decides the partnership after a hidden trigger, with the sight dispatch
    would give it."""
    seen = run.decider.sight(recipient.partnership_id, run.state.window)
    run.decide(recipient, active, Trigger(event_id="hidden"), seen)


def test_a_hidden_trigger_makes_no_view_for_a_partnership_holding_every_active_flag(
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading holds both of the scenario's flags: an event it may not see needs no denial
    of them, so neither its view nor any denial is worked out (and no record made)."""
    state = _state(world)
    run = _hidden_round(world, state)
    asked: list[str] = []
    view, unseen = Round._view, Round._unseen

    def viewed(self: Round, *args: Any) -> None:
        asked.append("view")
        view(self, *args)

    def judged(self: Round, *args: Any) -> bool:
        asked.append("unseen")
        return unseen(self, *args)

    monkeypatch.setattr(Round, "_view", viewed)
    monkeypatch.setattr(Round, "_unseen", judged)
    reading = next(r for r in world[0].dispatcher.recipients if r.partnership_id == "reading")
    active = _active(run)
    assert len(active) == 2
    assert len(state.held["reading"]) == 2
    _decide(run, reading, active)
    assert (asked, run.records) == ([], [])
    slough = next(r for r in world[0].dispatcher.recipients if r.partnership_id == "slough")
    _decide(run, slough, active)  # holds none: both judged
    assert asked == ["unseen", "unseen"]


def test_a_hidden_trigger_denies_as_a_view_of_every_active_flags_events_does(
    world: World,  # noqa: F811
) -> None:
    """A partnership that holds none of the flags: its denials are the ones a view of the
    events of every active flag gives (the view before it was narrowed to the flags it
    does not hold), record for record."""
    state = _state(world)
    active = _active(_hidden_round(world, state))
    for recipient in world[0].dispatcher.recipients:
        if recipient.partnership_id == "reading":
            continue
        run = _hidden_round(world, state)
        _decide(run, recipient, active)
        reference = _hidden_round(world, state)
        members = frozenset().union(*(ids for _, ids in active))
        pid = recipient.partnership_id
        seen = see(state.window, reference.decider.decide(pid), members)
        for flag, ids in active:
            _deny_unseen(reference, flag, ids, pid, seen)
        assert run.records == reference.records
        assert len(run.records) == 2  # it sees nothing of Reading's subject: both denied


def test_a_narrowed_view_denies_as_the_view_of_every_active_flag_does(
    world: World,  # noqa: F811
) -> None:
    """Each partnership holding none, either or both of Reading's two flags (which share an
    event): the denials from a view of the flags it does not hold are those a view of every
    active flag's events gives, record for record."""
    base = _state(world)
    held = list(base.held["reading"].items())
    active = _active(_hidden_round(world, base))
    members = frozenset().union(*(ids for _, ids in active))
    denied = set()
    for recipient in world[0].dispatcher.recipients:
        pid = recipient.partnership_id
        for n in range(len(held) + 1):
            for subset in itertools.combinations(held, n):
                others = {k: v for k, v in base.held.items() if k != pid}
                state = base.model_copy(
                    update={"held": others | ({pid: dict(subset)} if subset else {})}
                )
                run = _hidden_round(world, state)
                _decide(run, recipient, active)
                reference = _hidden_round(world, state)
                known = {frozenset(h.events) for _, h in subset}
                seen = see(state.window, reference.decider.decide(pid), members)
                for flag, ids in active:
                    if ids not in known:
                        _deny_unseen(reference, flag, ids, pid, seen)
                assert run.records == reference.records
                denied.add(len(run.records))
    assert denied == {0, 1, 2}  # every case met: none, one and both flags denied
