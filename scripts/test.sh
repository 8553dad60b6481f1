#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the crate-graph guard and every test.
# Usage: scripts/test.sh            (from anywhere inside the repository)
# Anything a test needs is installed here, so this works on a fresh machine with only
# the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"
# Snapshot tests fail on a mismatch instead of writing new snapshots.
export INSTA_UPDATE=no

step() { printf '\n==> %s\n' "$*"; }

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

step "tests (cargo test --workspace)"
cargo test --workspace --locked
