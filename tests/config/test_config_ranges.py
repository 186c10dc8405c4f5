"""Hypothesis: a bad value for any ranged or choice field always gives a ConfigError naming that key."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

import annotated_types
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from opensqt.config import ConfigError, Settings, load_settings
from opensqt.config.types import unwrap_optional


def _leaves(model: type[BaseModel], path: list[str]) -> list[tuple[str, FieldInfo]]:
    found: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        inner, _ = unwrap_optional(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found += _leaves(inner, [*path, name])
        elif get_origin(inner) is dict:
            found += _leaves(get_args(inner)[1], [*path, name, "sim"])
        else:
            found.append((".".join([*path, name]), info))
    return found


def _bounds(info: FieldInfo) -> tuple[Any, Any]:
    low = high = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge | annotated_types.Gt):
            low = m
        elif isinstance(m, annotated_types.Le | annotated_types.Lt):
            high = m
    return low, high


STEP = Decimal("0.0001")
LEAVES = _leaves(Settings, [])
RANGED = [(p, i) for p, i in LEAVES if _bounds(i) != (None, None)]
CHOICES = [(p, unwrap_optional(i.annotation)[0]) for p, i in LEAVES]
CHOICES = [(p, a) for p, a in CHOICES if get_origin(a) is Literal]


def test_the_ranged_fields_are_found() -> None:
    paths = {p for p, _ in RANGED}
    assert {
        "trading.buy_window",
        "trading.sell_window",
        "trading.price_interval",
        "exchanges.sim.maker_fee",
        "risk_control.volume_multiplier",
        "arbitrage.liquidation_threshold",
    } <= paths
    assert len(RANGED) >= 60
    assert {p for p, _ in CHOICES} >= {"trading.grid_mode", "risk_control.global_strategy", "arbitrage.mode"}


def _out_of_range(info: FieldInfo) -> st.SearchStrategy[Any]:
    low, high = _bounds(info)
    is_int = unwrap_optional(info.annotation)[0] is int
    options: list[st.SearchStrategy[Any]] = []
    if low is not None:
        edge = Decimal(str(getattr(low, "ge", getattr(low, "gt", 0))))
        inclusive = isinstance(low, annotated_types.Ge)
        if is_int:
            options.append(st.integers(max_value=int(edge) - 1 if inclusive else int(edge)))
        else:
            top = edge - STEP if inclusive else edge
            options.append(st.decimals(max_value=top, allow_nan=False, allow_infinity=False, places=4))
    if high is not None:
        edge = Decimal(str(getattr(high, "le", getattr(high, "lt", 0))))
        inclusive = isinstance(high, annotated_types.Le)
        if is_int:
            options.append(st.integers(min_value=int(edge) + 1 if inclusive else int(edge)))
        else:
            bottom = edge + STEP if inclusive else edge
            options.append(st.decimals(min_value=bottom, allow_nan=False, allow_infinity=False, places=4))
    # Not "": a blank optional number means "unset", which is valid.
    options.append(st.sampled_from(["abc", "1e", "NaN", "Infinity", "--1", [], {}, True, 1.5]))
    return st.one_of(options)


@st.composite
def _bad_ranged(draw: st.DrawFn) -> tuple[str, Any]:
    path, info = draw(st.sampled_from(RANGED))
    return path, draw(_out_of_range(info))


@given(_bad_ranged())
def test_bad_ranged_value_names_its_key(case: tuple[str, Any]) -> None:
    path, value = case
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {path: value}, {})
    assert any(line.startswith(f"config error: {path} = ") for line in excinfo.value.lines()), (
        excinfo.value.lines()
    )


@given(st.sampled_from(CHOICES), st.text(min_size=1, max_size=12))
def test_bad_choice_names_its_key(choice: tuple[str, Any], text: str) -> None:
    path, literal = choice
    if text in get_args(literal) or text.upper() in get_args(literal):
        return
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {path: text}, {})
    lines = excinfo.value.lines()
    assert any(line.startswith(f"config error: {path} = ") for line in lines), lines
    assert any(", ".join(get_args(literal)) in line for line in lines), lines


@given(
    st.dictionaries(
        st.sampled_from([p for p, _ in LEAVES]),
        st.one_of(
            st.none(),
            st.text(max_size=8),
            st.integers(),
            st.booleans(),
            st.lists(st.text(max_size=3), max_size=2),
        ),
        max_size=4,
    )
)
def test_random_overrides_never_crash(overrides: dict[str, Any]) -> None:
    try:
        load_settings(None, overrides, {})
    except ConfigError as error:
        assert error.lines() and all(line.startswith("config error: ") for line in error.lines())
