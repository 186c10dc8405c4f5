"""Generated protobuf and gRPC stubs of package opensqt.api.v1 (`just proto`; do not edit by hand)."""
