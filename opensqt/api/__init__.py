"""The agent API: gRPC services over engine state, with TLS 1.3 and API keys."""
