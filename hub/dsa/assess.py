"""One question against the agreements in force: may this event go to this recipient, for
this purpose, at this moment? Default deny, prohibitions win.

The order of questions, and the reason given when one fails:

1. is the recipient a known partnership?                  ``unknown_recipient``
   is the recipient, or the event's agency, suspended?   ``recipient_suspended``,
                                                          ``agency_suspended`` (both if both)
2. is any agreement in force with the event's agency?     ``no_agreement_in_force``
3. does one also name the recipient?                      ``not_a_party``
4. does one of those cover the event type?                ``event_type_not_covered``
5. then, per covering agreement (by id): purpose, geography, age scope, consent
   (``purpose_not_covered``, ``outside_geography``, ``outside_age_scope``, ``consent_missing``)
6. prohibitions of every agreement in force between the two parties: one that covers the
   whole flow denies (``prohibited``) whatever permits it; one that names fields removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from hub.dsa.decision import BASE_FIELDS, Clause, Decision, Effect
from hub.dsa.facts import ConsentRef, ConsentView, EventFacts
from hub.dsa.index import Coverage, PolicyIndex
from hub.dsa.suspension import Party
from hub.dsa.vocabulary import DenialReason, Level, Outcome, Purpose
from hub.models.built import built_whole

_HUB = "hub"


@dataclass(frozen=True, slots=True)
class Ask:
    """The question: may this event go to this recipient, for this purpose, at this moment?"""

    event: EventFacts
    recipient: str
    at: datetime
    purpose: Purpose
    consent: ConsentView


@dataclass(frozen=True, slots=True)
class _Assessment:
    coverage: Coverage
    clauses: tuple[Clause, ...]
    reason: DenialReason | None
    consent: ConsentRef | None


def unknown_recipient(ask: Ask) -> Decision:
    """The denial of an ask whose recipient is no known partnership (question 1)."""
    return _deny(ask, {DenialReason.UNKNOWN_RECIPIENT}, [_hub("recipient", ask.recipient)])


def answer(
    ask: Ask, index: PolicyIndex, barred: frozenset[tuple[Party, str]]
) -> tuple[Decision, bool]:
    """The decision for a known recipient, given the index in force and the parties
    suspended at ``ask.at``, and whether a consent record may have been consulted for it."""
    if barred:
        suspension = _suspension(ask, barred)
        if suspension is not None:
            return _deny(ask, *suspension), False
    gate = _gate(ask, index)
    if isinstance(gate, Clause):
        return _conclude(ask, index, [], gate), False
    consulted = any(c.item.consent_required for c in gate)
    return _conclude(ask, index, [_assess(ask, c) for c in gate]), consulted


_ORDER = {reason: rank for rank, reason in enumerate(DenialReason)}
_GATE_REASONS = {
    "in_force": DenialReason.NO_AGREEMENT_IN_FORCE,
    "parties": DenialReason.NOT_A_PARTY,
    "data_items": DenialReason.EVENT_TYPE_NOT_COVERED,
}


@lru_cache(maxsize=8192)
def _clause(*, agreement: str, clause: str, effect: Effect, detail: str) -> Clause:
    # Clauses repeat across events, so they are shared; built without re-validation because
    # every value comes from validated agreements and facts. Details hold codes, never
    # identifiers or payloads.
    values = {"agreement": agreement, "clause": clause, "effect": effect, "detail": detail}
    return built_whole(Clause, values)


def _hub(clause: str, detail: str) -> Clause:
    return _clause(agreement=_HUB, clause=clause, effect="failed", detail=detail)


def _suspension(
    ask: Ask, barred: frozenset[tuple[Party, str]]
) -> tuple[set[DenialReason], list[Clause]] | None:
    reasons: set[DenialReason] = set()
    clauses: list[Clause] = []
    if (Party.PARTNERSHIP, ask.recipient) in barred:
        reasons.add(DenialReason.RECIPIENT_SUSPENDED)
        clauses.append(_hub("suspension", f"partnership {ask.recipient} is suspended"))
    if (Party.AGENCY, ask.event.agency_id) in barred:
        reasons.add(DenialReason.AGENCY_SUSPENDED)
        clauses.append(_hub("suspension", f"agency {ask.event.agency_id} is suspended"))
    return (reasons, clauses) if reasons else None


def _gate(ask: Ask, index: PolicyIndex) -> tuple[Coverage, ...] | Clause:
    event = ask.event
    if event.agency_id not in index.providers:
        return _hub("in_force", f"no agreement in force has provider {event.agency_id}")
    if (event.agency_id, ask.recipient) not in index.parties:
        return _hub("parties", f"no agreement in force from {event.agency_id} to {ask.recipient}")
    covering = index.coverage.get((event.agency_id, event.event_type, ask.recipient), ())
    if not covering:
        return _hub("data_items", f"no agreement between the parties covers {event.event_type}")
    return covering


_Check = tuple[str, bool, str, DenialReason]
"""A clause's name, whether it held, a detail (codes only) and the reason if it did not."""


def _purpose(ask: Ask, coverage: Coverage) -> _Check | None:
    held = ask.purpose in coverage.agreement.purposes
    detail = str(ask.purpose) if held else f"{ask.purpose} not agreed"
    return "purposes", held, detail, DenialReason.PURPOSE_NOT_COVERED


def _geography(ask: Ask, coverage: Coverage) -> _Check | None:
    council = ask.event.council
    held = council is not None and council in coverage.area
    detail = str(council) if held else f"area {council} is outside the recipient's"
    return "geography", held, detail, DenialReason.OUTSIDE_GEOGRAPHY


def _age(ask: Ask, coverage: Coverage) -> _Check | None:
    scope = coverage.item.age_scope or coverage.agreement.age_scope
    if scope is None:
        return None
    held = scope.contains(ask.event.age)
    bounds = f"{scope.min}..{scope.max}"
    return (
        "age_scope",
        held,
        bounds if held else f"age outside {bounds}",
        (DenialReason.OUTSIDE_AGE_SCOPE),
    )


_CHECKS = (_purpose, _geography, _age)


def _assess(ask: Ask, coverage: Coverage) -> _Assessment:
    item, ref = coverage.item, coverage.agreement.ref
    detail = f"{item.level} level, {len(item.fields)} fields allowed"
    clauses = [
        _clause(agreement=ref, clause=f"data_items[{item.event_type}]", effect="met", detail=detail)
    ]
    for check in _CHECKS:
        result = check(ask, coverage)
        if result is None:
            continue
        name, held, detail, reason = result
        effect: Effect = "met" if held else "failed"
        clauses.append(_clause(agreement=ref, clause=name, effect=effect, detail=detail))
        if not held:
            return _Assessment(coverage, tuple(clauses), reason, None)
    return _with_consent(ask, coverage, clauses)


def _with_consent(ask: Ask, coverage: Coverage, clauses: list[Clause]) -> _Assessment:
    if not coverage.item.consent_required:
        return _Assessment(coverage, tuple(clauses), None, None)
    found = _consent(ask, coverage.agreement.consent_purpose or ask.purpose)
    clauses.append(
        _clause(
            agreement=coverage.agreement.ref,
            clause="consent",
            effect="met" if found else "failed",
            detail=found.consent_id if found else "no live consent for this flow",
        )
    )
    reason = None if found else DenialReason.CONSENT_MISSING
    return _Assessment(coverage, tuple(clauses), reason, found)


def _consent(ask: Ask, purpose: Purpose) -> ConsentRef | None:
    token = ask.event.subject_token
    if token is None:
        return None
    return ask.consent.consent_for(token, purpose, ask.event.agency_id, ask.recipient, ask.at)


def _prohibitions(ask: Ask, index: PolicyIndex) -> tuple[list[Clause], bool, frozenset[str]]:
    clauses: list[Clause] = []
    whole, banned = False, set[str]()
    event = ask.event
    for agreement, rule in index.prohibitions.get((event.agency_id, ask.recipient), ()):
        applies = (
            (not rule.event_types or event.event_type in rule.event_types)
            and (not rule.recipients or ask.recipient in rule.recipients)
            and (not rule.purposes or ask.purpose in rule.purposes)
            and (rule.age_scope is None or event.age is None or rule.age_scope.contains(event.age))
        )
        if not applies:
            continue
        whole = whole or rule.whole_flow
        banned.update(rule.fields)
        what = "the disclosure" if rule.whole_flow else ", ".join(rule.fields)
        clauses.append(
            _clause(
                agreement=agreement.ref,
                clause=f"prohibitions[{rule.id}]",
                effect="prohibits" if rule.whole_flow else "removes_fields",
                detail=f"prohibits {what}",
            )
        )
    return clauses, whole, frozenset(banned)


def _conclude(
    ask: Ask, index: PolicyIndex, assessments: list[_Assessment], gate: Clause | None = None
) -> Decision:
    clauses = [c for a in assessments for c in a.clauses]
    if gate is not None:
        clauses.append(gate)
    banned_clauses, whole, banned = _prohibitions(ask, index)
    clauses.extend(banned_clauses)
    chosen = next((a for a in assessments if a.reason is None), None)
    if chosen is None or whole:
        reasons = {a.reason for a in assessments if a.reason is not None}
        if gate is not None:
            reasons.add(_GATE_REASONS[gate.clause])
        if whole:
            reasons.add(DenialReason.PROHIBITED)
        return _deny(ask, reasons, clauses)
    agreement, item = chosen.coverage.agreement, chosen.coverage.item
    names = set(BASE_FIELDS) | (chosen.coverage.field_names - banned)
    if item.level is Level.PERSON:
        names.add("subject_token")
    return built_whole(
        Decision,
        {
            "outcome": Outcome.PERMIT,
            "event_id": ask.event.event_id,
            "recipient": ask.recipient,
            "purpose": ask.purpose,
            "at": ask.at,
            "agreement_id": agreement.id,
            "agreement_version": agreement.version,
            "agreement_digest": chosen.coverage.digest,
            "level": item.level,
            "consent_id": chosen.consent.consent_id if chosen.consent else None,
            "fields": tuple(sorted(names)),
            "clauses": tuple(clauses),
            "reasons": (),
        },
    )


def _deny(ask: Ask, reasons: set[DenialReason], clauses: list[Clause]) -> Decision:
    return built_whole(
        Decision,
        {
            "outcome": Outcome.DENY,
            "event_id": ask.event.event_id,
            "recipient": ask.recipient,
            "purpose": ask.purpose,
            "at": ask.at,
            "agreement_id": None,
            "agreement_version": None,
            "agreement_digest": None,
            "level": None,
            "consent_id": None,
            "fields": (),
            "clauses": tuple(clauses),
            "reasons": tuple(sorted(reasons, key=_ORDER.__getitem__)),
        },
    )
