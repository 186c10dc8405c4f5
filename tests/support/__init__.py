"""Shared test support: real-part guards, fixtures that start real servers."""
