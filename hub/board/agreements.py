"""Agreements for the board: each agreement's governing or newest version, status and review.

Status, at the moment the board is drawn:

- ``in force``: the version governing now (:meth:`hub.dsa.AgreementBook.in_force`);
- ``awaiting sign-off``: the newest version lacks a signature;
- ``not yet in force``: signed, but its start is still ahead;
- ``ended``: its end has passed, or it can never be in force.

Review: ``overdue`` when the review date has passed, ``due soon`` within
:data:`DUE_WITHIN_DAYS`; an ended agreement needs no review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hub.dsa import Agreement, AgreementBook

DUE_WITHIN_DAYS = 60


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """One agreement as the board lists it."""

    agreement_id: str
    version: int
    title: str
    status: str
    effective_from: date
    effective_to: date | None
    review_date: date
    review: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "agreement": self.agreement_id,
            "version": self.version,
            "title": self.title,
            "status": self.status,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "review_date": self.review_date.isoformat(),
            "review": self.review,
        }


def agreement_rows(book: AgreementBook, now: datetime) -> list[AgreementRow]:
    """One row per agreement id, overdue reviews first, then by review date."""
    governing = {a.id: a for a in book.in_force(now)}
    newest: dict[str, Agreement] = {}
    for entry in book.entries:
        held = newest.get(entry.agreement.id)
        if held is None or held.version < entry.agreement.version:
            newest[entry.agreement.id] = entry.agreement
    rows = [
        _row(governing.get(agreement_id, agreement), agreement_id in governing, now)
        for agreement_id, agreement in newest.items()
    ]
    order = {"overdue": 0, "due soon": 1, "": 2}
    return sorted(rows, key=lambda r: (order[r.review], r.review_date, r.agreement_id))


def _row(agreement: Agreement, in_force: bool, now: datetime) -> AgreementRow:
    status = "in force" if in_force else _status(agreement, now)
    today = now.date()
    review = ""
    if status != "ended":
        if agreement.review_date < today:
            review = "overdue"
        elif agreement.review_date <= today + timedelta(days=DUE_WITHIN_DAYS):
            review = "due soon"
    return AgreementRow(
        agreement.id,
        agreement.version,
        agreement.title,
        status,
        agreement.effective_from,
        agreement.effective_to,
        agreement.review_date,
        review,
    )


def _status(agreement: Agreement, now: datetime) -> str:
    if agreement.signed_on is None:
        return "awaiting sign-off"
    window = agreement.in_force_window()
    if window is None or (window[1] is not None and window[1] <= now):
        return "ended"
    return "not yet in force"
