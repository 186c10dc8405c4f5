"""Test and rehearsal helpers shipped with the library: loopback venue servers, fixture transports."""
