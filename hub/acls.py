"""The least-privilege ACL plan: every principal, what it may do on which topic or group.

A principal is the name a client's certificate maps to (``CN=hub`` -> ``User:hub`` through the
brokers' ``ssl.principal.mapping.rules``) or its SASL user. See ``docs/deploy.md``.

============================ =====================================================================
principal                    may
============================ =====================================================================
``hub``                      the worker: read its inputs and internal topics, write its outputs,
                             and use its consumer group (the app id)
``hub-operator``             ``hub quarantine list|redrive``, ``hub keys rotate --hub``, the
                             dashboard and report: read quarantine and the audit topics, write
                             feeds (redrive) and heads (the rotation head)
``governance``               ``hub dsa publish``, ``hub registry suspend|resume``: read and write
                             the agreements topic, write switch markers into the accepted topic
``auditor``                  ``hub audit verify|proof|export|replay|at``: read decisions, heads,
                             agreements, the accepted stream that replay re-decides from, and
                             the consent-taking agencies' feeds it checks watermarks against
``agency-<id>``              write its own feed topic, nothing else
``partnership-<id>``         read its own alert topic, with its own consumer group
                             ``<prefix>.partnership.<id>``
============================ =====================================================================

Creating topics and applying these ACLs is done by a super user (``admin`` in
``docker-compose.yml``); nobody else gets a cluster permission. Brokers refuse anything not
granted (``allow.everyone.if.no.acl.found=false``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hub.config import Settings
from hub.consent.watch import consent_feeds
from hub.registry import Registry
from hub.topics import COMMAND_CONFIG, WORKER_TABLES

Resource = Literal["topic", "group"]
Operation = Literal["Read", "Write"]


@dataclass(frozen=True, slots=True)
class Grant:
    """``operation`` allowed to ``principal`` on every resource of ``names``."""

    principal: str
    operation: Operation
    resource: Resource
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Principal:
    """One identity, what it is for, and its grants."""

    name: str
    role: str
    grants: tuple[Grant, ...]


def agency_principal(agency_id: str) -> str:
    """The principal of an agency's SDK (its certificate's CN)."""
    return f"agency-{agency_id}"


def partnership_principal(partnership_id: str) -> str:
    """The principal of a partnership's reader (its certificate's CN)."""
    return f"partnership-{partnership_id}"


def partnership_group(settings: Settings, partnership_id: str) -> str:
    """The one consumer group a partnership may use on its alert topic."""
    return f"{settings.topic_prefix}.partnership.{partnership_id}"


def plan_acls(settings: Settings, registry: Registry) -> list[Principal]:
    """Every principal of the deployment with its grants, hub roles first."""
    s = settings
    feeds = tuple(s.feed_topic(a.id) for a in registry.agencies)
    consent = consent_feeds(registry, {a.id: s.feed_topic(a.id) for a in registry.agencies})
    alerts = tuple(s.alert_topic(p.id) for p in registry.partnerships)
    changelogs = tuple(s.changelog_topic(t) for t in WORKER_TABLES)
    audit = (s.decisions_topic, s.heads_topic, s.agreements_topic)
    internal = (s.accepted_topic, s.outbox_topic, s.decisions_topic, s.heads_topic)
    principals = [
        _principal(
            "hub",
            "the worker (faust agents)",
            read=(*feeds, *internal, s.agreements_topic, *alerts, *changelogs, s.assignor_topic),
            write=(*internal, *alerts, s.quarantine_topic, *changelogs, s.assignor_topic),
            groups=(s.app_id,),
        ),
        _principal(
            "hub-operator",
            "hub quarantine list|redrive, hub keys rotate --hub, hub dashboard, hub audit report",
            read=(s.quarantine_topic, *feeds, *audit),
            write=(*feeds, s.heads_topic),
        ),
        _principal(
            "governance",
            "hub dsa publish, hub registry suspend|resume (agreements and switch markers)",
            read=(s.agreements_topic,),
            write=(s.agreements_topic, s.accepted_topic),
        ),
        _principal(
            "auditor",
            "hub audit verify|proof|export|replay|at",
            read=(*audit, s.accepted_topic, *consent),
        ),
    ]
    principals += [
        _principal(
            agency_principal(a.id), f"{a.name}: its own feed only", write=(s.feed_topic(a.id),)
        )
        for a in registry.agencies
    ]
    principals += [
        _principal(
            partnership_principal(p.id),
            f"the {p.name} partnership: its own alerts only",
            read=(s.alert_topic(p.id),),
            groups=(partnership_group(s, p.id),),
        )
        for p in registry.partnerships
    ]
    return principals


def _principal(
    name: str,
    role: str,
    *,
    read: Iterable[str] = (),
    write: Iterable[str] = (),
    groups: Iterable[str] = (),
) -> Principal:
    grants = [
        Grant(name, "Read", "topic", tuple(sorted(set(read)))),
        Grant(name, "Write", "topic", tuple(sorted(set(write)))),
        Grant(name, "Read", "group", tuple(sorted(set(groups)))),
    ]
    return Principal(name, role, tuple(g for g in grants if g.names))


def kafka_acls_script(principals: list[Principal], bootstrap: str) -> str:
    """A shell script that adds every grant with Apache Kafka's ``kafka-acls.sh``.

    Adding an ACL that exists is a no-op, so the script can run again after a change; it
    never removes one (``docs/deploy.md`` says how to revoke).
    """
    lines = [
        "#!/bin/sh",
        "# Generated by `hub acls script`: do not edit; regenerate when deploy/ changes.",
        "# Run by a super user; brokers deny whatever is not granted here.",
        "set -eu",
        f'BOOTSTRAP="${{BOOTSTRAP:-{bootstrap}}}"',
        'ACLS="${KAFKA_ACLS:-/opt/kafka/bin/kafka-acls.sh}"',
        f'COMMAND_CONFIG="${{COMMAND_CONFIG:-{COMMAND_CONFIG}}}"',
    ]
    for principal in principals:
        lines.append(f"# {principal.name}: {principal.role}")
        for grant in principal.grants:
            resources = " \\\n    ".join(f"--{grant.resource} {name}" for name in grant.names)
            lines.append(
                '"$ACLS" --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG"'
                f" --add --allow-principal User:{grant.principal} --operation {grant.operation}"
                f" --resource-pattern-type literal \\\n    {resources}"
            )
    return "\n".join(lines) + "\n"
