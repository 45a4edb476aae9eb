"""Key custody: parties keep their secrets; the hub works from public key files alone."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from agents.app import _warn_of_party_secrets
from hub.cli import app as hub_app
from hub.crypto import (
    AGENCIES,
    HUB,
    KeyKind,
    Keyring,
    agency_owner,
    create_dev_keyring,
    partnership_owner,
)
from hub.crypto.custody import (
    init_party_keys,
    party_secrets,
    read_public_key,
    write_public_key,
)
from hub.crypto.keyfile import KeyStatus
from hub.errors import KeyringError
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
READING = partnership_owner("reading")
POLICE = agency_owner("police")


def party(root: Path, owner: str, kind: KeyKind) -> Path:
    """A party's own keyring under ``root``; returns its public key file."""
    _, (public,) = init_party_keys(root, owner, (kind,), NOW)
    return public


def test_a_party_keeps_its_secret_and_hands_over_a_public_file(tmp_path: Path) -> None:
    public = party(tmp_path / "reading", READING, KeyKind.HPKE)
    own = Keyring.open(tmp_path / "reading")  # the public copy beside it is not loaded twice
    private = own.hpke_key(READING)
    doc = json.loads(public.read_text())
    assert doc["secret"] is None
    assert doc["key_id"] == private.key_id
    assert public.stat().st_mode & 0o777 == 0o644
    info = read_public_key(public, READING, KeyKind.HPKE)
    hub = Keyring(tmp_path / "hub")
    hub.add(info, None)
    reopened = Keyring.open(tmp_path / "hub")
    assert reopened.hpke_public_key(READING).raw == private.public_key.raw
    with pytest.raises(KeyringError, match="only the public part of partnership/reading"):
        reopened.hpke_key(READING)


def test_an_agency_public_key_verifies_its_seals_at_the_hub(tmp_path: Path) -> None:
    public = party(tmp_path / "police", POLICE, KeyKind.SIGNING)
    signing = Keyring.open(tmp_path / "police").signing_key(POLICE)
    hub = Keyring(tmp_path / "hub")
    hub.add(read_public_key(public, POLICE, KeyKind.SIGNING), None)
    (verify,) = hub.verify_keys(POLICE)
    assert verify.key_id == signing.key_id
    assert hub.agency_key_set(["police"]).keys["police"][0].key_id == signing.key_id
    with pytest.raises(KeyringError, match="its secret stays with its owner"):
        hub.signing_key(POLICE)


def test_the_hub_refuses_a_key_file_with_a_secret(tmp_path: Path) -> None:
    party(tmp_path / "reading", READING, KeyKind.HPKE)
    (secret_file,) = (tmp_path / "reading" / "partnership").rglob("*.json")
    with pytest.raises(KeyringError, match="holds a secret key"):
        read_public_key(secret_file, READING, KeyKind.HPKE)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"owner": "partnership/slough"}, "not a x25519-hpke key of partnership/reading"),
        ({"kind": "ed25519-signing"}, "not a x25519-hpke key"),
        ({"public": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "not the fingerprint"),
        ({"status": "retiring"}, "not active"),
        ({"format": "something-else"}, "unknown key file format"),
    ],
)
def test_a_tampered_or_misaddressed_public_key_is_refused(
    tmp_path: Path, change: dict[str, str], problem: str
) -> None:
    public = party(tmp_path / "reading", READING, KeyKind.HPKE)
    doc = {**json.loads(public.read_text()), **change}
    public.write_text(json.dumps(doc))
    with pytest.raises(KeyringError, match=problem):
        read_public_key(public, READING, KeyKind.HPKE)


def test_party_secrets_are_found_in_a_dev_keyring_and_absent_from_a_split_one(
    tmp_path: Path,
) -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    dev = create_dev_keyring(tmp_path / "dev", registry, NOW)
    found = {(i.owner, i.kind) for i in party_secrets(dev)}
    assert (AGENCIES, KeyKind.LINKAGE) in found
    assert (POLICE, KeyKind.SIGNING) in found
    assert (READING, KeyKind.HPKE) in found
    assert (READING, KeyKind.PSEUDONYM) not in found  # the hub's to hold
    assert all(owner != HUB for owner, _ in found)
    hub = Keyring(tmp_path / "hub")
    hub.generate(HUB, KeyKind.SIGNING, NOW)
    hub.generate(READING, KeyKind.PSEUDONYM, NOW)
    hub.add(
        read_public_key(party(tmp_path / "r", READING, KeyKind.HPKE), READING, KeyKind.HPKE), None
    )
    assert party_secrets(hub) == []


def test_the_worker_warns_when_its_keyring_holds_a_party_secret(tmp_path: Path) -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    dev = create_dev_keyring(tmp_path / "dev", registry, NOW)
    with capture_logs() as logs:
        _warn_of_party_secrets(dev)
        _warn_of_party_secrets(Keyring(tmp_path / "empty"))
    (warning,) = logs
    assert warning["log_level"] == "warning"
    assert warning["event"] == "party_secret_keys_found"
    assert "partnership/reading" in warning["owners"]
    assert warning["keys"] == len(party_secrets(dev))


def test_rotation_takes_the_new_public_key_its_owner_made(tmp_path: Path) -> None:
    first = party(tmp_path / "reading", READING, KeyKind.HPKE)
    hub = Keyring(tmp_path / "hub")
    hub.add(read_public_key(first, READING, KeyKind.HPKE), None)
    own = Keyring.open(tmp_path / "reading")
    new_info, _ = own.rotate(READING, KeyKind.HPKE, NOW + timedelta(days=1), timedelta(days=7))
    second = write_public_key(tmp_path / "reading" / "public", new_info)
    result = CliRunner().invoke(
        hub_app,
        ["keys", "rotate", str(tmp_path / "hub"), "--partnership", "reading",
         "--public-key", str(second)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rotated = Keyring.open(tmp_path / "hub")
    assert rotated.hpke_public_key(READING).key_id == new_info.key_id
    statuses = {i.key_id: i.status for i in rotated.infos_of(READING, KeyKind.HPKE)}
    assert statuses[read_public_key(first, READING, KeyKind.HPKE).key_id] is KeyStatus.RETIRING
    assert party_secrets(rotated) == []
    again = CliRunner().invoke(
        hub_app,
        ["keys", "rotate", str(tmp_path / "hub"), "--partnership", "reading",
         "--public-key", str(second)],
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already holds key" in again.output


def test_a_public_only_key_cannot_be_stored_without_its_public_part(tmp_path: Path) -> None:
    own = Keyring(tmp_path / "own")
    info = own.generate(READING, KeyKind.PSEUDONYM, NOW)
    with pytest.raises(KeyringError, match="needs a secret or a public part"):
        Keyring(tmp_path / "hub").add(replace(info, public=None), None)


def test_key_listing_says_which_secrets_are_held(tmp_path: Path) -> None:
    hub = Keyring(tmp_path / "hub")
    hub.generate(HUB, KeyKind.SIGNING, NOW)
    hub.add(
        read_public_key(party(tmp_path / "r", READING, KeyKind.HPKE), READING, KeyKind.HPKE), None
    )
    result = CliRunner().invoke(hub_app, ["keys", "list", str(tmp_path / "hub"), "--json"])
    rows = {(r["owner"], r["holds"]) for r in map(json.loads, result.output.splitlines())}
    assert rows == {(HUB, "secret"), (READING, "public")}
