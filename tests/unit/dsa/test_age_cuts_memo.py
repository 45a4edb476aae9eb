"""An agreement's age cuts are remembered by the agreement object (``hub.dsa.evaluate``): the
book's cuts are the same whether its agreements were seen before or not, and the memo stays
within its bound, holding what it keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.dsa import evaluate
from hub.dsa.book import AgreementBook, Publication
from hub.dsa.document import AgeScope
from hub.dsa.evaluate import _age_cuts, _scopes
from tests.unit.dsa.builders import agreement


def _walked(book: AgreementBook) -> tuple[int, ...]:
    """The cuts as the evaluator found them before the memo: every scope of every agreement."""
    cuts: set[int] = set()
    for scope in _scopes([e.agreement for e in book.entries]):
        cuts |= {scope.min} if scope.min is not None else set()
        cuts |= {scope.max + 1} if scope.max is not None else set()
    return tuple(sorted(cuts))


def _book(scopes: list[tuple[int | None, int | None]], first: int = 0) -> AgreementBook:
    published = datetime(2026, 1, 1, tzinfo=UTC)
    return AgreementBook(
        Publication(
            agreement=agreement(id=f"test-{n}", age_scope={"min": low, "max": high}),
            sequence=n,
            published_at=published,
        )
        for n, (low, high) in enumerate(scopes, first)
    )


def test_a_books_cuts_are_the_walks_first_and_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluate, "_CUTS", {})
    book = _book([(10, 17), (None, 24), (18, None), (None, None)])
    assert isinstance(book.entries[0].agreement.age_scope, AgeScope)
    assert _age_cuts(book) == _walked(book) == (10, 18, 25)
    assert len(evaluate._CUTS) == 4
    assert _age_cuts(book) == (10, 18, 25)  # from the memo
    grown = AgreementBook([*book.entries, *_book([(5, 5)], first=4).entries])
    assert _age_cuts(grown) == _walked(grown) == (5, 6, 10, 18, 25)


def test_the_memo_is_bounded_and_never_answers_for_another_agreement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evaluate, "_CUTS", {})
    monkeypatch.setattr(evaluate, "_CUTS_MAX", 3)
    for n in range(12):
        book = _book([(n, n + 10), (None, n + 20)])
        assert _age_cuts(book) == _walked(book) == (n, n + 11, n + 21)
        assert len(evaluate._CUTS) <= 3
        # every key is the id of the agreement held beside it
        assert all(key == id(held) for key, (held, _) in evaluate._CUTS.items())
