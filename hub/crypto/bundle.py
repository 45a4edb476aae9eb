"""The keys a tool trusts, from a keyring directory or a public key bundle.

Auditors and the board hold public keys only: a bundle (``vru-hub-public-keys/v1``,
:meth:`~hub.crypto.Keyring.public_bundle`) gives the hub's and information governance's
verify keys with their windows, enough to check every signed internal record (decisions,
agreements, switch markers). A keyring directory gives the same, plus the hub's internal
MAC key when it holds it (the hub's operators), so MACed records can be checked too.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.crypto.keyfile import KeyKind
from hub.crypto.keyring import GOVERNANCE, HUB, Keyring
from hub.crypto.signing import VerifyKey
from hub.crypto.trust import TrustedKeys, Window
from hub.errors import KeyringError

BUNDLE_FORMAT = "vru-hub-public-keys/v1"


def load_trusted_keys(path: Path) -> TrustedKeys:
    """Hub and governance keys (and the internal key, if a keyring holds it) from ``path``."""
    if path.is_dir():
        return TrustedKeys.from_keyring(Keyring.open(path))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["format"] != BUNDLE_FORMAT:
            raise KeyringError(f"{path}: not a {BUNDLE_FORMAT} bundle")
        signing = [k for k in doc["keys"] if k["kind"] == KeyKind.SIGNING.value]
        return TrustedKeys.public(
            [_entry(k) for k in signing if k["owner"] == HUB],
            [_entry(k) for k in signing if k["owner"] == GOVERNANCE],
        )
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyringError(f"{path}: unreadable public key bundle ({type(exc).__name__})") from exc


def _entry(doc: dict[str, Any]) -> tuple[VerifyKey, Window]:
    key = VerifyKey(base64.b64decode(doc["public"], validate=True))
    return key, Window(_time(doc.get("not_before")), _time(doc.get("not_after")))


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("key times must be timezone-aware")
    return moment
