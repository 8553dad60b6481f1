#!/usr/bin/env bash
# Does flow's feature set help the model people ship, on rows it never saw, and how does it
# compare with OpenFE? Runs the peer protocol (scripts/peers/protocol.py: 5 stratified folds;
# flow init + flow run on the training fold only, flow apply on both folds; OpenFE fitted on
# the same training fold; LightGBM with 200 trees scored on the test fold) on the datasets
# in ../shared/data (bikeshare, breast_cancer, diabetes, diamonds, seattle_weather; each is
# skipped with a message when absent), prints the table and writes it into
# docs/benchmarks.md between the `bench-peers` markers.
#
# Usage: scripts/bench-peers.sh [seconds of flow search per fold, default 120] [--folds N]
#        [--skip-openfe | --fresh-openfe] [datasets…]
# OpenFE's result on a fold is stored in the fold's work folder and reused by later runs
# (it does not depend on flow); --fresh-openfe runs it again.
# LightGBM and OpenFE are installed from PyPI into $FLOW_TOOLS_DIR/peers (default
# ~/.cache/flow-tools/peers). Uses $FLOW_BIN when set, else builds flow in release mode.
# Work files go to target/bench-peers/. Takes about 5 folds × (budget + OpenFE) per dataset.
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET="${1:-120}"
shift || true
DATA_DIR="${FLOW_SHARED_DATA:-../shared/data}"
WORK="$(pwd)/target/bench-peers"
PEERS_ENV="${FLOW_TOOLS_DIR:-$HOME/.cache/flow-tools}/peers"

# OpenFE 0.0.12 calls scikit-learn's `mean_squared_error(squared=…)`, gone in 1.6, and
# imports matplotlib; hence these pins.
if ! "$PEERS_ENV/bin/python" -c "import lightgbm, openfe, sklearn, pandas" 2>/dev/null; then
    python3 -m venv "$PEERS_ENV"
    "$PEERS_ENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "lightgbm==4.7.0" "openfe==0.0.12" "scikit-learn==1.5.2" "pandas==2.2.3" \
        "numpy==2.1.3" "pyarrow==26.0.1" "matplotlib==3.11.2"
fi

if [ -n "${FLOW_BIN:-}" ]; then
    FLOW="$FLOW_BIN"
else
    cargo build --release --locked -p flow >&2
    FLOW="$(pwd)/target/release/flow"
fi

mkdir -p "$WORK"
"$PEERS_ENV/bin/python" scripts/peers/protocol.py \
    --flow "$FLOW" --data "$DATA_DIR" --work "$WORK" --budget "$BUDGET" \
    --table "$WORK/table.md" "$@"

# The table replaces what stands between the markers in docs/benchmarks.md.
"$PEERS_ENV/bin/python" - "$WORK/table.md" docs/benchmarks.md <<'PY'
import sys
table, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
start, end = "<!-- bench-peers:start -->", "<!-- bench-peers:end -->"
if start not in doc or end not in doc:
    sys.exit(f"{sys.argv[2]} has no {start} … {end} markers to write the table between")
before, rest = doc.split(start, 1)
after = rest.split(end, 1)[1]
open(sys.argv[2], "w").write(f"{before}{start}\n{table}{end}{after}")
print(f"wrote the table into {sys.argv[2]}", file=sys.stderr)
PY
