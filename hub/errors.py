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
    │   │   └── MalformedBatchError  (problem, at): a batch feed record does not parse     (decode_error)
    │   ├── UnknownSchemaError       the fingerprint names no known writer schema        (unknown_schema)
    │   └── IncompatibleSchemaError  a schema change is not backward compatible
    ├── ValidationError              a decoded record breaks a field rule                (invalid_field)
    │   ├── UnknownAreaError         the LSOA is in no partnership's area                (unknown_area)
    │   ├── EventInFutureError       recorded beyond the allowed clock skew (models/timing) (event_in_future)
    │   ├── EventTooOldError         occurred too long ago (hub/models/timing.py)        (event_too_old)
    │   └── IdentifierError          an identifier or token cannot be normalised         (invalid_identifier)
    ├── ProvenanceError              who sent it, and whether it was seen before
    │   ├── UnknownAgencyError       the agency is not onboarded                         (unknown_agency)
    │   ├── AgencyMismatchError      the event claims another agency than its feed       (agency_mismatch)
    │   └── DuplicateEventError      the event id was already accepted                   (duplicate_event)
    ├── CryptoError                  signatures, encryption, keys
    │   ├── BadSignatureError        signature or proof does not verify                  (bad_signature)
    │   │   ├── MalformedSealError   an event seal's bytes are not well formed           (bad_signature)
    │   │   ├── MalformedAlertError  an alert record's headers are missing or repeated   (bad_signature)
    │   │   └── MalformedRecordError an internal record's bytes are not well formed      (malformed_record)
    │   │       └── MalformedPackError (problem, at): a packed changelog record does not parse (malformed_record)
    │   ├── UnexpectedKindError      an authentic-looking record of a kind this reader never takes (unexpected_kind)
    │   ├── StaleValueError          a table value older than the one held (a replayed changelog record) (stale_value)
    │   ├── MisdirectedAlertError    an authentic alert for another partnership          (misdirected_alert)
    │   ├── UnauthenticatedWithdrawalError a consent end on a feed that ingest would refuse (unauthenticated_withdrawal)
    │   ├── UnknownKeyError          no key with that id                                 (unknown_key)
    │   ├── KeyWindowError           a known key used outside its validity window
    │   │   ├── KeyExpiredError      received after the key's not-after                  (key_expired)
    │   │   └── KeyNotYetValidError  received before the key's not-before                (key_not_yet_valid)
    │   ├── DecryptionError          ciphertext cannot be opened with this key
    │   └── KeyringError             key files missing, malformed or too permissive      (keyring_error)
    ├── PolicyError                  agreements and the allow-list
    │   ├── AgreementError           an agreement document is malformed or incoherent
    │   ├── ConsentError             a consent event cannot be folded                    (consent_error)
    │   ├── RuleError                a correlation rule is malformed or incoherent       (rule_error)
    │   └── ReleaseRefusedError      an SNA release the agreements or earlier releases forbid
    │                                (area_too_fine, unknown_level, differencing_risk)
    ├── StateError                   stored stream state (a subject window) cannot be read  (state_error)
    ├── AuditError                   the ledger and its proofs
    │   ├── ProofError               a Merkle proof does not verify                      (bad_proof)
    │   │   ├── InclusionProofError  (index, size, problem)
    │   │   └── ConsistencyProofError (size1, size2, problem)
    │   ├── LedgerEntryError         (index, decision_id, problem): an entry was altered  (ledger_entry)
    │   ├── HeadSignatureError       (head, key_id): a tree head is not the hub's         (bad_head_signature)
    │   │   └── HeadKeyError         (head, key_id, problem): a hub key the chain never attested
    │   │                            or already retired                                  (head_key)
    │   └── HeadChainError           (head, problem): the chain of tree heads is broken   (head_chain)
    ├── UnreadableBatchError         a record batch no Kafka client can decode (skipped)       (unreadable_batch)
    ├── TransportError               the broker (retriable)
    │   ├── BrokerAuthError          (address, problem): TLS or SASL failed; not retriable   (broker_auth)
    │   ├── BrokerAccessDeniedError  (doing, error): an ACL denies this principal; not retriable (broker_access_denied)
    │   ├── UnknownTopicError        (topic, partition): no such topic or partition (yet); retriable (unknown_topic)
    │   └── WebhookUnavailableError  a webhook refused for now: connection, 5xx, 429 (retriable)
    └── WebhookRejectedError         a webhook answered 4xx (not 429) for alert ``seq``: permanent
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


class MalformedBatchError(DecodeError):
    """A batch feed record (``hub.crypto.batchrecord``) whose container does not parse."""

    def __init__(self, problem: str, at: int) -> None:
        super().__init__(f"malformed batch record: {problem} at byte {at}")
        self.problem = problem
        self.at = at


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


class UnknownAreaError(ValidationError):
    """The event's LSOA lies in no council the registry serves."""

    reason = "unknown_area"


class ProvenanceError(HubError):
    """Who sent an event, and whether it was seen before."""

    reason = "provenance_error"


class UnknownAgencyError(ProvenanceError):
    """The event names an agency that is not onboarded."""

    reason = "unknown_agency"


class AgencyMismatchError(ProvenanceError):
    """The event claims a different agency than the feed it arrived on."""

    reason = "agency_mismatch"


class DuplicateEventError(ProvenanceError):
    """An event with this id was already accepted."""

    reason = "duplicate_event"


class IdentifierError(ValidationError):
    """An identifier (name, date of birth, postcode, NHS number) or token cannot be normalised.

    Carries the field name and what is wrong with it, never the value.
    """

    reason = "invalid_identifier"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


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


class KeyWindowError(CryptoError):
    """A known key was used outside its validity window (``not_before`` .. ``not_after``)."""

    reason = "key_window"

    def __init__(self, key_id: str, bound: str, problem: str) -> None:
        super().__init__(f"key {key_id} {problem} (bound {bound})")
        self.key_id = key_id
        self.bound = bound
        self.problem = problem


class KeyExpiredError(KeyWindowError):
    """Material received after its key's not-after: the rotation overlap window has closed."""

    reason = "key_expired"


class KeyNotYetValidError(KeyWindowError):
    """Material received before its key's not-before."""

    reason = "key_not_yet_valid"


class MalformedSealError(BadSignatureError):
    """An event seal's bytes do not parse: the event is as unauthenticated as a bad signature."""


class MalformedAlertError(BadSignatureError):
    """An alert record's headers are missing, repeated or malformed: it is not authentic."""


class MalformedRecordError(BadSignatureError):
    """An internal record (``hub.crypto.record``) or table value whose bytes do not parse."""

    reason = "malformed_record"


class MalformedPackError(MalformedRecordError):
    """A packed table changelog record (``hub.crypto.packedrows``) whose container does not parse."""

    def __init__(self, problem: str, at: int) -> None:
        super().__init__(f"malformed packed rows: {problem} at byte {at}")
        self.problem = problem
        self.at = at


class UnexpectedKindError(CryptoError):
    """A record of a kind the topic it was read from never carries (checked before its tag)."""

    reason = "unexpected_kind"

    def __init__(self, kind: str, topic: str) -> None:
        super().__init__(f"a {kind} record has no place on {topic}")
        self.kind = kind
        self.topic = topic


class StaleValueError(CryptoError):
    """A genuine table value older than the one held: a changelog record replayed out of place."""

    reason = "stale_value"

    def __init__(self, version: int, held: int) -> None:
        super().__init__(f"value version {version} is older than the held {held}")
        self.version = version
        self.held = held


class MisdirectedAlertError(CryptoError):
    """An authentic alert addressed to another partnership than the one opening it."""

    reason = "misdirected_alert"

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"alert for partnership {actual!r} read as {expected!r}")
        self.expected = expected
        self.actual = actual


class UnauthenticatedWithdrawalError(CryptoError):
    """A withdrawal or expiry read ahead of ingest that does not pass ingest's checks.

    ``cause`` is the reason code ingest would quarantine it with (seal, provenance, schema).
    It is never applied: a record that cannot be authenticated must not change consent.
    """

    reason = "unauthenticated_withdrawal"

    def __init__(self, cause: str) -> None:
        super().__init__(f"consent end refused ahead of ingest: {cause}")
        self.cause = cause


class DecryptionError(CryptoError):
    """A ciphertext cannot be opened with the key given."""

    reason = "decryption_failed"


class KeyringError(CryptoError):
    """A key file is missing, malformed or readable by others than its owner."""

    reason = "keyring_error"


class PolicyError(HubError):
    """Agreements, the allow-list and disclosure decisions."""

    reason = "policy_error"


class AgreementError(PolicyError):
    """An agreement document is malformed or incoherent."""

    reason = "agreement_error"


class ReleaseRefusedError(PolicyError):
    """An aggregate release the agreements, or the releases already made, do not allow.

    ``reason`` says which: ``area_too_fine`` (an agreement names a coarser area),
    ``unknown_level``, or ``differencing_risk`` (its period overlaps an earlier release's
    without equalling it, so subtracting one from the other would expose small counts).
    """

    reason = "release_refused"

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"release refused ({reason}): {detail}")
        self.reason = reason


class RuleError(PolicyError):
    """A correlation rule is malformed, incoherent, or used with a flag it did not raise."""

    reason = "rule_error"


class StateError(HubError):
    """Stored stream state (e.g. a subject window's bytes) cannot be read back."""

    reason = "state_error"


class AuditError(HubError):
    """The decision ledger, tree heads and proofs."""

    reason = "audit_error"


class ProofError(AuditError):
    """A Merkle inclusion or consistency proof does not verify."""

    reason = "bad_proof"


class InclusionProofError(ProofError):
    """An inclusion proof fails for the leaf at ``index`` in a tree of ``size`` leaves."""

    def __init__(self, index: int, size: int, problem: str) -> None:
        super().__init__(f"inclusion of leaf {index} in tree of size {size}: {problem}")
        self.index = index
        self.size = size
        self.problem = problem


class ConsistencyProofError(ProofError):
    """A consistency proof fails between trees of ``size1`` and ``size2`` leaves."""

    def __init__(self, size1: int, size2: int, problem: str) -> None:
        super().__init__(f"consistency of size {size1} with size {size2}: {problem}")
        self.size1 = size1
        self.size2 = size2
        self.problem = problem


class LedgerEntryError(AuditError):
    """The ledger entry at ``index`` (decision ``decision_id``, None if absent) fails a check."""

    reason = "ledger_entry"

    def __init__(self, index: int, decision_id: str | None, problem: str) -> None:
        super().__init__(f"ledger entry {index} (decision {decision_id}): {problem}")
        self.index = index
        self.decision_id = decision_id
        self.problem = problem


class HeadSignatureError(AuditError):
    """Tree head number ``head`` is not signed by a known hub key (``key_id`` it names)."""

    reason = "bad_head_signature"

    def __init__(self, head: int, key_id: str) -> None:
        super().__init__(f"tree head {head}: no valid signature by a hub key (names {key_id})")
        self.head = head
        self.key_id = key_id


class HeadKeyError(HeadSignatureError):
    """Tree head ``head`` is signed by hub key ``key_id`` the chain does not accept there.

    Either no rotation signed by a key already in the chain names it (``problem`` says
    ``not attested``), or the key was retired by a rotation and the head is past its window.
    """

    reason = "head_key"

    def __init__(self, head: int, key_id: str, problem: str) -> None:
        super().__init__(head, key_id)
        self.args = (f"tree head {head}: hub key {key_id} {problem}",)
        self.problem = problem


class HeadChainError(AuditError):
    """Tree head number ``head`` does not follow from the heads before it."""

    reason = "head_chain"

    def __init__(self, head: int, problem: str) -> None:
        super().__init__(f"tree head {head}: {problem}")
        self.head = head
        self.problem = problem


class ConsentError(PolicyError):
    """A consent event cannot be folded into the consent state (names ids, never tokens)."""

    reason = "consent_error"


class UnreadableBatchError(HubError):
    """Records the client library cannot decode (a header name that is not UTF-8): skipped."""

    reason = "unreadable_batch"

    def __init__(self, first: int, end: int, cause: str) -> None:
        super().__init__(f"records {first} to {end - 1} cannot be decoded ({cause}); skipped")
        self.first = first
        self.end = end


class TransportError(HubError):
    """The broker could not be reached or refused a request; worth retrying."""

    retriable = True
    reason = "transport_error"


class BrokerAuthError(TransportError):
    """The connection to the broker at ``address`` failed its TLS or SASL step: ``problem``
    says which side refused what (a missing client certificate, an unknown CA, a bad login).

    Not retriable: the same credentials will be refused again.
    """

    retriable = False
    reason = "broker_auth"

    def __init__(self, address: str, problem: str) -> None:
        super().__init__(f"the broker at {address} refused the connection: {problem}")
        self.address = address
        self.problem = problem


class BrokerAccessDeniedError(TransportError):
    """The broker authenticated us but an ACL denies what we tried (``doing``); ``error`` is
    the broker's error name. Not retriable until the ACLs change (``hub acls script``).
    """

    retriable = False
    reason = "broker_access_denied"

    def __init__(self, doing: str, error: str) -> None:
        super().__init__(
            f"cannot {doing}: {error}: the broker's ACLs deny this principal "
            "(docs/deploy.md, `hub acls script`)"
        )
        self.doing = doing
        self.error = error


class UnknownTopicError(TransportError):
    """The broker has no topic ``topic`` (or it has no partition ``partition``).

    Retriable: topics are created by ``hub topics create`` or the deployment, possibly after a
    worker starts; a reader waits for them rather than quarantining what it was given.
    """

    reason = "unknown_topic"

    def __init__(self, topic: str, partition: int | None = None) -> None:
        where = topic if partition is None else f"{topic} partition {partition}"
        super().__init__(f"no such topic or partition: {where}")
        self.topic = topic
        self.partition = partition


class WebhookUnavailableError(TransportError):
    """A partnership webhook could not take an alert now (connection error, 5xx or 429)."""

    reason = "webhook_unavailable"

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"webhook unavailable for alert seq {seq}: {problem}")
        self.seq = seq
        self.problem = problem


class WebhookRejectedError(HubError):
    """A partnership webhook refused an alert for good (a 4xx other than 429): stop, never skip."""

    reason = "webhook_rejected"

    def __init__(self, seq: int, status: int) -> None:
        super().__init__(f"webhook rejected alert seq {seq} with HTTP {status}")
        self.seq = seq
        self.status = status
