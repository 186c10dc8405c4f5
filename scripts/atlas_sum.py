"""Regenerate (or with --check, verify) migrations/atlas.sum exactly as `atlas migrate hash` would write it.

Usage: python scripts/atlas_sum.py [--dir migrations] [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opensqt.store.atlas import SUM_FILE, read_files, render_sum, verify_directory
from opensqt.store.errors import StoreError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent.parent / "migrations")
    parser.add_argument("--check", action="store_true", help="verify atlas.sum instead of rewriting it")
    args = parser.parse_args(argv)
    try:
        if args.check:
            files = verify_directory(args.dir)
            print(f"{args.dir / SUM_FILE}: ok ({len(files)} files)")
            return 0
        text = render_sum(read_files(args.dir))
    except StoreError as exc:
        print(f"atlas_sum: {exc}", file=sys.stderr)
        return 1
    (args.dir / SUM_FILE).write_text(text, encoding="utf-8", newline="\n")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
