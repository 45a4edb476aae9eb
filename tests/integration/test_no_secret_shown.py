"""No command output, log line or process list shows a credential or a secret key.

The commands that handle keys and credentials run here with a full development keyring, a
party's own keyring and a SASL password, and every secret they could leak is looked for in
what they print. A worker started with a SASL password keeps it off its command line (it is in
its environment, or only its file's path is). The TLS tests check the worker's log and the
partnerships' and auditors' output over mutual TLS the same way (tests/integration/test_tls.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.broker import free_port
from hub.cli import app as hub_app
from hub.config import Settings, settings_env
from hub.crypto import KeyKind, create_dev_keyring, partnership_owner
from hub.crypto.custody import init_party_keys
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from tests.integration.tls import secret_texts

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "sasl-pa55word-that-must-never-show"  # noqa: S105  # made up, looked for below


def sasl(settings: Settings, tmp_path: Path, *, as_file: bool) -> Settings:
    """``settings`` with a SASL login whose password is in a file or in the environment."""
    update: dict[str, object] = {
        "broker_url": f"kafka://127.0.0.1:{free_port()}",  # nothing listens: no broker needed
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "hub",
    }
    if as_file:
        secret = tmp_path / "sasl-password"
        secret.write_text(PASSWORD)
        update["kafka_sasl_password_file"] = secret
    else:
        update["kafka_sasl_password"] = PASSWORD
    return settings.model_copy(update=update)


def test_key_commands_print_ids_and_paths_never_a_secret(
    hub_settings: Settings, tmp_path: Path
) -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    dev = tmp_path / "dev"
    runner = CliRunner()
    env = settings_env(hub_settings.model_copy(update={"keys_dir": dev}))
    outputs = [
        runner.invoke(hub_app, ["keys", "init", str(dev)]).output,
        runner.invoke(hub_app, ["keys", "list", str(dev)]).output,
        runner.invoke(hub_app, ["keys", "list", str(dev), "--json"]).output,
        runner.invoke(hub_app, ["keys", "rotate", str(dev), "--partnership", "reading"]).output,
        runner.invoke(hub_app, ["keys", "rotate", str(dev), "--agency", "police"]).output,
        runner.invoke(hub_app, ["registry", "list"], env=env).output,
        runner.invoke(hub_app, ["registry", "list", "--json"], env=env).output,
        runner.invoke(
            hub_app, ["keys", "partnership", "init", str(tmp_path / "own"), "--id", "reading"]
        ).output,
        runner.invoke(hub_app, ["keys", "linkage", "init", str(tmp_path / "linkage")]).output,
    ]
    init_party_keys(
        tmp_path / "other", partnership_owner("slough"), (KeyKind.HPKE,), datetime.now(UTC)
    )
    create_dev_keyring(tmp_path / "spare", registry, datetime.now(UTC))
    secrets = secret_texts([tmp_path])
    assert len(secrets) > 60
    assert all("key" in o or "wrote" in o for o in outputs), outputs
    assert [s for s in secrets for o in outputs if s in o] == []


@pytest.mark.parametrize("as_file", [True, False])
def test_a_worker_never_has_its_password_on_its_command_line_or_in_its_log(
    hub_settings: Settings, tmp_path: Path, as_file: bool
) -> None:
    settings = sasl(hub_settings, tmp_path, as_file=as_file)
    log = tmp_path / "worker.log"
    proc = start_worker(settings, log)
    try:
        deadline = time.monotonic() + 60
        while "broker_unreachable_at_start" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # Still running (it goes on to retry the broker): its process list entry, as ps shows it.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
    finally:
        stop_process(proc)
    assert PASSWORD.encode() not in cmdline
    assert cmdline.split(b"\0")[1:4] == [b"-m", b"hub.cli", b"worker"]
    # In the environment when it was given there, as its file's path otherwise.
    assert (PASSWORD.encode() in environ) is not as_file
    text = log.read_text()
    assert "broker_unreachable_at_start" in text  # it did try, with the password
    assert PASSWORD not in text


def test_settings_errors_and_endpoint_descriptions_never_show_the_password(
    hub_settings: Settings, tmp_path: Path
) -> None:
    settings = sasl(hub_settings, tmp_path, as_file=False)
    result = CliRunner().invoke(
        hub_app,
        ["alerts", "tail", "--partnership", "reading", "--no-follow", "--wait", "0.5",
         "--key", str(hub_settings.keys_dir)],
        env=settings_env(settings),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "error: TransportError: cannot read" in result.output
    assert PASSWORD not in result.output
