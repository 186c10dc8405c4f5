"""Fixtures for simulated-venue tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opensqt.data import MarketData
from opensqt.testing.tapes import make_tape


@pytest.fixture
def tape() -> Callable[..., MarketData]:
    return make_tape
