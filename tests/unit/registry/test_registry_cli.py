"""``hub registry add-agency|add-partnership|list``: entries, keys, and bad input refused."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.registry import app
from hub.crypto import KeyKind, Keyring, agency_owner, create_dev_keyring, partnership_owner
from hub.crypto.custody import init_party_keys
from hub.errors import KeyringError
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A copy of the shipped registry without Oxfordshire, and a dev keyring for it."""
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    text = (ROOT / "deploy" / "registry.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines(keepends=True) if "id: oxfordshire" not in line]
    (deploy / "registry.yaml").write_text("".join(lines), encoding="utf-8")
    create_dev_keyring(
        tmp_path / "keys", load_registry(deploy / "registry.yaml"), datetime.now(UTC)
    )
    shutil.copytree(ROOT / "deploy" / "agreements", deploy / "agreements")
    return {
        "HUB_DEPLOY_DIR": str(deploy),
        "HUB_KEYS_DIR": str(tmp_path / "keys"),
        "HUB_SCHEMAS_DIR": str(ROOT / "schemas"),
        "HUB_DATA_DIR": str(DATA),
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def party_public_key(root: Path, owner: str, kind: KeyKind) -> Path:
    """The public key file a party makes on its own machine (its secret stays in ``root``)."""
    _, publics = init_party_keys(root, owner, (kind,), datetime.now(UTC))
    return publics[0]


@pytest.fixture
def oxfordshire_key(tmp_path: Path) -> Path:
    return party_public_key(
        tmp_path / "at-oxfordshire", partnership_owner("oxfordshire"), KeyKind.HPKE
    )


@pytest.fixture
def fire_key(tmp_path: Path) -> Path:
    return party_public_key(tmp_path / "at-fire", agency_owner("fire-rescue"), KeyKind.SIGNING)


def test_add_partnership_writes_the_entry_and_its_public_key_only(
    env: dict[str, str], oxfordshire_key: Path
) -> None:
    path = Path(env["HUB_DEPLOY_DIR"]) / "registry.yaml"
    before = path.read_text(encoding="utf-8")
    code, out = _run(
        env, "add-partnership", "--id", "oxfordshire", "--name", "Oxfordshire",
        "--council", "E10000025", "--public-key", str(oxfordshire_key),
    )  # fmt: skip
    assert code == 0, out
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before)  # comments and every existing line kept
    assert after[len(before) :] == (
        "  - {id: oxfordshire, name: Oxfordshire, councils: [E10000025]}\n"
    )
    registry = load_registry(path)
    assert registry.partnership_for_council("E10000025") == registry.partnership("oxfordshire")
    keyring = Keyring.open(Path(env["HUB_KEYS_DIR"]))
    owner = partnership_owner("oxfordshire")
    kinds = {i.kind for i in keyring.infos() if i.owner == owner}
    assert kinds == {KeyKind.HPKE, KeyKind.PSEUDONYM}
    hpke = keyring.hpke_public_key(owner)
    assert hpke.key_id in out
    assert hpke.key_id in oxfordshire_key.name  # the partnership's own key, not one made here
    # The hub holds the pseudonym key (it makes the pseudonyms), never the HPKE secret.
    held = {i.kind for i in keyring.secret_infos() if i.owner == owner}
    assert held == {KeyKind.PSEUDONYM}
    with pytest.raises(KeyringError, match="only the public part"):
        keyring.hpke_key(owner)


def test_add_agency_writes_the_entry_and_its_verify_key_only(
    env: dict[str, str], fire_key: Path
) -> None:
    code, out = _run(
        env, "add-agency", "--id", "fire-rescue", "--name", "Fire and rescue",
        "--sector", "fire_rescue", "--event-type", "community_safety.asb_case",
        "--public-key", str(fire_key),
    )  # fmt: skip
    assert code == 0, out
    registry = load_registry(Path(env["HUB_DEPLOY_DIR"]) / "registry.yaml")
    assert registry.agency("fire-rescue").event_types == ("community_safety.asb_case",)
    keyring = Keyring.open(Path(env["HUB_KEYS_DIR"]))
    owner = agency_owner("fire-rescue")
    (verify,) = keyring.verify_keys(owner)
    assert verify.key_id in out
    assert [i.owner for i in keyring.secret_infos() if i.owner == owner] == []


def test_onboarding_refuses_a_key_file_that_carries_a_secret(
    env: dict[str, str], tmp_path: Path
) -> None:
    party = tmp_path / "at-oxfordshire"
    init_party_keys(party, partnership_owner("oxfordshire"), (KeyKind.HPKE,), datetime.now(UTC))
    (secret_file,) = (party / "partnership").rglob("*.json")
    code, out = _run(
        env, "add-partnership", "--id", "oxfordshire", "--name", "Oxfordshire",
        "--council", "E10000025", "--public-key", str(secret_file),
    )  # fmt: skip
    assert code == 1
    assert "holds a secret key" in out
    assert "oxfordshire" not in (Path(env["HUB_DEPLOY_DIR"]) / "registry.yaml").read_text()


def test_onboarding_refuses_another_party_s_public_key(env: dict[str, str], fire_key: Path) -> None:
    code, out = _run(
        env, "add-partnership", "--id", "oxfordshire", "--name", "Oxfordshire",
        "--council", "E10000025", "--public-key", str(fire_key),
    )  # fmt: skip
    assert code == 1
    assert "not a x25519-hpke key of partnership/oxfordshire" in out


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["add-partnership", "--id", "reading", "--name", "R", "--council", "E10000025"],
         "duplicate partnership ids"),
        (["add-partnership", "--id", "x", "--name", "X", "--council", "E06000038"],
         "more than one partnership"),
        (["add-partnership", "--id", "x", "--name", "X", "--council", "E09000001"],
         "councils not in the area lookup"),
        (["add-partnership", "--id", "x", "--name", "X", "--council", "Reading"],
         "malformed ONS council codes"),
        (["add-agency", "--id", "police", "--name", "P", "--sector", "p",
          "--event-type", "police.arrest"], "duplicate agency ids"),
        (["add-agency", "--id", "fire", "--name", "F", "--sector", "f",
          "--event-type", "fire.call_out"], "event types without a schema"),
        (["add-agency", "--id", "Fire!", "--name", "F", "--sector", "f",
          "--event-type", "police.arrest"], "String should match pattern"),
    ],
)  # fmt: skip
def test_bad_onboarding_is_refused_and_changes_nothing(
    env: dict[str, str], tmp_path: Path, args: list[str], problem: str
) -> None:
    path = Path(env["HUB_DEPLOY_DIR"]) / "registry.yaml"
    before = path.read_text(encoding="utf-8")
    keys_before = sorted(Path(env["HUB_KEYS_DIR"]).rglob("*.json"))
    party_id = args[args.index("--id") + 1].lower().strip("!")  # a key file the id could name
    owner, kind = (
        (agency_owner(party_id), KeyKind.SIGNING)
        if args[0] == "add-agency"
        else (partnership_owner(party_id), KeyKind.HPKE)
    )
    key = party_public_key(tmp_path / "at-party", owner, kind)
    code, out = _run(env, *args, "--public-key", str(key))
    assert code == 1
    assert problem in out
    assert path.read_text(encoding="utf-8") == before
    assert sorted(Path(env["HUB_KEYS_DIR"]).rglob("*.json")) == keys_before


def test_list_shows_parties_with_key_ids_and_ages(env: dict[str, str]) -> None:
    code, out = _run(env, "list", "--json")
    assert code == 0, out
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 8 + 8
    police = next(r for r in rows if r["id"] == "police")
    keyring = Keyring.open(Path(env["HUB_KEYS_DIR"]))
    assert [k["key_id"] for k in police["keys"]] == [
        keyring.signing_key(agency_owner("police")).key_id
    ]
    assert police["keys"][0]["status"] == "active"
    assert police["keys"][0]["age"].endswith("s")
    assert police["suspended"] is False
    code, text = _run(env, "list")
    assert code == 0
    assert "reading" in text
    assert "x25519-hpke" in text


def test_suspend_needs_exactly_one_party(env: dict[str, str]) -> None:
    code, out = _run(env, "suspend")
    assert code != 0
    assert "exactly one of --agency or --partnership" in out
