"""Generate the gRPC Python stubs of proto/opensqt/api/v1 into opensqt/api/v1 (`just proto`).

The stubs are committed; tests/api/test_stubs_current.py regenerates them into a temporary folder and fails
when they differ, so an edited .proto without `just proto` cannot pass CI.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PROTO_DIR = PROTO_ROOT / "opensqt" / "api" / "v1"


def generate(out: Path) -> list[Path]:
    """Run protoc over every .proto into `out` (a package root); return the generated files."""
    protos = sorted(PROTO_DIR.glob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_DIR}")
    out.mkdir(parents=True, exist_ok=True)
    well_known = resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(p.relative_to(PROTO_ROOT)) for p in protos),
    ]
    # protoc resolves the relative proto names against the -I folder, so run it from the repository root.
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    generated = sorted((out / "opensqt" / "api" / "v1").glob("*_pb2*.py*"))
    return generated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT, help="package root to write into (default: repo)")
    args = parser.parse_args(argv)
    files = generate(args.out.resolve())
    for path in files:
        print(path.relative_to(args.out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
