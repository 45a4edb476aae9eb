"""Who holds which secret: parties keep theirs, the hub receives public keys only.

* An agency makes its signing key pair on its own machine and a partnership its HPKE key pair
  (:func:`init_party_keys`, ``hub keys agency|partnership init DIR``); each hands the hub a
  **public key file** (:func:`write_public_key`): the key-file format with ``"secret": null``.
* The hub imports it (:func:`read_public_key`, ``hub registry add-agency|add-partnership
  --public-key FILE``, ``hub keys rotate --public-key FILE``), refusing a file that carries a
  secret, one whose key id is not its public key's fingerprint, or one of another owner or kind.
* :func:`party_secrets` lists the secrets a keyring holds that belong to a party, not the
  hub: a worker warns at start when its keyring holds any (the development keyring does).

The pseudonym keys are the exception by design: they live under ``partnership/<id>`` because
each makes that partnership's pseudonyms, but the hub holds them (it computes the pseudonyms;
the partnership never needs the key), so they are not party secrets (docs/keys.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from hub.crypto.keyfile import (
    KeyInfo,
    KeyKind,
    KeyStatus,
    key_document,
    make_private_dir,
    parse_key_document,
)
from hub.crypto.keyring import AGENCIES, GOVERNANCE, PUBLIC_SUFFIX, Keyring
from hub.crypto.signing import key_id_of
from hub.errors import KeyringError

#: Owners whose keys belong to a party (an agency, the agencies together, a partnership, the
#: VRU's information governance, whose key signs agreements: docs/threat-model.md).
PARTY_OWNER_PREFIXES = ("agency/", "partnership/")
PARTY_OWNERS = frozenset({AGENCIES, GOVERNANCE})
#: Kinds the hub holds on a party's behalf: never a party secret.
HELD_BY_HUB = frozenset({KeyKind.PSEUDONYM})
#: Where :func:`init_party_keys` writes the public key files to hand over.
PUBLIC_DIR = "public"
MAX_PUBLIC_FILE = 64 * 1024


def is_party_owner(owner: str) -> bool:
    """Whether keys of ``owner`` belong to a party (an agency, a partnership, governance)
    rather than the hub."""
    return owner in PARTY_OWNERS or owner.startswith(PARTY_OWNER_PREFIXES)


def party_secrets(keyring: Keyring) -> list[KeyInfo]:
    """Keys whose secret the keyring holds although it belongs to a party. No secrets."""
    return [
        info
        for info in keyring.secret_infos()
        if is_party_owner(info.owner) and info.kind not in HELD_BY_HUB
    ]


def public_file_name(info: KeyInfo) -> str:
    """``partnership-reading.x25519-hpke.<key id>.public.json``."""
    return f"{info.owner.replace('/', '-')}.{info.kind.value}.{info.key_id}{PUBLIC_SUFFIX}"


def write_public_key(directory: Path, info: KeyInfo) -> Path:
    """Write the public part of ``info`` for its owner to hand to the hub (mode 0644)."""
    if info.public is None:
        raise KeyringError(f"{info.kind.value} keys have no public part to hand over")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / public_file_name(info)
    path.write_text(json.dumps(key_document(info, None), indent=2) + "\n", encoding="utf-8")
    path.chmod(0o644)
    return path


def read_public_key(path: Path, owner: str, kind: KeyKind) -> KeyInfo:
    """A party's public key file, checked: ``owner``'s, of ``kind``, public part only, its key
    id the fingerprint of its public key, and active. KeyringError names what is wrong."""
    try:
        if path.stat().st_size > MAX_PUBLIC_FILE:
            raise KeyringError(f"{path}: too large for a public key file")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyringError(f"{path}: unreadable public key file ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise KeyringError(f"{path}: not a key file")
    if doc.get("secret") is not None:
        raise KeyringError(
            f"{path} holds a secret key: send the hub only the public key file "
            f"(under {PUBLIC_DIR}/), and keep this one where it is"
        )
    info, _ = parse_key_document(doc)
    if (info.owner, info.kind) != (owner, kind):
        raise KeyringError(
            f"{path}: a {info.kind.value} key of {info.owner}, not a {kind.value} key of {owner}"
        )
    if info.public is None or key_id_of(info.public) != info.key_id:
        raise KeyringError(f"{path}: the key id is not the fingerprint of its public key")
    if info.status is not KeyStatus.ACTIVE:
        raise KeyringError(f"{path}: the key is {info.status.value}, not active")
    return info


def init_party_keys(
    root: Path, owner: str, kinds: Iterable[KeyKind], now: datetime
) -> tuple[list[KeyInfo], list[Path]]:
    """A party's own keyring under ``root``: fresh keys of ``kinds`` for ``owner``, and the
    public files to hand to the hub (under ``root/public/``). Refuses a keyring that already
    holds keys for ``owner``."""
    if root.is_dir():
        keyring = Keyring.open(root)
        if any(i.owner == owner for i in keyring.infos()):
            raise KeyringError(f"{root} already holds keys for {owner}")
    else:
        root.parent.mkdir(parents=True, exist_ok=True)
        make_private_dir(root, stop=root.parent)
        keyring = Keyring(root)
    infos = [keyring.generate(owner, kind, now, not_before=now) for kind in kinds]
    publics = [write_public_key(root / PUBLIC_DIR, i) for i in infos if i.public is not None]
    return infos, publics
