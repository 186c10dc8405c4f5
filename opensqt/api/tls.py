"""TLS for the API: TLS 1.3 only, a self-signed ECDSA P-256 certificate made on first run, its fingerprint.

gRPC Python has no minimum-TLS-version option. What works: an ECDSA certificate, plus
GRPC_SSL_CIPHER_SUITES limited to ECDHE-RSA-AES128-SHA, a TLS 1.2 suite that needs an RSA certificate. No TLS
1.2 handshake can then succeed, while TLS 1.3 (its suites are not touched by that variable) works. gRPC reads
the variable once, when grpc is imported, for the whole process; `probe_tls12` checks at start that it held.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CIPHER_ENV = "GRPC_SSL_CIPHER_SUITES"
RSA_ONLY_TLS12_SUITE = "ECDHE-RSA-AES128-SHA"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
CERT_DAYS = 825


class TlsPolicyError(RuntimeError):
    """The server could not be made TLS 1.3 only (wrong certificate type, or grpc imported too early)."""


def restrict_tls12_ciphers() -> bool:
    """Set GRPC_SSL_CIPHER_SUITES (unless the operator set it) before grpc loads. False when grpc is already
    imported, as the setting then comes too late for this process."""
    os.environ.setdefault(CIPHER_ENV, RSA_ONLY_TLS12_SUITE)
    return "grpc" not in sys.modules


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    cert_pem: bytes
    key_pem: bytes
    cert_path: Path
    fingerprint: str
    created: bool


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate's DER bytes, as colon-separated hex pairs (what `openssl x509 -fingerprint
    -sha256` prints)."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def create_self_signed(directory: Path, now: datetime.datetime | None = None) -> tuple[Path, Path]:
    """Write cert.pem and key.pem (mode 0600) for CN=localhost with SANs localhost and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OpenSQT agent API"),
        ]
    )
    start = now or datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=CERT_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 from the start (never world-readable, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_or_create(cert_file: Path | None, key_file: Path | None, data_dir: Path) -> TlsMaterial:
    """The configured certificate and key, else the self-signed pair in <data_dir>/api/tls (made if new)."""
    created = False
    if cert_file is None or key_file is None:
        if (cert_file is None) != (key_file is None):
            raise TlsPolicyError("tls_cert_file and tls_key_file: expected both or neither")
        directory = data_dir / "api" / "tls"
        cert_file, key_file = directory / CERT_FILE, directory / KEY_FILE
        if not cert_file.exists() and not key_file.exists():
            create_self_signed(directory)
            created = True
    cert_pem = _read(cert_file, "tls_cert_file")
    key_pem = _read(key_file, "tls_key_file")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise TlsPolicyError(f"tls_cert_file {cert_file}: expected a PEM certificate") from None
    if not isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
        # With an RSA certificate the RSA-only TLS 1.2 suite would work, and TLS 1.2 would be allowed.
        raise TlsPolicyError(
            f"tls_cert_file {cert_file}: expected an ECDSA (P-256) certificate; RSA would allow TLS 1.2"
        )
    return TlsMaterial(cert_pem, key_pem, cert_file, fingerprint(cert_pem), created)


def _read(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsPolicyError(f"{field} {path}: cannot read ({exc.strerror})") from None


def probe_tls12(host: str, port: int, timeout: float = 3.0) -> bool:
    """True when a TLS 1.2 handshake with host:port succeeds (the server is NOT TLS 1.3 only). Blocking."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw):
            return True
    except (ssl.SSLError, OSError):
        return False
