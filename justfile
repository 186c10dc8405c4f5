# OpenSQT tasks. `just` comes from PyPI (rust-just), installed by `pip install -e '.[dev]'`.
set shell := ["bash", "-euo", "pipefail", "-c"]

py := if path_exists(".venv/bin/python") == "true" { ".venv/bin/python" } else { "python3" }

# Create .venv, install opensqt with dev extras, and the web page's chart library when npm is present.
setup:
    test -x .venv/bin/python || python3 -m venv .venv
    .venv/bin/pip install -q -e '.[dev]'
    {{py}} scripts/setup_web.py

# Run market_maker on the embedded simulated venue (extra args pass through).
run *ARGS:
    {{py}} -m market_maker {{ARGS}}

# The test suite with coverage (floor 80% on model, trading, risk).
test *ARGS:
    {{py}} -m pytest --cov --cov-report=term --durations=25 {{ARGS}}

# ruff and mypy (strict on opensqt/model, opensqt/trading, opensqt/risk).
lint:
    {{py}} -m ruff check .
    {{py}} -m mypy opensqt cmd/market_maker cmd/arbitrage_bot cmd/live_server

# Benchmarks: print the figures recorded in docs/PERFORMANCE.md.
bench:
    for f in bench/bench_*.py; do echo "== $f"; {{py}} "$f"; done

# Regenerate the gRPC stubs from proto/.
proto:
    {{py}} scripts/gen_proto.py

# Apply migrations: the Atlas CLI when installed, else the built-in runner (same files, same atlas.sum).
migrate URL="":
    if command -v atlas >/dev/null; then atlas migrate apply --dir file://migrations --url "{{URL}}"; else {{py}} -m market_maker db migrate {{ if URL != "" { "--url " + URL } else { "" } }}; fi

# Rewrite docs/img/live_server.png (the README's picture) from the browser test's page.
screenshot:
    OPENSQT_UPDATE_SCREENSHOT=1 {{py}} -m pytest -q tests/web/test_browser.py -k follows_the_grid

# Regenerate docs/CONFIG.md from the config models.
docs:
    {{py}} scripts/gen_config_docs.py

# The long reliability suite (soak, many crashes).
soak:
    OPENSQT_SOAK=1 {{py}} -m pytest tests/reliability -m slow -q
