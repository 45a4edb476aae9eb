"""The keyring: every key a deployment holds, one file each, with rotation metadata.

Owners are path-like: ``hub`` (the hub's signing key for alerts, decisions and tree heads, and
its internal MAC key), ``agencies`` (the linkage key the agencies share), ``governance`` (the
information governance signing key for agreements, suspensions and switch markers),
``agency/<id>`` (an agency's feed signing keys) and ``partnership/<id>`` (a partnership's HPKE
key pair and pseudonym key). An owner may hold
several keys of one kind during a rotation: the newest ``active`` one is used for new work,
and ``retiring`` ones stay acceptable until their not-after time.

A keyring may hold only the public part of a key pair: the hub's holds agencies' signing keys
and partnerships' HPKE keys that way, their secrets staying with their owners
(:mod:`hub.crypto.custody`). Asking for a secret that is not held is a KeyringError.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hub.crypto.batch import AgencyKeySet, KeySource
from hub.crypto.hpke import HpkePrivateKey, HpkePublicKey
from hub.crypto.keyfile import KeyInfo, KeyKind, KeyStatus, make_private_dir, read_key, write_key
from hub.crypto.secret import HmacKey
from hub.crypto.signing import SigningKey, VerifyKey
from hub.errors import KeyringError, UnknownKeyError

HUB = "hub"
AGENCIES = "agencies"
GOVERNANCE = "governance"
"""The VRU's information governance: signs agreement publications, suspensions and markers."""
#: Public key files written for handing over; they sit beside a keyring but are not in it.
PUBLIC_SUFFIX = ".public.json"


def agency_owner(agency_id: str) -> str:
    """The keyring owner name of an agency."""
    return f"agency/{agency_id}"


def partnership_owner(partnership_id: str) -> str:
    """The keyring owner name of a partnership."""
    return f"partnership/{partnership_id}"


def _generate(kind: KeyKind) -> tuple[str, bytes, bytes | None]:
    """A fresh key of ``kind``: its id, its secret and its public part (if any)."""
    if kind is KeyKind.SIGNING:
        signing = SigningKey.generate()
        return signing.key_id, signing.raw(), signing.verify_key.raw
    if kind is KeyKind.HPKE:
        private = HpkePrivateKey.generate()
        return private.key_id, private.raw(), private.public_key.raw
    hmac_key = HmacKey.generate()
    return hmac_key.key_id, hmac_key.secret, None


class Keyring:
    """Keys on disk under one directory (0700), one 0600 JSON file per key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._keys: dict[tuple[str, KeyKind], list[tuple[KeyInfo, bytes | None]]] = {}

    @classmethod
    def open(cls, root: Path) -> Keyring:
        """Load every key file under ``root`` (not the ``*.public.json`` copies made to hand
        over: :mod:`hub.crypto.custody`)."""
        if not root.is_dir():
            raise KeyringError(f"{root}: no keyring directory")
        keyring = cls(root)
        for path in sorted(root.rglob("*.json")):
            if path.name.endswith(PUBLIC_SUFFIX):
                continue
            info, secret = read_key(path)
            keyring._remember(info, secret)
        return keyring

    def _remember(self, info: KeyInfo, secret: bytes | None) -> None:
        entries = self._keys.setdefault((info.owner, info.kind), [])
        entries[:] = [e for e in entries if e[0].key_id != info.key_id]
        entries.append((info, secret))
        entries.sort(key=lambda e: e[0].created_at)

    def generate(
        self, owner: str, kind: KeyKind, now: datetime, *, not_before: datetime | None = None
    ) -> KeyInfo:
        """Create, store and return a new active key for ``owner``."""
        key_id, secret, public = _generate(kind)
        info = KeyInfo(owner, kind, key_id, now, public=public, not_before=not_before)
        return self.add(info, secret)

    def add(self, info: KeyInfo, secret: bytes | None) -> KeyInfo:
        """Store a key made elsewhere (e.g. signed for before it is written); returns it.

        ``secret`` None stores the public part only (``info.public`` must be set).
        """
        if secret is None and info.public is None:
            raise KeyringError(
                f"{info.owner} {info.kind.value}: a key needs a secret or a public part"
            )
        make_private_dir(self.root, stop=self.root)
        write_key(self.root, info, secret)
        self._remember(info, secret)
        return info

    def retire(self, owner: str, kind: KeyKind, key_id: str, not_after: datetime) -> KeyInfo:
        """Mark a key as retiring: still accepted until ``not_after``, no longer used."""
        old, secret = self._entry(owner, kind, key_id)
        return self.add(replace(old, status=KeyStatus.RETIRING, not_after=not_after), secret)

    def rotate(
        self,
        owner: str,
        kind: KeyKind,
        now: datetime,
        overlap: timedelta,
        *,
        public: KeyInfo | None = None,
    ) -> tuple[KeyInfo, tuple[KeyInfo, ...]]:
        """A new active key valid from ``now``; every active one retires at ``now + overlap``.

        The new key is generated here, or is ``public``: the public part of a key its owner
        generated (``hub keys rotate --public-key``). Returns the new key and the keys it
        retired. Material made with a retired key stays acceptable until its not-after (the
        overlap window), then is refused.
        """
        if overlap < timedelta(0):
            raise KeyringError("the overlap window cannot be negative")
        active = [i for i in self.infos_of(owner, kind) if i.status is KeyStatus.ACTIVE]
        if public is None:
            new = self.generate(owner, kind, now, not_before=now)
        else:
            if (public.owner, public.kind) != (owner, kind):
                raise KeyringError(f"the public key given is not a {kind.value} key of {owner}")
            if public.key_id in {i.key_id for i in self.infos_of(owner, kind)}:
                raise KeyringError(f"{owner} already holds key {public.key_id}")
            new = self.add(replace(public, created_at=now, not_before=now), None)
        retired = tuple(self.retire(owner, kind, i.key_id, now + overlap) for i in active)
        return new, retired

    def infos_of(self, owner: str, kind: KeyKind) -> tuple[KeyInfo, ...]:
        """Metadata of ``owner``'s keys of ``kind``, oldest first."""
        return tuple(info for info, _ in self._keys.get((owner, kind), []))

    def infos(self) -> Iterator[KeyInfo]:
        """Metadata of every key, by owner and kind, oldest first. No secrets."""
        for owner, kind in sorted(self._keys):
            yield from (info for info, _ in self._keys[owner, kind])

    def secret_infos(self) -> Iterator[KeyInfo]:
        """Metadata of every key whose secret this keyring holds. No secrets."""
        for owner, kind in sorted(self._keys):
            yield from (info for info, secret in self._keys[owner, kind] if secret is not None)

    def _secret(self, owner: str, kind: KeyKind, key_id: str | None) -> bytes:
        """The secret of a key (by id, or the newest active); KeyringError if not held here."""
        info, secret = self._entry(owner, kind, key_id)
        if secret is None:
            raise KeyringError(
                f"this keyring holds only the public part of {owner}'s {kind.value} key "
                f"{info.key_id}: its secret stays with its owner (docs/keys.md)"
            )
        return secret

    def _entry(self, owner: str, kind: KeyKind, key_id: str | None) -> tuple[KeyInfo, bytes | None]:
        """A key by id, or the newest active one when ``key_id`` is None."""
        entries = self._keys.get((owner, kind), [])
        if key_id is None:
            active = [e for e in entries if e[0].status is KeyStatus.ACTIVE]
            if not active:
                raise KeyringError(f"{owner} has no active {kind.value} key")
            return active[-1]
        for entry in entries:
            if entry[0].key_id == key_id:
                return entry
        raise UnknownKeyError(key_id)

    def signing_key(self, owner: str, key_id: str | None = None) -> SigningKey:
        """An Ed25519 signing key of ``owner`` (default: its current one)."""
        return SigningKey.from_raw(self._secret(owner, KeyKind.SIGNING, key_id))

    def verify_keys(self, owner: str, at: datetime | None = None) -> list[VerifyKey]:
        """Every verify key of ``owner`` acceptable at ``at`` (default: all of them)."""
        return [
            VerifyKey(info.public)
            for info, _ in self._keys.get((owner, KeyKind.SIGNING), [])
            if info.public is not None and (at is None or info.accepted_at(at))
        ]

    def agency_key_set(self, agency_ids: Iterable[str]) -> AgencyKeySet:
        """Every signing key of these agencies, with their windows, for a SealVerifier."""
        keys: dict[str, list[VerifyKey]] = {}
        windows: dict[str, KeyInfo] = {}
        for agency_id in agency_ids:
            infos = self.infos_of(agency_owner(agency_id), KeyKind.SIGNING)
            keys[agency_id] = [VerifyKey(i.public) for i in infos if i.public is not None]
            windows.update((i.key_id, i) for i in infos)
        return AgencyKeySet(keys, windows)

    def hmac_key(self, owner: str, kind: KeyKind, key_id: str | None = None) -> HmacKey:
        """The linkage key (owner ``agencies``), a pseudonym key or the hub's internal key."""
        if kind not in (KeyKind.LINKAGE, KeyKind.PSEUDONYM, KeyKind.INTERNAL):
            raise KeyringError(f"{kind.value} is not an HMAC key kind")
        return HmacKey(self._secret(owner, kind, key_id))

    def hpke_key(self, owner: str, key_id: str | None = None) -> HpkePrivateKey:
        """A partnership's HPKE private key (default: its current one)."""
        return HpkePrivateKey.from_raw(self._secret(owner, KeyKind.HPKE, key_id))

    def hpke_public_key(self, owner: str) -> HpkePublicKey:
        """The public key alerts to ``owner`` are sealed to now (its newest active HPKE key).

        Needs only the public part: the hub never holds a partnership's private key.
        """
        info = self._entry(owner, KeyKind.HPKE, None)[0]
        if info.public is None:
            raise KeyringError(f"{owner}'s HPKE key {info.key_id} has no public part")
        return HpkePublicKey(info.public)

    def public_bundle(self) -> dict[str, Any]:
        """Every public key with its metadata, as JSON-ready data to hand to verifiers."""
        return {
            "format": "vru-hub-public-keys/v1",
            "keys": [
                {
                    "owner": info.owner,
                    "kind": info.kind.value,
                    "key_id": info.key_id,
                    "created_at": info.created_at.isoformat(),
                    "status": info.status.value,
                    "not_before": info.not_before.isoformat() if info.not_before else None,
                    "not_after": info.not_after.isoformat() if info.not_after else None,
                    "public": base64.b64encode(info.public).decode("ascii"),
                }
                for info in self.infos()
                if info.public is not None
            ],
        }


def agency_key_source(root: Path, agency_ids: Iterable[str]) -> KeySource:
    """A key source that re-reads the keyring under ``root`` each time it is called."""
    ids = tuple(agency_ids)

    def load() -> AgencyKeySet:
        return Keyring.open(root).agency_key_set(ids)

    return load
