"""The live web page over market_maker's gRPC API (`live_server`): the view, the gRPC-to-browser bridge and
the Starlette app. Importing it goes through `opensqt.api` first, so grpc starts with the TLS 1.3 policy."""

from __future__ import annotations

import opensqt.api  # noqa: F401  (sets GRPC_SSL_CIPHER_SUITES before anything imports grpc)
from opensqt.web.app import WebSettings, create_app
from opensqt.web.bridge import ApiBridge
from opensqt.web.broadcast import Broadcaster
from opensqt.web.server import LiveServer
from opensqt.web.view import LiveView

__all__ = ["ApiBridge", "Broadcaster", "LiveServer", "LiveView", "WebSettings", "create_app"]
