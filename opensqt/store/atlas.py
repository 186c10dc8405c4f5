"""Atlas's versioned migration directory format: `atlas.sum` hashing and statement splitting, in Python.

A faithful port of ariga/atlas `sql/migrate/dir.go` (HashFile) and `lex.go` (Stmts), so this project's
runner and the Atlas CLI agree on every hash. The application never imports Atlas itself.

atlas.sum, exactly as Atlas writes it:
    h1:<base64 sha256 over (name, h) of every listed file, in order>
    <name> h1:<h>
where `h` is base64 of a *running* sha256: one hasher fed, for each `*.sql` file sorted by name, the
file name and then its bytes; `h` is the digest after that file. A file whose content starts with an
`atlas:sum ignore` directive feeds its name but not its bytes and gets no line.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from opensqt.store.errors import ChecksumError, MigrationError

SUM_FILE = "atlas.sum"

# Same pattern as Atlas's reDirective; Go's FindStringSubmatch anchors `^` at the start of the text only.
_DIRECTIVE = re.compile(r"^([ -~]*)atlas:(\w+)(?: +([ -~]*))*")


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One `<version>_<description>.sql` file of the migration directory."""

    name: str
    content: bytes

    @property
    def version(self) -> str:
        return self.name.removesuffix(".sql").split("_", 1)[0]

    @property
    def description(self) -> str:
        parts = self.name.split("_", 1)
        return parts[1].removesuffix(".sql") if len(parts) == 2 else ""

    def statements(self) -> list[str]:
        try:
            return split_statements(self.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MigrationError(f"migration {self.name}: cannot split into statements: {exc}") from None


def _directive(content: str, name: str) -> str | None:
    m = _DIRECTIVE.match(content)
    if m is not None and m.group(2) == name:
        return m.group(3) or ""
    return None


def read_files(directory: Path) -> list[MigrationFile]:
    """Every `*.sql` file in `directory`, sorted by name (byte order, as Go's sort of strings)."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory}: not found or not a directory")
    paths = sorted((p for p in directory.glob("*.sql") if p.is_file()), key=lambda p: p.name.encode())
    return [MigrationFile(p.name, p.read_bytes()) for p in paths]


def hash_files(files: list[MigrationFile]) -> list[tuple[str, str]]:
    """(name, h) for each listed file: Atlas's NewHashFile."""
    running = hashlib.sha256()
    out: list[tuple[str, str]] = []
    for f in files:
        running.update(f.name.encode())
        if _directive(f.content.decode("utf-8", errors="replace"), "sum") == "ignore":
            continue
        running.update(f.content)
        out.append((f.name, base64.b64encode(running.copy().digest()).decode()))
    return out


def total_sum(hashes: list[tuple[str, str]]) -> str:
    """The first line's hash: sha256 over every (name, h) pair, h as its base64 text (HashFile.Sum)."""
    h = hashlib.sha256()
    for name, digest in hashes:
        h.update(name.encode())
        h.update(digest.encode())
    return base64.b64encode(h.digest()).decode()


def render_sum(files: list[MigrationFile]) -> str:
    """The text of `atlas.sum` for these files (HashFile.MarshalText)."""
    hashes = hash_files(files)
    lines = [f"h1:{total_sum(hashes)}\n"] + [f"{name} h1:{digest}\n" for name, digest in hashes]
    return "".join(lines)


def parse_sum(text: str) -> list[tuple[str, str]]:
    """Parse `atlas.sum`; raise ChecksumError if it is malformed or its first line does not match the rest."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("h1:"):
        raise ChecksumError(f"{SUM_FILE}: line 1: expected 'h1:<sum>', got {lines[0] if lines else ''!r}")
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("h1:", 1)
        if len(parts) != 2:
            raise ChecksumError(f"{SUM_FILE}: line {number}: expected '<file> h1:<hash>', got {line!r}")
        entries.append((parts[0].strip(), parts[1]))
    if lines[0].removeprefix("h1:") != total_sum(entries):
        raise ChecksumError(
            f"{SUM_FILE}: its first line does not match its file lines: the sum file was edited"
        )
    return entries


def verify_directory(directory: Path) -> list[MigrationFile]:
    """The directory's files once `atlas.sum` matches them, else ChecksumError naming the differing file."""
    files = read_files(directory)
    sum_path = directory / SUM_FILE
    if not sum_path.exists():
        if files:
            raise ChecksumError(f"{sum_path}: missing; regenerate it with scripts/atlas_sum.py")
        return files
    recorded = dict(parse_sum(sum_path.read_text(encoding="utf-8")))
    actual = hash_files(files)
    for name, digest in actual:
        if name not in recorded:
            raise ChecksumError(f"{directory / name}: not listed in {SUM_FILE} (added after it was written)")
        if recorded[name] != digest:
            raise ChecksumError(
                f"{directory / name}: checksum mismatch with {SUM_FILE}: the file (or one sorted before it) "
                "was edited after it was applied; restore it and add a new migration instead"
            )
    missing = sorted(set(recorded) - {name for name, _ in actual})
    if missing:
        raise ChecksumError(f"{directory / missing[0]}: listed in {SUM_FILE} but missing from the directory")
    return files


# --- statement splitting: Atlas's lex.go for the default ';' delimiter ---------------------------------


def split_statements(text: str) -> list[str]:
    """Split SQL into statements the way Atlas does: leading comments dropped, `;` kept, text trimmed.

    Quotes (' " `), parentheses and comments (--, #, /* */) are respected; the `atlas:delimiter`
    directive is not supported (our migrations do not use it) and is refused.
    """
    if _directive(text, "delimiter") is not None:
        raise ValueError("the atlas:delimiter directive is not supported by this runner")
    stmts: list[str] = []
    rest = text.lstrip()
    while rest:
        stmt, rest = _next_statement(rest)
        if stmt:
            stmts.append(stmt)
        rest = rest.lstrip()
    return stmts


def _next_statement(s: str) -> tuple[str, str]:
    """One statement from the start of `s` (already left-trimmed) and the remaining input."""
    pos, depth, n = 0, 0, len(s)
    while pos < n:
        c = s[pos]
        pos += 1
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                raise ValueError(f"unexpected ')' at position {pos}")
            depth -= 1
        elif c in "'\"`":
            pos = _skip_quote(s, pos, c)
        elif c == ";" and depth == 0:
            return s[:pos].strip(), s[pos:]
        elif c == "#" or (c == "-" and s.startswith("-", pos)) or (c == "/" and s.startswith("*", pos)):
            left, right = ("#", "\n") if c == "#" else ("--", "\n") if c == "-" else ("/*", "*/")
            end = s.find(right, pos + len(left) - 1)
            if end == -1:
                # Atlas: "not a comment" when unterminated; the lexer carries on character by character.
                if c != "#":
                    pos += 1
                continue
            if pos == 1:
                # A comment before any statement text: dropped (Atlas keeps it apart as a comment).
                return "", s[end + len(right) :]
            pos = end + len(right)
    if depth > 0:
        raise ValueError("unclosed parentheses")
    return s.strip(), ""


def _skip_quote(s: str, pos: int, quote: str) -> int:
    n = len(s)
    while pos < n:
        c = s[pos]
        pos += 1
        if c == "\\":
            pos += 1
        elif c == quote:
            return pos
    raise ValueError(f"unclosed quote {quote!r}")
