"""`ApiServer`: the gRPC server over an engine's ports, TLS 1.3 only, with API keys, rate limits, health
checking and reflection. On first run it creates its certificate and keys under <data_dir>/api."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import grpc
from anyio.abc import TaskStatus
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from loguru import logger

from opensqt.api.auth import KeySetup, load_keys
from opensqt.api.guard import Auditor, AuditSink, Guard
from opensqt.api.ports import GridPort, PositionPort, RiskPort
from opensqt.api.ratelimit import KeyRateLimiter
from opensqt.api.services import GridServicer, PositionServicer, RiskServicer, add_grid_servicer
from opensqt.api.tls import TlsMaterial, TlsPolicyError, load_or_create, probe_tls12
from opensqt.api.v1 import grid_pb2, position_pb2, position_pb2_grpc, risk_pb2, risk_pb2_grpc
from opensqt.clock import Clock

DEFAULT_LISTEN = "127.0.0.1:50052"
SERVICE_NAMES = (
    grid_pb2.DESCRIPTOR.services_by_name["GridService"].full_name,
    risk_pb2.DESCRIPTOR.services_by_name["RiskService"].full_name,
    position_pb2.DESCRIPTOR.services_by_name["PositionService"].full_name,
)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """What the server needs from config. `rate_burst` None: one second's worth of calls."""

    listen: str = DEFAULT_LISTEN
    data_dir: Path = Path("data")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    api_keys_file: Path | None = None
    rate_limit_per_key: float = 20.0
    rate_burst: int | None = None

    @classmethod
    def from_config(cls, settings: Any) -> ApiSettings:
        """From the root config object (`settings.api`: ApiConfig, `settings.app.data_dir`)."""
        api = settings.api
        return cls(
            listen=api.listen,
            data_dir=Path(settings.app.data_dir),
            tls_cert_file=api.tls_cert_file,
            tls_key_file=api.tls_key_file,
            api_keys_file=api.api_keys_file,
            rate_limit_per_key=float(api.rate_limit_per_key),
        )


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"api listen: expected host:port such as {DEFAULT_LISTEN}, got {listen!r}")
    return host.strip("[]"), int(port)


class ApiServer:
    """Start with `await start()` (or `async with`, or `tg.start(server.serve)`), stop with `await stop()`."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        grid: GridPort,
        risk: RiskPort,
        positions: PositionPort,
        audit: AuditSink | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        rate_clock: Callable[[], float] | None = None,
        extra_services: Callable[[aio.Server], tuple[str, ...]] | None = None,
    ) -> None:
        self.settings = settings
        self._ports = (grid, risk, positions)
        self._audit = audit
        self._env = env
        self._clock = clock
        self._rate_clock = rate_clock
        self._extra = extra_services
        self._server: aio.Server | None = None
        self._health: Any = None
        self.port: int | None = None
        self.tls: TlsMaterial | None = None
        self.keys: KeySetup | None = None

    @property
    def target(self) -> str:
        host, _ = split_listen(self.settings.listen)
        return f"{host}:{self.port}"

    async def start(self) -> None:
        s = self.settings
        host, port = split_listen(s.listen)
        self.tls = load_or_create(s.tls_cert_file, s.tls_key_file, s.data_dir)
        if self.tls.created:
            logger.info(
                "API TLS certificate created: {} (SHA-256 fingerprint {})",
                self.tls.cert_path,
                self.tls.fingerprint,
            )
        self.keys = load_keys(s.api_keys_file, s.data_dir, self._env)
        limiter = KeyRateLimiter(
            s.rate_limit_per_key, s.rate_burst, **({"clock": self._rate_clock} if self._rate_clock else {})
        )
        auditor = Auditor(self._audit, self._clock)
        guard = Guard(self.keys.keyring, limiter, auditor)
        server = aio.server(
            interceptors=[guard],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 1 << 20)],
        )
        grid, risk, positions = self._ports
        add_grid_servicer(GridServicer(grid), server)
        risk_pb2_grpc.add_RiskServiceServicer_to_server(RiskServicer(risk, guard, auditor), server)  # type: ignore[no-untyped-call]
        position_pb2_grpc.add_PositionServiceServicer_to_server(PositionServicer(positions), server)  # type: ignore[no-untyped-call]
        names = SERVICE_NAMES + (self._extra(server) if self._extra else ())
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        credentials = grpc.ssl_server_credentials([(self.tls.key_pem, self.tls.cert_pem)])
        self.port = server.add_secure_port(
            f"{host}:{port}" if ":" not in host else f"[{host}]:{port}", credentials
        )
        if not self.port:
            raise OSError(f"api listen: cannot bind {s.listen}")
        await server.start()
        self._server = server
        if await anyio.to_thread.run_sync(probe_tls12, host, self.port):
            await self.stop(grace=None)
            raise TlsPolicyError(
                "the API accepted a TLS 1.2 handshake: import opensqt.api before grpc so that "
                "GRPC_SSL_CIPHER_SUITES is set in time, and use an ECDSA certificate"
            )
        for name in ("", *names):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        logger.info(
            "API listening on {} (TLS 1.3, certificate SHA-256 {}; {} API keys from {})",
            self.target,
            self.tls.fingerprint,
            len(self.keys.keyring),
            self.keys.source,
        )

    async def stop(self, grace: float | None = 1.0) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        await server.stop(grace)

    async def serve(
        self,
        on_stop: Callable[[], None] | None = None,
        *,
        task_status: TaskStatus[ApiServer] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run until cancelled, for `await task_group.start(server.serve)` (ready once listening).
        `on_stop` runs first when cancelled (an engine closes its hubs there, so streams end cleanly)."""
        await self.start()
        try:
            task_status.started(self)
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                if on_stop is not None:
                    on_stop()
                await self.stop()

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
