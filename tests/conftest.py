"""Shared fixtures: the embedded broker (one per session) and per-test unique settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.crypto import create_dev_keyring
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A real Tansu broker on a free loopback port, stopped by the PID we started."""
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as embedded:
        yield embedded


@pytest.fixture
def hub_settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings with a unique topic prefix and consumer group, pointing at the test broker."""
    unique = uuid.uuid4().hex[:10]
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    create_dev_keyring(tmp_path / "keys", registry, datetime.now(UTC))
    return Settings(
        broker_url=broker.url,
        topic_prefix=f"t{unique}",
        app_id=f"hub-test-{unique}",
        partitions=2,
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        data_dir=SHARED / "data",
        keys_dir=tmp_path / "keys",
        state_dir=tmp_path / "state",
        log_format="json",
    )
