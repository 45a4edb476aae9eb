"""Consent records in the shape of a Kantara Consent Receipt (v1.1) and ISO/IEC TS 27560.

The receipt never carries the linkage token: the data principal is named by a one-way
reference, ``sha256:<hex>`` of the token under a domain prefix, which an agency holding the
token can recompute to find its subject's receipts. Kantara's top-level fields come first;
the 27560 lifecycle (state, events) is under ``"iso27560"``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from hub.consent.record import ConsentRecord

KANTARA_VERSION = "KI-CR-v1.1.0"
PRINCIPAL_DOMAIN = b"vru-hub/consent-principal/v1\x00"


def principal_reference(subject_token: str) -> str:
    """A one-way reference to the subject, for receipts and audit output."""
    return "sha256:" + hashlib.sha256(PRINCIPAL_DOMAIN + subject_token.encode()).hexdigest()


def to_receipt(record: ConsentRecord, at: datetime) -> dict[str, Any]:
    """The receipt of one consent record, with its state at stream time ``at``."""
    status = record.status_at(at)
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": "GB",
        "consentTimestamp": int(record.given_at.timestamp()),
        "collectionMethod": record.method.lower(),
        "consentReceiptID": record.consent_id,
        "language": "en",
        "piiPrincipalId": principal_reference(record.subject_token),
        "piiControllers": [{"piiController": record.provider, "onBehalf": False}],
        "policyUrl": f"urn:vru-hub:notice:{record.notice}",
        "services": [
            {
                "service": "vru-hub interagency alerts",
                "purposes": [
                    {
                        "purpose": str(record.purpose),
                        "purposeCategory": [str(record.purpose)],
                        "consentType": "EXPLICIT",
                        "piiCategory": ["engagement with a support service"],
                        "primaryPurpose": True,
                        "termination": record.expires_at.isoformat()
                        if record.expires_at
                        else "until withdrawn",
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": sorted(record.recipients)
                        or ["any party to an agreement"],
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "iso27560": _lifecycle(record, status),
    }


def _lifecycle(record: ConsentRecord, status: object) -> dict[str, Any]:
    events: list[dict[str, Any]] = [
        {
            "event": "given",
            "time": record.given_at.isoformat(),
            "recorded_in_stream": record.effective_from.isoformat(),
            "actor": record.given_by.lower(),
            "recorded_by": record.recorded_by,
            "event_id": record.event_id,
        }
    ]
    if record.ended_at is not None and record.ended_on is not None:
        events.append(
            {
                "event": str(record.status),
                "time": record.ended_on.isoformat(),
                "recorded_in_stream": record.ended_at.isoformat(),
                "actor": (record.ended_by or "").lower(),
                "event_id": record.end_event_id,
            }
        )
    return {
        "record_id": record.consent_id,
        "state": str(status) if status is not None else "not_yet_recorded",
        "expiry": record.expires_at.isoformat() if record.expires_at else None,
        "events": events,
    }
