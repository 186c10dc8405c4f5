"""The agent API: gRPC services over engine state, with TLS 1.3 only, API keys and per-key rate limits.

Importing this package restricts gRPC's TLS 1.2 cipher list (see `opensqt.api.tls`) before grpc is loaded:
import `opensqt.api` before anything imports grpc.
"""

from opensqt.api.tls import restrict_tls12_ciphers

restrict_tls12_ciphers()
