"""How long each topic keeps its records, and its other broker configs (docs/topics.md).

Kafka's default ``retention.ms`` is 7 days: on it the audit ledger, the tree heads, the
agreements and the accepted stream would be deleted after a week, and verification, replay and
worker start-up would break. So every topic in the plan states its configs:

* the **audit evidence that is verified from its first record** (decisions, heads, agreements)
  is kept for ever: a Merkle tree and a chain of heads cannot be checked from the middle, and
  these records hold ids, versions and digests only (docs/audit.md);
* the **evidence that holds pseudonymised events** (accepted, quarantine) is kept as long as
  the longest alert retention any agreement states (``retention.alerts_days``), so an auditor
  can re-derive any decision whose alert a recipient may still hold;
* each **alert topic** keeps its partnership's alerts as long as the longest retention among
  the agreements naming it as recipient (so ``hub alerts replay`` can re-send them), and no
  longer;
* **transit topics** (feeds, outbox) keep records ``HUB_TRANSIT_RETENTION_DAYS`` (30 days by
  default): longer than any outage the hub should ride out; the accepted stream keeps what
  ingest accepted;
* faust's **changelogs** are compacted (the newest value of each key is kept for ever).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from hub.dsa import Agreement

#: When no agreement states an alert retention (no agreement at all): one year.
FALLBACK_ALERT_DAYS = 365
#: Every topic's largest record batch: 1 MiB, above the SDK's 1,000,000-byte batches and the
#: largest quarantine record (an input over 256 KiB is kept without its bytes).
MAX_MESSAGE_BYTES = 1_048_576
FOREVER = -1
#: From three replicas up a topic can lose one and still write to a majority.
MAJORITY_FROM = 3
DAY_MS = int(timedelta(days=1).total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class Retention:
    """Retention periods in days (``FOREVER`` for ever) derived from the agreements."""

    evidence_days: int
    alert_days: Mapping[str, int] = field(default_factory=dict)
    transit_days: int = 30

    def alerts_of(self, partnership_id: str) -> int:
        """Days a partnership's alert topic keeps its records."""
        return self.alert_days.get(partnership_id, self.evidence_days)


def retention_from(
    agreements: Iterable[Agreement], partnership_ids: Iterable[str], transit_days: int
) -> Retention:
    """The retention the agreements require: each partnership's longest alert retention, and
    the longest of all for the pseudonymised evidence. Every version counts: alerts sent under
    a superseded version are kept as long as that version said."""
    every = list(agreements)
    longest = max((a.retention.alerts_days for a in every), default=FALLBACK_ALERT_DAYS)
    per_partnership = {
        pid: max(
            (a.retention.alerts_days for a in every if pid in a.recipient_ids), default=longest
        )
        for pid in partnership_ids
    }
    return Retention(longest, per_partnership, transit_days)


def kept_for(days: int, replication_factor: int, **extra: str) -> dict[str, str]:
    """Configs of a topic whose records are deleted after ``days`` (``FOREVER``: never)."""
    retention = FOREVER if days == FOREVER else days * DAY_MS
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(retention),
        "retention.bytes": "-1",
        **common(replication_factor),
        **extra,
    }


def compacted(replication_factor: int) -> dict[str, str]:
    """Configs of a changelog: the newest value of every key, kept for ever."""
    return {"cleanup.policy": "compact", **common(replication_factor)}


def common(replication_factor: int) -> dict[str, str]:
    """What every topic states: the in-sync replicas a write needs, and the batch size limit."""
    return {
        "min.insync.replicas": str(min_insync(replication_factor)),
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
    }


def min_insync(replication_factor: int) -> int:
    """A majority of the replicas from three up (3 -> 2, 5 -> 3); 1 below three, so that a
    one- or two-broker setup can still write with a broker down."""
    return 1 if replication_factor < MAJORITY_FROM else replication_factor // 2 + 1


def describe(config: Mapping[str, str]) -> str:
    """``compact`` or ``delete after 365d`` / ``kept for ever``, for ``hub topics list``."""
    if config.get("cleanup.policy") == "compact":
        return "compacted"
    retention = int(config.get("retention.ms", "0"))
    if retention == FOREVER:
        return "kept for ever"
    return f"deleted after {retention // DAY_MS}d"
