"""The ACL plan is least privilege: each principal can do its job and nothing more."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections import defaultdict
from pathlib import Path

from hub.acls import (
    agency_principal,
    kafka_acls_script,
    partnership_group,
    partnership_principal,
    plan_acls,
)
from hub.config import Settings
from hub.registry import load_registry
from hub.topics import plan_topics

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = load_registry(ROOT / "deploy" / "registry.yaml")
SETTINGS = Settings.model_validate({"deploy_dir": ROOT / "deploy"})

Access = set[tuple[str, str, str]]  # (operation, resource type, name)


def access() -> dict[str, Access]:
    found: dict[str, Access] = defaultdict(set)
    for principal in plan_acls(SETTINGS, REGISTRY):
        for grant in principal.grants:
            found[principal.name] |= {(grant.operation, grant.resource, n) for n in grant.names}
    return found


def who(operation: str, topic: str) -> set[str]:
    return {p for p, rights in access().items() if (operation, "topic", topic) in rights}


def test_an_agency_may_only_write_its_own_feed() -> None:
    rights = access()
    for agency in REGISTRY.agencies:
        assert rights[agency_principal(agency.id)] == {
            ("Write", "topic", SETTINGS.feed_topic(agency.id))
        }


def test_a_partnership_may_only_read_its_own_alerts_with_its_own_group() -> None:
    rights = access()
    for p in REGISTRY.partnerships:
        assert rights[partnership_principal(p.id)] == {
            ("Read", "topic", SETTINGS.alert_topic(p.id)),
            ("Read", "group", partnership_group(SETTINGS, p.id)),
        }
        assert who("Read", SETTINGS.alert_topic(p.id)) == {"hub", partnership_principal(p.id)}


def test_the_hub_s_outputs_are_written_by_the_hub_alone() -> None:
    s = SETTINGS
    alerts = [s.alert_topic(p.id) for p in REGISTRY.partnerships]
    for topic in [s.decisions_topic, s.outbox_topic, s.quarantine_topic, *alerts]:
        assert who("Write", topic) == {"hub"}, topic
    assert who("Write", s.heads_topic) == {"hub", "hub-operator"}  # the rotation head
    assert who("Write", s.agreements_topic) == {"governance"}
    assert who("Write", s.accepted_topic) == {"hub", "governance"}  # switch markers
    assert {g for g in access()["hub"] if g[1] == "group"} == {("Read", "group", s.app_id)}


def test_auditors_read_the_evidence_and_write_nothing() -> None:
    s = SETTINGS
    consent = s.feed_topic("voluntary-sector")  # the one agency that records consent ends
    assert access()["auditor"] == {
        ("Read", "topic", t)
        for t in (s.decisions_topic, s.heads_topic, s.agreements_topic, s.accepted_topic, consent)
    }


def test_every_planned_topic_has_a_writer_and_a_reader() -> None:
    for spec in plan_topics(SETTINGS, REGISTRY):
        assert who("Write", spec.name), spec.name
        assert who("Read", spec.name), spec.name


def test_the_script_adds_exactly_the_plan(tmp_path: Path) -> None:
    """Run the generated script against a stand-in kafka-acls.sh that records its arguments."""
    principals = plan_acls(SETTINGS, REGISTRY)
    script = tmp_path / "create-acls.sh"
    script.write_text(kafka_acls_script(principals, "k1:9093"))
    calls = tmp_path / "calls"
    stand_in = tmp_path / "kafka-acls.sh"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    stand_in.chmod(0o755)
    env = {**os.environ, "KAFKA_ACLS": str(stand_in), "COMMAND_CONFIG": "/run/admin.properties"}
    subprocess.run(["/bin/sh", str(script)], env=env, check=True)
    added: dict[str, Access] = defaultdict(set)
    for line in calls.read_text().splitlines():
        args = line.split()
        assert args[:5] == [
            "--bootstrap-server", "k1:9093", "--command-config", "/run/admin.properties", "--add",
        ]  # fmt: skip
        principal = args[args.index("--allow-principal") + 1].removeprefix("User:")
        operation = args[args.index("--operation") + 1]
        assert args[args.index("--resource-pattern-type") + 1] == "literal"
        for flag, name in itertools.pairwise(args):
            if flag in ("--topic", "--group"):
                added[principal].add((operation, flag.removeprefix("--"), name))
    assert added == access()
