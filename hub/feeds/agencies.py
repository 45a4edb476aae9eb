"""Synthetic events of the agencies whose feeds are not public, around the police replay.

Real cross-agency data about young people is, rightly, never published. To show correlation,
some of the invented people the police replay touched also appear in other agencies' events
near the same time, in realistic proportions (``SHARES``); health assault records are
area-level, near violent incidents. Everything is drawn from a seeded generator: reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import timedelta

from hub.codec import SchemaStore
from hub.feeds.source import SourceEvent
from hub.feeds.synthetic import synth_valid_fields
from hub.registry import Registry

#: event type -> (share of police-touched people who also get one, days around the police event).
SHARES: dict[str, tuple[float, int]] = {
    "education.suspension": (0.15, 30),
    "education.persistent_absence": (0.10, 60),
    "csc.referral": (0.08, 45),
    "csc.missing_episode": (0.06, 45),
    "csc.exploitation_screening": (0.05, 45),
    "youth_justice.out_of_court_disposal": (0.05, 60),
    "youth_justice.court_outcome": (0.03, 90),
    "probation.licence_release": (0.03, 30),
    "community_safety.asb_case": (0.04, 60),
    "voluntary.engagement": (0.06, 60),
}
HEALTH_SHARE = 0.2
SCHOOL_AGE = range(5, 17)


def partner_events(
    police: Iterable[SourceEvent], registry: Registry, schemas: SchemaStore, seed: int = 2018
) -> Iterator[SourceEvent]:
    """Events of other agencies about people and places of ``police``, reproducibly."""
    rng = random.Random(seed)  # noqa: S311  # reproducible synthetic data, not security
    owner = {t: a.id for a in registry.agencies for t in a.event_types}
    for index, event in enumerate(police):
        for event_type, (share, days) in SHARES.items():
            if event.person is None or rng.random() >= share:
                continue
            age = event.person.age_on(event.occurred_at.date())
            if event_type.startswith("education.") and age not in SCHOOL_AGE:
                continue
            when = event.occurred_at + timedelta(
                days=rng.randint(-days, days), hours=rng.randint(0, 23)
            )
            fields = synth_valid_fields(event_type, schemas.schema(event_type), rng, when)
            yield SourceEvent(
                owner[event_type],
                event_type,
                when,
                event.lsoa,
                event.person,
                fields,
                f"{event.source_ref}|{event_type}",
            )
        if event.event_type == "police.violent_incident" and rng.random() < HEALTH_SHARE:
            when = event.occurred_at + timedelta(minutes=rng.randint(10, 180))
            fields = synth_valid_fields(
                "health.ed_assault", schemas.schema("health.ed_assault"), rng, when
            )
            yield SourceEvent(
                "health", "health.ed_assault", when, event.lsoa, None, fields, f"ed|{index}"
            )
