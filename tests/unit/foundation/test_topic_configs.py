"""Every topic states its retention, cleanup policy, in-sync replicas and message size; the
retention comes from the agreements, never from Kafka's 7-day default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hub.config import Settings
from hub.dsa import Agreement
from hub.retention import DAY_MS, MAX_MESSAGE_BYTES, min_insync, retention_from
from hub.topics import kafka_topics_script, plan_topics
from tests import shipped

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = shipped.registry()
AGREEMENTS = list(shipped.agreements())


def planned(**overrides: object) -> dict[str, dict[str, str]]:
    settings = Settings.model_validate({"deploy_dir": ROOT / "deploy", **overrides})
    return {s.name: dict(s.config) for s in plan_topics(settings, REGISTRY)}


def test_audit_evidence_verified_from_its_first_record_is_kept_for_ever() -> None:
    configs = planned()
    for topic in ("vru.audit.decisions", "vru.audit.heads", "vru.agreements"):
        assert configs[topic]["cleanup.policy"] == "delete", topic
        assert configs[topic]["retention.ms"] == "-1", topic
        assert configs[topic]["retention.bytes"] == "-1", topic


def test_pseudonymised_evidence_is_kept_as_long_as_the_longest_alert_retention() -> None:
    longest = max(a.retention.alerts_days for a in AGREEMENTS)
    assert longest == 730  # the emergency-department agreement keeps area records two years
    configs = planned()
    for topic in ("vru.accepted", "vru.quarantine"):
        assert configs[topic]["retention.ms"] == str(longest * DAY_MS), topic


def test_each_alert_topic_follows_the_agreements_naming_its_partnership() -> None:
    def kept_by(days: int, *parties: str) -> Agreement:
        base = AGREEMENTS[0]
        by_party = {r.party: r for a in AGREEMENTS for r in a.recipients}
        return base.model_copy(
            update={
                "recipients": tuple(by_party[p] for p in parties),
                "retention": base.retention.model_copy(update={"alerts_days": days}),
            }
        )

    agreements = [kept_by(90, "reading"), kept_by(60, "reading", "slough")]
    kept = retention_from(agreements, ["reading", "slough", "newcomer"], 30)
    assert kept.alerts_of("reading") == 90  # the longer of the two naming it
    assert kept.alerts_of("slough") == 60
    assert kept.alerts_of("newcomer") == 90  # named by none yet: the longest of all
    assert kept.evidence_days == 90
    assert kept.transit_days == 30


def test_no_topic_is_left_to_the_broker_default() -> None:
    for topic, config in planned().items():
        assert config["cleanup.policy"] in ("delete", "compact"), topic
        if config["cleanup.policy"] == "delete":
            assert config["retention.ms"] != str(7 * DAY_MS), topic
            assert int(config["retention.ms"]) >= DAY_MS or config["retention.ms"] == "-1"
        assert config["max.message.bytes"] == str(MAX_MESSAGE_BYTES), topic
        assert "min.insync.replicas" in config, topic


def test_changelogs_are_compacted_and_feeds_keep_the_broker_s_receive_time() -> None:
    configs = planned(transit_retention_days=14)
    assert configs["vru-hub-subjects-changelog"]["cleanup.policy"] == "compact"
    assert configs["vru-hub-seen-events-changelog"]["cleanup.policy"] == "compact"
    for agency in REGISTRY.agencies:
        feed = configs[f"vru.feed.{agency.id}"]
        assert feed["message.timestamp.type"] == "LogAppendTime"
        assert feed["retention.ms"] == str(14 * DAY_MS)
    assert configs["vru.outbox"]["retention.ms"] == str(14 * DAY_MS)


@pytest.mark.parametrize(("replicas", "insync"), [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3)])
def test_a_write_needs_a_majority_of_replicas_from_three_up(replicas: int, insync: int) -> None:
    assert min_insync(replicas) == insync
    configs = planned(replication_factor=replicas)
    assert {c["min.insync.replicas"] for c in configs.values()} == {str(insync)}


def test_the_script_creates_every_topic_with_its_configs(tmp_path: Path) -> None:
    """Run the generated script against a stand-in kafka-topics.sh that records its arguments."""
    settings = Settings.model_validate({"deploy_dir": ROOT / "deploy", "replication_factor": 3})
    specs = plan_topics(settings, REGISTRY)
    script = tmp_path / "create-topics.sh"
    script.write_text(kafka_topics_script(specs, "k1:9093,k2:9093"))
    calls = tmp_path / "calls"
    stand_in = tmp_path / "kafka-topics.sh"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    stand_in.chmod(0o755)
    env = {**os.environ, "KAFKA_TOPICS": str(stand_in), "COMMAND_CONFIG": "/run/admin.properties"}
    subprocess.run(["/bin/sh", str(script)], env=env, check=True)  # the system shell
    lines = calls.read_text().splitlines()
    assert len(lines) == len(specs)
    for line, spec in zip(lines, specs, strict=True):
        args = line.split()
        assert args[:4] == [
            "--bootstrap-server", "k1:9093,k2:9093", "--command-config", "/run/admin.properties",
        ]  # fmt: skip
        assert args[args.index("--topic") + 1] == spec.name
        assert args[args.index("--replication-factor") + 1] == "3"
        configs = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--config")
        assert configs == dict(spec.config)
