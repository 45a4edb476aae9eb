"""Client security settings: from HUB_* settings to an endpoint, and to a client's options.

SASL cannot be exercised against the embedded broker (its SCRAM does not work and a bad proof
is let in: BROKER.md), so its option building is specified here; TLS is also tested for real
through a terminator (tests/integration/test_tls.py).
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.config import Settings, settings_env
from hub.devcerts import DevAuthority
from hub.errors import ConfigError
from hub.transport import KafkaEndpoint, SaslLogin, Tls, client_options, kafka_endpoint
from hub.transport.clients import new_producer

PASSWORD = "correct-horse-battery-staple"  # noqa: S105  # a made-up credential to look for


def settings(**kwargs: object) -> Settings:
    return Settings.model_validate({"broker_url": "kafka://a:9093;kafka://b:9093", **kwargs})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA file and a client certificate and key, as an operator would lay them out."""
    root = tmp_path_factory.mktemp("pki")
    ca = DevAuthority.create("test-ca", datetime.now(UTC))
    (root / "ca.crt").write_bytes(ca.cert_pem)
    ca.issue("hub", datetime.now(UTC)).write(root)
    return root


def test_plaintext_is_the_default_and_names_every_bootstrap_server() -> None:
    options = client_options(kafka_endpoint(settings()))
    assert options == {"bootstrap_servers": "a:9093,b:9093", "security_protocol": "PLAINTEXT"}


def test_mutual_tls_loads_the_ca_and_the_client_certificate(pki: Path) -> None:
    endpoint = kafka_endpoint(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=pki / "ca.crt",
            kafka_ssl_certfile=pki / "hub.crt",
            kafka_ssl_keyfile=pki / "hub.key",
        )
    )
    options = client_options(endpoint)
    assert options["security_protocol"] == "SSL"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "test-ca"),),)]
    assert "sasl_mechanism" not in options
    assert endpoint.describe() == "SSL to a:9093,b:9093, client certificate hub.crt"


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_over_tls_takes_the_password_from_its_file(
    pki: Path, tmp_path: Path, mechanism: str
) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    endpoint = kafka_endpoint(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_ssl_cafile=pki / "ca.crt",
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="hub",
            kafka_sasl_password_file=secret,
        )
    )
    options = client_options(endpoint)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == mechanism
    assert options["sasl_plain_username"] == "hub"
    assert options["sasl_plain_password"] == PASSWORD
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert PASSWORD not in repr(endpoint)
    assert PASSWORD not in endpoint.describe()


def test_sasl_without_tls_takes_the_password_from_the_environment() -> None:
    endpoint = kafka_endpoint(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="auditor",
            kafka_sasl_password=PASSWORD,
        )
    )
    options = client_options(endpoint)
    assert "ssl_context" not in options
    assert options["sasl_plain_password"] == PASSWORD


async def test_aiokafka_accepts_the_options_it_is_given(pki: Path) -> None:
    """The options are the ones aiokafka validates (it refuses SSL without a context)."""
    endpoint = KafkaEndpoint(
        ("127.0.0.1:1",),
        "SASL_SSL",
        Tls(cafile=pki / "ca.crt"),
        SaslLogin("SCRAM-SHA-256", "hub", SecretStr(PASSWORD)),
    )
    producer = new_producer(endpoint, acks="all")  # not started: no connection is made
    assert producer.client._security_protocol == "SASL_SSL"
    assert producer.client._sasl_mechanism == "SCRAM-SHA-256"
    await producer.stop()
    with pytest.raises(TypeError, match="set by the endpoint"):
        new_producer(endpoint, security_protocol="PLAINTEXT")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "HUB_KAFKA_SASL_MECHANISM"),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN"},
            "HUB_KAFKA_SASL_USERNAME",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "hub",
            },
            "password",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_certfile": Path("hub.crt")},
            "HUB_KAFKA_SSL_KEYFILE",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "hub",
                "kafka_sasl_password_file": Path("/nonexistent/password"),
            },
            "cannot read HUB_KAFKA_SASL_PASSWORD_FILE",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "hub",
                "kafka_sasl_password": PASSWORD,
                "kafka_sasl_password_file": Path("/nonexistent/password"),
            },
            "or HUB_KAFKA_SASL_PASSWORD_FILE",
        ),
    ],
)
def test_incomplete_security_settings_are_a_clear_config_error(
    overrides: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        kafka_endpoint(settings(**overrides))
    assert PASSWORD not in str(caught.value)


def test_unreadable_certificate_files_name_the_file_not_its_content(
    pki: Path, tmp_path: Path
) -> None:
    bogus = tmp_path / "hub.crt"
    bogus.write_text("not a certificate")
    endpoint = kafka_endpoint(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_certfile=bogus,
            kafka_ssl_keyfile=pki / "hub.key",
        )
    )
    with pytest.raises(ConfigError, match="cannot load the client certificate") as caught:
        client_options(endpoint)
    assert "not a certificate" not in str(caught.value)
    missing = kafka_endpoint(
        settings(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "absent.crt")
    )
    with pytest.raises(ConfigError, match="HUB_KAFKA_SSL_CAFILE"):
        client_options(missing)


def test_child_processes_get_a_password_file_as_its_path_never_its_content(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD)
    configured = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="hub",
        kafka_sasl_password_file=secret,
    )
    env = settings_env(configured)
    assert env["HUB_KAFKA_SASL_PASSWORD_FILE"] == str(secret)
    assert PASSWORD not in "".join(env.values())
    assert "HUB_KAFKA_SASL_PASSWORD" not in env
    assert kafka_endpoint(Settings.model_validate({})).protocol == "PLAINTEXT"
    rebuilt = Settings(**{k.removeprefix("HUB_").lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    assert client_options(kafka_endpoint(rebuilt))["sasl_plain_password"] == PASSWORD


def test_settings_never_show_a_password() -> None:
    configured = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="hub",
        kafka_sasl_password=PASSWORD,
    )
    assert PASSWORD not in repr(configured)
    assert PASSWORD not in str(configured)
    assert PASSWORD not in configured.model_dump_json()
    # A password in the environment reaches a child process in its environment, not argv.
    assert settings_env(configured)["HUB_KAFKA_SASL_PASSWORD"] == PASSWORD
