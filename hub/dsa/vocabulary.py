"""The closed vocabularies an agreement is written in.

Every value is a lower-case snake_case string so that YAML stays readable and the JSON
outputs (check reports, decisions, ODRL) are stable. Where a term comes from a statute the
member's docstring-comment gives the article, paragraph or section it stands for.
"""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """Why data is shared. A disclosure is always asked for one purpose."""

    SERIOUS_VIOLENCE_PREVENTION = "serious_violence_prevention"
    SAFEGUARDING = "safeguarding"
    STRATEGIC_NEEDS_ASSESSMENT = "strategic_needs_assessment"
    CRIME_PREVENTION = "crime_prevention"
    EARLY_INTERVENTION = "early_intervention"
    OFFENDER_MANAGEMENT = "offender_management"
    YOUTH_SUPPORT = "youth_support"


class Role(StrEnum):
    """A party's role under UK GDPR."""

    CONTROLLER = "controller"
    JOINT_CONTROLLER = "joint_controller"
    PROCESSOR = "processor"


class Article6Basis(StrEnum):
    """UK GDPR Art. 6(1) lawful bases."""

    CONSENT = "consent"  # 6(1)(a)
    CONTRACT = "contract"  # 6(1)(b)
    LEGAL_OBLIGATION = "legal_obligation"  # 6(1)(c)
    VITAL_INTERESTS = "vital_interests"  # 6(1)(d)
    PUBLIC_TASK = "public_task"  # 6(1)(e)
    LEGITIMATE_INTERESTS = "legitimate_interests"  # 6(1)(f)


class Article9Condition(StrEnum):
    """UK GDPR Art. 9(2) conditions for special-category data."""

    EXPLICIT_CONSENT = "explicit_consent"  # 9(2)(a)
    EMPLOYMENT_SOCIAL_PROTECTION = "employment_social_protection"  # 9(2)(b)
    VITAL_INTERESTS = "vital_interests"  # 9(2)(c)
    NOT_FOR_PROFIT_BODY = "not_for_profit_body"  # 9(2)(d)
    MADE_PUBLIC = "made_public"  # 9(2)(e)
    LEGAL_CLAIMS = "legal_claims"  # 9(2)(f)
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial_public_interest"  # 9(2)(g)
    HEALTH_OR_SOCIAL_CARE = "health_or_social_care"  # 9(2)(h)
    PUBLIC_HEALTH = "public_health"  # 9(2)(i)
    ARCHIVING_RESEARCH_STATISTICS = "archiving_research_statistics"  # 9(2)(j)


class Article10Basis(StrEnum):
    """UK GDPR Art. 10 with DPA 2018 s10(5): how criminal-offence data may be processed."""

    OFFICIAL_AUTHORITY = "official_authority"
    SCHEDULE_1_CONDITION = "schedule_1_condition"


class Schedule1Condition(StrEnum):
    """DPA 2018 Schedule 1 conditions (paragraph numbers in the comments)."""

    EMPLOYMENT_SOCIAL_SECURITY = "employment_social_security"  # para 1
    HEALTH_OR_SOCIAL_CARE = "health_or_social_care"  # para 2
    PUBLIC_HEALTH = "public_health"  # para 3
    RESEARCH = "research"  # para 4
    STATUTORY_AND_GOVERNMENT_PURPOSES = "statutory_and_government_purposes"  # para 6
    PREVENTING_OR_DETECTING_UNLAWFUL_ACTS = "preventing_or_detecting_unlawful_acts"  # para 10
    PROTECTING_THE_PUBLIC = "protecting_the_public"  # para 11
    COUNSELLING = "counselling"  # para 17
    SAFEGUARDING_CHILDREN_AND_INDIVIDUALS_AT_RISK = (
        "safeguarding_children_and_individuals_at_risk"  # para 18
    )
    CONSENT_CRIMINAL_OFFENCE = "consent_criminal_offence"  # para 29
    VITAL_INTERESTS_CRIMINAL_OFFENCE = "vital_interests_criminal_offence"  # para 30


class LegalGateway(StrEnum):
    """The statutory (or common-law) power that lets a provider disclose."""

    CDA_1998_S115 = "crime_and_disorder_act_1998_s115"
    CDA_1998_S17A = "crime_and_disorder_act_1998_s17a"
    SERIOUS_VIOLENCE_DUTY = "pcsc_act_2022_serious_violence_duty"
    CHILDREN_ACT_2004_S10 = "children_act_2004_s10"
    CHILDREN_ACT_2004_S11 = "children_act_2004_s11"
    CHILDREN_ACT_1989_S47 = "children_act_1989_s47"
    EDUCATION_ACT_2002_S175 = "education_act_2002_s175"
    OFFENDER_MANAGEMENT_ACT_2007_S14 = "offender_management_act_2007_s14"
    DATA_SUBJECT_CONSENT = "data_subject_consent"


class Sensitivity(StrEnum):
    """How sensitive a field is; matches the codec's ``FieldInfo.sensitivity``."""

    NORMAL = "normal"
    SPECIAL_CATEGORY = "special_category"
    CRIMINAL_OFFENCE = "criminal_offence"


class Level(StrEnum):
    """Whether a flow is about a person (subject token disclosed) or an area only."""

    PERSON = "person"
    AREA = "area"


class Classification(StrEnum):
    """Government Security Classification of the shared data."""

    OFFICIAL = "official"
    OFFICIAL_SENSITIVE = "official_sensitive"


class Outcome(StrEnum):
    """The result of a disclosure decision."""

    PERMIT = "permit"
    DENY = "deny"


class DenialReason(StrEnum):
    """Machine-readable reasons a disclosure was refused (a closed list)."""

    NO_AGREEMENT_IN_FORCE = "no_agreement_in_force"
    UNKNOWN_RECIPIENT = "unknown_recipient"
    NOT_A_PARTY = "not_a_party"
    PURPOSE_NOT_COVERED = "purpose_not_covered"
    EVENT_TYPE_NOT_COVERED = "event_type_not_covered"
    OUTSIDE_GEOGRAPHY = "outside_geography"
    OUTSIDE_AGE_SCOPE = "outside_age_scope"
    CONSENT_MISSING = "consent_missing"
    PROHIBITED = "prohibited"
    RECIPIENT_SUSPENDED = "recipient_suspended"
    AGENCY_SUSPENDED = "agency_suspended"
