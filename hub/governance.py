"""What information governance signs, and reading it back: only under a key the reader trusts.

Agreement publications and suspensions (the agreements topic) and agreement switch markers
(every accepted partition) are internal records (``hub.crypto.record``) signed with the
governance key, one signature per record, bound to the topic and partition written to::

    value = publication_record(agreement, sequence, now, Place(agreements_topic, 0), key)
    folded = fold_book(values, RecordVerifier(trusted), agreements_topic)
    folded.book          # only authenticated, valid publications, in publisher order
    folded.refused       # (offset, reason) of everything else: never applied

A record that does not verify (no signature, another key, a key outside its window at the
record's signed time, moved from another place) is refused and never applied, whatever it
claims to be: a forged suspension is not applied either, and is reported with the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from hub.crypto import GOVERNANCE, Keyring, SigningKey
from hub.crypto.record import Kind, Place, parse
from hub.crypto.trust import RecordVerifier, TrustedKeys, seal_record
from hub.dsa import Agreement, AgreementBook, Suspension, encode_suspension_message
from hub.dsa.book import encode_agreement_message
from hub.errors import AgreementError, CryptoError, MalformedRecordError
from hub.policy import Switch

AGREEMENTS_KINDS = frozenset({Kind.AGREEMENT, Kind.SUSPENSION})


def publication_record(
    agreement: Agreement, sequence: int, published_at: datetime, place: Place, key: SigningKey
) -> bytes:
    """One agreement version, signed by governance for ``place`` (the agreements topic)."""
    item = encode_agreement_message(agreement, sequence, published_at)
    return seal_record(Kind.AGREEMENT, published_at, (item,), place, key)


def suspension_record(suspension: Suspension, place: Place, key: SigningKey) -> bytes:
    """One suspension or resumption, signed by governance for ``place``."""
    item = encode_suspension_message(suspension)
    return seal_record(Kind.SUSPENSION, suspension.published_at, (item,), place, key)


def switch_record(switch: Switch, at: datetime, place: Place, key: SigningKey) -> bytes:
    """A switch marker, signed by governance for one accepted partition."""
    return seal_record(Kind.SWITCH, at, (switch.to_bytes(),), place, key)


@dataclass(frozen=True, slots=True)
class Governance:
    """What a governance publisher holds: its signing key, and the keys to read the topic with."""

    key: SigningKey
    verifier: RecordVerifier

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> Governance:
        """The current governance key of ``keyring`` (KeyringError if it holds none)."""
        return cls(
            keyring.signing_key(GOVERNANCE), RecordVerifier(TrustedKeys.from_keyring(keyring))
        )


@dataclass(frozen=True, slots=True)
class Refused:
    """A record that was not applied: where it is and why (a closed reason code)."""

    offset: int
    reason: str
    kind: str | None = None
    """The kind the record claims, when it parses (unauthenticated: for the alarm only)."""


@dataclass(slots=True)
class FoldedBook:
    """An agreements topic folded: the book of what verified, and what was refused."""

    book: AgreementBook = field(default_factory=AgreementBook)
    refused: list[Refused] = field(default_factory=list)
    authenticated_sequence: int = 0
    """The highest publisher sequence of an authenticated record, applied or not."""

    def add(
        self, value: bytes, offset: int, verifier: RecordVerifier, place: Place
    ) -> Refused | None:
        """Fold one record in; returns why it was refused, or None once applied."""
        try:
            record = verifier.open(value, place, AGREEMENTS_KINDS)
        except CryptoError as exc:
            refused = Refused(offset, exc.reason, claimed_kind(value))
            self.refused.append(refused)
            return refused
        for item in record.items:
            self.authenticated_sequence = max(self.authenticated_sequence, sequence_of(item))
            try:
                self.book = self.book.apply(item)
            except AgreementError as exc:
                refused = Refused(offset, exc.reason, record.kind.value)
                self.refused.append(refused)
                return refused
        return None


def fold_book(values: Iterable[bytes], verifier: RecordVerifier, topic: str) -> FoldedBook:
    """Every record of the agreements topic (partition 0, offset order), folded."""
    folded = FoldedBook()
    place = Place(topic, 0)
    for offset, value in enumerate(values):
        folded.add(value, offset, verifier, place)
    return folded


def claimed_kind(value: bytes) -> str | None:
    """The kind a record claims, if it parses at all (never trusted: for alarms only)."""
    try:
        return parse(value).kind.value
    except MalformedRecordError:
        return None


def sequence_of(item: bytes) -> int:
    """The publisher sequence an authenticated item names (0 if it names none)."""
    try:
        raw = json.loads(item)
    except (UnicodeDecodeError, ValueError):
        return 0
    sequence = raw.get("sequence") if isinstance(raw, dict) else None
    return sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else 0
