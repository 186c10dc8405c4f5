"""API keys: the keys file format, constant-time lookup, roles, first-run key files and the rate limiter."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.api.auth import (
    Identity,
    KeyRing,
    Role,
    default_client_key,
    hash_key,
    key_line,
    load_keys,
    new_key,
    parse_keys,
)
from opensqt.api.ratelimit import KeyRateLimiter


def test_keys_file_lines_parse_and_identify_the_right_key() -> None:
    control, reader = new_key(), new_key()
    text = (
        f"# comment\n\n{key_line('ops', Role.CONTROL, control)}\n{key_line('ui', Role.READ_ONLY, reader)}\n"
    )
    ring = KeyRing(parse_keys(text, "keys"))
    assert ring.identify(control) == Identity("ops", Role.CONTROL)
    assert ring.identify(reader) == Identity("ui", Role.READ_ONLY)
    assert ring.identify(control[:-1]) is None
    assert ring.identify("") is None
    assert ring.identify(None) is None
    assert ring.identify("x" * 10_000) is None


def test_env_form_separates_entries_with_semicolons() -> None:
    key = new_key()
    setup = load_keys(None, Path("/nonexistent"), {"OPENSQT_API_KEYS": f"a control {hash_key(key)};"})
    assert (setup.source, setup.created, setup.keyring.identify(key)) == (
        "OPENSQT_API_KEYS",
        (),
        Identity("a", Role.CONTROL),
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ops control", "keys line 2: expected '<key_id> <read_only|control> sha256:<hex>' (3 fields)"),
        ("o/ps control sha256:" + "0" * 64, "keys line 2: key_id: expected 1-64 letters, digits or _.-"),
        ("ops admin sha256:" + "0" * 64, "keys line 2: role: expected read_only or control"),
        (
            "ops control osk_rawkeyvalue",
            "keys line 2: digest: expected sha256: and 64 lowercase hex digits (the hashed key)",
        ),
        ("first control sha256:" + "1" * 64, "keys line 2: key_id: duplicate id 'first'"),
    ],
)
def test_a_bad_keys_line_is_one_error_naming_line_and_field_without_its_content(
    line: str, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        parse_keys("first read_only sha256:" + "0" * 64 + "\n" + line, "keys")
    assert str(info.value) == message
    assert "osk_rawkeyvalue" not in str(info.value)


def test_roles() -> None:
    assert Role.CONTROL.allows(Role.CONTROL) and Role.CONTROL.allows(Role.READ_ONLY)
    assert Role.READ_ONLY.allows(Role.READ_ONLY) and not Role.READ_ONLY.allows(Role.CONTROL)


def test_first_run_writes_both_keys_0600_and_only_hashes_in_the_keys_file(tmp_path: Path) -> None:
    setup = load_keys(None, tmp_path, {})
    api = tmp_path / "api"
    assert setup.created == (api / "control.key", api / "read_only.key")
    control = (api / "control.key").read_text().strip()
    reader = (api / "read_only.key").read_text().strip()
    for name in ("control.key", "read_only.key", "keys"):
        assert stat.S_IMODE((api / name).stat().st_mode) == 0o600
    keys_text = (api / "keys").read_text()
    assert control not in keys_text and reader not in keys_text
    assert hash_key(control) in keys_text
    assert setup.keyring.identify(control) == Identity("local-control", Role.CONTROL)
    assert setup.keyring.identify(reader) == Identity("local-read", Role.READ_ONLY)
    # The second run reuses them; the client finds the control key by default, an env key first.
    again = load_keys(None, tmp_path, {})
    assert again.created == () and again.keyring.identify(control) is not None
    assert default_client_key(tmp_path, {}) == control
    assert default_client_key(tmp_path, {"OPENSQT_API_KEY": "osk_env"}) == "osk_env"
    with pytest.raises(ValueError, match="api key: none found"):
        default_client_key(tmp_path / "elsewhere", {})


@given(st.text(min_size=1, max_size=80))
def test_no_other_text_is_identified_as_a_key(other: str) -> None:
    key = "osk_" + "A" * 43
    ring = KeyRing(parse_keys(key_line("k", Role.CONTROL, key), "keys"))
    assert ring.identify(other) == (Identity("k", Role.CONTROL) if other == key else None)


def test_rate_limiter_spends_per_key_and_refills_with_time() -> None:
    now = [0.0]
    limiter = KeyRateLimiter(2, burst=3, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b") is True
    now[0] = 0.5  # one token per half second
    assert [limiter.allow("a"), limiter.allow("a")] == [True, False]
    with pytest.raises(ValueError, match="rate_limit_per_key: expected > 0"):
        KeyRateLimiter(0)
