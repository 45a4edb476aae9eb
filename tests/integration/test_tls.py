"""The hub over mutual TLS, with a keyring that holds no party's secret.

A TLS terminator (stunnel, :mod:`tests.integration.tls`) is the only way in to a private
broker, which advertises the TLS address. Every client authenticates with a certificate from
the test CA, as a principal of the ACL plan (``hub acls script``): the worker as ``hub``, the
agencies' SDK as ``agency-<id>``, ``hub alerts tail`` as ``partnership-<id>``, ``hub audit
verify`` as ``auditor``. Each agency and partnership makes its own keys in its own directory;
the hub's keyring is built from their public key files only, and each partnership opens its
alerts with the secret that never left its directory. Clients without a certificate the
broker trusts, or that do not trust the broker, are refused with the cause, at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

import pytest
from typer.testing import CliRunner

from hub.agency import FeedMessage, FeedProducer
from hub.alerts import AlertRecord, open_alert
from hub.cli import app as hub_app
from hub.config import Settings, settings_env
from hub.crypto import GOVERNANCE, HUB, KeyKind, Keyring, agency_owner, partnership_owner
from hub.crypto.custody import init_party_keys, party_secrets, read_public_key
from hub.errors import BrokerAuthError, CryptoError
from hub.feeds.synthetic import synth_valid_fields
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from hub.transport import ConsumerRecord, kafka_endpoint
from tests.integration.events import (
    OXFORDSHIRE_LSOA,
    READING_LSOA,
    STORE,
    record,
    sealed,
    token_for,
)
from tests.integration.flows import SCENARIO, alerts_only, prepare
from tests.integration.kafka import consume
from tests.integration.test_audit_ledger import wait_for_heads
from tests.integration.tls import TlsBroker, needs_stunnel, secret_texts, tls_broker

pytestmark = [pytest.mark.integration, needs_stunnel, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(ROOT / "deploy" / "registry.yaml")
PRINCIPALS = [
    "hub",
    "governance",
    "auditor",
    *(f"agency-{a.id}" for a in REGISTRY.agencies),
    *(f"partnership-{p.id}" for p in REGISTRY.partnerships),
]
#: A hang, not a slow refusal, is what these deadlines catch: a refusal takes about a second.
REFUSAL_DEADLINE_S = 60


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    """One broker behind one TLS terminator for the whole module."""
    with tls_broker(tmp_path_factory.mktemp("tls"), PRINCIPALS) as broker:
        yield broker


def split_custody(root: Path) -> Path:
    """Each party's own keyring under ``root/<owner>``; the hub's keyring from public files.

    Returns the hub's keyring directory: the hub's signing and internal keys, every agency's
    verify key, every partnership's HPKE public key, information governance's verify key, and
    the pseudonym keys the hub holds.
    """
    now = datetime.now(UTC)
    hub = Keyring(root / "hub")
    (root / "hub").mkdir(mode=0o700, parents=True)
    hub.generate(HUB, KeyKind.SIGNING, now)
    hub.generate(HUB, KeyKind.INTERNAL, now)
    parties = [(GOVERNANCE, KeyKind.SIGNING)]
    parties += [(agency_owner(a.id), KeyKind.SIGNING) for a in REGISTRY.agencies]
    parties += [(partnership_owner(p.id), KeyKind.HPKE) for p in REGISTRY.partnerships]
    for owner, kind in parties:
        _, (public,) = init_party_keys(root / owner.replace("/", "-"), owner, (kind,), now)
        hub.add(read_public_key(public, owner, kind), None)
    for p in REGISTRY.partnerships:
        hub.generate(partnership_owner(p.id), KeyKind.PSEUDONYM, now)
    return root / "hub"


def events_of(
    agencies: dict[str, Settings], subject: int, lsoa: str
) -> list[tuple[str, FeedMessage]]:
    """The flows' scenario for one subject, each event sealed by its agency's own key.

    Times are relative to now, fields included (``record`` dates its fields from a fixed day),
    so the flags' windows hold whatever the date.
    """
    now = datetime.now(UTC)
    out = []
    for n, (event_type, agency, fields) in enumerate(SCENARIO):
        seed, occurred = subject * 100 + n, now - timedelta(days=10 - n)
        rec = record(
            event_type, agency, lsoa, seed, subject_token=token_for(subject),
            occurred_at=occurred, recorded_at=occurred + timedelta(hours=1),
        )  # fmt: skip
        rec.update(synth_valid_fields(event_type, STORE.schema(event_type), Random(seed), occurred))
        rec.update(fields)
        ((value, headers),) = sealed(agencies[agency], agency, [(event_type, rec)])
        out.append((agency, FeedMessage(token_for(subject).encode(), value, tuple(headers))))
    return out


def run_cli(settings: Settings, *args: str) -> tuple[int, str]:
    """``hub ARGS`` with ``settings`` in the environment (as the party would run it)."""
    result = CliRunner().invoke(hub_app, list(args), env=settings_env(settings))
    crashed = "" if result.exception is None else f"\n{result.exception!r}"
    return result.exit_code, result.output + crashed


async def drive(
    hub: Settings, party: Callable[[str], Settings], auditor: Settings
) -> dict[str, list[ConsumerRecord[bytes, bytes]]]:
    """Topics and agreements, then each agency's events with its own certificate and key;
    waits for each partnership's two alerts and for a tree head over every decision."""
    agencies = {a.id: party(agency_owner(a.id)) for a in REGISTRY.agencies}
    await prepare(hub, publisher=party(GOVERNANCE))  # topics by the hub; agreements by governance
    for agency, message in [
        *events_of(agencies, 1, READING_LSOA),
        *events_of(agencies, 2, OXFORDSHIRE_LSOA),
    ]:
        async with FeedProducer(kafka_endpoint(agencies[agency])) as producer:
            await producer.send(hub.feed_topic(agency), [message])
    delivered = {}
    for partnership in ("reading", "oxfordshire"):
        reader = party(partnership_owner(partnership))
        delivered[partnership] = await alerts_of(reader, hub.alert_topic(partnership), 2)
    await wait_for_heads(auditor, timeout_s=60)
    return delivered


async def alerts_of(
    reader: Settings, topic: str, count: int, timeout_s: float = 90
) -> list[ConsumerRecord[bytes, bytes]]:
    """The alerts on ``topic`` (heartbeats left out) once there are ``count``, read as
    ``reader``; what there is at the deadline otherwise."""
    deadline = time.monotonic() + timeout_s
    alerts: list[ConsumerRecord[bytes, bytes]] = []
    while len(alerts) < count and time.monotonic() < deadline:
        alerts = alerts_only(await consume(reader, [topic], until=10_000, timeout_s=1.5))
    return alerts


def test_a_hub_holding_only_public_keys_runs_the_flow_over_mutual_tls(
    secure: TlsBroker, hub_settings: Settings, tmp_path: Path
) -> None:
    hub_keys = split_custody(tmp_path / "custody")
    hub_keyring = Keyring.open(hub_keys)
    assert party_secrets(hub_keyring) == []
    bundle = tmp_path / "hub-public-keys.json"
    bundle.write_text(json.dumps(hub_keyring.public_bundle()))
    base = hub_settings.model_copy(update={"keys_dir": hub_keys, "head_interval_s": 1.0})
    hub = secure.as_principal(base, "hub")

    def party(owner: str) -> Settings:
        principal = owner.replace("/", "-")
        return secure.as_principal(base, principal).model_copy(
            update={"keys_dir": tmp_path / "custody" / principal}
        )

    auditor = secure.as_principal(base, "auditor")
    proc = start_worker(hub, tmp_path / "worker.log")
    try:
        delivered = asyncio.run(drive(hub, party, auditor))
    finally:
        assert stop_process(proc) == 0
    assert {p: len(records) for p, records in delivered.items()} == {"reading": 2, "oxfordshire": 2}
    worker_log = (tmp_path / "worker.log").read_text()
    assert '"broker_reached"' in worker_log
    assert "SSL to 127.0.0.1" in worker_log
    assert "party_secret_keys_found" not in worker_log

    outputs = [worker_log]
    for partnership in ("reading", "oxfordshire"):
        reader = party(partnership_owner(partnership))
        code, out = run_cli(
            reader, "alerts", "tail", "--partnership", partnership, "--no-follow", "--json",
            "--wait", "1", "--key", str(reader.keys_dir), "--hub-keys", str(bundle),
        )  # fmt: skip
        assert code == 0, out
        opened = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        alerts = [item for item in opened if item["type"] == "alert"]
        assert [a["seq"] for a in alerts] == [1, 2]
        assert {a["body"]["rule"]["id"] for a in alerts} == {
            "child-exploitation",
            "weapon-and-exclusion",
        }
        outputs.append(out)
    # Reading's own secret cannot open Oxfordshire's alerts, whoever relays them.
    reading_key = Keyring.open(party(partnership_owner("reading")).keys_dir).hpke_key(
        partnership_owner("reading")
    )
    for r in delivered["oxfordshire"]:
        alert = AlertRecord(r.key or b"", r.value or b"", tuple(r.headers))
        with pytest.raises(CryptoError):
            open_alert(alert, "oxfordshire", reading_key, hub_keyring.verify_keys(HUB))

    code, out = audit_verify(auditor, bundle)
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] is True
    assert result["entries"] >= 4
    outputs.append(out)
    leaked = [
        s for s in secret_texts([tmp_path / "custody", secure.pki]) for o in outputs if s in o
    ]
    assert leaked == []


def audit_verify(settings: Settings, bundle: Path) -> tuple[int, str]:
    """``hub audit verify --json`` in its own process, credentials from the environment."""
    done = subprocess.run(  # fixed argument list: this interpreter, our module
        [sys.executable, "-m", "hub.cli", "audit", "verify", "--json", "--hub-keys", str(bundle)],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=REFUSAL_DEADLINE_S,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_clients_the_broker_does_not_trust_are_refused_with_the_cause(
    secure: TlsBroker, hub_settings: Settings
) -> None:
    reading = secure.as_principal(hub_settings, "partnership-reading")
    cases = {
        "no client certificate": (
            secure.with_tls(hub_settings),
            "requires a client certificate",
        ),
        "a certificate from another CA": (
            secure.as_principal(hub_settings, "stranger"),
            "issued by a CA it does not trust",
        ),
        "a broker certificate it cannot verify": (
            reading.model_copy(update={"kafka_ssl_cafile": secure.pki / "another-ca.crt"}),
            "does not verify against HUB_KAFKA_SSL_CAFILE",
        ),
        "no TLS at all": (
            hub_settings.model_copy(update={"broker_url": secure.url}),
            "it speaks TLS on this port",
        ),
    }
    for case, (settings, cause) in cases.items():
        # The keys are read first: a working set, so that only the broker can refuse.
        code, out = run_cli(settings, "alerts", "tail", "--partnership", "reading",
                            "--no-follow", "--key", str(hub_settings.keys_dir))  # fmt: skip
        assert code == 1, (case, out)
        assert "error: BrokerAuthError: the broker at 127.0.0.1:" in out, (case, out)
        assert cause in out, (case, out)
        assert "Traceback" not in out, case


async def test_the_agency_sdk_is_refused_without_a_trusted_certificate(
    secure: TlsBroker, hub_settings: Settings
) -> None:
    stranger = secure.as_principal(hub_settings, "stranger")
    with pytest.raises(BrokerAuthError, match="issued by a CA it does not trust") as caught:
        await asyncio.wait_for(_send_one(stranger), REFUSAL_DEADLINE_S)
    assert not caught.value.retriable


async def _send_one(settings: Settings) -> None:
    async with FeedProducer(kafka_endpoint(settings)) as producer:
        await producer.send(settings.feed_topic("police"), [])


def test_a_worker_without_a_certificate_exits_at_once_naming_the_cause(
    secure: TlsBroker, hub_settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    proc = start_worker(secure.with_tls(hub_settings), log)
    try:
        code = proc.wait(timeout=REFUSAL_DEADLINE_S)
    finally:
        stop_process(proc)
    assert code == 1
    text = log.read_text()
    assert "error: BrokerAuthError" in text
    assert "requires a client certificate" in text
    assert "Traceback" not in text
