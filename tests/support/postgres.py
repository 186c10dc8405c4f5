"""A throwaway real PostgreSQL for tests and benchmarks: Debian's binaries, a temp data dir, a loopback port.

`postgres_server` (session fixture) starts one server as the `postgres` user and yields its URL;
`postgres_url` (function fixture) gives each test its own fresh database on it. Without the binaries
the tests skip (and fail under CI=true) through `tests.support.real_parts.require`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.real_parts import require


def find_bin_dir() -> Path | None:
    """The newest installed `/usr/lib/postgresql/<major>/bin` that has initdb and pg_ctl."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    for initdb in reversed(candidates):
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One postgres process on 127.0.0.1. `fsync=False` is for tests; benchmarks keep real durability."""

    def __init__(self, bin_dir: Path, *, fsync: bool = False) -> None:
        self.bin_dir = bin_dir
        self.fsync = fsync
        self.port = _free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="opensqt-pg-"))
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            # initdb refuses to run as root: run the server tools as the `postgres` system user.
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")

    def start(self) -> PostgresServer:
        if self._as_root:
            shutil.chown(self.data_dir, "postgres", "postgres")
        self.data_dir.chmod(0o700)
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=50"
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.data_dir / "log"), "-w", "start"
        )
        return self

    def create_database(self, name: str) -> str:
        """Create a fresh database and return its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    require(
        bin_dir is not None and (os.geteuid() != 0 or shutil.which("runuser") is not None),
        "PostgreSQL binaries not found (apt-get install postgresql)",
    )
    assert bin_dir is not None
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
