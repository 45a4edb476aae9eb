"""Key rotation without downtime, end to end on the real broker with worker subprocesses.

- agency signing key: the running worker picks the new key up from the keyring (no restart);
  a seal under the old key is accepted when the hub received it inside the overlap window
  (even when processed after it) and quarantined as ``key_expired`` when received after;
- partnership encryption key: a second worker starts with the new key, the first stops (a
  rolling restart); alerts switch to the new key and the partnership SDK, given its key
  directory, reads both;
- hub signing key: ``rotate_hub_key`` publishes the rotation head, the workers roll, and the
  ledger verifies from the old key alone across the change; without the rotation head the
  new key's heads are refused.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from hub.alerts.headers import CE_ID
from hub.audit import Ledger, decode_head, verify_topics
from hub.cli.keys import rotate_hub_key
from hub.config import Settings
from hub.crypto import HUB, KeyKind, Keyring, agency_owner, partnership_owner
from hub.crypto.record import Kind
from hub.partnership import AlertReader, PartnershipKeys, ReadOptions, load_hpke_keys
from hub.partnership.reader import Rejected
from hub.process import stop_process
from hub.quarantine import QuarantineRecord
from hub.transport import kafka_endpoint, new_producer
from tests.integration.events import READING_LSOA, STORE, accepted_ids, items_of, one
from tests.integration.flows import alerts_only, prepare, scenario, worker
from tests.integration.kafka import Message, consume, produce, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


async def produce_at(settings: Settings, topic: str, message: Message, at: datetime) -> None:
    """Send one message whose record timestamp (the hub's receive time) is ``at``."""
    producer = new_producer(kafka_endpoint(settings))
    await producer.start()
    try:
        value, headers = message
        stamp = int(at.timestamp() * 1000)
        await producer.send_and_wait(topic, value, headers=headers, timestamp_ms=stamp)
    finally:
        await producer.stop()


def _event_id(message: Message) -> str:
    return str(STORE.decode(message[0]).record["envelope"]["event_id"])


async def test_agency_key_rotates_without_restart_and_old_key_expires_by_receive_time(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    feed = s.feed_topic("police")
    # Sealed with the current (old) key before the rotation.
    warm, inside, late = (one(s, "police.arrest", "police", READING_LSOA, n) for n in (1, 2, 3))
    proc = worker(s, tmp_path / "worker.log")
    try:
        await produce(s, feed, [warm])
        assert _event_id(warm) in accepted_ids(
            await consume(s, [s.accepted_topic], until=3, timeout_s=60)
        )
        keyring = Keyring.open(s.keys_dir)
        rotated_at = datetime.now(UTC) - timedelta(hours=2)
        _, (old,) = keyring.rotate(
            agency_owner("police"), KeyKind.SIGNING, rotated_at, timedelta(hours=1)
        )
        assert old.not_after == rotated_at + timedelta(hours=1)
        fresh = one(s, "police.arrest", "police", READING_LSOA, 4)  # the new key
        await produce(s, feed, [fresh])
        # Its acceptance proves the worker re-read the keyring (a seal naming an unknown key
        # makes it): only then does the old key's window bind. The events below go to other
        # partitions, which the worker may take in any order.
        await wait_for(s, [s.accepted_topic], lambda r: _event_id(fresh) in accepted_ids(r))
        # Received inside the window (an old backlog replayed now), and after it.
        await produce_at(s, feed, inside, rotated_at + timedelta(minutes=59))
        await produce_at(s, feed, late, rotated_at + timedelta(minutes=61))
        quarantined = await consume(s, [s.quarantine_topic], until=1, timeout_s=90)
        wanted = {_event_id(m) for m in (warm, fresh, inside)}
        accepted = accepted_ids(  # the three are on different partitions: wait for each
            await wait_for(s, [s.accepted_topic], lambda r: wanted <= set(accepted_ids(r)))
        )
    finally:
        assert stop_process(proc) == 0
    assert {_event_id(m) for m in (warm, fresh, inside)} <= set(accepted)
    assert _event_id(late) not in accepted
    assert len(quarantined) == 1
    record = QuarantineRecord.from_bytes(quarantined[0].value)
    assert (record.reason, record.error) == ("key_expired", "KeyExpiredError")
    assert old.key_id in record.detail
    assert record.original == late[0]
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert "key_expired" in log


async def _read_alerts(
    settings: Settings, keys: PartnershipKeys
) -> tuple[list[object], AlertReader]:
    reader = AlertReader(settings, keys, options=ReadOptions(0, follow=False, idle_s=2.0))
    return [item async for item in reader], reader


async def test_partnership_key_rotates_with_a_rolling_restart_and_sdk_reads_both(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    owner = partnership_owner("reading")
    first = worker(s, tmp_path / "first.log")
    second = None
    try:
        for agency, message in scenario(s, subject=7, lsoa=READING_LSOA):
            await produce(s, s.feed_topic(agency), [message])
        before = alerts_only(await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60))
        keyring = Keyring.open(s.keys_dir)
        old_key = keyring.hpke_key(owner)
        new_info, _ = keyring.rotate(owner, KeyKind.HPKE, datetime.now(UTC), timedelta(days=7))
        second = worker(s, tmp_path / "second.log")  # loads the new public key
        assert stop_process(first) == 0  # the new worker takes over every partition
        for agency, message in scenario(s, subject=8, lsoa=READING_LSOA):
            await produce(s, s.feed_topic(agency), [message])
        after = alerts_only(await consume(s, [s.alert_topic("reading")], until=4, timeout_s=90))
    finally:
        stop_process(first)
        if second is not None:
            assert stop_process(second) == 0
    assert len(before) == 2
    assert len(after) == 4
    recipients = [dict(r.headers)["vru-recipient-key"].decode() for r in after]
    assert recipients == [old_key.key_id] * 2 + [new_info.key_id] * 2
    directory = s.keys_dir / owner / KeyKind.HPKE.value
    hub_keys = tuple(Keyring.open(s.keys_dir).verify_keys(HUB))
    both = PartnershipKeys("reading", load_hpke_keys([directory], "reading"), hub_keys)
    items, reader = await _read_alerts(s, both)
    assert (reader.stats.delivered, reader.stats.rejected, reader.stats.gaps) == (4, 0, 0)
    only_new = PartnershipKeys(
        "reading", load_hpke_keys([directory / f"{new_info.key_id}.json"], "reading"), hub_keys
    )
    items, reader = await _read_alerts(s, only_new)
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.error for r in rejected] == ["DecryptionError"] * 2
    assert reader.stats.delivered == 2


@dataclass
class Signed:
    """The heads topic and the decisions topic read up to the last head's size (a known end)."""

    heads: list[bytes]
    decisions: list[bytes]
    ledger: Ledger


async def _signed_through(
    settings: Settings, key_id: str, alert_ids: set[str], timeout_s: float
) -> Signed:
    """Poll until a head signed by ``key_id`` covers the decision behind every alert named.

    Heads are read first, then the decisions up to the newest head's size: the hub keeps
    deciding (and signing) meanwhile, so a fixed count read earlier would end short of it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        heads = [
            r.value or b""
            for r in await consume(settings, [settings.heads_topic], until=10_000, timeout_s=1)
        ]
        decoded = [decode_head(v, n) for n, v in enumerate(heads)]
        signed = max((h.size for h in decoded), default=0)
        records = await consume(settings, [settings.decisions_topic], until=10_000, timeout_s=1)
        ledger = Ledger()
        where: dict[str, int] = {}
        for item in items_of(records, Kind.DECISIONS):  # each record: one step's decisions
            appended = ledger.append(item)
            alert_id = json.loads(item).get("alert_id")
            if alert_id in alert_ids:
                where.setdefault(alert_id, appended.index)
        newest = max((h.size for h in decoded if h.key_id == key_id), default=0)
        if (
            len(ledger) >= signed
            and set(where) == alert_ids
            and newest > max(where.values(), default=0)
        ):
            return Signed(heads, [r.value or b"" for r in records], ledger)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no head by {key_id} over the alerts' decisions in {timeout_s:.0f} s: read"
                f" {len(ledger)} entries of {signed} signed, found {len(where)} of"
                f" {len(alert_ids)} alerts' decisions, newest {key_id} head {newest}"
            )
        await asyncio.sleep(0.5)


async def test_hub_key_rotation_chains_tree_heads_across_the_change(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings.model_copy(update={"head_interval_s": 1.0})
    await prepare(s)
    keyring = Keyring.open(s.keys_dir)
    old = keyring.signing_key(HUB)
    first = worker(s, tmp_path / "first.log")
    second = None
    reading = s.alert_topic("reading")
    try:
        for agency, message in scenario(s, subject=7, lsoa=READING_LSOA):
            await produce(s, s.feed_topic(agency), [message])
        before = alerts_only(await consume(s, [reading], until=2, timeout_s=90))
        await _signed_through(s, old.key_id, _alert_ids(before), timeout_s=60)
        new_id, old_id = await rotate_hub_key(s, keyring, datetime.now(UTC), timedelta(hours=1))
        assert old_id == old.key_id
        second = worker(s, tmp_path / "second.log")
        assert stop_process(first) == 0
        for agency, message in scenario(s, subject=8, lsoa=READING_LSOA):
            await produce(s, s.feed_topic(agency), [message])
        alerts = alerts_only(await consume(s, [reading], until=4, timeout_s=90))
        assert len(alerts) == 4
        signed = await _signed_through(s, new_id, _alert_ids(alerts), timeout_s=90)
    finally:
        stop_process(first)
        if second is not None:
            assert stop_process(second) == 0
    values, heads = signed.decisions, signed.heads
    # The old key alone suffices: decisions signed by either key verify, the new one attested
    # by the rotation head.
    verified = verify_topics(values, heads, [old.verify_key], s.decisions_topic)
    assert verified.ok
    assert verified.uncovered == ()
    assert verified.rotations == 1
    assert verified.hub_keys == (old.key_id, new_id)
    assert verified.signed.size == max(decode_head(v, n).size for n, v in enumerate(heads))
    assert verified.entries == len(signed.ledger)
    signers = [decode_head(v, n).key_id for n, v in enumerate(heads)]
    assert signers[-1] == new_id
    rotation = next(n for n, v in enumerate(heads) if decode_head(v, n).rotation is not None)
    everyone = Keyring.open(s.keys_dir).verify_keys(HUB)
    assert {k.key_id for k in everyone} == {old.key_id, new_id}
    unattested = verify_topics(
        values, heads[:rotation] + heads[rotation + 1 :], everyone, s.decisions_topic
    )
    assert not unattested.ok
    assert {(f.key_id, f.error) for f in unattested.forged_heads} == {(new_id, "HeadKeyError")}
    assert unattested.uncovered  # decisions signed by the unattested key are not entries
    assert {dict(a.headers)["vru-hub-key"].decode() for a in alerts} == {old.key_id, new_id}


def _alert_ids(alerts: list[ConsumerRecord[bytes, bytes]]) -> set[str]:
    return {dict(a.headers)[CE_ID].decode() for a in alerts}
