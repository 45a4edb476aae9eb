"""Agreements on the board: status now and whether review is overdue or due soon."""

from __future__ import annotations

from datetime import date, timedelta

from hub.board import agreement_rows
from hub.dsa import AgreementBook, load_directory
from tests.unit.dsa.builders import NOW, SHIPPED, TODAY, agreement


def by_id(book: AgreementBook) -> dict[str, tuple[str, str, int]]:
    return {r.agreement_id: (r.status, r.review, r.version) for r in agreement_rows(book, NOW)}


def test_review_is_overdue_after_its_date_and_due_soon_within_sixty_days() -> None:
    book = AgreementBook.from_agreements(
        [
            agreement(id="late", review_date=TODAY - timedelta(days=1)),
            agreement(id="soon", review_date=TODAY + timedelta(days=30)),
            agreement(id="fine", review_date=TODAY + timedelta(days=400)),
        ]
    )
    rows = agreement_rows(book, NOW)
    assert [(r.agreement_id, r.review) for r in rows] == [
        ("late", "overdue"),
        ("soon", "due soon"),
        ("fine", ""),
    ]
    assert {r.status for r in rows} == {"in force"}


def test_status_says_ended_awaiting_sign_off_or_not_yet_in_force() -> None:
    unsigned = agreement(id="unsigned")
    signatories = [s.model_copy(update={"signed_on": None}) for s in unsigned.signatories]
    book = AgreementBook.from_agreements(
        [
            agreement(id="ended", effective_to=TODAY - timedelta(days=10)),
            unsigned.model_copy(update={"signatories": tuple(signatories)}),
            agreement(id="future", effective_from=TODAY + timedelta(days=5)),
        ]
    )
    rows = by_id(book)
    assert rows["ended"][:2] == ("ended", "")
    assert rows["unsigned"][0] == "awaiting sign-off"
    assert rows["future"][0] == "not yet in force"


def test_the_governing_version_is_listed_for_the_shipped_set() -> None:
    book = AgreementBook.from_agreements(a for _, a in load_directory(SHIPPED).agreements)
    rows = by_id(book)
    assert rows["tv-police-svd"] == ("in force", rows["tv-police-svd"][1], 2)
    assert all(r.review_date > date(2000, 1, 1) for r in agreement_rows(book, NOW))
