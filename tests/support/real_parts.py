"""Guards for tests that need a real external part (PostgreSQL, chromium, openssl, npm).

On a user's machine without the part such a test skips with the reason; under `CI=true` a missing part
fails the test instead, so CI can never pass by skipping what it must run.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test when a real part is missing."""
    if available:
        return
    if in_ci():
        pytest.fail(f"real part missing under CI=true: {reason}")
    pytest.skip(reason)
