"""The keyring on disk, the development keyring and the ``hub keys`` commands."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.keys import app
from hub.crypto import (
    AGENCIES,
    GOVERNANCE,
    HUB,
    KeyKind,
    Keyring,
    KeyStatus,
    SealVerifier,
    agency_owner,
    alert_info,
    create_dev_keyring,
    partnership_owner,
    seal_batch,
)
from hub.errors import KeyringError, UnknownKeyError
from hub.registry import Registry, load_registry

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
REGISTRY_PATH = Path("deploy/registry.yaml")


@pytest.fixture
def registry() -> Registry:
    return load_registry(REGISTRY_PATH)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dev_keyring_covers_every_agency_and_partnership(
    tmp_path: Path, registry: Registry
) -> None:
    root = tmp_path / "keys"
    create_dev_keyring(root, registry, NOW)
    keyring = Keyring.open(root)
    owners = {(info.owner, info.kind) for info in keyring.infos()}
    assert (HUB, KeyKind.SIGNING) in owners
    assert (HUB, KeyKind.INTERNAL) in owners
    assert (GOVERNANCE, KeyKind.SIGNING) in owners
    assert (AGENCIES, KeyKind.LINKAGE) in owners
    for agency in registry.agencies:
        assert (agency_owner(agency.id), KeyKind.SIGNING) in owners
    for partnership in registry.partnerships:
        assert (partnership_owner(partnership.id), KeyKind.HPKE) in owners
        assert (partnership_owner(partnership.id), KeyKind.PSEUDONYM) in owners
    assert len(owners) == 4 + len(registry.agencies) + 2 * len(registry.partnerships)
    assert "NOT for production" in (root / "README.md").read_text(encoding="utf-8")


def test_files_are_0600_and_directories_0700(tmp_path: Path, registry: Registry) -> None:
    root = tmp_path / "keys"
    create_dev_keyring(root, registry, NOW)
    keys = list(root.rglob("*.json"))
    assert keys
    assert {_mode(p) for p in keys} == {0o600}
    assert {_mode(p) for p in root.rglob("*") if p.is_dir()} | {_mode(root)} == {0o700}


def test_keys_reload_and_work_together(tmp_path: Path, registry: Registry) -> None:
    created = create_dev_keyring(tmp_path / "keys", registry, NOW)
    loaded = Keyring.open(tmp_path / "keys")
    police = agency_owner("police")
    assert loaded.signing_key(police).key_id == created.signing_key(police).key_id
    events = [b"e1", b"e2"]
    seals = seal_batch(events, loaded.signing_key(police), "police")
    verifier = SealVerifier({"police": created.verify_keys(police)})
    verifier.verify(events[1], seals[1])
    reading = partnership_owner("reading")
    info = alert_info("reading", "a1")
    sealed = created.hpke_public_key(reading).seal(b"alert", info)
    assert loaded.hpke_key(reading).open(sealed, info) == b"alert"
    assert loaded.hmac_key(AGENCIES, KeyKind.LINKAGE) == created.hmac_key(AGENCIES, KeyKind.LINKAGE)


def test_refuses_to_overwrite_without_force(tmp_path: Path, registry: Registry) -> None:
    root = tmp_path / "keys"
    first = create_dev_keyring(root, registry, NOW)
    with pytest.raises(KeyringError, match="--force"):
        create_dev_keyring(root, registry, NOW)
    assert Keyring.open(root).signing_key(HUB).key_id == first.signing_key(HUB).key_id
    second = create_dev_keyring(root, registry, NOW, force=True)
    assert second.signing_key(HUB).key_id != first.signing_key(HUB).key_id
    assert len(list(Keyring.open(root).infos())) == len(list(first.infos()))


def test_loose_permissions_are_refused(tmp_path: Path, registry: Registry) -> None:
    root = tmp_path / "keys"
    create_dev_keyring(root, registry, NOW)
    victim = next(root.rglob("*.json"))
    victim.chmod(0o644)
    with pytest.raises(KeyringError, match="group or others"):
        Keyring.open(root)


def test_corrupt_key_files_are_keyring_errors(tmp_path: Path, registry: Registry) -> None:
    root = tmp_path / "keys"
    create_dev_keyring(root, registry, NOW)
    victim = next(root.rglob("*.json"))
    victim.write_text("{not json", encoding="utf-8")
    with pytest.raises(KeyringError):
        Keyring.open(root)


def test_rotation_with_overlap(tmp_path: Path) -> None:
    keyring = Keyring(tmp_path / "keys")
    police = agency_owner("police")
    old = keyring.generate(police, KeyKind.SIGNING, NOW)
    new = keyring.generate(police, KeyKind.SIGNING, NOW + timedelta(days=1))
    keyring.retire(police, KeyKind.SIGNING, old.key_id, not_after=NOW + timedelta(days=8))
    reloaded = Keyring.open(tmp_path / "keys")
    assert reloaded.signing_key(police).key_id == new.key_id
    during = {k.key_id for k in reloaded.verify_keys(police, at=NOW + timedelta(days=7))}
    after = {k.key_id for k in reloaded.verify_keys(police, at=NOW + timedelta(days=9))}
    assert during == {old.key_id, new.key_id}
    assert after == {new.key_id}
    statuses = {i.key_id: i.status for i in reloaded.infos()}
    assert statuses == {old.key_id: KeyStatus.RETIRING, new.key_id: KeyStatus.ACTIVE}
    with pytest.raises(UnknownKeyError):
        reloaded.signing_key(police, key_id="0000000000000000")


def test_public_bundle_holds_no_secret(tmp_path: Path, registry: Registry) -> None:
    root = tmp_path / "keys"
    create_dev_keyring(root, registry, NOW)
    bundle = json.dumps(Keyring.open(root).public_bundle())
    for path in root.rglob("*.json"):
        assert json.loads(path.read_text(encoding="utf-8"))["secret"] not in bundle
    kinds = {k["kind"] for k in json.loads(bundle)["keys"]}
    assert kinds == {KeyKind.SIGNING.value, KeyKind.HPKE.value}


def test_cli_init_and_list_show_ids_never_secrets(tmp_path: Path) -> None:
    root = tmp_path / "dev-keys"
    runner = CliRunner()
    made = runner.invoke(app, ["init", str(root), "--registry", str(REGISTRY_PATH)])
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, ["init", str(root), "--registry", str(REGISTRY_PATH)])
    assert again.exit_code == 1
    assert "--force" in again.output
    listed = runner.invoke(app, ["list", str(root), "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert len(rows) == len(list(root.rglob("*.json")))
    for path in root.rglob("*.json"):
        secret = json.loads(path.read_text(encoding="utf-8"))["secret"]
        assert secret not in listed.output
        assert base64.b64decode(secret).hex() not in listed.output
    table = runner.invoke(app, ["list", str(root)])
    assert "agency/police" in table.output


def test_cli_list_of_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["list", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no keyring directory" in result.output
