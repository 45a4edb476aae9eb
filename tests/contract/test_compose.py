"""docker-compose.yml is checked without a Docker engine: spec, images, wiring and topics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

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
