from __future__ import annotations

from pathlib import Path

from hub.config import Settings
from hub.registry import load_registry
from hub.topics import kafka_topics_script, plan_topics
from hub.transport import bootstrap_servers

ROOT = Path(__file__).resolve().parents[3]


def test_plan_has_one_feed_per_agency_one_alert_topic_per_partnership() -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    specs = {s.name: s for s in plan_topics(Settings(topic_prefix="x", partitions=6), registry)}
    assert {f"x.feed.{a.id}" for a in registry.agencies} <= set(specs)
    assert {f"x.alerts.{p.id}" for p in registry.partnerships} <= set(specs)
    assert "x.quarantine" in specs
    assert all(s.partitions == 1 for n, s in specs.items() if ".alerts." in n)
    assert specs["x.feed.police"].partitions == 6


def test_script_creates_every_planned_topic_once() -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    specs = plan_topics(Settings(), registry)
    script = kafka_topics_script(specs, "k:1")
    assert script.count("--create") == len(specs)
    assert 'BOOTSTRAP="${BOOTSTRAP:-k:1}"' in script


def test_bootstrap_servers_from_faust_url() -> None:
    assert bootstrap_servers("kafka://a:1;kafka://b:2") == "a:1,b:2"
    assert bootstrap_servers("kafka://127.0.0.1:9092") == "127.0.0.1:9092"
