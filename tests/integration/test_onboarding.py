"""Onboarding a partnership on the real broker: the runbook's procedure end to end.

A hub runs without Oxfordshire; Oxfordshire's events are quarantined as ``unknown_area``.
Oxfordshire makes its own key pair (``hub keys partnership init``) and hands over the public
key; ``hub registry add-partnership --public-key`` writes the entry and the public key, the
topics are created, the workers roll, the quarantined events are re-driven, and Oxfordshire
reads its alerts with the secret that never left its own directory. Nothing was lost.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app as hub_app
from hub.cli.quarantine import read_quarantine, redrive
from hub.cli.registry import app as registry_app
from hub.config import Settings, settings_env
from hub.crypto import HUB, KeyKind, Keyring, create_dev_keyring, partnership_owner
from hub.partnership import AlertReader, PartnershipKeys, ReadOptions, load_hpke_keys
from hub.process import stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.events import OXFORDSHIRE_LSOA
from tests.integration.flows import alerts_only, prepare, scenario, worker
from tests.integration.kafka import consume, produce, read_until
from tests.settings import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]


def _without_oxfordshire(hub_settings: Settings, tmp_path: Path) -> Settings:
    deploy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", deploy)
    path = deploy / "registry.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if "id: oxfordshire" not in x), encoding="utf-8")
    keys = tmp_path / "onboarding-keys"
    create_dev_keyring(keys, load_registry(path), datetime.now(UTC))
    return hub_settings.model_copy(update={"deploy_dir": deploy, "keys_dir": keys})


async def test_onboarded_partnership_receives_its_alerts_and_nothing_is_lost(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = _without_oxfordshire(hub_settings, tmp_path)
    await prepare(s)
    first = worker(s, tmp_path / "first.log")
    second = None
    try:
        for agency, message in scenario(s, subject=11, lsoa=OXFORDSHIRE_LSOA):
            await produce(s, s.feed_topic(agency), [message])
        before = await consume(s, [s.quarantine_topic], until=4, timeout_s=60)
        at_oxfordshire = tmp_path / "at-oxfordshire"  # the partnership's own machine
        made = CliRunner().invoke(
            hub_app, ["keys", "partnership", "init", str(at_oxfordshire), "--id", "oxfordshire"]
        )
        assert made.exit_code == 0, made.output
        (public,) = (at_oxfordshire / "public").glob("*.public.json")
        result = CliRunner().invoke(
            registry_app,
            ["add-partnership", "--id", "oxfordshire", "--name", "Oxfordshire",
             "--council", "E10000025", "--public-key", str(public)],
            env=settings_env(s),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        registry = load_registry(s.deploy_dir / "registry.yaml")
        await create_topics(kafka_endpoint(s), plan_topics(s, registry))
        second = worker(s, tmp_path / "second.log")  # reads the new registry and keys
        assert stop_process(first) == 0
        items, unreadable = await read_quarantine(s, quiet_s=1.0)
        assert unreadable == 0
        assert await redrive(s, items) == (4, 0)  # sent, and none unavailable
        alerts = alerts_only(
            await read_until(
                s,
                [s.alert_topic("oxfordshire")],
                lambda r: len(alerts_only(r)) >= 2,  # heartbeats are records too
                timeout_s=90,
            )
        )
    finally:
        stop_process(first)
        if second is not None:
            assert stop_process(second) == 0
    assert len(before) == 4
    assert {q.record.reason for q in items} == {"unknown_area"}
    assert len(alerts) == 2
    owner = partnership_owner("oxfordshire")
    keyring = Keyring.open(s.keys_dir)
    assert not [i for i in keyring.secret_infos() if i.owner == owner and i.kind is KeyKind.HPKE]
    keys = PartnershipKeys(
        "oxfordshire",
        load_hpke_keys([at_oxfordshire], "oxfordshire"),
        tuple(keyring.verify_keys(HUB)),
    )
    reader = AlertReader(s, keys, options=ReadOptions(0, follow=False, idle_s=2.0))
    async for _ in reader:
        pass
    assert (reader.stats.delivered, reader.stats.rejected) == (2, 0)
    assert keyring.hpke_public_key(owner).key_id in result.output
