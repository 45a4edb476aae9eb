"""Information governance keeps its signing key; the hub's keyring trusts its public key only."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.crypto import GOVERNANCE, KeyKind, Keyring
from hub.crypto.custody import party_secrets
from hub.errors import KeyringError
from hub.governance import Governance


def test_governance_makes_its_key_and_the_hub_trusts_only_its_public_part(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "governance", "init", str(tmp_path / "governance")])
    assert made.exit_code == 0, made.output
    (public,) = (tmp_path / "governance" / "public").glob("*.public.json")
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir(mode=0o700)
    trusted = runner.invoke(
        app, ["keys", "governance", "trust", str(public), "--keyring", str(hub_dir)]
    )
    assert trusted.exit_code == 0, trusted.output
    hub = Keyring.open(hub_dir)
    (info,) = hub.infos_of(GOVERNANCE, KeyKind.SIGNING)
    assert info.key_id in trusted.output
    assert party_secrets(hub) == []  # the public part only
    own = Keyring.open(tmp_path / "governance")
    assert [i.owner for i in party_secrets(own)] == [GOVERNANCE]  # its secret is a party's
    assert Governance.from_keyring(own).key.key_id == info.key_id
    with pytest.raises(KeyringError, match="only the public part"):
        Governance.from_keyring(hub)  # the hub cannot sign as governance
    secret = next((tmp_path / "governance" / GOVERNANCE).rglob("*.json"))
    refused = runner.invoke(
        app, ["keys", "governance", "trust", str(secret), "--keyring", str(hub_dir)]
    )
    assert refused.exit_code == 1
    assert "holds a secret key" in refused.output
