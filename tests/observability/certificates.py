"""Throwaway certificates for TLS on loopback, made with ``cryptography``: a self-signed CA,
and certificates it signs for a server (``127.0.0.1``, ``localhost``) and a client."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pem:
    key: bytes
    certificate: bytes


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate (PEM), for OTEL_EXPORTER_OTLP_CERTIFICATE
    server: Pem
    client_key: Path
    client_certificate: Path
    ca_pem: bytes


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(issuer_key, hashes.SHA256())


def make_certificates(folder: Path) -> Certificates:
    """A CA, a server certificate and a client certificate it signs; the files a client
    reads written into ``folder``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("sagaway test CA", ca_key, None,
                      [(x509.BasicConstraints(ca=True, path_length=None), True)])  # fmt: skip
    signer = ("sagaway test CA", ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", server_key, signer, [
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                      x509.DNSName("localhost")]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ])  # fmt: skip
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_use = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    client = _certificate("exporter", client_key, signer, [(client_use, False)])
    pem = serialization.Encoding.PEM
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "client.pem").write_bytes(client.public_bytes(pem))
    (folder / "client-key.pem").write_bytes(_key_pem(client_key))
    return Certificates(
        folder / "ca.pem", Pem(_key_pem(server_key), server.public_bytes(pem)),
        folder / "client-key.pem", folder / "client.pem", ca.public_bytes(pem),
    )  # fmt: skip
