"""The agent API: gRPC services over engine state, with TLS 1.3 only, API keys and per-key rate limits.

Importing this package restricts gRPC's TLS 1.2 cipher list (see `opensqt.api.tls`) before grpc is loaded:
import `opensqt.api` before anything imports grpc.
"""

from opensqt.api.tls import restrict_tls12_ciphers

restrict_tls12_ciphers()

# grpc core writes its own INFO lines to stderr (one per refused TLS 1.2 handshake, including the server's
# start-up self-check): keep only its errors unless the operator asks for more.
import os as _os  # noqa: E402

_os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
