"""docker-compose.yml is checked without a Docker engine: spec, images, wiring and topics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hub import metrics
from hub.config import Settings
from hub.registry import load_registry
from hub.topics import kafka_topics_script, plan_topics
from hub.transport import bootstrap_servers

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_SPEC = ROOT.parent / "shared" / "vectors" / "compose" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _worker_settings(compose: dict[str, Any]) -> Settings:
    env = compose["services"]["hub-worker"]["environment"]
    keys = ("HUB_BROKER_URL", "HUB_TOPIC_PREFIX", "HUB_PARTITIONS", "HUB_REPLICATION_FACTOR")
    return Settings.model_validate({k.removeprefix("HUB_").lower(): env[k] for k in keys})


@pytest.mark.skipif(not COMPOSE_SPEC.exists(), reason="needs ../shared/vectors/compose")
def test_compose_file_follows_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SPEC.read_text())
    jsonschema.Draft7Validator(schema).validate(compose)


def test_every_service_is_built_or_pulled(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_kafka_is_a_three_node_kraft_cluster_with_safe_replication(compose: dict[str, Any]) -> None:
    nodes = {n: s for n, s in compose["services"].items() if n.startswith("kafka-")}
    assert len(nodes) == 3
    for service in nodes.values():
        env = service["environment"]
        assert service["image"].startswith("apache/kafka:")
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1].split(":")[0] for v in voters) == sorted(nodes)


def test_worker_points_at_the_compose_brokers(compose: dict[str, Any]) -> None:
    settings = _worker_settings(compose)
    advertised = {
        s["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("://")[1]
        for n, s in compose["services"].items()
        if n.startswith("kafka-")
    }
    assert set(bootstrap_servers(settings.broker_url).split(",")) == advertised
    assert settings.replication_factor == 3


def test_topic_service_creates_exactly_the_topics_hub_would(compose: dict[str, Any]) -> None:
    service = compose["services"]["topics"]
    mount = service["volumes"][0].split(":")
    script_path = ROOT / mount[0]
    assert service["entrypoint"][-1] == mount[1]
    settings = _worker_settings(compose)
    specs = plan_topics(settings, load_registry(ROOT / "deploy" / "registry.yaml"))
    expected = kafka_topics_script(specs, bootstrap_servers(settings.broker_url))
    assert script_path.read_text() == expected, "regenerate with `hub topics script --out ...`"
    created = [
        line.split("--topic ")[1].split()[0] for line in expected.splitlines() if "--topic" in line
    ]
    assert created == [s.name for s in specs]
    assert set(service["environment"]["BOOTSTRAP"].split(",")) == set(
        bootstrap_servers(settings.broker_url).split(",")
    )


PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
METRIC_NAME = re.compile(r"\bvru_[a-z0-9_]+\b")


def _hub_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        n: s
        for n, s in compose["services"].items()
        if s.get("command", [])[:2] == ["hub", "worker"]
    }


def _scrape_targets(config: dict[str, Any]) -> set[tuple[str, int]]:
    targets: set[tuple[str, int]] = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            targets |= {(name, int(sd["port"])) for name in sd["names"]}
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                targets.add((host, int(port)))
    return targets


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_service_is_used(compose: dict[str, Any]) -> None:
    """Each service is depended on, scraped, or an operator's entry point (a published port)."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    depended = {d for s in compose["services"].values() for d in s.get("depends_on", {})}
    scraped = {host for host, _ in _scrape_targets(config)}
    published = {n for n, s in compose["services"].items() if s.get("ports")}
    unused = set(compose["services"]) - depended - scraped - published
    assert unused == set()
    mounted = {v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])}
    assert set(compose["volumes"]) <= mounted


def test_prometheus_scrapes_exactly_the_hub_workers_on_their_metrics_port(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["prometheus"]
    mount = next(v for v in service["volumes"] if v.startswith("./deploy/prometheus:"))
    assert (ROOT / mount.split(":")[0]).resolve() == PROMETHEUS_DIR
    assert "--config.file=/etc/prometheus/prometheus.yml" in service["command"]
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    expected = {
        (name, int(s["environment"]["HUB_METRICS_PORT"]))
        for name, s in _hub_services(compose).items()
    }
    assert expected
    assert _scrape_targets(config) == expected
    for service in _hub_services(compose).values():
        assert service["environment"]["HUB_METRICS_HOST"] == "0.0.0.0"  # reachable in the network
        assert str(service["environment"]["HUB_METRICS_PORT"]) in service["expose"]
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_DIR / rule_file).is_file()
    assert all(":" in p and p.startswith("127.0.0.1:") for p in service_ports(compose))


def service_ports(compose: dict[str, Any]) -> list[str]:
    """Every published port: only on loopback (the broker and hub are no security boundary)."""
    return [p for s in compose["services"].values() for p in s.get("ports", [])]


def test_every_alert_rule_uses_only_metrics_the_hub_exports() -> None:
    exported: set[str] = set()
    for family in metrics.REGISTRY.collect():
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
        }.get(family.type, ("",))
        exported |= {family.name + suffix for suffix in suffixes}
    rules = _rules()
    assert {r["alert"] for r in rules} >= {
        "PartnershipHeartbeatMissing",
        "QuarantineRateHigh",
        "AgreementReviewOverdue",
        "AuditTreeHeadStalled",
    }
    for rule in rules:
        used = set(METRIC_NAME.findall(rule["expr"]))
        assert used <= exported, (rule["alert"], used - exported)
        assert used or "up{" in rule["expr"], rule["alert"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian: prometheus)")
def test_promtool_accepts_the_config_and_the_rules_and_their_unit_tests() -> None:
    promtool = str(shutil.which("promtool"))
    for args in (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ):
        result = subprocess.run(  # fixed argument list, the promtool on PATH
            [promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
