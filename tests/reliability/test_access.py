"""Who gets in, on the real market_maker (engine on the simulated venue), not a fake: TLS 1.2 is refused
and TLS 1.3 works (openssl s_client), missing and wrong keys are UNAUTHENTICATED, the read-only key cannot
control, and the per-key rate limit answers RESOURCE_EXHAUSTED; nothing refused changes the engine."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from opensqt.api.client import ApiClient, ApiError
from opensqt.api.v1 import grid_pb2, grid_pb2_grpc
from opensqt.config import load_settings
from opensqt.engines.grid_runtime import run_market_maker
from tests.support.real_parts import require


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _run(tmp_path: Path, probe: Callable[[Any, Path, str], Awaitable[None]], **overrides: Any) -> Any:
    """market_maker with its API on a free loopback port; `probe(engine, data_dir, target)` once trading."""
    data_dir = tmp_path / "data"
    listen = f"127.0.0.1:{_free_port()}"
    settings = load_settings(
        None,
        {"app.data_dir": str(data_dir), "api.listen": listen, "logging.level": "WARNING", **overrides},
        {},
    )
    engines: list[Any] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def probing() -> None:
                with anyio.fail_after(60):
                    while not engines or engines[0].phase != "trading":
                        await anyio.sleep(0.05)
                await probe(engines[0], data_dir, listen)
                tg.cancel_scope.cancel()

            tg.start_soon(probing)
            await run_market_maker(
                settings, duration=Decimal(3600), speed=Decimal(20), out=io.StringIO(), ready=engines.append
            )

    anyio.run(main)
    return engines[0]


async def _code(call: Awaitable[Any]) -> tuple[str, str]:
    with pytest.raises(ApiError) as info:
        await call
    return info.value.code, info.value.details


def test_tls12_refused_keys_roles_and_rate_limit_on_the_real_engine(tmp_path: Path) -> None:
    require(shutil.which("openssl") is not None, "openssl binary not installed")
    seen: dict[str, Any] = {}

    async def probe(engine: Any, data_dir: Path, target: str) -> None:
        # grpc only now: opensqt.api must load first to pin the TLS 1.3 policy (GRPC_SSL_CIPHER_SUITES)
        import grpc
        from grpc import aio

        port = int(target.rsplit(":", 1)[1])
        seen["tls12"] = await anyio.to_thread.run_sync(_s_client, "-tls1_2", port)
        seen["tls13"] = await anyio.to_thread.run_sync(_s_client, "-tls1_3", port)
        cert = (data_dir / "api" / "tls" / "cert.pem").read_bytes()
        control = (data_dir / "api" / "control.key").read_text().strip()
        read_only = (data_dir / "api" / "read_only.key").read_text().strip()

        def client(key: str) -> ApiClient:
            return ApiClient(target, key, root_cert=cert, backoff=lambda attempt: 0.01)

        async with aio.secure_channel(target, grpc.ssl_channel_credentials(cert)) as channel:
            stub = grid_pb2_grpc.GridServiceStub(channel)  # type: ignore[no-untyped-call]
            with pytest.raises(aio.AioRpcError) as info:
                await stub.GetEngineStatus(grid_pb2.GetEngineStatusRequest())  # no key at all
            seen["missing"] = (info.value.code().name, info.value.details())
        async with client(control + "x") as wrong, client(read_only) as reader:
            seen["wrong"] = await _code(wrong.trip_breaker("let me in"))
            seen["read"] = (await reader.get_engine_status()).symbol
            seen["read_trip"] = await _code(reader.trip_breaker("not allowed"))
            seen["read_reset"] = await _code(reader.reset_breaker())
            seen["read_reconcile"] = await _code(reader.trigger_reconciliation())
            seen["breaker_after"] = engine.breaker.is_open
            # the per-key limit (5/s here): a burst of 20 calls is cut short; the other key is unaffected
            codes = []
            for _ in range(20):
                try:
                    await reader.get_breaker()
                    codes.append("OK")
                except ApiError as exc:
                    codes.append(exc.code)
            seen["burst"] = codes
        async with client(control) as admin:
            seen["control"] = (await admin.get_breaker()).is_open

    engine = _run(tmp_path, probe, **{"api.rate_limit_per_key": 5})
    assert seen["tls12"].returncode != 0 and "Cipher is (NONE)" in seen["tls12"].stdout
    assert seen["tls13"].returncode == 0 and "New, TLSv1.3, Cipher is TLS_" in seen["tls13"].stdout
    assert seen["missing"][0] == "UNAUTHENTICATED"
    assert seen["wrong"] == ("UNAUTHENTICATED", "invalid API key")
    assert seen["read"] == "BTC/USDT:USDT"
    assert {seen["read_trip"][0], seen["read_reset"][0], seen["read_reconcile"][0]} == {"PERMISSION_DENIED"}
    assert seen["breaker_after"] is False and engine.breaker.is_open is False
    burst = seen["burst"]
    assert "RESOURCE_EXHAUSTED" in burst and burst.count("OK") <= 6, burst
    assert seen["control"] is False
