"""One key per file: its metadata (:class:`KeyInfo`) and how it is stored on disk.

A key file is a JSON document, ``<owner>/<kind>/<key_id>.json`` under the keyring directory,
written atomically with mode 0600 in directories of mode 0700. Files that group or others can
read are refused on load, as ssh refuses a private key with loose permissions.

A file may hold only the public part of a key pair (``"secret": null``): that is how the hub
holds every agency's and partnership's key, whose secret stays with its owner (docs/keys.md).
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from hub.errors import KeyringError

FORMAT = "vru-hub-key/v1"
_OWNER = re.compile(r"hub|agencies|governance|(agency|partnership)/[a-z0-9][a-z0-9-]*")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


class KeyKind(StrEnum):
    """What a key is for; each kind has one algorithm."""

    SIGNING = "ed25519-signing"
    LINKAGE = "linkage-hmac"
    PSEUDONYM = "pseudonym-hmac"
    HPKE = "x25519-hpke"
    INTERNAL = "internal-hmac"
    """The hub's own MAC key for records only its workers read (``hub.crypto.record``)."""


class KeyStatus(StrEnum):
    """``active`` keys do new work; ``retiring`` ones are only accepted until not-after.

    A ``pending`` key is stored but not used yet: the hub's next signing key waits as pending
    until the rotation naming it has been published (``hub keys rotate --hub``).
    """

    ACTIVE = "active"
    RETIRING = "retiring"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Everything about a key except its secret: safe to list, log and export."""

    owner: str
    kind: KeyKind
    key_id: str
    created_at: datetime
    status: KeyStatus = KeyStatus.ACTIVE
    not_after: datetime | None = None
    public: bytes | None = None
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        if _OWNER.fullmatch(self.owner) is None:
            raise KeyringError(f"malformed key owner {self.owner!r}")
        if _KEY_ID.fullmatch(self.key_id) is None:
            raise KeyringError("malformed key id")
        times = (self.created_at, self.not_before, self.not_after)
        if any(t is not None and t.tzinfo is None for t in times):
            raise KeyringError("key times must be timezone-aware")

    def age(self, now: datetime) -> timedelta:
        """How long ago the key was created."""
        return now - self.created_at

    def accepted_at(self, when: datetime) -> bool:
        """Whether material made with this key at ``when`` is acceptable (inside its window)."""
        return self.window_problem(when) is None

    def window_problem(self, when: datetime) -> str | None:
        """``"not_yet_valid"`` before not-before, ``"expired"`` after not-after, else None."""
        if self.not_before is not None and when < self.not_before:
            return "not_yet_valid"
        if self.not_after is not None and when > self.not_after:
            return "expired"
        return None


def key_path(root: Path, info: KeyInfo) -> Path:
    """Where a key's file lives under the keyring directory."""
    return root / info.owner / info.kind.value / f"{info.key_id}.json"


def write_key(root: Path, info: KeyInfo, secret: bytes | None) -> Path:
    """Write a key file atomically with mode 0600, creating 0700 directories.

    ``secret`` None writes the public part only (a key pair whose secret is held elsewhere).
    """
    path = key_path(root, info)
    make_private_dir(path.parent, stop=root)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(_document(info, secret), handle, indent=2)
    tmp.replace(path)
    return path


def make_private_dir(path: Path, stop: Path) -> None:
    """Create ``path`` and its parents up to ``stop`` (inclusive) with mode 0700, and make
    those that exist 0700 too, except ``stop`` itself when it already existed and is not
    ``path``: that is the directory the caller's tree hangs from (a key directory made in
    ``/tmp`` or a home directory must leave that directory's mode as it is)."""
    for directory in [*reversed(path.relative_to(stop).parents), path.relative_to(stop)]:
        full = stop / directory
        if full == stop != path and full.is_dir():
            continue
        full.mkdir(mode=0o700, exist_ok=True)
        full.chmod(0o700)


def read_key(path: Path) -> tuple[KeyInfo, bytes | None]:
    """Load one key file (secret None if it holds the public part only); KeyringError if it is
    malformed or readable by others."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"{path}: key file is accessible to group or others (want 0600)")
        doc = json.loads(path.read_text(encoding="utf-8"))
        return _parse(doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"{path}: unreadable key file ({type(exc).__name__})") from exc


def key_document(info: KeyInfo, secret: bytes | None) -> dict[str, Any]:
    """The JSON document of a key file (``secret`` None: public part only)."""
    return _document(info, secret)


def parse_key_document(doc: dict[str, Any]) -> tuple[KeyInfo, bytes | None]:
    """A key file's document, parsed and checked; KeyringError if it is not one."""
    try:
        return _parse(doc)
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"not a key file ({type(exc).__name__})") from exc


def _document(info: KeyInfo, secret: bytes | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "owner": info.owner,
        "kind": info.kind.value,
        "key_id": info.key_id,
        "created_at": info.created_at.isoformat(),
        "status": info.status.value,
        "not_before": info.not_before.isoformat() if info.not_before else None,
        "not_after": info.not_after.isoformat() if info.not_after else None,
        "public": _b64(info.public) if info.public is not None else None,
        "secret": _b64(secret) if secret is not None else None,
    }


def _parse(doc: dict[str, Any]) -> tuple[KeyInfo, bytes | None]:
    if doc["format"] != FORMAT:
        raise KeyringError(f"unknown key file format {doc['format']!r}")
    not_after, public = doc["not_after"], doc["public"]
    not_before = doc.get("not_before")
    info = KeyInfo(
        owner=doc["owner"],
        kind=KeyKind(doc["kind"]),
        key_id=doc["key_id"],
        created_at=datetime.fromisoformat(doc["created_at"]),
        status=KeyStatus(doc["status"]),
        not_after=datetime.fromisoformat(not_after) if not_after else None,
        public=base64.b64decode(public, validate=True) if public else None,
        not_before=datetime.fromisoformat(not_before) if not_before else None,
    )
    secret = doc["secret"]
    if secret is None and info.public is None:
        raise KeyringError(
            f"{info.kind.value} key {info.key_id} has neither secret nor public part"
        )
    return info, base64.b64decode(secret, validate=True) if secret is not None else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
