from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("live_server: not implemented yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
