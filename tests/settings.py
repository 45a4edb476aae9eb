"""Settings for one test: its own topic prefix, consumer group and dev keyring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from hub.config import Settings
from hub.crypto import create_dev_keyring
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def unique_settings(broker_url: str, root: Path) -> Settings:
    """Unique topics and group on ``broker_url``, a dev keyring and state under ``root``."""
    unique = uuid.uuid4().hex[:10]
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    create_dev_keyring(root / "keys", registry, datetime.now(UTC))
    return Settings(
        broker_url=broker_url,
        topic_prefix=f"t{unique}",
        app_id=f"hub-test-{unique}",
        partitions=2,
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        data_dir=SHARED / "data",
        keys_dir=root / "keys",
        state_dir=root / "state",
        log_format="json",
    )
