"""The tamper-evident decision ledger: entries, signed tree heads, verification.

::

    ledger = Ledger()
    for value in decisions_topic:           # in offset order
        ledger.append(value)                # de-duplicates by decision id (first occurrence)
    heads = ledger.heads_since(last_head, hub_signing_key, now)   # the ledger agent publishes these
    verified = verify_ledger(decisions_topic, heads_topic, hub_verify_keys)   # `hub audit verify`

Pure domain logic: no I/O, no faust. See ``docs/audit.md``.
"""

from hub.audit.entry import Entry, canonical_json, entry_of
from hub.audit.head import (
    GENESIS,
    HEAD_DOMAIN,
    HEAD_FORMAT,
    Checkpoint,
    TreeHead,
    decode_head,
    sign_head,
)
from hub.audit.ledger import MAX_LEAVES_PER_HEAD, Appended, Ledger
from hub.audit.verify import Verified, verify_heads, verify_ledger

__all__ = [
    "GENESIS",
    "HEAD_DOMAIN",
    "HEAD_FORMAT",
    "MAX_LEAVES_PER_HEAD",
    "Appended",
    "Checkpoint",
    "Entry",
    "Ledger",
    "TreeHead",
    "Verified",
    "canonical_json",
    "decode_head",
    "entry_of",
    "sign_head",
    "verify_heads",
    "verify_ledger",
]
