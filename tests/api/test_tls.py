"""TLS 1.3 only: openssl s_client with -tls1_2 fails and -tls1_3 succeeds; certificates made and checked."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import anyio
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from opensqt.api.tls import TlsPolicyError, create_self_signed, fingerprint, load_or_create, probe_tls12
from tests.api.harness import Api
from tests.support.real_parts import require


def _s_client(version: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "s_client", version, "-alpn", "h2", "-connect", f"127.0.0.1:{port}"],
        input="",
        capture_output=True,
        text=True,
        errors="replace",
        timeout=20,
        check=False,
    )


async def test_openssl_tls12_fails_and_tls13_succeeds(api: Api) -> None:
    require(shutil.which("openssl") is not None, "openssl binary not installed")
    port = api.server.port
    assert port is not None
    tls12 = await anyio.to_thread.run_sync(_s_client, "-tls1_2", port)
    tls13 = await anyio.to_thread.run_sync(_s_client, "-tls1_3", port)
    assert tls12.returncode != 0
    assert "Cipher is (NONE)" in tls12.stdout
    assert tls13.returncode == 0
    assert "New, TLSv1.3, Cipher is TLS_" in tls13.stdout
    # And a gRPC client connects over that TLS 1.3.
    assert (await api.client().get_engine_status()).symbol == "BTCUSDT"


async def test_python_tls12_probe_is_refused(api: Api) -> None:
    assert api.server.port is not None
    assert await anyio.to_thread.run_sync(probe_tls12, "127.0.0.1", api.server.port) is False


def test_first_run_creates_a_self_signed_ecdsa_certificate_with_its_fingerprint(tmp_path: Path) -> None:
    first = load_or_create(None, None, tmp_path)
    second = load_or_create(None, None, tmp_path)
    key = tmp_path / "api" / "tls" / "key.pem"
    assert (first.created, second.created) == (True, False)
    assert first.cert_path == tmp_path / "api" / "tls" / "cert.pem"
    assert second.fingerprint == first.fingerprint
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(first.cert_path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip().split("=", 1)[1] == first.fingerprint


def test_an_rsa_certificate_is_refused_because_it_would_allow_tls12(tmp_path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "rsa.pem", tmp_path / "rsa.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(TlsPolicyError) as info:
        load_or_create(cert_file, key_file, tmp_path)
    assert str(info.value) == (
        f"tls_cert_file {cert_file}: expected an ECDSA (P-256) certificate; RSA would allow TLS 1.2"
    )


def test_configured_files_are_used_and_a_missing_one_is_named(tmp_path: Path) -> None:
    cert, key = create_self_signed(tmp_path / "mine")
    material = load_or_create(cert, key, tmp_path)
    assert (material.created, material.fingerprint) == (False, fingerprint(cert.read_bytes()))
    assert not (tmp_path / "api").exists()
    with pytest.raises(TlsPolicyError) as info:
        load_or_create(tmp_path / "absent.pem", key, tmp_path)
    assert (
        str(info.value) == f"tls_cert_file {tmp_path / 'absent.pem'}: cannot read (No such file or directory)"
    )
