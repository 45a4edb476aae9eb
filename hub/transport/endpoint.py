"""Where the brokers are and how to talk to them: one frozen value behind every Kafka client.

:func:`kafka_endpoint` turns the settings (``HUB_BROKER_URL`` and ``HUB_KAFKA_*``) into a
:class:`KafkaEndpoint`: the bootstrap servers, the security protocol, TLS files and SASL
login. Secrets (a SASL password, a key password) are read here from their files when given
as ``*_FILE`` and held as ``SecretStr``, so neither the endpoint's ``repr`` nor any log line
shows them. :func:`hub.transport.options.client_options` turns an endpoint into the options
of an aiokafka client; the factories in :mod:`hub.transport.clients` are the only place that
builds one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from pydantic import SecretStr

from hub.config import KafkaProtocol, SaslMechanism, Settings
from hub.errors import ConfigError

PROTOCOLS: tuple[str, ...] = get_args(KafkaProtocol)
MECHANISMS: tuple[str, ...] = get_args(SaslMechanism)


def bootstrap_servers(broker_url: str) -> str:
    """``kafka://a:1;kafka://b:2`` (faust style) to ``a:1,b:2`` (Kafka client style)."""
    return ",".join(parse_servers(broker_url))


def parse_servers(broker_url: str) -> tuple[str, ...]:
    """The ``host:port`` of every broker in a faust-style URL."""
    hosts = [part.strip().removeprefix("kafka://").rstrip("/") for part in broker_url.split(";")]
    return tuple(h for h in hosts if h)


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS to the brokers: the CA to trust and, for mutual TLS, the client's certificate."""

    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    key_password: SecretStr | None = None
    check_hostname: bool = True

    def __post_init__(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError(
                "a client certificate needs both HUB_KAFKA_SSL_CERTFILE and HUB_KAFKA_SSL_KEYFILE"
            )

    @property
    def mutual(self) -> bool:
        """Whether the client presents a certificate."""
        return self.certfile is not None


@dataclass(frozen=True, slots=True)
class SaslLogin:
    """A SASL login; the password is a SecretStr (its repr is masked)."""

    mechanism: SaslMechanism
    username: str
    password: SecretStr

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISMS:
            raise ConfigError(f"SASL mechanism {self.mechanism!r} is not one of {MECHANISMS}")
        if not self.username:
            raise ConfigError("SASL needs HUB_KAFKA_SASL_USERNAME")
        if not self.password.get_secret_value():
            raise ConfigError("SASL needs a password (HUB_KAFKA_SASL_PASSWORD_FILE)")


@dataclass(frozen=True, slots=True)
class KafkaEndpoint:
    """The brokers and the security to reach them with. Safe to log: it shows no secret."""

    servers: tuple[str, ...]
    protocol: KafkaProtocol = "PLAINTEXT"
    tls: Tls | None = None
    sasl: SaslLogin | None = None

    def __post_init__(self) -> None:
        if not self.servers:
            raise ConfigError("no broker address (HUB_BROKER_URL)")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"security protocol {self.protocol!r} is not one of {PROTOCOLS}")
        if self.uses_tls != (self.tls is not None):
            raise ConfigError(f"{self.protocol} {'needs' if self.uses_tls else 'takes no'} TLS")
        if self.uses_sasl != (self.sasl is not None):
            what = "needs HUB_KAFKA_SASL_MECHANISM" if self.uses_sasl else "takes no SASL login"
            raise ConfigError(f"{self.protocol} {what}")

    @classmethod
    def plaintext(cls, broker_url: str) -> KafkaEndpoint:
        """An unauthenticated, unencrypted endpoint (the embedded broker on loopback)."""
        return cls(parse_servers(broker_url))

    @property
    def bootstrap(self) -> str:
        """``host:port,host:port`` for a Kafka client."""
        return ",".join(self.servers)

    @property
    def uses_tls(self) -> bool:
        """SSL or SASL_SSL."""
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        """SASL_PLAINTEXT or SASL_SSL."""
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def describe(self) -> str:
        """A one-line summary for logs and errors: protocol, servers, who we are (no secret)."""
        parts = [f"{self.protocol} to {self.bootstrap}"]
        if self.tls is not None and self.tls.certfile is not None:
            parts.append(f"client certificate {self.tls.certfile.name}")
        if self.sasl is not None:
            parts.append(f"SASL {self.sasl.mechanism} as {self.sasl.username}")
        return ", ".join(parts)


def kafka_endpoint(settings: Settings) -> KafkaEndpoint:
    """The endpoint the settings describe; ConfigError when they are incomplete or a file is
    unreadable (the message names the setting or file, never a secret)."""
    protocol = settings.kafka_security_protocol
    tls = None
    if protocol in ("SSL", "SASL_SSL"):
        tls = Tls(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
            key_password=_secret(
                settings.kafka_ssl_key_password, settings.kafka_ssl_key_password_file, "SSL_KEY"
            ),
            check_hostname=settings.kafka_ssl_check_hostname,
        )
    sasl = None
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if settings.kafka_sasl_mechanism is None:
            raise ConfigError(f"{protocol} needs HUB_KAFKA_SASL_MECHANISM")
        password = _secret(settings.kafka_sasl_password, settings.kafka_sasl_password_file, "SASL")
        sasl = SaslLogin(
            settings.kafka_sasl_mechanism,
            settings.kafka_sasl_username or "",
            password or SecretStr(""),
        )
    return KafkaEndpoint(parse_servers(settings.broker_url), protocol, tls, sasl)


def _secret(value: SecretStr | None, path: Path | None, name: str) -> SecretStr | None:
    """A secret given directly or in a file (first line, trailing whitespace dropped)."""
    if value is not None and path is not None:
        raise ConfigError(f"give HUB_KAFKA_{name}_PASSWORD or HUB_KAFKA_{name}_PASSWORD_FILE")
    if path is None:
        return value
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read HUB_KAFKA_{name}_PASSWORD_FILE {path}: {type(exc).__name__}"
        ) from exc
    lines = text.splitlines()
    return SecretStr(lines[0].rstrip() if lines else "")
