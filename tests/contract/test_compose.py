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
from typer.testing import CliRunner

from hub import metrics
from hub.acls import kafka_acls_script, plan_acls
from hub.cli import app as hub_app
from hub.config import Settings, settings_env
from hub.registry import load_registry
from hub.topics import COMMAND_CONFIG, kafka_topics_script, plan_topics
from hub.transport import bootstrap_servers, kafka_endpoint

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_SPEC = ROOT.parent / "shared" / "vectors" / "compose" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _worker_settings(compose: dict[str, Any]) -> Settings:
    env = compose["services"]["hub-worker"]["environment"]
    keys = [k for k in env if k.startswith(("HUB_KAFKA_", "HUB_BROKER_", "HUB_TOPIC_"))]
    keys += ["HUB_PARTITIONS", "HUB_REPLICATION_FACTOR"]
    return Settings.model_validate({k.removeprefix("HUB_").lower(): env[k] for k in keys})


def _kafka_nodes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if n.startswith("kafka-")}


def _interpolated(value: str) -> str:
    """What compose makes of a value with no variables: ``$$`` is a literal ``$``."""
    return value.replace("$$", "$")


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


def _script_of(service: dict[str, Any]) -> tuple[Path, str]:
    """The script a one-shot service runs (host path) and where it is mounted."""
    host, mounted, _ = service["volumes"][0].split(":")
    assert service["entrypoint"][-1] == mounted
    return ROOT / host, mounted


def test_topic_service_creates_exactly_the_topics_hub_would(compose: dict[str, Any]) -> None:
    service = compose["services"]["topics"]
    script_path, _ = _script_of(service)
    settings = _worker_settings(compose).model_copy(update={"deploy_dir": ROOT / "deploy"})
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


def test_acl_service_grants_exactly_the_plan_of_hub_acls_script(compose: dict[str, Any]) -> None:
    service = compose["services"]["acls"]
    script_path, _ = _script_of(service)
    settings = _worker_settings(compose)
    principals = plan_acls(settings, load_registry(ROOT / "deploy" / "registry.yaml"))
    expected = kafka_acls_script(principals, bootstrap_servers(settings.broker_url))
    assert script_path.read_text() == expected, "regenerate with `hub acls script --out ...`"
    assert set(service["environment"]["BOOTSTRAP"].split(",")) == set(
        bootstrap_servers(settings.broker_url).split(",")
    )
    assert set(service["depends_on"]) == set(_kafka_nodes(compose))
    assert all(d["condition"] == "service_healthy" for d in service["depends_on"].values())
    needed = compose["services"]["hub-worker"]["depends_on"]
    assert needed["acls"] == {"condition": "service_completed_successfully"}
    assert needed["topics"] == {"condition": "service_completed_successfully"}


def test_kafka_listens_only_over_mutual_tls_and_denies_what_is_not_granted(
    compose: dict[str, Any],
) -> None:
    nodes = _kafka_nodes(compose)
    for name, service in nodes.items():
        env = service["environment"]
        protocols = dict(
            p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        assert set(protocols.values()) == {"SSL"}, name
        listeners = {x.split("://")[0] for x in env["KAFKA_LISTENERS"].split(",")}
        assert listeners == set(protocols)
        # The image's start script wants JKS files for a listener named SSL: ours are PEM.
        assert "SSL://" not in env["KAFKA_ADVERTISED_LISTENERS"]
        assert env["KAFKA_SSL_CLIENT_AUTH"] == "required"
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        supers = set(env["KAFKA_SUPER_USERS"].split(";"))
        assert supers == {f"User:{n}" for n in nodes} | {"User:admin"}
        mounted = {f"/run/secrets/{x}" for x in service["secrets"]}
        assert env["KAFKA_SSL_KEYSTORE_LOCATION"] in mounted
        assert env["KAFKA_SSL_TRUSTSTORE_LOCATION"] in mounted
        assert env["KAFKA_SSL_KEYSTORE_TYPE"] == env["KAFKA_SSL_TRUSTSTORE_TYPE"] == "PEM"


def mapped_principal(rules: str, subject: str) -> str:
    """Apply the first matching ``RULE:pattern/replacement/`` of a Kafka mapping to a DN."""
    for rule in rules.split("/,"):
        if rule.startswith("RULE:"):
            pattern, replacement = rule.removeprefix("RULE:").split("/")[:2]
            found = re.fullmatch(pattern, subject)
            if found:
                return found.expand(re.sub(r"\$(\d)", r"\\\1", replacement))
    return subject


def test_a_certificate_s_common_name_is_the_acl_principal(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka-1"]["environment"]
    rules = _interpolated(env["KAFKA_SSL_PRINCIPAL_MAPPING_RULES"])
    assert rules.endswith(",DEFAULT")
    assert mapped_principal(rules, "CN=hub") == "hub"
    assert mapped_principal(rules, "CN=agency-police,OU=VRU,O=Thames Valley") == "agency-police"
    settings = _worker_settings(compose)
    named = {p.name for p in plan_acls(settings, load_registry(ROOT / "deploy" / "registry.yaml"))}
    assert {"hub", "governance", "auditor"} <= named


def test_the_worker_reaches_kafka_over_mutual_tls_as_the_hub_principal(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["hub-worker"]
    settings = _worker_settings(compose)
    endpoint = kafka_endpoint(settings)
    assert endpoint.protocol == "SSL"
    assert endpoint.tls is not None
    assert endpoint.tls.mutual
    mounted = {f"/run/secrets/{x}" for x in service["secrets"]}
    files = (endpoint.tls.cafile, endpoint.tls.certfile, endpoint.tls.keyfile)
    assert {str(f) for f in files} <= mounted
    cert_secret = str(endpoint.tls.certfile).removeprefix("/run/secrets/")
    assert Path(compose["secrets"][cert_secret]["file"]).stem == "hub"  # CN=hub: User:hub
    plan = plan_acls(settings, load_registry(ROOT / "deploy" / "registry.yaml"))
    assert any(p.name == "hub" and p.grants for p in plan)


def test_one_shot_services_connect_as_the_admin_super_user(compose: dict[str, Any]) -> None:
    for name in ("topics", "acls"):
        service = compose["services"][name]
        mounts = dict(v.split(":")[:2] for v in service["volumes"])
        host = next(h for h, inside in mounts.items() if inside == COMMAND_CONFIG)
        properties = dict(
            line.split("=", 1)
            for line in (ROOT / host).read_text().splitlines()
            if line and not line.startswith("#")
        )
        assert properties["security.protocol"] == "SSL"
        secrets = {f"/run/secrets/{x}" for x in service["secrets"]}
        assert {
            properties["ssl.keystore.location"],
            properties["ssl.truststore.location"],
        } <= secrets
        keystore = properties["ssl.keystore.location"].removeprefix("/run/secrets/")
        assert Path(compose["secrets"][keystore]["file"]).stem == "admin"


def test_every_secret_is_a_file_hub_tls_init_writes(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    settings = _worker_settings(compose).model_copy(update={"deploy_dir": ROOT / "deploy"})
    result = CliRunner().invoke(
        hub_app, ["tls", "init", str(tmp_path / "tls")], env=settings_env(settings)
    )
    assert result.exit_code == 0, result.output
    for name, secret in compose["secrets"].items():
        assert secret["file"].startswith("${HUB_TLS:-./.hub/tls}/"), name
        assert (tmp_path / "tls" / Path(secret["file"]).name).is_file(), name
    used = {x for s in compose["services"].values() for x in s.get("secrets", [])}
    assert used == set(compose["secrets"])


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
