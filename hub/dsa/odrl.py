"""Export an agreement version as a W3C ODRL 2.2 policy (JSON-LD).

One ``Agreement`` policy per version. Each (provider, data item, recipient) becomes a
permission to ``distribute`` the event type, constrained by purpose, recipient, spatial
(the ONS codes of the recipient's area and named neighbours), dateTime (the in-force
window) and, where set, the subject's age; a consent flow carries an ``obtainConsent``
duty. Each prohibition becomes an ODRL prohibition. Terms ODRL lacks are in the hub's own
profile (``vru:``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.dsa.document import AgeScope, Agreement, DataItem, Prohibition
from hub.registry import Registry

PROFILE = "urn:vru-hub:odrl-profile:1"
CONTEXT: list[Any] = [
    "http://www.w3.org/ns/odrl.jsonld",
    {"vru": "urn:vru-hub:", "dct": "http://purl.org/dc/terms/"},
]
_ONS = "http://statistics.data.gov.uk/id/statistical-geography/"

Json = dict[str, Any]


def _party(party_id: str) -> str:
    return f"urn:vru-hub:party:{party_id}"


def _asset(event_type: str) -> str:
    return f"urn:vru-hub:event-type:{event_type}"


def to_odrl(agreement: Agreement, registry: Registry) -> Json:
    """The agreement as an ODRL 2.2 ``Agreement`` policy (a JSON-serialisable dict)."""
    councils = {p.id: p.councils for p in registry.partnerships}
    permissions = [
        _permission(agreement, provider, item, recipient.party, councils)
        for provider in sorted(agreement.provider_ids)
        for item in agreement.data_items
        if item.event_type in _published(registry, provider)
        for recipient in agreement.recipients
    ]
    return {
        "@context": CONTEXT,
        "@type": "Agreement",
        "uid": f"urn:vru-hub:agreement:{agreement.id}:{agreement.version}",
        "profile": PROFILE,
        "dct:title": agreement.title,
        "vru:version": agreement.version,
        "vru:dpiaReference": agreement.dpia_reference,
        "vru:legalGateway": [str(g) for g in agreement.legal_gateways],
        "vru:retentionDays": agreement.retention.alerts_days,
        "vru:securityClassification": str(agreement.security_classification),
        "vru:signedOff": agreement.signed_on is not None,
        "permission": permissions,
        "prohibition": [_prohibition(agreement, p) for p in agreement.prohibitions],
    }


def _published(registry: Registry, agency: str) -> frozenset[str]:
    return frozenset(t for a in registry.agencies if a.id == agency for t in a.event_types)


def _permission(
    agreement: Agreement,
    provider: str,
    item: DataItem,
    recipient: str,
    councils: dict[str, tuple[str, ...]],
) -> Json:
    entry = agreement.recipient(recipient)
    parties = (recipient, *(entry.neighbours if entry else ()))
    area = sorted(c for p in parties for c in councils.get(p, ()))
    constraints = [
        _purposes(agreement.purposes),
        {"leftOperand": "recipient", "operator": "eq", "rightOperand": {"@id": _party(recipient)}},
        {
            "leftOperand": "spatial",
            "operator": "isAnyOf",
            "rightOperand": [{"@id": _ONS + c} for c in area],
        },
        *_window(agreement),
        *_ages(item.age_scope or agreement.age_scope),
    ]
    rule: Json = {
        "uid": f"urn:vru-hub:agreement:{agreement.id}:{agreement.version}:"
        f"permission:{provider}:{item.event_type}:{recipient}",
        "target": {
            "@type": "AssetCollection",
            "uid": _asset(item.event_type),
            "vru:level": str(item.level),
            "vru:fields": [
                {"name": f.name, "sensitivity": str(f.sensitivity)} for f in item.fields
            ],
        },
        "assigner": _party(provider),
        "assignee": _party(recipient),
        "action": "distribute",
        "constraint": constraints,
    }
    if item.consent_required:
        purpose = agreement.consent_purpose or agreement.purposes[0]
        rule["duty"] = [{"action": "obtainConsent", "constraint": [_purposes((purpose,))]}]
    return rule


def _purposes(purposes: tuple[Any, ...]) -> Json:
    return {
        "leftOperand": "purpose",
        "operator": "isAnyOf",
        "rightOperand": [{"@id": f"vru:purpose:{p}"} for p in purposes],
    }


def _window(agreement: Agreement) -> list[Json]:
    window = agreement.in_force_window()
    if window is None:
        return [{"leftOperand": "vru:allSignatoriesSigned", "operator": "eq", "rightOperand": True}]
    start, end = window
    out = [_moment("gteq", start)]
    if end is not None:
        out.append(_moment("lt", end))
    return out


def _moment(operator: str, moment: datetime) -> Json:
    value = moment.isoformat().replace("+00:00", "Z")
    return {
        "leftOperand": "dateTime",
        "operator": operator,
        "rightOperand": {"@value": value, "@type": "xsd:dateTime"},
    }


def _ages(scope: AgeScope | None) -> list[Json]:
    if scope is None:
        return []
    bounds = (("gteq", scope.min), ("lteq", scope.max))
    return [
        {"leftOperand": "vru:subjectAge", "operator": op, "rightOperand": value}
        for op, value in bounds
        if value is not None
    ]


def _prohibition(agreement: Agreement, rule: Prohibition) -> Json:
    types = rule.event_types or tuple(sorted(d.event_type for d in agreement.data_items))
    if rule.whole_flow:
        target: Any = [_asset(t) for t in types]
    else:
        target = [f"urn:vru-hub:field:{t}/{f}" for t in types for f in rule.fields]
    recipients = rule.recipients or tuple(sorted(agreement.recipient_ids))
    constraints: list[Json] = [
        {
            "leftOperand": "recipient",
            "operator": "isAnyOf",
            "rightOperand": [{"@id": _party(r)} for r in recipients],
        }
    ]
    if rule.purposes:
        constraints.append(_purposes(rule.purposes))
    constraints.extend(_ages(rule.age_scope))
    return {
        "uid": f"urn:vru-hub:agreement:{agreement.id}:{agreement.version}:prohibition:{rule.id}",
        "target": target,
        "assigner": [_party(p) for p in sorted(agreement.provider_ids)],
        "action": "distribute",
        "constraint": constraints,
        "dct:description": rule.description,
    }
