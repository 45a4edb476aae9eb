"""aiokafka's errors become the hub's, here and only here.

``async with translated(endpoint, "read vru.audit.heads"):`` around a client's work turns a
``KafkaError`` into a :class:`~hub.errors.TransportError` (``raise ... from exc``):

* an authorization error (an ACL) becomes :class:`~hub.errors.BrokerAccessDeniedError`;
* a SASL failure, or a connection that could not be made while TLS or SASL is configured (or
  to a port that speaks TLS while we do not), becomes :class:`~hub.errors.BrokerAuthError`
  naming the cause, which aiokafka loses ("Unable to bootstrap"). :func:`diagnose` finds it
  with one TLS handshake of our own, bounded in time;
* anything else stays a retriable ``TransportError`` naming the error class.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import errors as kafka_errors

from hub.errors import BrokerAccessDeniedError, BrokerAuthError, TransportError
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.options import ssl_context

#: How long one diagnostic step may wait (connect, handshake, a read).
PROBE_TIMEOUT_S = 3.0
#: After a TLS 1.3 handshake, a broker that refuses the client's certificate says so in an
#: alert sent once it has read that certificate: wait this long for it before asking.
ALERT_WAIT_S = 0.5

_DENIED = (
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.GroupAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
)
_AUTH = (
    kafka_errors.AuthenticationFailedError,
    kafka_errors.AuthenticationMethodNotSupported,
    kafka_errors.UnsupportedSaslMechanismError,
    kafka_errors.IllegalSaslStateError,
)
_UNREACHABLE = (kafka_errors.KafkaConnectionError, kafka_errors.NoBrokersAvailable)

#: OpenSSL reasons (alerts from the broker, or our own verification) and what they mean.
_TLS_REASONS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "it requires a client certificate "
    "(set HUB_KAFKA_SSL_CERTFILE and HUB_KAFKA_SSL_KEYFILE)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "it refused the client certificate, or the lack of one",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "it does not trust the client certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "the client certificate is issued by a CA it does not trust",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the client certificate has expired",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "the client certificate is revoked",
    "TLSV1_ALERT_ACCESS_DENIED": "it denied access to the client certificate",
    "TLSV1_ALERT_PROTOCOL_VERSION": "no TLS version in common (the hub needs TLS 1.2 or later)",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the TLS handshake failed (no common cipher or version)",
    "WRONG_VERSION_NUMBER": "it does not speak TLS on this port (is it a PLAINTEXT listener?)",
}


@asynccontextmanager
async def translated(endpoint: KafkaEndpoint, doing: str) -> AsyncIterator[None]:
    """Raise the hub's error for any ``KafkaError`` inside; ``doing`` reads "cannot <doing>"."""
    try:
        yield
    except kafka_errors.KafkaError as exc:
        raise await broker_error(endpoint, doing, exc) from exc


async def broker_error(
    endpoint: KafkaEndpoint, doing: str, exc: kafka_errors.KafkaError
) -> TransportError:
    """The hub's error for ``exc``, raised while trying to ``doing``."""
    name = type(exc).__name__
    if isinstance(exc, _DENIED):
        return BrokerAccessDeniedError(doing, name)
    if isinstance(exc, _AUTH):
        return BrokerAuthError(endpoint.bootstrap, f"SASL authentication failed ({name})")
    if isinstance(exc, _UNREACHABLE):
        problem = await diagnose(endpoint)
        if problem is not None:
            return BrokerAuthError(endpoint.bootstrap, problem)
    return TransportError(f"cannot {doing}: {name}")


def retriable(exc: BaseException) -> bool:
    """Whether a send that raised ``exc`` may succeed as it is, later: the broker or the
    network failed it, not the message (a connection lost, no leader yet, a timeout, the
    producer's buffer full). A message the broker can never take (too large, say) is not.
    """
    if isinstance(exc, TransportError):
        return exc.retriable
    cause = exc.__cause__
    if isinstance(cause, kafka_errors.KafkaError) and not isinstance(exc, kafka_errors.KafkaError):
        # a wrapper raised from the client's error (faust's ProducerSendError wraps every
        # error of a send at queueing): the client's error says whether a retry may succeed
        return retriable(cause)
    if isinstance(exc, kafka_errors.KafkaTimeoutError):  # aiokafka marks it not retriable
        return True
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(exc.retriable)
    return isinstance(exc, (asyncio.TimeoutError, ConnectionError))


async def diagnose(endpoint: KafkaEndpoint) -> str | None:
    """Why the first broker refuses our TLS, if it does; None when TLS is not the problem.

    The probe runs on blocking sockets in a thread, each closed by its ``with`` whatever
    happens: an asyncio connection cancelled mid-handshake, or closed without waiting, can
    leave its socket to the garbage collector once the loop is gone.
    """
    host, _, port = endpoint.servers[0].rpartition(":")
    if endpoint.tls is None:
        probe = functools.partial(_speaks_tls, host, int(port))
    else:
        probe = functools.partial(_handshake, host, int(port), ssl_context(endpoint.tls))
    try:
        return await asyncio.wait_for(asyncio.to_thread(probe), PROBE_TIMEOUT_S * 4)
    except TimeoutError:
        return None


def _handshake(host: str, port: int, context: ssl.SSLContext) -> str | None:
    try:
        with (
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.settimeout(ALERT_WAIT_S)
            with contextlib.suppress(TimeoutError):
                tls.recv(4)
                return "it closed the connection right after the TLS handshake"
            tls.settimeout(PROBE_TIMEOUT_S)
            tls.sendall(_api_versions_request())
            tls.recv(4)
    except ssl.SSLCertVerificationError as exc:
        return (
            f"its certificate does not verify against HUB_KAFKA_SSL_CAFILE ({exc.verify_message})"
        )
    except ssl.SSLError as exc:
        return _TLS_REASONS.get(str(exc.reason), f"TLS failed ({exc.reason})")
    except OSError:  # TimeoutError included
        return None
    return None


def _speaks_tls(host: str, port: int) -> str | None:
    """A PLAINTEXT client at a TLS port: say so (the handshake starts, so the port is TLS)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as raw,
            context.wrap_socket(raw),
        ):
            pass
    except ssl.SSLError as exc:
        if str(exc.reason) == "WRONG_VERSION_NUMBER":
            return None  # not TLS: plaintext was right
        return _plaintext_at_tls()
    except OSError:
        return None
    return _plaintext_at_tls()


def _plaintext_at_tls() -> str:
    return "it speaks TLS on this port: set HUB_KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL)"


def _api_versions_request() -> bytes:
    """A Kafka ApiVersions v0 request (api key 18), which any broker answers before login."""
    body = struct.pack(">hhih", 18, 0, 0x5EC0, -1)
    return struct.pack(">i", len(body)) + body
