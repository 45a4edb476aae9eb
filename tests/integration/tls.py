"""A broker reachable only over mutual TLS, for the TLS integration tests.

The embedded broker cannot do TLS (BROKER.md), so ``stunnel4`` (Debian; ``.ci/run`` installs it)
terminates TLS in front of a private Tansu that advertises the TLS address: a client that
reconnects to the advertised address stays on TLS. stunnel requires a client certificate from
the test CA (``verifyChain``, ``requireCert``), as a Kafka ``SSL`` listener with
``ssl.client.auth=required`` does. The CA and every certificate are made fresh with
``cryptography`` (:mod:`hub.devcerts`); a second CA plays the stranger.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.broker import LOOPBACK, broker_binary, free_port, wait_for_port
from hub.config import Settings
from hub.devcerts import DevAuthority
from hub.process import stop_process

STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")
needs_stunnel = pytest.mark.skipif(
    STUNNEL is None, reason="needs stunnel4 (Debian package; .ci/run installs it)"
)


@dataclass(frozen=True)
class TlsBroker:
    """The TLS address, the test CA's files and a certificate per principal."""

    url: str
    pki: Path

    @property
    def cafile(self) -> Path:
        return self.pki / "ca.crt"

    def as_principal(self, settings: Settings, principal: str) -> Settings:
        """``settings`` reaching this broker over mutual TLS with ``principal``'s certificate."""
        return self.with_tls(
            settings,
            kafka_ssl_certfile=self.pki / f"{principal}.crt",
            kafka_ssl_keyfile=self.pki / f"{principal}.key",
        )

    def with_tls(self, settings: Settings, **overrides: object) -> Settings:
        """``settings`` over TLS to this broker, with the test CA unless overridden."""
        update: dict[str, object] = {
            "broker_url": self.url,
            "kafka_security_protocol": "SSL",
            "kafka_ssl_cafile": self.cafile,
            "kafka_ssl_certfile": None,
            "kafka_ssl_keyfile": None,
        }
        return settings.model_copy(update={**update, **overrides})


def make_pki(root: Path, principals: list[str]) -> None:
    """The test CA, the broker's and one per principal; a stranger's from another CA."""
    now = datetime.now(UTC)
    root.mkdir(parents=True, exist_ok=True)
    ca = DevAuthority.create("vru-test-ca", now)
    (root / "ca.crt").write_bytes(ca.cert_pem)
    ca.issue("broker", now, hosts=[LOOPBACK, "localhost"]).write(root)
    for principal in principals:
        ca.issue(principal, now).write(root)
    stranger = DevAuthority.create("another-ca", now)
    (root / "another-ca.crt").write_bytes(stranger.cert_pem)
    stranger.issue("stranger", now).write(root)


@contextlib.contextmanager
def tls_broker(workdir: Path, principals: list[str]) -> Iterator[TlsBroker]:
    """Tansu on a private port behind stunnel; stopped by the PIDs we started."""
    pki = workdir / "pki"
    make_pki(pki, principals)
    plain, secure = free_port(), free_port()
    config = workdir / "stunnel.conf"
    config.write_text(
        "\n".join(
            [
                "foreground = yes",
                "pid =",
                "debug = 4",
                "[kafka]",
                f"accept = {LOOPBACK}:{secure}",
                f"connect = {LOOPBACK}:{plain}",
                f"cert = {pki / 'broker.crt'}",
                f"key = {pki / 'broker.key'}",
                f"CAfile = {pki / 'ca.crt'}",
                "verifyChain = yes",
                "requireCert = yes",
                "sslVersionMin = TLSv1.2",
                "",
            ]
        )
    )
    broker_args = [
        str(broker_binary()),
        "broker",
        "--listener-url",
        f"tcp://{LOOPBACK}:{plain}",
        "--advertised-listener-url",
        f"tcp://{LOOPBACK}:{secure}",
        "--storage-engine",
        "memory://tansu/",
    ]
    with (workdir / "broker.log").open("ab") as broker_log:
        broker = subprocess.Popen(  # fixed argument list, our own binary path
            broker_args, stdin=subprocess.DEVNULL, stdout=broker_log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    procs = [broker]
    try:
        wait_for_port(LOOPBACK, plain, 10)
        with (workdir / "stunnel.log").open("ab") as tunnel_log:
            procs.append(
                subprocess.Popen(  # the stunnel on PATH, our own config file
                    [str(STUNNEL), str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=tunnel_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_for_port(LOOPBACK, secure, 10)
        yield TlsBroker(f"kafka://{LOOPBACK}:{secure}", pki)
    finally:
        for proc in reversed(procs):
            stop_process(proc)


def secret_texts(roots: list[Path]) -> set[str]:
    """Every secret under ``roots`` as it could appear in output: each key file's secret (base64
    and hex) and each PEM private key's body lines. For asserting that none is ever shown."""
    found: set[str] = set()
    for root in roots:
        for path in root.rglob("*.json"):
            doc = json.loads(path.read_text())
            if isinstance(doc, dict) and doc.get("secret"):
                found |= {doc["secret"], base64.b64decode(doc["secret"]).hex()}
        for path in [*root.rglob("*.key"), *root.rglob("*.pem")]:
            body = [line for line in path.read_text().splitlines() if not line.startswith("-----")]
            found |= {line for line in body if len(line) >= 16}
    return found
