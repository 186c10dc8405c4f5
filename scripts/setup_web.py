"""Install the web page's chart library from npm (not committed); skip with a note when npm is absent."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "opensqt" / "web"


def main() -> int:
    if not (WEB / "package.json").exists():
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("setup: npm not found; the live page falls back to its built-in chart", file=sys.stderr)
        return 0
    result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=WEB, check=False)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
