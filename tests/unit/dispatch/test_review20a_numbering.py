"""Class numbers met again under another numbering, and sights grown under another consent.

Two cases the decider's memos must not carry over (:mod:`hub.decider`): a subject's window
object dispatched again (a tick) after the numbering changed, whose classes kept under the old
numbering would put old numbers into the new numbering's shared masks; and a window grown
from one whose sights were given under a consent state that answers nothing, now decided
under a grant, whose sights the grant changes. Each dispatch's sights are checked against a
fresh evaluator's (:func:`tests.unit.dispatch.test_numbering._check`).
"""

from __future__ import annotations

from datetime import timedelta

from hub.consent import ConsentLedger
from hub.decider import Decider
from hub.disclosure import Moment
from hub.dsa import NO_CONSENT, ConsentBook, ConsentGrant, Evaluator, Purpose
from hub.flags import SubjectWindow
from tests.unit.dispatch.test_decider import PARTNERSHIPS, TOKEN
from tests.unit.dispatch.test_numbering import (
    AT,
    _check,
    _event,
    _fewer,
    _forget,
    book_and_registry,  # noqa: F401  # the fixture
)
from tests.unit.dispatch.test_sight import Book


def test_a_window_met_again_under_another_numbering_is_classified_again(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """Police 0 and education 1 under the full book; the same window object again under the
    book that withholds education (a fresh numbering), then another subject's window that
    numbers education 0 and police 1 there: classes kept from the first numbering would have
    put police's mask at 0 and education's at 1 in the second's shared masks."""
    book, registry = book_and_registry
    full, fewer = Evaluator(book, registry), _fewer(book_and_registry)
    police = _event(0, "police", "police.weapon_possession")
    school = _event(1, "education", "education.suspension")
    window = SubjectWindow(contributions=(police, school))
    later_school = _event(2, "education", "education.suspension")  # the earlier: numbered 0
    later_police = _event(3, "police", "police.weapon_possession")
    other = TOKEN.replace("a", "b")
    _forget()
    steps = [
        (full, TOKEN, window),
        (fewer, TOKEN, window),  # the same window object: a tick, another numbering
        (fewer, other, SubjectWindow(contributions=(later_school, later_police))),
    ]
    seen = []
    for evaluator, token, at_window in steps:
        decider = Decider(token, Moment(AT, evaluator, 1, consent=NO_CONSENT), remember=True)
        _check(decider, at_window, Evaluator(evaluator.book, registry))
        seen.append(decider.sights(PARTNERSHIPS, at_window)[0].ids)
    assert seen == [{"n0", "n1"}, {"n0"}, {"n3"}]  # not vacuous: education withheld by one


def test_a_window_grown_under_a_grant_is_not_given_the_silent_sights(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """A police event and a voluntary-sector engagement under an empty ledger (Reading sees
    the police event only); the window grown by another police event, decided under a grant
    to Reading: Reading sees the engagement too, so the sights given before do not grow into
    this dispatch's."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    police = _event(0, "police", "police.weapon_possession")
    engagement = _event(1, "voluntary-sector", "voluntary.engagement")
    more = _event(2, "police", "police.weapon_possession")
    grant = ConsentGrant(
        consent_id="c-1",
        subject_token=TOKEN,
        purpose=Purpose.EARLY_INTERVENTION,
        provider="voluntary-sector",
        recipients=frozenset({"reading"}),
        given_at=AT - timedelta(days=30),
    )
    before = SubjectWindow(contributions=(police, engagement))
    grown = SubjectWindow(contributions=(police, engagement, more))
    _forget()
    seen = []
    for window, consent in ((before, ConsentLedger()), (grown, ConsentBook([grant]))):
        decider = Decider(TOKEN, Moment(AT, evaluator, 1, consent=consent), remember=True)
        _check(decider, window, Evaluator(book, registry))
        seen.append(decider.sights(PARTNERSHIPS, window)[0].ids)
    assert seen == [{"n0"}, {"n0", "n1", "n2"}]  # not vacuous: the grant shows Reading more
