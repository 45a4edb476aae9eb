"""The keys a partnership reader holds: its HPKE private keys and the hub's verify keys.

A partnership loads its private keys from its own key files (``partnership/<id>/x25519-hpke/
<key id>.json``, the keyring file format) or from a keyring directory; during a rotation it
holds both the old and the new key. The hub's public keys come from a public bundle
(``vru-hub-public-keys/v1``, :meth:`hub.crypto.Keyring.public_bundle`) or a keyring directory.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hub.crypto import HUB, HpkePrivateKey, KeyKind, Keyring, VerifyKey, partnership_owner
from hub.crypto.keyfile import read_key
from hub.errors import KeyringError

BUNDLE_FORMAT = "vru-hub-public-keys/v1"


@dataclass(frozen=True, slots=True)
class PartnershipKeys:
    """What a partnership needs to open its alerts. The repr shows key ids only."""

    partnership_id: str
    hpke: tuple[HpkePrivateKey, ...]
    hub: tuple[VerifyKey, ...]

    def __post_init__(self) -> None:
        if not self.hpke:
            raise KeyringError(f"no HPKE private key for partnership {self.partnership_id}")
        if not self.hub:
            raise KeyringError("no hub verify key")

    @classmethod
    def from_keyring(cls, keyring: Keyring, partnership_id: str) -> PartnershipKeys:
        """Every HPKE key of the partnership and every hub verify key in ``keyring``."""
        hpke = _hpke_in(keyring, partnership_id)
        return cls(partnership_id, hpke, tuple(keyring.verify_keys(HUB)))


def _hpke_in(keyring: Keyring, partnership_id: str) -> tuple[HpkePrivateKey, ...]:
    owner = partnership_owner(partnership_id)
    ids = [i.key_id for i in keyring.infos_of(owner, KeyKind.HPKE)]
    return tuple(keyring.hpke_key(owner, key_id) for key_id in ids)


def load_hpke_keys(paths: Iterable[Path], partnership_id: str) -> tuple[HpkePrivateKey, ...]:
    """The partnership's HPKE private keys from key files and/or directories of them.

    A directory is read whole (a keyring, or just ``partnership/<id>/x25519-hpke/``), so during
    a rotation the partnership points at one directory and holds the old and the new key.
    Duplicates (the same key given twice) are dropped.
    """
    keys: dict[str, HpkePrivateKey] = {}
    owner = partnership_owner(partnership_id)
    for path in paths:
        if path.is_dir():
            keys.update((k.key_id, k) for k in _hpke_in(Keyring.open(path), partnership_id))
            continue
        info, secret = read_key(path)
        if info.owner != owner or info.kind is not KeyKind.HPKE:
            raise KeyringError(f"{path}: not an HPKE key of {owner}")
        if secret is None:
            raise KeyringError(f"{path}: a public key only; opening alerts needs the private key")
        key = HpkePrivateKey.from_raw(secret)
        keys[key.key_id] = key
    return tuple(keys.values())


def load_hub_keys(path: Path) -> tuple[VerifyKey, ...]:
    """The hub's verify keys from a public bundle file or a keyring directory."""
    if path.is_dir():
        return tuple(Keyring.open(path).verify_keys(HUB))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["format"] != BUNDLE_FORMAT:
            raise KeyringError(f"{path}: not a {BUNDLE_FORMAT} bundle")
        return tuple(
            VerifyKey(base64.b64decode(k["public"], validate=True))
            for k in doc["keys"]
            if k["owner"] == HUB and k["kind"] == KeyKind.SIGNING.value
        )
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyringError(f"{path}: unreadable public key bundle ({type(exc).__name__})") from exc
