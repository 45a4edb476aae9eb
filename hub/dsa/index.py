"""A precomputed view of the agreements in force during one interval of time.

Evaluation happens for every event and every recipient, so the evaluator looks agreements
up by provider and event type instead of scanning them. A :class:`PolicyIndex` is valid for
one interval between two breakpoints of the book, where the set in force cannot change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.dsa.book import agreement_digest
from hub.dsa.document import Agreement, DataItem, Prohibition
from hub.registry import Registry


@dataclass(frozen=True, slots=True)
class Coverage:
    """One agreement's data item for one provider, event type and recipient."""

    agreement: Agreement
    item: DataItem
    digest: str
    area: frozenset[str]
    field_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class PolicyIndex:
    """Agreements in force, indexed by the keys evaluation asks about.

    ``coverage`` is keyed by (provider, event type, recipient); ``prohibitions`` by
    (provider, recipient): a prohibition binds the flows between the parties of its own
    agreement, whichever agreement permits them.
    """

    in_force: tuple[Agreement, ...]
    providers: frozenset[str]
    parties: frozenset[tuple[str, str]]
    coverage: Mapping[tuple[str, str, str], tuple[Coverage, ...]]
    prohibitions: Mapping[tuple[str, str], tuple[tuple[Agreement, Prohibition], ...]] = field(
        default_factory=dict
    )


def build_index(in_force: tuple[Agreement, ...], registry: Registry) -> PolicyIndex:
    """Index the agreements in force against the registry's geography."""
    councils = {p.id: frozenset(p.councils) for p in registry.partnerships}
    coverage: dict[tuple[str, str, str], list[Coverage]] = {}
    prohibitions: dict[tuple[str, str], list[tuple[Agreement, Prohibition]]] = {}
    parties: set[tuple[str, str]] = set()
    for agreement in in_force:
        digest = agreement_digest(agreement)
        for recipient in agreement.recipients:
            area = frozenset(
                c for p in (recipient.party, *recipient.neighbours) for c in councils.get(p, ())
            )
            for provider in sorted(agreement.provider_ids):
                key = (provider, recipient.party)
                parties.add(key)
                prohibitions.setdefault(key, []).extend(
                    (agreement, rule) for rule in agreement.prohibitions
                )
                for item in agreement.data_items:
                    coverage.setdefault((provider, item.event_type, recipient.party), []).append(
                        Coverage(agreement, item, digest, area, item.field_names)
                    )
    return PolicyIndex(
        in_force=in_force,
        providers=frozenset(p for a in in_force for p in a.provider_ids),
        parties=frozenset(parties),
        coverage={k: tuple(v) for k, v in coverage.items()},
        prohibitions={k: tuple(v) for k, v in prohibitions.items() if v},
    )
