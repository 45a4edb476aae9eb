"""Agency and partnership key rotation: windows in key metadata, verifiers that reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.crypto import (
    GOVERNANCE,
    HUB,
    HmacKey,
    KeyKind,
    Keyring,
    KeyStatus,
    SealVerifier,
    SigningKey,
    agency_key_source,
    agency_owner,
    create_dev_keyring,
    partnership_owner,
    seal_batch,
)
from hub.crypto.record import Kind, Place
from hub.crypto.trust import RecordVerifier, TrustedKeys, seal_record
from hub.errors import KeyExpiredError, KeyNotYetValidError, UnknownKeyError
from hub.partnership import load_hpke_keys
from hub.registry import load_registry

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(days=7)
POLICE = agency_owner("police")


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return create_dev_keyring(tmp_path / "keys", load_registry(Path("deploy/registry.yaml")), NOW)


def test_rotate_adds_an_active_key_and_retires_the_old_one_at_the_overlap_end(
    keyring: Keyring,
) -> None:
    old = keyring.signing_key(POLICE)
    new, retired = keyring.rotate(POLICE, KeyKind.SIGNING, NOW, OVERLAP)
    assert [r.key_id for r in retired] == [old.key_id]
    assert retired[0].status is KeyStatus.RETIRING
    assert retired[0].not_after == NOW + OVERLAP
    assert new.not_before == NOW
    assert keyring.signing_key(POLICE).key_id == new.key_id
    reopened = Keyring.open(keyring.root)
    windows = {
        i.key_id: (i.not_before, i.not_after) for i in reopened.infos_of(POLICE, KeyKind.SIGNING)
    }
    assert windows == {old.key_id: (None, NOW + OVERLAP), new.key_id: (NOW, None)}


def _verifier(keyring: Keyring) -> SealVerifier:
    return SealVerifier.from_source(agency_key_source(keyring.root, ["police"]))


def test_old_key_accepted_inside_the_overlap_and_refused_after(keyring: Keyring) -> None:
    old = keyring.signing_key(POLICE)
    keyring.rotate(POLICE, KeyKind.SIGNING, NOW, OVERLAP)
    new = keyring.signing_key(POLICE)
    verifier = _verifier(keyring)
    event = b"an encoded event"
    old_seal = seal_batch([event], old, "police")[0]
    new_seal = seal_batch([event], new, "police")[0]
    verifier.verify(event, old_seal, NOW + OVERLAP)  # the last instant of the window
    verifier.verify(event, new_seal, NOW + OVERLAP + timedelta(days=30))
    with pytest.raises(KeyExpiredError) as info:
        verifier.verify(event, old_seal, NOW + OVERLAP + timedelta(seconds=1))
    assert info.value.reason == "key_expired"
    assert info.value.key_id == old.key_id
    with pytest.raises(KeyNotYetValidError) as early:
        verifier.verify(event, new_seal, NOW - timedelta(seconds=1))
    assert early.value.reason == "key_not_yet_valid"


def test_window_is_checked_for_every_event_of_a_cached_batch(keyring: Keyring) -> None:
    old = keyring.signing_key(POLICE)
    keyring.rotate(POLICE, KeyKind.SIGNING, NOW, OVERLAP)
    verifier = _verifier(keyring)
    events = [b"one", b"two"]
    seals = seal_batch(events, old, "police")
    verifier.verify(events[0], seals[0], NOW)
    with pytest.raises(KeyExpiredError):
        verifier.verify(events[1], seals[1], NOW + OVERLAP * 2)
    assert verifier.signature_checks == 1


def test_verifier_reloads_the_keyring_when_a_seal_names_a_new_key(keyring: Keyring) -> None:
    verifier = _verifier(keyring)
    verifier._loaded_at -= 5  # as if loaded five seconds ago
    keyring.rotate(POLICE, KeyKind.SIGNING, NOW, OVERLAP)
    seal = seal_batch([b"e"], keyring.signing_key(POLICE), "police")[0]
    verifier.verify(b"e", seal, NOW)
    assert verifier.refreshes == 1


def test_unknown_key_still_refused_after_a_reload(keyring: Keyring) -> None:
    verifier = _verifier(keyring)
    verifier._loaded_at -= 5  # as if loaded five seconds ago
    stranger = keyring.signing_key(HUB)
    with pytest.raises(UnknownKeyError):
        verifier.verify(b"e", seal_batch([b"e"], stranger, "police")[0], NOW)
    assert verifier.refreshes == 1


def test_partnership_reads_with_every_key_in_its_directory(keyring: Keyring) -> None:
    owner = partnership_owner("reading")
    first = keyring.hpke_key(owner)
    keyring.rotate(owner, KeyKind.HPKE, NOW, OVERLAP)
    second = keyring.hpke_key(owner)
    assert second.key_id != first.key_id
    assert keyring.hpke_public_key(owner).key_id == second.key_id
    directory = keyring.root / owner / KeyKind.HPKE.value
    from_dir = {k.key_id for k in load_hpke_keys([directory], "reading")}
    from_files = {k.key_id for k in load_hpke_keys(sorted(directory.glob("*.json")), "reading")}
    assert from_dir == from_files == {first.key_id, second.key_id}


def test_keys_rotate_command_rotates_one_party_and_refuses_ambiguity(
    keyring: Keyring, tmp_path: Path
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415  # only this test drives the CLI

    from hub.cli.keys import app  # noqa: PLC0415

    runner = CliRunner()
    env = {"HUB_KEYS_DIR": str(keyring.root)}
    old = keyring.signing_key(POLICE).key_id
    done = runner.invoke(app, ["rotate", "--agency", "police", "--overlap", "1d12h"], env=env)
    assert done.exit_code == 0, done.output
    reopened = Keyring.open(keyring.root)
    (retired,) = [i for i in reopened.infos_of(POLICE, KeyKind.SIGNING) if i.key_id == old]
    assert retired.status is KeyStatus.RETIRING
    (new,) = [i for i in reopened.infos_of(POLICE, KeyKind.SIGNING) if i.key_id != old]
    assert new.not_before is not None
    assert retired.not_after == new.not_before + timedelta(hours=36)
    assert new.key_id in done.output
    both = runner.invoke(app, ["rotate", "--agency", "police", "--hub"], env=env)
    assert both.exit_code != 0
    assert "exactly one" in both.output
    bad = runner.invoke(app, ["rotate", "--partnership", "reading", "--overlap", "1w"], env=env)
    assert bad.exit_code != 0
    assert "not a duration" in bad.output
    missing = runner.invoke(app, ["rotate", "--partnership", "atlantis"], env=env)
    assert missing.exit_code == 1
    assert "no x25519-hpke key to rotate" in missing.output


@pytest.mark.parametrize(
    ("option", "owner", "kind"),
    [("--governance", GOVERNANCE, KeyKind.SIGNING), ("--internal", HUB, KeyKind.INTERNAL)],
)
def test_governance_and_internal_keys_rotate_and_verifiers_accept_both_in_the_overlap(
    keyring: Keyring, option: str, owner: str, kind: KeyKind
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415  # only these tests drive the CLI

    from hub.cli.keys import app  # noqa: PLC0415

    old = keyring.infos_of(owner, kind)[-1]
    env = {"HUB_KEYS_DIR": str(keyring.root)}
    done = CliRunner().invoke(app, ["rotate", option, "--overlap", "1h"], env=env)
    assert done.exit_code == 0, done.output
    reopened = Keyring.open(keyring.root)
    infos = {i.key_id: i for i in reopened.infos_of(owner, kind)}
    new = next(i for i in infos.values() if i.key_id != old.key_id)
    assert (infos[old.key_id].status, new.status) == (KeyStatus.RETIRING, KeyStatus.ACTIVE)
    assert new.not_before is not None
    verifier = RecordVerifier(TrustedKeys.from_keyring(reopened))
    place = Place("vru.accepted", 0)
    record_kind = Kind.SWITCH if kind is KeyKind.SIGNING else Kind.TICK

    def record(key_id: str, at: datetime) -> bytes:
        key: HmacKey | SigningKey = (
            reopened.signing_key(owner, key_id)
            if kind is KeyKind.SIGNING
            else reopened.hmac_key(owner, kind, key_id)
        )
        return seal_record(
            record_kind, at, (b"{}",) if record_kind is Kind.SWITCH else (), place, key
        )

    inside = new.not_before + timedelta(minutes=30)
    for key_id in (old.key_id, new.key_id):
        assert verifier.open(record(key_id, inside), place, (record_kind,)).key_id == key_id
    with pytest.raises(KeyExpiredError):
        verifier.open(
            record(old.key_id, new.not_before + timedelta(hours=2)), place, (record_kind,)
        )
    with pytest.raises(KeyNotYetValidError):
        verifier.open(
            record(new.key_id, new.not_before - timedelta(hours=1)), place, (record_kind,)
        )
