"""The one function that turns a :class:`KafkaEndpoint` into a Kafka client's options.

Every aiokafka client of the project is built from :func:`client_options`: the tools' clients
through :mod:`hub.transport.clients`, the faust worker through its ``broker_credentials``
(``agents/transport.py``). The options hold the SASL password in clear, as aiokafka needs it:
they are handed to the client and never logged.
"""

from __future__ import annotations

import ssl
from typing import Any

from hub.errors import ConfigError
from hub.transport.endpoint import KafkaEndpoint, Tls

#: Options that only :func:`client_options` may set.
SECURITY_OPTIONS = frozenset(
    {
        "bootstrap_servers",
        "security_protocol",
        "ssl_context",
        "sasl_mechanism",
        "sasl_plain_username",
        "sasl_plain_password",
    }
)


def client_options(endpoint: KafkaEndpoint) -> dict[str, Any]:
    """``bootstrap_servers``, ``security_protocol`` and, as needed, TLS and SASL options."""
    options: dict[str, Any] = {
        "bootstrap_servers": endpoint.bootstrap,
        "security_protocol": endpoint.protocol,
    }
    if endpoint.tls is not None:
        options["ssl_context"] = ssl_context(endpoint.tls)
    if endpoint.sasl is not None:
        options["sasl_mechanism"] = endpoint.sasl.mechanism
        # aiokafka takes the username and password under these names for SCRAM as well.
        options["sasl_plain_username"] = endpoint.sasl.username
        options["sasl_plain_password"] = endpoint.sasl.password.get_secret_value()
    return options


def ssl_context(tls: Tls) -> ssl.SSLContext:
    """A client TLS context: TLS 1.2 or later, the broker verified against ``tls.cafile`` (or
    the system's CAs), and the client certificate loaded for mutual TLS."""
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(tls.cafile) if tls.cafile else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load HUB_KAFKA_SSL_CAFILE {tls.cafile}: {_why(exc)}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = tls.check_hostname
    if tls.certfile is not None and tls.keyfile is not None:
        password = tls.key_password.get_secret_value() if tls.key_password else None
        try:
            context.load_cert_chain(str(tls.certfile), str(tls.keyfile), password=password)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load the client certificate {tls.certfile} with key {tls.keyfile}: "
                f"{_why(exc)}"
            ) from exc
    return context


def _why(exc: OSError | ssl.SSLError) -> str:
    """The cause without the file's content: errno text or OpenSSL's reason."""
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or type(exc).__name__)
    return exc.strerror or type(exc).__name__
