#!/usr/bin/env bash
# How far past its `time-limit` a whole `flow run` ends: `flow init`'s pipeline for a
# generated table (deterministic), run with the limit `init` writes and with shorter ones.
#
# Usage: scripts/bench-time-limit.sh [ROWS] [LIMITS…]
#   defaults: 100000 rows × 20 numeric columns; limits 1m 30s
# Builds flow in release mode first (or uses $FLOW_BIN). Prints a Markdown table for
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-100000}"
shift || true
LIMITS=("$@")
if [ ${#LIMITS[@]} -eq 0 ]; then
    LIMITS=(1m 30s)
fi
WORK="${BENCH_DIR:-target/bench-time-limit}"

if [ -z "${FLOW_BIN:-}" ]; then
    cargo build --release --locked --quiet
    FLOW_BIN="$(realpath "${CARGO_TARGET_DIR:-target}")/release/flow"
fi
rm -rf "$WORK"
mkdir -p "$WORK"

# shellcheck source=scripts/lib/generate.sh
source scripts/lib/generate.sh
generate_csv "$ROWS" 20 > "$WORK/data.csv"
"$FLOW_BIN" init "$WORK" --dataset "$WORK/data.csv" --target y --name time-limit-bench \
    > /dev/null

seconds() { # a duration as flow writes it (30s, 1m, 2m30s) → seconds
    local text="$1" total=0 number
    while [[ $text =~ ^([0-9]+)([hms])(.*)$ ]]; do
        number="${BASH_REMATCH[1]}"
        case "${BASH_REMATCH[2]}" in
            h) total=$((total + number * 3600)) ;;
            m) total=$((total + number * 60)) ;;
            s) total=$((total + number)) ;;
        esac
        text="${BASH_REMATCH[3]}"
    done
    echo "$total"
}

echo
echo "$ROWS rows × 20 columns, \`flow init\`'s pipeline ($(grep -m1 -E '^ *model ' "$WORK/pipeline.kdl" | xargs), $(grep -m1 -E '^ *cv ' "$WORK/pipeline.kdl" | xargs)), $(nproc) cores"
echo
echo "| time-limit | wall time | over the limit | evaluations | stopped because |"
echo "|---|---|---|---|---|"
for limit in "${LIMITS[@]}"; do
    out="results-$limit"
    /usr/bin/time -f "%e" -o "$WORK/$limit.time" \
        "$FLOW_BIN" run "$WORK/pipeline.kdl" -S "search.time-limit=$limit" \
        -S "output=$out" -S search.iterations=100000 --quiet
    wall="$(cat "$WORK/$limit.time")"
    limit_s="$(seconds "$limit")"
    read -r evaluations reason < <("$FLOW_BIN" query "$WORK/$out" \
        "SELECT evaluations, stop_reason FROM runs" --format csv | tail -1 | tr ',' ' ')
    over="$(awk -v w="$wall" -v l="$limit_s" 'BEGIN { printf "%+.1f s (%+.1f %%)", w - l, 100 * (w - l) / l }')"
    printf '| %s | %s s | %s | %s | %s |\n' "$limit" "$wall" "$over" "$evaluations" "$reason"
done
