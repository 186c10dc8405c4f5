"""Hypothesis-generated bad input from outside: config files, gRPC request fields, data files. Each ends in
one clear error naming the key, field or line (or loads fine), never a crash, and changes no state."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opensqt.api.services import InvalidArgument, page_arg, symbol_arg, text_arg
from opensqt.api.v1 import common_pb2
from opensqt.config import ConfigError, Settings, load_settings
from opensqt.data import DataError, MarketData, load_binance_capture, load_binance_klines_csv, load_trades
from opensqt.exchanges.sim import BTC_USDT_PERP

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = (REPO / "configs" / "market_maker.yaml").read_text()
# leaf lines of the example config: `  key: value` (value not a nested block, not a comment)
LEAVES = [
    (n, m.group(1), m.group(2))
    for n, line in enumerate(EXAMPLE.splitlines())
    if (m := re.match(r"^\s+([a-z_]+):\s+([^#\s][^#]*?)\s*(#.*)?$", line))
]
BAD_SCALARS = st.one_of(
    st.sampled_from(
        [
            "NaN",
            ".nan",
            ".inf",
            "-.inf",
            "-1",
            "0",
            "1e999",
            "-1e999",
            "true",
            "null",
            "[]",
            "{}",
            "''",
            "x" * 300,
            "9" * 40,
            "'${UNSET_VARIABLE}'",
            "[1, 2",
            "{a: ",
            "!!python/object:os.system ls",
            "0x1F",
            "1_000",
            "😀",
            '"\\u0000"',
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def _no_secret_echo(error: ConfigError, secret: str) -> None:
    assert secret not in str(error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leaf=st.sampled_from(LEAVES), value=BAD_SCALARS)
def test_a_bad_value_in_the_config_file_is_one_error_naming_its_key(
    tmp_path: Path, leaf: tuple[int, str, str], value: str
) -> None:
    line_no, key, _ = leaf
    lines = EXAMPLE.splitlines()
    indent = lines[line_no][: len(lines[line_no]) - len(lines[line_no].lstrip())]
    lines[line_no] = f"{indent}{key}: {value}"
    path = tmp_path / "c.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"BINANCE_API_KEY": "AKIA-secret-key-123", "BINANCE_API_SECRET": "shh-secret-456"}
    try:
        settings_ = load_settings(path, None, env)
    except ConfigError as error:
        text = error.lines()
        assert text and all(line.startswith("config error: ") for line in text)
        # the key, or the file's line (a YAML syntax error), is named
        assert any(key in line or f"line {line_no + 1}" in line or str(path) in line for line in text), text
        _no_secret_echo(error, "shh-secret-456")
        return
    assert isinstance(settings_, Settings)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=1, max_value=len(EXAMPLE.encode()) - 1), junk=st.binary(max_size=8))
def test_a_truncated_or_corrupted_config_file_never_crashes(tmp_path: Path, cut: int, junk: bytes) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(EXAMPLE.encode()[:cut] + junk)
    try:
        load_settings(path, None, {})
    except ConfigError as error:
        assert error.lines() and all(line.startswith("config error: ") for line in error.lines())


# --- gRPC request fields (the validators every servicer calls; tests/api proves them over TLS) --------------

FIELD = re.compile(r"^(page\.)?[a-z_.]+: ")


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    token=st.text(max_size=600),
    symbol=st.text(max_size=60),
    since=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    until=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_page_requests_are_accepted_or_invalid_argument_naming_the_field(
    size: int, token: str, symbol: str, since: int | None, until: int | None
) -> None:
    page = common_pb2.PageRequest(page_size=size, page_token=token, symbol=symbol)
    if since is not None:
        page.since_ms = since
    if until is not None:
        page.until_ms = until
    try:
        query = page_arg(page)
    except InvalidArgument as exc:
        assert FIELD.match(str(exc)), str(exc)
        return
    assert 1 <= query.page_size <= 1000
    assert query.since_ms is None or query.since_ms >= 0
    assert query.since_ms is None or query.until_ms is None or query.since_ms < query.until_ms


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=700), required=st.booleans())
def test_texts_and_symbols_are_accepted_or_invalid_argument_naming_the_field(
    text: str, required: bool
) -> None:
    try:
        reason = text_arg(text, "reason", required=required)
        assert reason.isprintable() and len(reason) <= 500 and (reason or not required)
    except InvalidArgument as exc:
        assert str(exc).startswith("reason: ")
    try:
        symbol = symbol_arg(text)
        assert symbol is None or re.fullmatch(r"[A-Za-z0-9_./:-]{1,40}", symbol)
    except InvalidArgument as exc:
        assert str(exc).startswith("symbol: ")


# --- data files ---------------------------------------------------------------------------------------------

TRADE = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":2,"T":2,"s":"BTCUSDT","t":1,"p":"61800.30",'
    '"q":"0.006","m":false}}'
)
BOOK = (
    '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"61800.20","B":"2.507",'
    '"a":"61800.30","A":"2.510","T":1,"E":1}}'
)
CAPTURE = gzip.compress("".join(f"{n} {line}\n" for n, line in enumerate([BOOK, TRADE] * 50)).encode())
KLINES = "".join(
    f"{1700000000000 + i * 60000},100.{i % 10},101.0,99.0,100.5,2.000,{1700000059999 + i * 60000},"
    "200,10,1,100,0\n"
    for i in range(30)
).encode()
TRADES = (
    "timestamp,price,quantity,side\n" + "".join(f"{i},100.{i % 10},0.5,buy\n" for i in range(30))
).encode()


def _mutate(data: bytes, at: int, junk: bytes, cut: bool) -> bytes:
    at = at % len(data)
    return data[:at] if cut else data[:at] + junk + data[at + len(junk) :]


def _loads_or_names_line(load: object, path: Path) -> None:
    try:
        data = load(path, BTC_USDT_PERP)  # type: ignore[operator]
    except DataError as exc:
        assert exc.field, str(exc)
        # located: a line of the file, a data row (an order problem found after parsing), or the file
        assert "line" in str(exc) or " row " in str(exc) or exc.field == "file", str(exc)
        return
    assert isinstance(data, MarketData)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["capture", "klines", "trades"]),
    at=st.integers(min_value=0, max_value=10**6),
    junk=st.binary(min_size=1, max_size=6),
    cut=st.booleans(),
)
def test_truncated_or_corrupted_data_files_are_one_data_error(
    tmp_path: Path, which: str, at: int, junk: bytes, cut: bool
) -> None:
    original, load, name = {
        "capture": (CAPTURE, load_binance_capture, "c.gz"),
        "klines": (KLINES, load_binance_klines_csv, "k.csv"),
        "trades": (TRADES, load_trades, "t.csv"),
    }[which]
    path = tmp_path / name
    path.write_bytes(_mutate(original, at, junk, cut))
    _loads_or_names_line(load, path)
