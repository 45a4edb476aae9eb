"""What ``hub.flags.engine._Seen`` remembers is keyed by a window's last contribution and its
length: a window with other floors, or other earlier contributions, must not be answered
with what was found over another (review of flags20; equal to the plain computation)."""

from __future__ import annotations

from datetime import timedelta

from hub.flags import SubjectWindow, episodes_of
from tests.unit.flags.builders import RULES, contribution
from tests.unit.flags.test_seen import _plain

KINDS = ("csc.missing_episode", "csc.exploitation_screening", "police.violent_incident")


def _flagged() -> SubjectWindow:
    """Nine contributions (past the memo's threshold) on which a shipped rule holds."""
    window = SubjectWindow()
    for day in range(9):
        window = window.add(contribution(KINDS[day % 3], day))
    return window


def test_the_same_contributions_with_other_floors_are_matched_again() -> None:
    window = _flagged()
    assert episodes_of(RULES, window) == _plain(window) != []
    late = window.contributions[-1].occurred_at + timedelta(days=1)
    floored = SubjectWindow(
        contributions=window.contributions, floors={r.id: late for r in RULES.rules}
    )
    assert episodes_of(RULES, floored) == _plain(floored) == []


def test_a_window_sharing_only_its_last_contribution_is_matched_again() -> None:
    window = _flagged()
    assert episodes_of(RULES, window) == _plain(window) != []
    last = window.contributions[-1]
    other = SubjectWindow()
    for day in range(8):  # the same length, none qualifying (no age), then the same last
        other = other.add(contribution(KINDS[day % 3], day, age=None))
    other = other.add(last)
    assert other.contributions[-1] is last
    assert len(other) == len(window)
    assert episodes_of(RULES, other) == _plain(other) == []
