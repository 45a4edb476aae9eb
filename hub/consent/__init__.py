"""Consent: consent events folded in stream order into a ConsentView, and receipts.

::

    ledger = ConsentLedger()
    ledger = ledger.apply(event, at)          # a validated consent.* event, its stream time
    evaluator.decide(facts, "reading", at, consent=ledger)
    receipt = to_receipt(ledger.record(consent_id), at)   # Kantara / ISO/IEC TS 27560 shape

Pure domain logic: no I/O, no faust. See ``docs/consent.md``.
"""

from hub.consent.ledger import (
    CONSENT_ENDS,
    CONSENT_TYPES,
    EXPIRED,
    GIVEN,
    WITHDRAWN,
    ConsentEnd,
    ConsentLedger,
    is_consent_event,
)
from hub.consent.receipt import principal_reference, to_receipt
from hub.consent.record import ConsentRecord, ConsentStatus

__all__ = [
    "CONSENT_ENDS",
    "CONSENT_TYPES",
    "EXPIRED",
    "GIVEN",
    "WITHDRAWN",
    "ConsentEnd",
    "ConsentLedger",
    "ConsentRecord",
    "ConsentStatus",
    "is_consent_event",
    "principal_reference",
    "to_receipt",
]
