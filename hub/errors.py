"""The hub's exception tree.

Every error the hub raises derives from :class:`HubError`. Each class says whether it is
retriable: a retriable error is retried with backoff; anything else sends the message to
quarantine with the error's ``reason`` code. Errors carry ids and sizes, never payloads,
identifiers, pseudonyms or keys.

::

    HubError
    ├── ConfigError                  settings, registry or deploy files are wrong
    ├── SchemaError                  Avro contracts and the wire format
    │   ├── DecodeError              bytes are not a well-formed single-object message   (decode_error)
    │   ├── UnknownSchemaError       the fingerprint names no known writer schema        (unknown_schema)
    │   └── IncompatibleSchemaError  a schema change is not backward compatible
    ├── ValidationError              a decoded record breaks a field rule                (invalid_field)
    ├── CryptoError                  signatures, encryption, keys
    │   ├── BadSignatureError        signature or proof does not verify                  (bad_signature)
    │   ├── UnknownKeyError          no key with that id                                 (unknown_key)
    │   └── DecryptionError          ciphertext cannot be opened with this key
    ├── PolicyError                  agreements and the allow-list
    │   └── AgreementError           an agreement document is malformed or incoherent
    ├── AuditError                   the ledger and its proofs
    └── TransportError               the broker (retriable)
"""

from __future__ import annotations


class HubError(Exception):
    """Root of every error the hub raises."""

    retriable: bool = False
    reason: str = "internal_error"


class ConfigError(HubError):
    """Settings, the registry or a file under ``deploy/`` is wrong."""

    reason = "config_error"


class SchemaError(HubError):
    """A problem with an Avro contract or the wire format."""

    reason = "schema_error"


class DecodeError(SchemaError):
    """Bytes that are not a well-formed single-object-encoded message."""

    reason = "decode_error"


class UnknownSchemaError(SchemaError):
    """The message's fingerprint selects no writer schema the hub knows."""

    reason = "unknown_schema"

    def __init__(self, fingerprint: bytes) -> None:
        super().__init__(f"no writer schema with fingerprint {fingerprint.hex()}")
        self.fingerprint = fingerprint


class IncompatibleSchemaError(SchemaError):
    """A new schema version cannot read data written with the previous one."""

    reason = "incompatible_schema"


class ValidationError(HubError):
    """A decoded record breaks a field rule (range, enum, format)."""

    reason = "invalid_field"


class CryptoError(HubError):
    """Signatures, encryption and keys."""

    reason = "crypto_error"


class BadSignatureError(CryptoError):
    """A signature or an inclusion proof does not verify."""

    reason = "bad_signature"


class UnknownKeyError(CryptoError):
    """No key with the given id is known."""

    reason = "unknown_key"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"unknown key id {key_id!r}")
        self.key_id = key_id


class DecryptionError(CryptoError):
    """A ciphertext cannot be opened with the key given."""

    reason = "decryption_failed"


class PolicyError(HubError):
    """Agreements, the allow-list and disclosure decisions."""

    reason = "policy_error"


class AgreementError(PolicyError):
    """An agreement document is malformed or incoherent."""

    reason = "agreement_error"


class AuditError(HubError):
    """The decision ledger, tree heads and proofs."""

    reason = "audit_error"


class TransportError(HubError):
    """The broker could not be reached or refused a request; worth retrying."""

    retriable = True
    reason = "transport_error"
