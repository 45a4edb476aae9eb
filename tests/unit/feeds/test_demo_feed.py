"""The demo's feed: every event is one its agency would have recorded by the time it runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import create_dev_keyring
from hub.crypto.batchrecord import parse_batch_record
from hub.feeds.demo import build_demo_feed
from hub.models import validate_event
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]


def test_no_demo_event_is_recorded_after_the_moment_the_demo_runs(tmp_path: Path) -> None:
    settings = Settings(
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        keys_dir=tmp_path / "keys",
        data_dir=ROOT.parent / "shared" / "data",
    )
    now = datetime.now(UTC)
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    keyring = create_dev_keyring(settings.keys_dir, registry, now)
    said: list[str] = []
    feed = build_demo_feed(settings, tmp_path, said.append, keyring, now=now)
    store = SchemaStore.load(settings.schemas_dir)
    events = [validate_event(store.decode(m.value), clock=None) for _, m in feed.messages]
    assert len(feed.agencies) == len(registry.agencies)
    assert max(e.envelope.recorded_at for e in events) <= now
    assert min(e.envelope.recorded_at for e in events) < now
    # The batch records the demo sends carry the same events, each record one partition's.
    carried = [e for _, r in feed.records for e in parse_batch_record(r.value).events]
    assert sorted(carried) == sorted(m.value for _, m in feed.messages)
    assert all(r.partition is not None and r.events > 1 for _, r in feed.records[:1])
