"""Every version of every agreement, with when it was published: the versioned history.

Agreements reach workers as messages on a topic. Each message carries a publisher sequence
number and a publication time; a worker folds them into its :class:`AgreementBook` with
:meth:`AgreementBook.apply`. Evaluation at a moment ``T`` only sees publications made at or
before ``T``, and the history is append-only, so a decision at ``T`` is unchanged by any
later agreement change: a replay decides exactly as the original did.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from hub.dsa.document import Agreement
from hub.dsa.suspension import (
    Party,
    Suspension,
    decode_suspension_message,
    is_suspension_message,
    suspended_parties,
)
from hub.errors import AgreementError

MESSAGE_KIND = "vru.dsa.agreement"
MESSAGE_FORMAT = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Publication(BaseModel):
    """One agreement version as published: the publisher's sequence and clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement: Agreement
    sequence: int
    published_at: datetime


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def agreement_digest(agreement: Agreement) -> str:
    """``sha256:<hex>`` of the agreement's canonical JSON, recorded with each decision."""
    body = canonical_json(agreement_json(agreement))
    return "sha256:" + hashlib.sha256(body).hexdigest()


def encode_agreement_message(agreement: Agreement, sequence: int, published_at: datetime) -> bytes:
    """The bytes to publish on the agreements topic (deterministic for equal inputs)."""
    _require_aware(published_at)
    return canonical_json(
        {
            "kind": MESSAGE_KIND,
            "format": MESSAGE_FORMAT,
            "sequence": sequence,
            "published_at": published_at.astimezone(UTC).isoformat(),
            "digest": agreement_digest(agreement),
            "agreement": agreement_json(agreement),
        }
    )


def agreement_json(agreement: Agreement) -> dict[str, Any]:
    """The agreement as JSON data; an absent ``disclosure`` block is left out, so agreements
    written before it existed keep their digests."""
    data = agreement.model_dump(mode="json")
    if data.get("disclosure") is None:
        data.pop("disclosure", None)
    return data


def decode_record(data: bytes) -> Publication | Suspension:
    """Any agreements-topic record: an agreement version or a suspension; else AgreementError."""
    raw = _parse(data)
    if is_suspension_message(raw):
        return decode_suspension_message(raw)
    return _publication(raw)


def _parse(data: bytes) -> object:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AgreementError("agreement message is not JSON") from exc


def decode_agreement_message(data: bytes) -> Publication:
    """Parse and verify a message; AgreementError says what is wrong, never the content."""
    return _publication(_parse(data))


def _publication(raw: object) -> Publication:
    if not isinstance(raw, dict) or raw.get("kind") != MESSAGE_KIND:
        raise AgreementError("not an agreement message")
    if raw.get("format") != MESSAGE_FORMAT:
        raise AgreementError(f"unsupported agreement message format {raw.get('format')!r}")
    try:
        publication = Publication(
            agreement=Agreement.model_validate(raw.get("agreement")),
            sequence=raw.get("sequence"),
            published_at=raw.get("published_at"),
        )
    except PydanticValidationError as exc:
        paths = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise AgreementError(f"agreement message invalid at {paths}") from exc
    _require_aware(publication.published_at)
    if raw.get("digest") != agreement_digest(publication.agreement):
        raise AgreementError(f"digest mismatch for {publication.agreement.ref}")
    return publication


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise AgreementError("publication time has no time zone")


Record = Publication | Suspension
"""Anything the agreements topic carries: an agreement version or a suspension."""


class AgreementBook:
    """An immutable, append-only history of agreement publications and suspensions.

    Both share the publisher's sequence, so a switch marker naming a sequence covers both.
    """

    __slots__ = ("_by_stream", "_entries", "_suspensions")

    def __init__(self, entries: Iterable[Publication] = ()) -> None:
        self._entries: tuple[Publication, ...] = ()
        self._suspensions: tuple[Suspension, ...] = ()
        self._by_stream = False
        for entry in entries:
            self._entries = self._appended(entry)._entries

    @classmethod
    def from_agreements(
        cls, agreements: Iterable[Agreement], published_at: datetime = EPOCH
    ) -> AgreementBook:
        """A book where every agreement was published at ``published_at`` (files on disk)."""
        ordered = sorted(agreements, key=lambda a: (a.id, a.version))
        return cls(
            Publication(agreement=a, sequence=i, published_at=published_at)
            for i, a in enumerate(ordered, start=1)
        )

    @property
    def entries(self) -> tuple[Publication, ...]:
        """Every publication, in the order applied."""
        return self._entries

    @property
    def suspensions(self) -> tuple[Suspension, ...]:
        """Every suspend and resume record, in the order applied."""
        return self._suspensions

    @property
    def last_sequence(self) -> int:
        """The publisher sequence of the newest record (0 when empty)."""
        last = self._last()
        return last.sequence if last is not None else 0

    def _last(self) -> Record | None:
        records: list[Record] = [*self._entries[-1:], *self._suspensions[-1:]]
        return max(records, key=lambda r: r.sequence, default=None)

    def apply(self, message: bytes | Record) -> AgreementBook:
        """A new book with the message's record; a redelivered duplicate is a no-op."""
        record = message if not isinstance(message, bytes) else decode_record(message)
        if record in self._entries or record in self._suspensions:
            return self
        return self._appended(record)

    def _appended(self, new: Record) -> AgreementBook:
        last = self._last()
        if last is not None:
            if new.sequence <= last.sequence:
                raise AgreementError(f"sequence {new.sequence} after {last.sequence}")
            if new.published_at < last.published_at:
                raise AgreementError(f"sequence {new.sequence} published before the previous entry")
        if isinstance(new, Suspension):
            return self._with(self._entries, (*self._suspensions, new), by_stream=self._by_stream)
        self._check_version(new.agreement)
        return self._with((*self._entries, new), self._suspensions, by_stream=self._by_stream)

    def _with(
        self,
        entries: tuple[Publication, ...],
        suspensions: tuple[Suspension, ...],
        *,
        by_stream: bool,
    ) -> AgreementBook:
        book = AgreementBook()
        book._entries = entries  # a fresh instance, built here from checked entries
        book._suspensions = suspensions
        book._by_stream = by_stream
        return book

    def suspended(self, at: datetime) -> frozenset[tuple[Party, str]]:
        """The parties suspended at ``at`` (in a book cut with :meth:`up_to`: every one known)."""
        _require_aware(at)
        return suspended_parties(self._suspensions, None if self._by_stream else at)

    def up_to(self, sequence: int) -> AgreementBook:
        """The publications with sequence <= ``sequence``, known from that stream point on.

        For workers that switch at a marker in the stream rather than at a time: in the
        returned book a publication counts from its effective dates whatever its publication
        time, because the stream position, not the clock, says which publications are known.
        """
        return self._with(
            tuple(e for e in self._entries if e.sequence <= sequence),
            tuple(s for s in self._suspensions if s.sequence <= sequence),
            by_stream=True,
        )

    def _check_version(self, new: Agreement) -> None:
        for entry in self._entries:
            old = entry.agreement
            if old.id != new.id or old.version < new.version:
                continue
            if old.version > new.version:
                raise AgreementError(f"{new.ref} is older than published {old.ref}")
            if not _only_signatures_differ(old, new):
                raise AgreementError(f"{new.ref} republished with different terms")

    def in_force(self, at: datetime) -> tuple[Agreement, ...]:
        """The governing version of each agreement in force at ``at``, sorted by id.

        For each id, the governing version is the newest one published by ``at`` (in a book
        cut with :meth:`up_to`: the newest one known) whose start (effective date and full
        sign-off) has passed; it is in force until its end.
        """
        _require_aware(at)
        governing: dict[str, tuple[tuple[int, int], Agreement]] = {}
        for entry in self._entries:
            agreement = entry.agreement
            window = agreement.in_force_window()
            unpublished = entry.published_at > at and not self._by_stream
            if unpublished or window is None or window[0] > at:
                continue
            rank = (agreement.version, entry.sequence)
            held = governing.get(agreement.id)
            if held is None or held[0] < rank:
                governing[agreement.id] = (rank, agreement)
        return tuple(a for _, (_, a) in sorted(governing.items()) if a.in_force(at))

    def breakpoints(self) -> tuple[datetime, ...]:
        """Every instant at which :meth:`in_force` may change, sorted."""
        points: set[datetime] = set()
        if not self._by_stream:
            points.update(s.published_at for s in self._suspensions)
        for entry in self._entries:
            if not self._by_stream:
                points.add(entry.published_at)
            window = entry.agreement.in_force_window()
            if window is not None:
                points.add(window[0])
                if window[1] is not None:
                    points.add(window[1])
        return tuple(sorted(points))

    def versions(self, agreement_id: str) -> tuple[Publication, ...]:
        """Every publication of one agreement, oldest first."""
        return tuple(e for e in self._entries if e.agreement.id == agreement_id)


def _only_signatures_differ(old: Agreement, new: Agreement) -> bool:
    keep = {"signatories"}
    return old.model_dump(exclude=keep) == new.model_dump(exclude=keep)
