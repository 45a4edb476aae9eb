"""Unit tests of the evaluator: each denial reason, the permit path and projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.dsa import (
    Agreement,
    AgreementBook,
    ConsentBook,
    ConsentGrant,
    Decision,
    DenialReason,
    Evaluator,
    Outcome,
    Purpose,
    project,
)
from hub.errors import PolicyError
from tests.unit.dsa.builders import NOW, OXFORDSHIRE, SLOUGH, WOKINGHAM, agreement, event, registry


def evaluator(*agreements: Agreement) -> Evaluator:
    return Evaluator(AgreementBook.from_agreements(agreements), registry())


def test_permit_names_agreement_and_allowed_fields() -> None:
    decision = evaluator(agreement()).decide(event(), "reading", NOW)
    assert decision.outcome is Outcome.PERMIT
    assert (decision.agreement_id, decision.agreement_version) == ("test-police", 1)
    assert decision.agreement_digest is not None
    assert decision.agreement_digest.startswith("sha256:")
    assert "offence" in decision.fields
    assert "subject_token" in decision.fields
    assert "domestic" not in decision.fields
    assert decision.reasons == ()


def test_projection_keeps_only_allowed_fields() -> None:
    facts = event()
    decision = evaluator(agreement()).decide(facts, "reading", NOW)
    out = project(facts, decision)
    assert set(out) == {
        "event_id", "agency_id", "event_type", "occurred_at", "council",
        "subject_token", "offence", "location_type",
    }  # fmt: skip
    assert out["offence"] == "WOUNDING"
    assert "domestic" not in out
    assert "age" not in out
    assert "lsoa" not in out


def test_denied_projection_is_empty() -> None:
    facts = event(council=OXFORDSHIRE)
    decision = evaluator(agreement()).decide(facts, "reading", NOW)
    assert project(facts, decision) == {}


def test_unknown_recipient() -> None:
    decision = evaluator(agreement()).decide(event(), "atlantis", NOW)
    assert decision.reasons == (DenialReason.UNKNOWN_RECIPIENT,)


def test_no_agreement_in_force_before_the_effective_date() -> None:
    decision = evaluator(agreement()).decide(event(), "reading", datetime(2025, 12, 31, tzinfo=UTC))
    assert decision.outcome is Outcome.DENY
    assert decision.reasons == (DenialReason.NO_AGREEMENT_IN_FORCE,)


def test_no_agreement_in_force_after_the_end_date() -> None:
    ended = agreement(effective_to="2026-11-23")
    assert evaluator(ended).decide(event(), "reading", NOW).reasons == (
        DenialReason.NO_AGREEMENT_IN_FORCE,
    )
    last_moment = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC)
    assert evaluator(ended).decide(event(), "reading", last_moment).permitted


def test_not_in_force_until_every_signatory_signed() -> None:
    doc = agreement().model_dump(mode="json")
    doc["signatories"][2]["signed_on"] = None
    unsigned = agreement(signatories=doc["signatories"])
    assert evaluator(unsigned).decide(event(), "reading", NOW).reasons == (
        DenialReason.NO_AGREEMENT_IN_FORCE,
    )


def test_in_force_only_from_the_last_signature() -> None:
    doc = agreement().model_dump(mode="json")
    doc["signatories"][1]["signed_on"] = "2026-11-25"
    late = agreement(signatories=doc["signatories"])
    assert not evaluator(late).decide(event(), "reading", NOW).permitted
    assert evaluator(late).decide(event(), "reading", NOW + timedelta(days=1)).permitted


def test_not_a_party() -> None:
    assert evaluator(agreement()).decide(event(), "slough", NOW).reasons == (
        DenialReason.NOT_A_PARTY,
    )


def test_event_type_not_covered() -> None:
    decision = evaluator(agreement()).decide(event(event_type="police.arrest"), "reading", NOW)
    assert decision.reasons == (DenialReason.EVENT_TYPE_NOT_COVERED,)


def test_purpose_not_covered() -> None:
    decision = evaluator(agreement()).decide(
        event(), "reading", NOW, purpose=Purpose.STRATEGIC_NEEDS_ASSESSMENT
    )
    assert decision.reasons == (DenialReason.PURPOSE_NOT_COVERED,)


def test_outside_geography_and_named_neighbours() -> None:
    plain = evaluator(agreement())
    assert plain.decide(event(council=WOKINGHAM), "reading", NOW).reasons == (
        DenialReason.OUTSIDE_GEOGRAPHY,
    )
    assert plain.decide(event(council=None), "reading", NOW).reasons == (
        DenialReason.OUTSIDE_GEOGRAPHY,
    )
    doc = agreement().model_dump(mode="json")
    doc["recipients"][0]["neighbours"] = ["wokingham"]
    widened = evaluator(agreement(recipients=doc["recipients"]))
    assert widened.decide(event(council=WOKINGHAM), "reading", NOW).permitted
    assert not widened.decide(event(council=SLOUGH), "reading", NOW).permitted


@pytest.mark.parametrize(
    ("age", "allowed"), [(9, False), (10, True), (17, True), (18, False), (None, False)]
)
def test_age_scope_is_inclusive_and_unknown_age_is_out(age: int | None, allowed: bool) -> None:
    scoped = evaluator(agreement(age_scope={"min": 10, "max": 17}))
    decision = scoped.decide(event(age=age), "reading", NOW)
    assert decision.permitted is allowed
    if not allowed:
        assert decision.reasons == (DenialReason.OUTSIDE_AGE_SCOPE,)


def test_item_age_scope_overrides_the_agreement_scope() -> None:
    doc = agreement().model_dump(mode="json")
    doc["data_items"][0]["age_scope"] = {"max": 12}
    scoped = evaluator(agreement(age_scope={"min": 10, "max": 24}, data_items=doc["data_items"]))
    assert scoped.decide(event(age=12), "reading", NOW).permitted
    assert not scoped.decide(event(age=15), "reading", NOW).permitted


def _consent_agreement() -> Agreement:
    doc = agreement().model_dump(mode="json")
    doc["data_items"][0]["consent_required"] = True
    return agreement(
        data_items=doc["data_items"],
        purposes=["serious_violence_prevention", "early_intervention"],
        consent_purpose="early_intervention",
    )


def _grant(**overrides: object) -> ConsentGrant:
    values: dict[str, object] = {
        "consent_id": "c-1",
        "subject_token": "tok-1",
        "purpose": Purpose.EARLY_INTERVENTION,
        "provider": "police",
        "recipients": frozenset({"reading"}),
        "given_at": NOW - timedelta(days=3),
    }
    values.update(overrides)
    return ConsentGrant.model_validate(values)


def test_consent_missing_without_a_grant() -> None:
    decision = evaluator(_consent_agreement()).decide(event(), "reading", NOW)
    assert decision.reasons == (DenialReason.CONSENT_MISSING,)


def test_consent_given_permits_and_is_recorded() -> None:
    consent = ConsentBook([_grant()])
    decision = evaluator(_consent_agreement()).decide(event(), "reading", NOW, consent)
    assert decision.permitted
    assert decision.consent_id == "c-1"


def test_withdrawal_stops_sharing_at_once() -> None:
    withdrawn_at = NOW - timedelta(seconds=1)
    consent = ConsentBook([_grant()]).with_grant(_grant(withdrawn_at=withdrawn_at))
    judge = evaluator(_consent_agreement())
    assert not judge.decide(event(), "reading", NOW, consent).permitted
    assert judge.decide(event(), "reading", withdrawn_at - timedelta(seconds=1), consent).permitted


@pytest.mark.parametrize(
    "grant",
    [
        {"purpose": Purpose.SAFEGUARDING},
        {"provider": "education"},
        {"recipients": frozenset({"wokingham"})},
        {"subject_token": "tok-2"},
        {"given_at": NOW + timedelta(seconds=1)},
    ],
)
def test_consent_must_match_the_flow(grant: dict[str, object]) -> None:
    consent = ConsentBook([_grant(**grant)])
    decision = evaluator(_consent_agreement()).decide(event(), "reading", NOW, consent)
    assert decision.reasons == (DenialReason.CONSENT_MISSING,)


def test_consent_flow_denies_an_event_without_subject() -> None:
    consent = ConsentBook([_grant()])
    decision = evaluator(_consent_agreement()).decide(
        event(subject_token=None), "reading", NOW, consent
    )
    assert decision.reasons == (DenialReason.CONSENT_MISSING,)


def test_whole_flow_prohibition_overrides_a_permission() -> None:
    rule = {"id": "no-reading", "description": "none to reading", "recipients": ["reading"]}
    decision = evaluator(agreement(prohibitions=[rule])).decide(event(), "reading", NOW)
    assert decision.reasons == (DenialReason.PROHIBITED,)
    assert any(c.effect == "prohibits" for c in decision.clauses)


def test_prohibition_in_another_agreement_between_the_parties_wins() -> None:
    rule = {"id": "no-incidents", "description": "x", "event_types": ["police.violent_incident"]}
    other = agreement(id="other", data_items=[{"event_type": "police.arrest"}], prohibitions=[rule])
    decision = evaluator(agreement(), other).decide(event(), "reading", NOW)
    assert decision.reasons == (DenialReason.PROHIBITED,)


def test_field_prohibition_removes_only_those_fields() -> None:
    rule = {"id": "no-offence", "description": "x", "fields": ["offence"]}
    facts = event()
    decision = evaluator(agreement(prohibitions=[rule])).decide(facts, "reading", NOW)
    assert decision.permitted
    assert "offence" not in decision.fields
    assert "offence" not in project(facts, decision)
    assert project(facts, decision)["location_type"] == "STREET"


def test_age_scoped_prohibition_applies_to_unknown_age() -> None:
    rule = {"id": "no-under-ten", "description": "x", "age_scope": {"max": 9}}
    judge = evaluator(agreement(prohibitions=[rule]))
    assert judge.decide(event(age=9), "reading", NOW).reasons == (DenialReason.PROHIBITED,)
    assert judge.decide(event(age=None), "reading", NOW).reasons == (DenialReason.PROHIBITED,)
    assert judge.decide(event(age=10), "reading", NOW).permitted


def test_purpose_scoped_prohibition_applies_to_its_purposes_only() -> None:
    """A prohibition naming purposes forbids the flow for those purposes, and leaves the
    agreement's other purposes permitted."""
    rule = {"id": "no-safeguarding", "description": "x", "purposes": ["safeguarding"]}
    purposes = ["serious_violence_prevention", "safeguarding"]
    judge = evaluator(agreement(purposes=purposes, prohibitions=[rule]))
    asked = judge.decide(event(), "reading", NOW, purpose=Purpose.SAFEGUARDING)
    assert asked.reasons == (DenialReason.PROHIBITED,)
    assert judge.decide(event(), "reading", NOW).permitted


def test_area_level_flow_never_discloses_the_subject() -> None:
    doc = agreement().model_dump(mode="json")
    doc["data_items"][0]["level"] = "area"
    facts = event()
    decision = evaluator(agreement(data_items=doc["data_items"])).decide(facts, "reading", NOW)
    assert decision.permitted
    assert "subject_token" not in project(facts, decision)


def test_flag_is_permitted_only_when_every_event_is() -> None:
    judge = evaluator(agreement())
    good, bad = event(), event(event_id="ev-2", council=OXFORDSHIRE)
    assert (
        judge.decide_flag(
            [good, good.model_copy(update={"event_id": "ev-3"})], "reading", NOW
        ).outcome
        is Outcome.PERMIT
    )
    mixed = judge.decide_flag([good, bad], "reading", NOW)
    assert mixed.outcome is Outcome.DENY
    assert mixed.reasons == (DenialReason.OUTSIDE_GEOGRAPHY,)
    assert judge.decide_flag([], "reading", NOW).outcome is Outcome.DENY


def test_naive_decision_time_is_refused() -> None:
    with pytest.raises(PolicyError):
        evaluator(agreement()).decide(event(), "reading", datetime(2026, 11, 24))  # noqa: DTZ001  # the point of the test


def test_decision_is_deterministic() -> None:
    judge = evaluator(agreement(), agreement(id="twin"))
    first = judge.decide(event(), "reading", NOW)
    again = evaluator(agreement(id="twin"), agreement()).decide(event(), "reading", NOW)
    assert first == again
    assert first.agreement_id == "test-police"


def test_decisions_round_trip_through_json_for_the_audit_log() -> None:
    rule = {"id": "no-offence", "description": "x", "fields": ["offence"]}
    judge = evaluator(agreement(prohibitions=[rule]))
    for decision in (
        judge.decide(event(), "reading", NOW),
        judge.decide(event(council=OXFORDSHIRE), "reading", NOW),
    ):
        assert Decision.model_validate_json(decision.model_dump_json()) == decision
        assert "tok-1" not in decision.model_dump_json()


def test_decisions_and_clauses_are_the_models_validation_builds() -> None:
    """The evaluator builds its decisions and clauses without validating them again
    (:func:`hub.models.built.built_whole`): each must equal the validated model field for
    field, name every field as set, and write the same JSON."""
    rule = {"id": "no-offence", "description": "x", "fields": ["offence"]}
    judge = evaluator(agreement(prohibitions=[rule]))
    decisions = [
        judge.decide(event(), "reading", NOW),  # a permit, fields removed by a prohibition
        judge.decide(event(council=OXFORDSHIRE), "reading", NOW),  # a denial
    ]
    assert {d.outcome for d in decisions} == {Outcome.PERMIT, Outcome.DENY}
    for decision in decisions:
        validated = Decision.model_validate(decision.model_dump())
        assert decision.__dict__ == validated.__dict__
        assert list(decision.__dict__) == list(validated.__dict__)  # in field order
        assert decision.model_fields_set == validated.model_fields_set == set(Decision.model_fields)
        assert decision.model_dump_json() == validated.model_dump_json()
        assert decision.clauses
        for clause in decision.clauses:
            again = type(clause).model_validate(clause.model_dump())
            assert clause.__dict__ == again.__dict__
            assert clause.model_fields_set == again.model_fields_set
            assert clause.model_dump_json() == again.model_dump_json()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {"event_id": "ev-2"}),  # permit, remembered, given again for another event
        ({"council": OXFORDSHIRE}, {"council": OXFORDSHIRE, "event_id": "ev-3"}),  # deny
        ({}, {"council": OXFORDSHIRE, "event_id": "ev-4"}),  # another council: not the same
        ({}, {"age": 30, "event_id": "ev-5"}),  # another age: not the same
    ],
)
def test_a_remembered_decision_equals_a_fresh_one(
    first: dict[str, object], second: dict[str, object]
) -> None:
    rule = {"id": "no-offence", "description": "x", "fields": ["offence"]}
    judge = evaluator(agreement(prohibitions=[rule]))
    judge.decide(event(**first), "reading", NOW)
    later = NOW + timedelta(minutes=5)
    again = judge.decide(event(**second), "reading", later)
    fresh = evaluator(agreement(prohibitions=[rule])).decide(event(**second), "reading", later)
    assert again == fresh
    assert again.model_dump_json() == fresh.model_dump_json()
    assert (again.event_id, again.at) == (second["event_id"], later)


def test_a_consent_flow_is_decided_again_each_time() -> None:
    withdrawn_at = NOW - timedelta(seconds=1)
    judge = evaluator(_consent_agreement())
    consent = ConsentBook([_grant()])
    assert judge.decide(event(), "reading", NOW, consent).permitted
    withdrawn = consent.with_grant(_grant(withdrawn_at=withdrawn_at))
    assert not judge.decide(event(event_id="ev-2"), "reading", NOW, withdrawn).permitted


def test_the_same_consent_question_is_remembered_with_its_consent_facts() -> None:
    judge = evaluator(_consent_agreement())
    first = judge.outcome(event(), "reading", NOW, ConsentBook([_grant()]))
    again = judge.outcome(event(event_id="ev-2"), "reading", NOW, ConsentBook([_grant()]))
    assert again is first  # same inputs, same consent answers: remembered
    assert first.consent_id == "c-1"


def _stages() -> list[tuple[str, ConsentBook, str | None]]:
    """Consent given, withdrawn, given again under another id: each stage's answer."""
    withdrawn = _grant(withdrawn_at=NOW - timedelta(seconds=1))
    regiven = _grant(consent_id="c-2", given_at=NOW - timedelta(minutes=1))
    return [
        ("given", ConsentBook([_grant()]), "c-1"),
        ("withdrawn", ConsentBook([withdrawn]), None),
        ("given again", ConsentBook([withdrawn, regiven]), "c-2"),
        ("withdrawn again", ConsentBook([withdrawn]), None),
    ]


def test_a_consent_change_between_two_identical_questions_changes_the_answer() -> None:
    """The same event, recipient and time, asked again after each change: never a stale hit."""
    judge = evaluator(_consent_agreement())
    for stage, consent, consent_id in _stages():
        for _ in range(2):  # the second time is answered from memory
            decision = judge.decide(event(), "reading", NOW, consent)
            fresh = evaluator(_consent_agreement()).decide(event(), "reading", NOW, consent)
            assert decision == fresh, stage
            assert decision.model_dump_json() == fresh.model_dump_json(), stage
            assert decision.permitted is (consent_id is not None), stage
            assert decision.consent_id == consent_id, stage


def test_a_remembered_consent_decision_is_not_given_for_an_event_without_subject() -> None:
    judge = evaluator(_consent_agreement())
    assert judge.decide(event(), "reading", NOW, ConsentBook([_grant()])).permitted
    anonymous = judge.decide(event(subject_token=None), "reading", NOW, ConsentBook([_grant()]))
    assert anonymous.reasons == (DenialReason.CONSENT_MISSING,)
    assert judge.decide(event(), "reading", NOW, ConsentBook([_grant()])).permitted
