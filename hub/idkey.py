"""Per-partnership identifiers: every id in an alert is keyed with its recipient's own key.

Two partnerships told about the same subject's flag get different flag ids and alert ids
(and different pseudonyms, :mod:`hub.pseudonym`), so comparing their streams links nothing.
The key is derived from the partnership's pseudonym key, which only the hub holds
(``docs/keys.md``); partnerships never hold it. The audit ledger records each decision's
hub-level flag id beside the partnership's ids, and an auditor given the hub's keyring
derives the same keys to re-derive them (``hub audit replay``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hub.crypto import HmacKey

_DERIVE = b"vru-hub/recipient-ids/v1\x00"
_FLAG = "flag"
_ALERT = "alert"
_CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class IdKey:
    """The key a partnership's flag and alert ids are derived with."""

    key: HmacKey = field(repr=False)

    @classmethod
    def of(cls, pseudonym_key: HmacKey) -> IdKey:
        """The id key derived from a partnership's pseudonym key (domain-separated)."""
        return cls(HmacKey(pseudonym_key.mac(_DERIVE)))

    def flag_id(self, rule_id: str, token: str, anchor: datetime, reopened: int) -> str:
        """A flag's id for this partnership: rule, subject, first window start, reopenings."""
        millis = str(round(anchor.timestamp() * 1000))
        return self._id(_FLAG, rule_id, token, millis, str(reopened))

    def alert_id(self, flag_id: str, revision: str) -> str:
        """A raised or updated alert's id."""
        return self._id(_ALERT, flag_id, revision)

    def closed_id(self, flag_id: str, kind: str, last_revision: str) -> str:
        """A retraction's or expiry's id, of the revision last sent."""
        return self._id(_CLOSED, flag_id, kind, last_revision)

    def _id(self, domain: str, *parts: str) -> str:
        message = "\x00".join((domain, *parts)).encode()
        return self.key.mac(message).hex()[:32]
