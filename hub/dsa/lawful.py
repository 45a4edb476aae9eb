"""Lawful-basis coherence: what special-category, criminal-offence and consent flows need.

- special-category fields need an Art. 9 condition, and for 9(2)(b), (g), (h), (i) and (j) a
  DPA 2018 Schedule 1 condition too;
- criminal-offence fields need DPA 2018 Part 3 (a competent authority) or an Art. 10 basis,
  with a Schedule 1 condition when that basis is Schedule 1;
- a consent flow needs a ``consent_purpose`` among the purposes, and its provider must rely
  on Art. 6(1)(a) consent.
"""

from __future__ import annotations

from collections.abc import Iterator

from hub.dsa.document import Agreement, Provider
from hub.dsa.vocabulary import Article6Basis, Article9Condition, Article10Basis, Sensitivity
from hub.registry import Registry

Problem = tuple[str, str, str]
"""(path inside the document, finding code, message)."""

_NEEDS_SCHEDULE_1 = frozenset(
    {
        Article9Condition.EMPLOYMENT_SOCIAL_PROTECTION,
        Article9Condition.SUBSTANTIAL_PUBLIC_INTEREST,
        Article9Condition.HEALTH_OR_SOCIAL_CARE,
        Article9Condition.PUBLIC_HEALTH,
        Article9Condition.ARCHIVING_RESEARCH_STATISTICS,
    }
)


def basis_gaps(agreement: Agreement, registry: Registry) -> Iterator[Problem]:
    """Special-category or criminal-offence fields shared without the conditions they need."""
    publishes = {a.id: set(a.event_types) for a in registry.agencies}
    for i, provider in enumerate(agreement.providers):
        where = f"providers.{i}.lawful_basis"
        items = [
            d for d in agreement.data_items if d.event_type in publishes.get(provider.party, ())
        ]
        kinds = {f.sensitivity for d in items for f in d.fields}
        yield from _basis_gaps(where, provider, kinds)


def _basis_gaps(where: str, provider: Provider, kinds: set[Sensitivity]) -> Iterator[Problem]:
    basis = provider.lawful_basis
    if Sensitivity.SPECIAL_CATEGORY in kinds:
        if basis.article_9 is None:
            yield (
                f"{where}.article_9",
                "missing_article_9",
                f"{provider.party} shares special-category fields without an Art. 9 condition",
            )
        elif basis.article_9 in _NEEDS_SCHEDULE_1 and not basis.schedule_1:
            yield (
                f"{where}.schedule_1",
                "missing_schedule_1",
                f"Art. 9 {basis.article_9} needs a DPA 2018 Schedule 1 condition",
            )
    if Sensitivity.CRIMINAL_OFFENCE in kinds and not basis.dpa_2018_part_3:
        if basis.article_10 is None:
            yield (
                f"{where}.article_10",
                "missing_article_10",
                f"{provider.party} shares criminal-offence fields without an Art. 10 basis "
                "or DPA 2018 Part 3",
            )
        elif basis.article_10 is Article10Basis.SCHEDULE_1_CONDITION and not basis.schedule_1:
            yield (
                f"{where}.schedule_1",
                "missing_schedule_1",
                "Art. 10 via Schedule 1 names no Schedule 1 condition",
            )


def consent_gaps(agreement: Agreement, registry: Registry) -> Iterator[Problem]:
    """A consent flow without a consent purpose, or whose provider does not rely on consent."""
    consent_items = [i for i, d in enumerate(agreement.data_items) if d.consent_required]
    if not consent_items:
        return
    where = f"data_items.{consent_items[0]}.consent_required"
    purpose = agreement.consent_purpose
    if purpose is None or purpose not in agreement.purposes:
        yield (
            where,
            "consent_without_purpose",
            "a consent flow needs a consent_purpose among purposes",
        )
    types = {agreement.data_items[i].event_type for i in consent_items}
    publishers = {a.id for a in registry.agencies if types & set(a.event_types)}
    for i, provider in enumerate(agreement.providers):
        basis = provider.lawful_basis.article_6
        if provider.party in publishers and basis is not Article6Basis.CONSENT:
            yield (
                f"providers.{i}.lawful_basis.article_6",
                "consent_without_basis",
                f"a consent flow needs Art. 6(1)(a) consent, not {basis}",
            )
