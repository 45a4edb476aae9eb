"""A development certificate authority for mutual TLS to Kafka: NOT for production.

``hub tls init DIR`` and the TLS tests use it to make a CA and one certificate per principal
(each broker, the hub, every agency and partnership, ...). Each certificate's subject is
``CN=<principal>``, which Apache Kafka maps to ``User:<principal>`` with the
``ssl.principal.mapping.rules`` of ``docker-compose.yml``; the ACL plan (``hub acls script``)
names the same principals. Keys are ECDSA P-256 in unencrypted PKCS#8 PEM (what Kafka's PEM
key stores read), written 0600. Production certificates come from the VRU's own PKI
(``docs/deploy.md``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = timedelta(days=365)
_SKEW = timedelta(minutes=5)
_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key, both PEM. The repr never shows the key."""

    common_name: str
    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    def write(self, directory: Path, chain: bytes = b"") -> tuple[Path, Path]:
        """``<cn>.crt`` (the certificate, then ``chain``) and ``<cn>.key`` (0600)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert = directory / f"{self.common_name}.crt"
        cert.write_bytes(self.cert_pem + chain)
        key = directory / f"{self.common_name}.key"
        _write_private(key, self.key_pem)
        return cert, key

    def keystore(self, directory: Path, chain: bytes = b"") -> Path:
        """``<cn>.pem``: key then certificate chain, one file (Kafka's PEM key store), 0600."""
        path = directory / f"{self.common_name}.pem"
        _write_private(path, self.key_pem + self.cert_pem + chain)
        return path


@dataclass(frozen=True, slots=True)
class DevAuthority:
    """A self-signed CA that issues client and server certificates."""

    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def create(cls, name: str, now: datetime) -> DevAuthority:
        """A fresh CA named ``name``, valid from ``now`` (less a little clock skew)."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            _builder(subject, subject, key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_CA_USAGE, critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(name, cert, key)

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate: what clients and brokers trust."""
        return self.cert.public_bytes(Encoding.PEM)

    def issue(self, common_name: str, now: datetime, hosts: Iterable[str] = ()) -> Issued:
        """A certificate for ``CN=common_name``, usable as client and as server for ``hosts``.

        ``hosts`` become subject alternative names (IP addresses as IP entries).
        """
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = _builder(subject, self.cert.subject, key.public_key(), now)
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        names = [_general_name(h) for h in hosts]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        return Issued(common_name, cert.public_bytes(Encoding.PEM), key_pem)


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey, now: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW)
        .not_valid_after(now + VALIDITY)
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)
