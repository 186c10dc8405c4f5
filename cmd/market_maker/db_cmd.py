"""`market_maker db migrate | status`: apply `migrations/` (Atlas format) with the built-in runner, or show
where the database stands. The URL comes from `--url`, else the config's `app.database_url`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from opensqt.store import DEFAULT_MIGRATIONS_DIR, StoreError, migrate, status
from opensqt.store.engine import redact

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="database URL (default: config app.database_url)")
    common.add_argument(
        "--dir", type=Path, default=None, help=f"migrations directory (default: {DEFAULT_MIGRATIONS_DIR})"
    )
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    sub.add_parser(
        "migrate",
        parents=[common],
        help="verify atlas.sum and apply pending migrations, one transaction each",
    )
    sub.add_parser("status", parents=[common], help="applied and pending migrations; exit 1 unless current")


def _url(args: argparse.Namespace, settings: Any) -> str | None:
    if getattr(args, "url", None):
        return str(args.url)
    app = getattr(settings, "app", None)
    url = getattr(app, "database_url", None)
    return str(url) if url else None


def main(
    args: argparse.Namespace, settings: Any, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    url = _url(args, settings)
    if url is None:
        print("market_maker db: no database: give --url or set app.database_url", file=err)
        return EXIT_USAGE
    directory = args.dir or DEFAULT_MIGRATIONS_DIR
    where = redact(url)
    try:
        if args.db_command == "migrate":
            applied = migrate(url, directory)
            if applied:
                print(f"{where}: applied {len(applied)} migration(s): {', '.join(applied)}", file=out)
            else:
                print(f"{where}: schema is current, nothing to apply", file=out)
            return EXIT_OK
        st = status(url, directory)
    except StoreError as error:
        print(f"market_maker db {args.db_command}: {error}", file=err)
        return EXIT_FAILURE
    print(f"database: {where}", file=out)
    print(
        f"state:    {st.state} (current {st.current or 'none'}, latest {st.latest_file or 'none'})", file=out
    )
    for r in st.applied:
        flag = "ok" if r.complete else f"INCOMPLETE {r.applied}/{r.total}: {r.error or ''}"
        print(f"  applied {r.version}_{r.description}  {r.executed_at}  {flag}", file=out)
    for name in st.pending:
        print(f"  pending {name}", file=out)
    for version in st.unknown:
        print(f"  unknown {version} (from a newer OpenSQT)", file=out)
    return EXIT_OK if st.state == "OK" else EXIT_FAILURE


if __name__ == "__main__":
    # Standalone: `python -m market_maker.db_cmd migrate|status --url URL`.
    parser = argparse.ArgumentParser(prog="market_maker db", description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args(), None))
