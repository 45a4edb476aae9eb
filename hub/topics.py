"""The topic scheme: every topic the hub uses, derived from settings and the registry.

See ``docs/topics.md``. Agencies and partnerships come from ``deploy/registry.yaml``; adding
one adds its topic. Alert topics have one partition so that a partnership's stream is totally
ordered and its sequence numbers are gap-free. Every topic states its retention, cleanup
policy, in-sync replicas and message size (:mod:`hub.retention`), retention derived from the
agreements' clauses.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from hub.config import Settings
from hub.dsa import load_directory
from hub.errors import AgreementError
from hub.registry import Registry
from hub.retention import FOREVER, Retention, compacted, kept_for, retention_from

#: The worker's faust tables; each has a changelog topic co-partitioned with its source.
WORKER_TABLES = ("seen-events", "subjects", "sna-counts")


class TopicSpec(BaseModel):
    """One topic with its partitions, replication and configuration."""

    model_config = ConfigDict(frozen=True)

    name: str
    partitions: int = Field(ge=1)
    replication_factor: int = Field(ge=1)
    purpose: str
    config: Mapping[str, str] = Field(default_factory=dict)


#: faust's leader-election topic carries nothing worth keeping.
ASSIGNOR_DAYS = 1


def agreement_retention(settings: Settings, registry: Registry) -> Retention:
    """The retention the agreements under ``HUB_DEPLOY_DIR/agreements`` require.

    Files that do not parse are left out (``hub dsa check`` reports them); with no agreement
    at all, alerts and evidence are kept ``FALLBACK_ALERT_DAYS``.
    """
    try:
        loaded = load_directory(settings.deploy_dir / "agreements").agreements
    except AgreementError:
        loaded = ()
    return retention_from(
        (a for _, a in loaded),
        (p.id for p in registry.partnerships),
        settings.transit_retention_days,
    )


def plan_topics(
    settings: Settings, registry: Registry, retention: Retention | None = None
) -> list[TopicSpec]:
    """Every topic the hub reads or writes, with its configs, sorted by name.

    ``retention`` defaults to what the deployment's agreements require.
    """
    kept = retention or agreement_retention(settings, registry)
    rf = settings.replication_factor
    wide = settings.partitions

    def spec(name: str, partitions: int, purpose: str, config: dict[str, str]) -> TopicSpec:
        return TopicSpec(
            name=name, partitions=partitions, replication_factor=rf, purpose=purpose, config=config
        )

    # The time the broker appended a feed record is the hub's receive time (docs/keys.md).
    feed = kept_for(kept.transit_days, rf, **{"message.timestamp.type": "LogAppendTime"})
    specs = [
        spec(settings.feed_topic(a.id), wide, f"events published by {a.name}", feed)
        for a in registry.agencies
    ]
    specs += [
        spec(
            settings.alert_topic(p.id),
            1,
            f"alerts for the {p.name} partnership (one partition: gap-free order)",
            kept_for(kept.alerts_of(p.id), rf),
        )
        for p in registry.partnerships
    ]
    evidence, forever = kept_for(kept.evidence_days, rf), kept_for(FOREVER, rf)
    specs += [
        spec(
            settings.accepted_topic,
            wide,
            "accepted events keyed by subject (linkage token) or area, for correlation",
            evidence,
        ),
        spec(
            settings.agreements_topic,
            1,
            "agreement versions as published (`hub dsa publish`), in one total order",
            forever,
        ),
        spec(
            settings.outbox_topic,
            wide,
            "encrypted alerts awaiting their sequence number, keyed by partnership",
            kept_for(kept.transit_days, rf),
        ),
        spec(
            settings.decisions_topic,
            1,
            "every disclosure decision, permit and deny (the audit ledger's input)",
            forever,
        ),
        spec(
            settings.heads_topic,
            1,
            "signed tree heads over the decisions ledger, in one chain (ledger agent)",
            forever,
        ),
        spec(
            settings.quarantine_topic, wide, "every rejected input with its reason code", evidence
        ),
    ]
    specs += [
        spec(
            settings.changelog_topic(table),
            wide,
            f"changelog of the worker's {table} table (co-partitioned with its source)",
            compacted(rf),
        )
        for table in WORKER_TABLES
    ]
    specs.append(
        spec(
            settings.assignor_topic,
            1,
            "faust's partition-assignor leader election",
            kept_for(ASSIGNOR_DAYS, rf),
        )
    )
    return sorted(specs, key=lambda s: s.name)


#: Where the generated scripts look for the admin client's properties (TLS, SASL).
COMMAND_CONFIG = "/etc/kafka/admin/client.properties"


def kafka_topics_script(specs: list[TopicSpec], bootstrap: str) -> str:
    """A shell script that creates ``specs``, configs included, with ``kafka-topics.sh``.

    It connects with the admin client properties in ``$COMMAND_CONFIG`` (TLS, SASL). A topic
    that exists already keeps its configs: ``kafka-configs.sh --alter`` changes them (see
    docs/deploy.md).
    """
    lines = [
        "#!/bin/sh",
        "# Generated by `hub topics script`: do not edit; regenerate when deploy/ changes.",
        "set -eu",
        f'BOOTSTRAP="${{BOOTSTRAP:-{bootstrap}}}"',
        'TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"',
        f'COMMAND_CONFIG="${{COMMAND_CONFIG:-{COMMAND_CONFIG}}}"',
    ]
    for spec in specs:
        configs = "".join(f" --config {k}={v}" for k, v in sorted(spec.config.items()))
        lines.append(
            f'"$TOPICS" --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG"'
            f" --create --if-not-exists --topic {spec.name} --partitions {spec.partitions}"
            f" --replication-factor {spec.replication_factor}{configs}"
        )
    return "\n".join(lines) + "\n"
