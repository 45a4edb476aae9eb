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
    """One agreement's data item for one provider and event type."""

    agreement: Agreement
    item: DataItem
    digest: str


@dataclass(frozen=True, slots=True)
class PolicyIndex:
    """Agreements in force, indexed for the questions evaluation asks."""

    in_force: tuple[Agreement, ...]
    by_provider: Mapping[str, tuple[Agreement, ...]]
    coverage: Mapping[tuple[str, str], tuple[Coverage, ...]]
    prohibitions: Mapping[str, tuple[tuple[Agreement, Prohibition], ...]]
    areas: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    digests: Mapping[str, str] = field(default_factory=dict)

    def area_of(self, agreement: Agreement, recipient: str) -> frozenset[str]:
        """Councils a recipient may receive under an agreement: its own and its neighbours'."""
        return self.areas.get((agreement.ref, recipient), frozenset())


def build_index(in_force: tuple[Agreement, ...], registry: Registry) -> PolicyIndex:
    """Index the agreements in force against the registry's geography."""
    councils = {p.id: frozenset(p.councils) for p in registry.partnerships}
    by_provider: dict[str, list[Agreement]] = {}
    coverage: dict[tuple[str, str], list[Coverage]] = {}
    prohibitions: dict[str, list[tuple[Agreement, Prohibition]]] = {}
    areas: dict[tuple[str, str], frozenset[str]] = {}
    digests = {a.ref: agreement_digest(a) for a in in_force}
    for agreement in in_force:
        for provider in sorted(agreement.provider_ids):
            by_provider.setdefault(provider, []).append(agreement)
            prohibitions.setdefault(provider, []).extend(
                (agreement, p) for p in agreement.prohibitions
            )
            for item in agreement.data_items:
                coverage.setdefault((provider, item.event_type), []).append(
                    Coverage(agreement, item, digests[agreement.ref])
                )
        for recipient in agreement.recipients:
            parties = (recipient.party, *recipient.neighbours)
            areas[(agreement.ref, recipient.party)] = frozenset(
                c for p in parties for c in councils.get(p, ())
            )
    return PolicyIndex(
        in_force=in_force,
        by_provider={k: tuple(v) for k, v in by_provider.items()},
        coverage={k: tuple(v) for k, v in coverage.items()},
        prohibitions={k: tuple(v) for k, v in prohibitions.items()},
        areas=areas,
        digests=digests,
    )
