"""API keys: generation, the hashed keys file, constant-time lookup, and roles (read-only, control).

A key is `osk_` + 43 random URL-safe characters (256 bits). Servers keep only its SHA-256: with that much
entropy a slow hash (scrypt) adds nothing but latency to every call. Local clients read the raw key from a
0600 file under <data_dir>/api/, written on the first run when no key was configured.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from loguru import logger

from opensqt.api.tls import write_private

KEY_PREFIX = "osk_"
HEADER = "x-api-key"
KEYS_ENV = "OPENSQT_API_KEYS"
CLIENT_KEY_ENV = "OPENSQT_API_KEY"
KEYS_FILE = "keys"
CONTROL_KEY_FILE = "control.key"
READ_ONLY_KEY_FILE = "read_only.key"
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_MAX_PRESENTED = 256


class Role(StrEnum):
    READ_ONLY = "read_only"
    CONTROL = "control"

    def allows(self, needed: Role) -> bool:
        return self is Role.CONTROL or needed is Role.READ_ONLY


@dataclass(frozen=True, slots=True)
class Identity:
    """Who called: the key's id and role. Never the key."""

    key_id: str
    role: Role


@dataclass(frozen=True, slots=True)
class KeyEntry:
    key_id: str
    role: Role
    digest: bytes


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The keys-file form of a key: `sha256:<hex>`."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_line(key_id: str, role: Role, key: str) -> str:
    """One line of a keys file for `key` (what to append to add a key by hand)."""
    return f"{key_id} {role.value} {hash_key(key)}"


def parse_keys(text: str, source: str) -> tuple[KeyEntry, ...]:
    """Lines `<key_id> <read_only|control> sha256:<64 hex>`; blank lines and `#` comments are skipped.

    Errors name the source and line and what was expected, never the line's content (it may be a raw key).
    """
    entries: list[KeyEntry] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.replace(";", "\n").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        where = f"{source} line {number}"
        if len(parts) != 3:
            raise ValueError(f"{where}: expected '<key_id> <read_only|control> sha256:<hex>' (3 fields)")
        key_id, role, digest = parts
        if not _ID_RE.match(key_id):
            raise ValueError(f"{where}: key_id: expected 1-64 letters, digits or _.-")
        if key_id in seen:
            raise ValueError(f"{where}: key_id: duplicate id {key_id!r}")
        try:
            role_value = Role(role)
        except ValueError:
            raise ValueError(f"{where}: role: expected read_only or control") from None
        if not _DIGEST_RE.match(digest):
            raise ValueError(
                f"{where}: digest: expected sha256: and 64 lowercase hex digits (the hashed key)"
            )
        seen.add(key_id)
        entries.append(KeyEntry(key_id, role_value, bytes.fromhex(digest.removeprefix("sha256:"))))
    return tuple(entries)


class KeyRing:
    """The accepted keys. `identify` hashes the presented key and compares it with every entry in constant
    time (no early exit), so timing tells nothing about which bytes matched."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self._entries = tuple(entries)
        if not self._entries:
            raise ValueError("API keys: expected at least one key")

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, presented: str | None) -> Identity | None:
        if not presented or len(presented) > _MAX_PRESENTED:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        found: KeyEntry | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest) and found is None:
                found = entry
        return None if found is None else Identity(found.key_id, found.role)


@dataclass(frozen=True, slots=True)
class KeySetup:
    """Where the keys came from; `created` lists raw-key files written on this run."""

    keyring: KeyRing
    source: str
    created: tuple[Path, ...]


def api_dir(data_dir: Path) -> Path:
    return data_dir / "api"


def load_keys(keys_file: Path | None, data_dir: Path, env: Mapping[str, str] | None = None) -> KeySetup:
    """Keys from OPENSQT_API_KEYS, else the configured file, else <data_dir>/api/keys (created with a control
    and a read-only key on the first run)."""
    env = os.environ if env is None else env
    from_env = env.get(KEYS_ENV, "").strip()
    if from_env:
        return KeySetup(KeyRing(parse_keys(from_env, KEYS_ENV)), KEYS_ENV, ())
    if keys_file is not None:
        return KeySetup(
            KeyRing(parse_keys(_read_text(keys_file, "api_keys_file"), str(keys_file))), str(keys_file), ()
        )
    directory = api_dir(data_dir)
    default = directory / KEYS_FILE
    created: tuple[Path, ...] = ()
    if not default.exists():
        created = create_default_keys(directory)
    else:
        _warn_if_open(default)
    return KeySetup(
        KeyRing(parse_keys(_read_text(default, "api keys file"), str(default))), str(default), created
    )


def create_default_keys(directory: Path) -> tuple[Path, ...]:
    """Write control.key and read_only.key (raw keys, 0600) and the hashed keys file. Logs where they are."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    control, read_only = new_key(), new_key()
    control_path, read_path = directory / CONTROL_KEY_FILE, directory / READ_ONLY_KEY_FILE
    write_private(control_path, (control + "\n").encode())
    write_private(read_path, (read_only + "\n").encode())
    lines = [
        "# OpenSQT API keys: <key_id> <read_only|control> sha256:<hex of the key>. No raw keys here.",
        key_line("local-control", Role.CONTROL, control),
        key_line("local-read", Role.READ_ONLY, read_only),
    ]
    write_private(directory / KEYS_FILE, ("\n".join(lines) + "\n").encode())
    logger.info(
        "API keys created (mode 0600): control key in {}, read-only key in {}; hashes in {}",
        control_path,
        read_path,
        directory / KEYS_FILE,
    )
    return control_path, read_path


def read_client_key(path: Path) -> str:
    """A raw key from a key file (first non-empty line)."""
    for line in _read_text(path, "api key file").splitlines():
        if line.strip():
            return line.strip()
    raise ValueError(f"api key file {path}: expected a key on the first line, found an empty file")


def default_client_key(data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """OPENSQT_API_KEY, else <data_dir>/api/control.key, else read_only.key."""
    env = os.environ if env is None else env
    if env.get(CLIENT_KEY_ENV, "").strip():
        return env[CLIENT_KEY_ENV].strip()
    for name in (CONTROL_KEY_FILE, READ_ONLY_KEY_FILE):
        path = api_dir(data_dir) / name
        if path.exists():
            return read_client_key(path)
    raise ValueError(
        f"api key: none found; set {CLIENT_KEY_ENV} or start the server once to create "
        f"{api_dir(data_dir) / CONTROL_KEY_FILE}"
    )


def _read_text(path: Path, field: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"{field} {path}: cannot read ({reason})") from None


def _warn_if_open(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        logger.warning("{} is readable by group or others; expected mode 0600", path)
