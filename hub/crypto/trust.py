"""Writing and verifying internal records (``hub.crypto.record``) with the keys each kind needs.

::

    keys = TrustedKeys.from_keyring(keyring)            # or public_keys(...) for auditors
    value = seal_record(Kind.EVENTS, now, items, Place(topic, partition), keyring_internal_key)
    verifier = RecordVerifier(keys, source=reload)
    record = verifier.open(value, Place(topic, partition), {Kind.EVENTS, Kind.TICK})

A verifier checks, in this order: the record parses, its kind belongs on the topic read
(:class:`~hub.errors.UnexpectedKindError`), the key it names is one this reader trusts for
that kind's scheme (:class:`~hub.errors.UnknownKeyError`), the tag verifies over the place it
was read from (:class:`~hub.errors.BadSignatureError`), and the record's authenticated time
lies in the key's validity window (:class:`~hub.errors.KeyExpiredError`,
:class:`~hub.errors.KeyNotYetValidError`). With a key source it re-reads the keys when a
record names an unknown key (at most once a second) and every ten seconds, so a rotation
needs no restart.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from hub.crypto.keyfile import KeyInfo, KeyKind
from hub.crypto.keyring import GOVERNANCE, HUB, Keyring
from hub.crypto.record import (
    SCHEMES,
    InternalRecord,
    Kind,
    Place,
    Scheme,
    encode_body,
    parse,
    statement,
)
from hub.crypto.secret import HmacKey
from hub.crypto.signing import SigningKey, VerifyKey
from hub.errors import (
    BadSignatureError,
    KeyExpiredError,
    KeyNotYetValidError,
    KeyringError,
    UnexpectedKindError,
    UnknownKeyError,
)

log = structlog.get_logger("hub.crypto.trust")
UNKNOWN_KEY_REFRESH_S = 1.0
REFRESH_S = 10.0


@dataclass(frozen=True, slots=True)
class Window:
    """When material made with a key is acceptable: not-before .. not-after (None: open)."""

    not_before: datetime | None = None
    not_after: datetime | None = None

    @classmethod
    def of(cls, info: KeyInfo) -> Window:
        """A keyring key's window."""
        return cls(info.not_before, info.not_after)

    def check(self, key_id: str, at: datetime) -> None:
        """Raise if ``at`` is outside the window."""
        if self.not_before is not None and at < self.not_before:
            raise KeyNotYetValidError(key_id, self.not_before.isoformat(), "made before")
        if self.not_after is not None and at > self.not_after:
            raise KeyExpiredError(key_id, self.not_after.isoformat(), "made after")


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """The keys a reader trusts, by scheme, each with its window. The repr shows ids only."""

    internal: Mapping[str, tuple[HmacKey, Window]] = field(default_factory=dict, repr=False)
    hub: Mapping[str, tuple[VerifyKey, Window]] = field(default_factory=dict, repr=False)
    governance: Mapping[str, tuple[VerifyKey, Window]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> TrustedKeys:
        """Every hub internal key, hub verify key and governance verify key in ``keyring``."""
        internal = {
            i.key_id: (keyring.hmac_key(HUB, KeyKind.INTERNAL, i.key_id), Window.of(i))
            for i in keyring.infos_of(HUB, KeyKind.INTERNAL)
        }
        return cls(internal, _verify_keys(keyring, HUB), _verify_keys(keyring, GOVERNANCE))

    @classmethod
    def public(
        cls, hub: Iterable[tuple[VerifyKey, Window]], governance: Iterable[tuple[VerifyKey, Window]]
    ) -> TrustedKeys:
        """Public keys only (an auditor): signed kinds verify, MACed kinds cannot."""
        return cls(
            {}, {k.key_id: (k, w) for k, w in hub}, {k.key_id: (k, w) for k, w in governance}
        )

    @property
    def can_mac(self) -> bool:
        """Whether these keys include the hub's internal key (only the hub's workers hold it)."""
        return bool(self.internal)


def _verify_keys(keyring: Keyring, owner: str) -> dict[str, tuple[VerifyKey, Window]]:
    return {
        i.key_id: (VerifyKey(i.public), Window.of(i))
        for i in keyring.infos_of(owner, KeyKind.SIGNING)
        if i.public is not None
    }


def seal_record(
    kind: Kind, at: datetime, items: Iterable[bytes], place: Place, key: HmacKey | SigningKey
) -> bytes:
    """One record of ``kind`` carrying ``items``, authenticated for ``place``.

    ``key`` is the hub's internal key for MACed kinds, a signing key for signed ones
    (:data:`hub.crypto.record.SCHEMES`); the wrong one is a ValueError, a programming error.
    """
    mac = SCHEMES[kind] is Scheme.HUB_MAC
    if mac != isinstance(key, HmacKey):
        raise ValueError(f"a {kind.value} record needs {'an HMAC' if mac else 'a signing'} key")
    body = encode_body(kind, at, key.key_id, tuple(items))
    message = statement(place, body)
    tag = key.mac(message) if isinstance(key, HmacKey) else key.sign(message)
    return body + tag


KeySource = Callable[[], TrustedKeys]


class RecordVerifier:
    """Opens internal records read from a place, with the keys it trusts."""

    def __init__(self, keys: TrustedKeys, *, source: KeySource | None = None) -> None:
        self.keys = keys
        self._source = source
        self._loaded_at = time.monotonic()

    @classmethod
    def from_source(cls, source: KeySource) -> RecordVerifier:
        """A verifier that loads its keys from ``source`` now and refreshes from it."""
        return cls(source(), source=source)

    def open(self, data: bytes, place: Place, kinds: Collection[Kind]) -> InternalRecord:
        """The record ``data``, read at ``place``, once authenticated; else a CryptoError."""
        record = parse(data)
        if record.kind not in kinds:
            raise UnexpectedKindError(record.kind.value, place.topic)
        found = self._lookup(record.scheme, record.key_id)
        if found is None:
            raise UnknownKeyError(record.key_id)
        key, window = found
        message = statement(place, record.body)
        if isinstance(key, HmacKey):
            if not hmac.compare_digest(key.mac(message), record.tag):
                raise BadSignatureError(f"MAC does not verify under key {record.key_id}")
        else:
            key.verify(record.tag, message)
        window.check(record.key_id, record.at)
        return record

    def internal_key(self, key_id: str) -> HmacKey | None:
        """The hub's internal key ``key_id``, if trusted (re-reading the keys if unknown)."""
        found = self._lookup(Scheme.HUB_MAC, key_id)
        return found[0] if found is not None and isinstance(found[0], HmacKey) else None

    def hub_key(self, key_id: str) -> VerifyKey | None:
        """The hub verify key ``key_id``, if trusted (for alerts, signed in their own format)."""
        found = self._lookup(Scheme.HUB_SIGNATURE, key_id)
        return found[0] if found is not None and isinstance(found[0], VerifyKey) else None

    def _lookup(self, scheme: Scheme, key_id: str) -> tuple[HmacKey | VerifyKey, Window] | None:
        self._refresh(REFRESH_S)
        found = self._table(scheme).get(key_id)
        if found is None:
            self._refresh(UNKNOWN_KEY_REFRESH_S)
            found = self._table(scheme).get(key_id)
        return found

    def _table(self, scheme: Scheme) -> Mapping[str, tuple[HmacKey | VerifyKey, Window]]:
        if scheme is Scheme.HUB_MAC:
            return self.keys.internal
        if scheme is Scheme.HUB_SIGNATURE:
            return self.keys.hub
        return self.keys.governance

    def _refresh(self, min_age_s: float) -> None:
        now = time.monotonic()
        if self._source is None or now - self._loaded_at < min_age_s:
            return
        self._loaded_at = now
        try:
            self.keys = self._source()
        except KeyringError as exc:  # keep verifying with the keys we have; say so loudly
            log.warning("trusted_keys_reload_failed", error=type(exc).__name__, detail=str(exc))


def keyring_source(root: Path) -> KeySource:
    """A key source that re-opens the keyring under ``root`` each time it is called."""

    def load() -> TrustedKeys:
        return TrustedKeys.from_keyring(Keyring.open(root))

    return load
