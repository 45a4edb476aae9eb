"""Field rules beyond what Avro types can say, per event type.

Each rule returns ``None`` when the record is fine, or ``(field, problem)``; the problem
describes the rule, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

Problem = tuple[str, str]
Rule = Callable[[Mapping[str, Any], Mapping[str, Any]], Problem | None]
"""A rule sees the type-specific fields and the envelope."""

ODS_SITE = re.compile(r"^[A-Z0-9]{3,6}$")
MAX_TEXT = 500
MAX_GRAVITY = 5
MAX_ORDER_MONTHS = 480
#: Bounds for every string and array of every type, whatever its own rules say: a well-formed
#: event cannot grow without limit (``docs/reliability.md``, oversized messages).
MAX_STRING = 2_000
MAX_ITEMS = 100


def _not_before(field: str, earlier: str) -> Rule:
    """``field`` (when set) is not before ``earlier`` (a field, or ``envelope.<name>``)."""

    def rule(fields: Mapping[str, Any], envelope: Mapping[str, Any]) -> Problem | None:
        later_value: datetime | None = fields.get(field)
        source = envelope if earlier.startswith("envelope.") else fields
        earlier_value: datetime | None = source.get(earlier.removeprefix("envelope."))
        if later_value is None or earlier_value is None or later_value >= earlier_value:
            return None
        return field, f"is before {earlier}"

    return rule


def _in_range(field: str, low: int, high: int) -> Rule:
    def rule(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
        value = fields.get(field)
        if value is None or low <= value <= high:
            return None
        return field, f"must be between {low} and {high}"

    return rule


def _site_code(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
    if ODS_SITE.fullmatch(fields["ed_site_code"]):
        return None
    return "ed_site_code", "must be an ODS site code (3 to 6 upper-case letters or digits)"


def _short_text(field: str) -> Rule:
    def rule(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
        value = fields.get(field)
        if value is None or 0 < len(value) <= MAX_TEXT:
            return None
        return field, f"must be 1 to {MAX_TEXT} characters"

    return rule


def _sessions(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
    possible, absent = fields["sessions_possible"], fields["sessions_absent"]
    if possible <= 0:
        return "sessions_possible", "must be positive"
    if not 0 <= fields["sessions_unauthorised"] <= absent:
        return "sessions_unauthorised", "must be between 0 and sessions_absent"
    if not absent <= possible:
        return "sessions_absent", "must not exceed sessions_possible"
    return None


def _suspension_length(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
    permanent = fields["kind"] == "PERMANENT_EXCLUSION"
    sessions = fields["sessions"]
    if permanent and sessions is not None:
        return "sessions", "must be null for a permanent exclusion"
    if not permanent and (sessions is None or sessions < 1):
        return "sessions", "must be at least 1 for a suspension"
    return None


def _consent_reference(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
    if fields["consent_reference"].strip():
        return None
    return "consent_reference", "must not be empty"


RULES: Mapping[str, tuple[Rule, ...]] = {
    "health.ed_assault": (
        _not_before("arrival_at", "assault_at"),
        _site_code,
        _short_text("location_description"),
    ),
    "csc.missing_episode": (_not_before("returned_at", "envelope.occurred_at"),),
    "csc.child_protection_plan_end": (_in_range("plan_duration_days", 0, 366 * 18),),
    "education.persistent_absence": (_sessions,),
    "education.suspension": (_suspension_length,),
    "youth_justice.out_of_court_disposal": (_in_range("gravity_score", 1, MAX_GRAVITY),),
    "youth_justice.court_outcome": (_in_range("order_months", 0, MAX_ORDER_MONTHS),),
    "probation.licence_release": (_not_before("licence_end_at", "envelope.occurred_at"),),
    "voluntary.engagement": (_consent_reference,),
}


def _bounded(fields: Mapping[str, Any], _: Mapping[str, Any]) -> Problem | None:
    """No string longer than MAX_STRING characters, no array longer than MAX_ITEMS."""
    for name, value in fields.items():
        kind = type(value)  # this runs on every field: the decoder's values leave at once
        if kind is str:  # most fields are strings (enum symbols too)
            if len(value) > MAX_STRING:
                return name, f"must be at most {MAX_STRING} characters"
        elif kind is bool or kind is int or value is None:
            continue  # neither a string nor an array
        elif isinstance(value, str):
            if len(value) > MAX_STRING:
                return name, f"must be at most {MAX_STRING} characters"
        elif isinstance(value, list):  # no list built per scalar
            if len(value) > MAX_ITEMS:
                return name, f"must have at most {MAX_ITEMS} items"
            if any(isinstance(v, str) and len(v) > MAX_STRING for v in value):
                return name, f"must be at most {MAX_STRING} characters"
    return None


def check_fields(
    event_type: str, fields: Mapping[str, Any], envelope: Mapping[str, Any]
) -> Problem | None:
    """The first rule the record breaks, or None."""
    for rule in _CHECKS.get(event_type, _BOUNDED_ONLY):
        problem = rule(fields, envelope)
        if problem is not None:
            return problem
    return None


#: Each type's checks in the order they run: the bounds, then the type's own rules.
_CHECKS: Mapping[str, tuple[Rule, ...]] = {t: (_bounded, *rules) for t, rules in RULES.items()}
_BOUNDED_ONLY: tuple[Rule, ...] = (_bounded,)
