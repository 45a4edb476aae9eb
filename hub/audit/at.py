"""``hub audit at``: one subject's consent state and the agreements in force at a time.

Rebuilt from the streams (:class:`~hub.audit.history.History`), as the correlator saw them:

- **consent**: the subject's consent events with a stream time at or before ``T``, folded in
  stream order; each record with its state at ``T`` (active, withdrawn, expired), purpose,
  provider, recipients and the events that gave and ended it;
- **agreements**: the publications the subject's partition had switched to by ``T`` (its
  switch markers), and of those the versions in force at ``T``; each with its sequence,
  digest and status (``in_force``, or ``review_overdue`` once its review date has passed)
  and, where a data item needs consent, whether the subject had live consent for it. Versions
  published but not yet switched to in that partition are listed as ``published_not_switched``;
- **suspended**: the agencies and partnerships suspended at that point (``hub registry
  suspend``), whose disclosures are all denied whatever the agreements say.

The subject is named in the output only by its one-way principal reference, never the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.audit.history import History
from hub.consent import ConsentLedger, ConsentRecord, principal_reference
from hub.dsa import Agreement, Purpose, agreement_digest


def subject_at(history: History, token: str, at: datetime, partition: int) -> dict[str, Any]:
    """The subject's consent records and the agreements in force at ``at`` (JSON data).

    ``partition`` is the subject's accepted-topic partition (the caller derives it from the
    key when the subject has no record yet).
    """
    consent = history.consent_at_time(token, at)
    sequence = history.sequence_at_time(partition, at)
    book = history.book.up_to(sequence)
    sequences = {e.agreement.ref: e.sequence for e in book.entries}
    agreements = [
        _agreement(a, consent, token, at) | {"sequence": sequences[a.ref]}
        for a in book.in_force(at)
    ]
    switched = {(e.agreement.id, e.agreement.version) for e in book.entries}
    pending = [
        {
            "agreement_id": e.agreement.id,
            "version": e.agreement.version,
            "sequence": e.sequence,
            "status": "published_not_switched",
        }
        for e in history.book.entries
        if (e.agreement.id, e.agreement.version) not in switched and e.published_at <= at
    ]
    return {
        "subject": principal_reference(token),
        "at": at.isoformat(),
        "partition": partition,
        "policy_sequence": sequence,
        "consent": [_consent(r, at) for r in consent.for_subject(token) if r.status_at(at)],
        "agreements": agreements + pending,
        "suspended": [
            {"party": str(party), "id": party_id} for party, party_id in sorted(book.suspended(at))
        ],
    }


def _consent(record: ConsentRecord, at: datetime) -> dict[str, Any]:
    ended = record.ended_at is not None and at >= record.ended_at
    return {
        "consent_id": record.consent_id,
        "state": str(record.status_at(at)),
        "purpose": str(record.purpose),
        "provider": record.provider,
        "recipients": sorted(record.recipients) or ["any party to an agreement"],
        "given_at": record.given_at.isoformat(),
        "effective_from": record.effective_from.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "given_event": record.event_id,
        "ended_at": record.ended_at.isoformat() if ended and record.ended_at else None,
        "ended_event": record.end_event_id if ended else None,
    }


def _agreement(
    agreement: Agreement, consent: ConsentLedger, token: str, at: datetime
) -> dict[str, Any]:
    overdue = agreement.review_date < at.date()
    item: dict[str, Any] = {
        "agreement_id": agreement.id,
        "version": agreement.version,
        "digest": agreement_digest(agreement),
        "status": "review_overdue" if overdue else "in_force",
        "review_date": agreement.review_date.isoformat(),
    }
    if any(d.consent_required for d in agreement.data_items):
        purpose = agreement.consent_purpose or Purpose.SERIOUS_VIOLENCE_PREVENTION
        live = {
            p.party: ref.consent_id
            for p in agreement.recipients
            for provider in agreement.providers
            if (ref := consent.consent_for(token, purpose, provider.party, p.party, at))
        }
        item["consent_required"] = True
        item["consent_purpose"] = str(purpose)
        item["live_consent_for"] = dict(sorted(live.items()))
    return item
