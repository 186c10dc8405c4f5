"""Helpers for the agent API tests: a FakeEngine behind a real ApiServer on 127.0.0.1 with TLS, and clients.

Any `opensqt.api...` import runs the package first, which sets GRPC_SSL_CIPHER_SUITES before grpc loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from opensqt.api.client import ApiClient
from opensqt.api.fake import FakeEngine
from opensqt.api.ports import AuditRecord
from opensqt.api.server import ApiServer, ApiSettings


class FrozenClock:
    """A monotonic clock for the rate limiter that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    server: ApiServer
    engine: FakeEngine
    data_dir: Path
    audits: list[AuditRecord]
    rate_clock: FrozenClock
    clients: list[ApiClient] = field(default_factory=list)

    @property
    def control_key(self) -> str:
        return (self.data_dir / "api" / "control.key").read_text().strip()

    @property
    def read_key(self) -> str:
        return (self.data_dir / "api" / "read_only.key").read_text().strip()

    @property
    def cert(self) -> bytes:
        assert self.server.tls is not None
        return self.server.tls.cert_pem

    def client(self, key: str | None = None, **kwargs: object) -> ApiClient:
        client = ApiClient(
            self.server.target,
            self.control_key if key is None else key,
            root_cert=self.cert,
            backoff=lambda attempt: 0.05,
            **kwargs,  # type: ignore[arg-type]
        )
        self.clients.append(client)
        return client


def make_server(
    data_dir: Path,
    engine: FakeEngine,
    audits: list[AuditRecord],
    clock: FrozenClock,
    rate: float = 1000.0,
    listen: str = "127.0.0.1:0",
) -> ApiServer:
    return ApiServer(
        ApiSettings(listen=listen, data_dir=data_dir, rate_limit_per_key=rate),
        grid=engine,
        risk=engine,
        positions=engine,
        audit=audits.append,
        env={},
        rate_clock=clock,
    )
