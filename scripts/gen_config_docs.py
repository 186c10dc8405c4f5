"""Write docs/CONFIG.md from the config models (`--check`: exit 1 if the file is out of date instead)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opensqt.config.docs import render_config_docs

DOC = Path(__file__).resolve().parent.parent / "docs" / "CONFIG.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check that docs/CONFIG.md is current")
    args = parser.parse_args(argv)
    text = render_config_docs()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if args.check:
        if current != text:
            print(f"{DOC} is out of date: run scripts/gen_config_docs.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
