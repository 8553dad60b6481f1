#!/usr/bin/env bash
# Peak memory of a whole `flow run` with and without `--memory-limit`, on generated data
# (deterministic), and whether the two runs searched alike; then of a small table (5,000
# rows × 9 columns) under `flow init`'s pipeline, whose memory should follow its data.
#
# Usage: scripts/bench-memory.sh [ROWS] [ITERATIONS] [LIMIT]
#   defaults: 100000 rows × 20 numeric columns, 150 iterations, limit 600MiB
# Builds flow in release mode first (or uses $FLOW_BIN). Prints a Markdown table for
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-100000}"
ITERATIONS="${2:-150}"
LIMIT="${3:-600MiB}"
WORK="${BENCH_DIR:-target/bench-memory}"

if [ -z "${FLOW_BIN:-}" ]; then
    cargo build --release --locked --quiet
    FLOW_BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/flow"
fi
FLOW="$FLOW_BIN"
rm -rf "$WORK"
mkdir -p "$WORK"

# shellcheck source=scripts/lib/generate.sh
source scripts/lib/generate.sh
generate_csv "$ROWS" 20 > "$WORK/data.csv"

bench_pipeline memory-bench data.csv results "iterations $ITERATIONS" > "$WORK/pipeline.kdl"

run() { # name, extra args… → peak RSS in KiB and wall seconds
    local name="$1"
    shift
    /usr/bin/time -f "%M %e" -o "$WORK/$name.time" \
        "$FLOW" run "$WORK/pipeline.kdl" -S "output=$name" --quiet "$@"
}

run unbounded
run bounded --memory-limit "$LIMIT"

mkdir -p "$WORK/small"
generate_csv 5000 9 > "$WORK/small/data.csv"
"$FLOW" init "$WORK/small" --dataset "$WORK/small/data.csv" --target y --name small > /dev/null
/usr/bin/time -f "%M %e" -o "$WORK/small.time" \
    "$FLOW" run "$WORK/small/pipeline.kdl" -S "output=../small-results" --quiet

log="SELECT iteration, node_id, status, new_feature_sql, mean FROM evaluations ORDER BY iteration"
same="no"
if cmp -s <("$FLOW" query "$WORK/unbounded" "$log" --format csv) \
    <("$FLOW" query "$WORK/bounded" "$log" --format csv); then
    same="yes"
fi

row() { # name, label, results directory (default: $WORK/name)
    local kib seconds evaluations
    read -r kib seconds < "$WORK/$1.time"
    evaluations="$("$FLOW" query "${3:-$WORK/$1}" "SELECT evaluations FROM runs" --format csv | tail -1)"
    printf '| %s | %s | %s s | %s MiB |\n' "$2" "$evaluations" "$seconds" "$((kib / 1024))"
}

echo
echo "$ROWS rows × 20 columns, $ITERATIONS iterations, linear-regression 5-fold"
echo
echo "| run | evaluations | wall time | peak RSS |"
echo "|---|---|---|---|"
row unbounded "no limit"
row bounded "--memory-limit $LIMIT"
echo
echo "same evaluations in both runs: $same"
echo
echo "5000 rows × 9 columns, \`flow init\`'s pipeline ($(grep -m1 -E '^ *model ' "$WORK/small/pipeline.kdl" | xargs))"
echo
echo "| run | evaluations | wall time | peak RSS |"
echo "|---|---|---|---|"
row small "no limit (¾ of the machine)" "$WORK/small-results"
