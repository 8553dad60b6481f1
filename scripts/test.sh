#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the crate-graph guard and every test.
# Usage: scripts/test.sh            (from anywhere inside the repository)
# Anything a test needs is installed here (SeaweedFS from PyPI for the S3 tests, DuckDB
# from PyPI for the exported SQL, Debian's Chromium for the HTML report), so this works on
# a fresh machine with the Rust toolchain, python3, curl and apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"
# Snapshot tests fail on a mismatch instead of writing new snapshots.
export INSTA_UPDATE=no

step() { printf '\n==> %s\n' "$*"; }

step "free disk space"
# A full disk fails far from its cause (a linker error, or the S3 server answering 500), so
# say it here. A cold build of the workspace and its tests takes about 6 GiB.
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
free_mib="$(df -Pm "$target_dir" | awk 'NR == 2 { print $4 }')"
echo "$free_mib MiB free under $target_dir"
if [[ "$free_mib" -lt 2048 ]]; then
    echo "warning: under 2 GiB free under $target_dir; the build or the S3 tests may fail for lack of space" >&2
fi

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "crate graph: the language and the standard library do not depend on DataFusion"
for crate in flow-dsl flow-stdlib; do
    if cargo tree --locked -p "$crate" -e normal --prefix none | grep -q '^datafusion'; then
        echo "error: $crate depends on DataFusion; keep it out (see docs/architecture.md)" >&2
        exit 1
    fi
done

step "a real S3-compatible server on loopback (SeaweedFS, for the S3 tests)"
S3_STATE="${FLOW_S3_STATE:-target/s3-test}"
eval "$(scripts/s3-server.sh start "$S3_STATE")"
trap 'scripts/s3-server.sh stop "$S3_STATE" >/dev/null 2>&1 || true' EXIT
# `flow` and the tests reach it like any S3-compatible endpoint.
export AWS_ENDPOINT="$FLOW_TEST_S3_ENDPOINT"
# The fault test stops and restarts this very server.
export FLOW_TEST_S3_STATE="$(pwd)/$S3_STATE"

step "Python with DuckDB (a second engine for the exported SQL)"
PY_ENV="${FLOW_TOOLS_DIR:-$HOME/.cache/flow-tools}/python"
if ! "$PY_ENV/bin/python" -c "import duckdb" 2>/dev/null; then
    python3 -m venv "$PY_ENV"
    "$PY_ENV/bin/python" -m pip install --quiet --disable-pip-version-check "duckdb==2.0.1"
fi
export FLOW_TEST_PYTHON="$PY_ENV/bin/python"

step "headless Chromium (renders the HTML report)"
FLOW_TEST_CHROMIUM="$(scripts/chromium.sh)"
export FLOW_TEST_CHROMIUM

step "tests (cargo test --workspace)"
cargo test --workspace --locked
