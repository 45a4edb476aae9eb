"""Signatures, encryption and keys for the hub.

* :class:`SigningKey` / :class:`VerifyKey`: Ed25519 with key ids (``signing``).
* :class:`HpkePrivateKey` / :class:`HpkePublicKey`: RFC 9180 HPKE to partnerships (``hpke``).
* :class:`HmacKey`: linkage and pseudonym keys (``secret``).
* :func:`seal_batch`, :class:`EventSeal`, :class:`SealVerifier`: one signature per feed batch,
  provable per event (``batch``).
* :class:`Keyring` and :func:`create_dev_keyring`: keys on disk (``keyring``, ``provision``).
"""

from hub.crypto.batch import (
    AgencyKeySet,
    BatchHead,
    SealVerifier,
    batch_statement,
    seal_batch,
    verify_seal,
)
from hub.crypto.hpke import HpkePrivateKey, HpkePublicKey, alert_info
from hub.crypto.keyfile import KeyInfo, KeyKind, KeyStatus
from hub.crypto.keyring import (
    AGENCIES,
    GOVERNANCE,
    HUB,
    Keyring,
    agency_key_source,
    agency_owner,
    partnership_owner,
)
from hub.crypto.provision import create_dev_keyring
from hub.crypto.sealcodec import EventSeal, decode_seal
from hub.crypto.secret import HmacKey
from hub.crypto.signing import SigningKey, VerifyKey, key_id_of

__all__ = [
    "AGENCIES",
    "GOVERNANCE",
    "HUB",
    "AgencyKeySet",
    "BatchHead",
    "EventSeal",
    "HmacKey",
    "HpkePrivateKey",
    "HpkePublicKey",
    "KeyInfo",
    "KeyKind",
    "KeyStatus",
    "Keyring",
    "SealVerifier",
    "SigningKey",
    "VerifyKey",
    "agency_key_source",
    "agency_owner",
    "alert_info",
    "batch_statement",
    "create_dev_keyring",
    "decode_seal",
    "key_id_of",
    "partnership_owner",
    "seal_batch",
    "verify_seal",
]
