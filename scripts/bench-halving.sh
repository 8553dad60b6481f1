#!/usr/bin/env bash
# Does successive halving find better features per minute? Runs shipped examples under the
# same wall-time budget with and without `search.halving`, for several seeds, with a tree
# model (where the screen's linear view can misjudge candidates), and prints the best
# cross-validated score each run reached, its evaluations, and the mean per setting.
#
# Usage: scripts/bench-halving.sh [seconds per run, default 90] [seeds, default "1 2 3"]
# Uses $FLOW_BIN when set, else builds flow in release mode. Work files go to
# target/bench-halving/. Takes 2 settings × seeds × examples × seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-90}"
SEEDS="${2:-1 2 3}"
WORK="$(pwd)/target/bench-halving"

if [ -n "${FLOW_BIN:-}" ]; then
    FLOW="$FLOW_BIN"
else
    cargo build --release --locked -p flow >&2
    FLOW="target/release/flow"
fi
rm -rf "$WORK"
mkdir -p "$WORK"

# example file | the model it runs with here (empty: the example's own)
CASES=(
    "examples/bikeshare.kdl|gradient-boosting"
    "examples/seattle_weather.kdl|"
)

run_one() { # example, model, seed, halving (empty: off) → "best,evaluations"
    local example="$1" model="$2" seed="$3" halving="$4" out
    out="$WORK/runs/$(basename "$example" .kdl)-${model:-own}-$seed-${halving:+halving}"
    local args=(-S "search.seed=$seed" -S "search.iterations=1000000"
        -S "search.time-limit=${SECONDS_PER_RUN}s" -S "output=$out")
    if [ -n "$model" ]; then
        args+=(-S "evaluator.model=$model")
    fi
    if [ -n "$halving" ]; then
        args+=(-S "search.halving=true" -S "search.halving.factor=3" -S "search.halving.rungs=1")
    fi
    "$FLOW" run "$example" --quiet "${args[@]}" >&2
    "$FLOW" query "$out" \
        "SELECT r.best_score, e.n FROM runs r CROSS JOIN (SELECT count(*) AS n FROM evaluations WHERE status IN ('ok', 'failed')) e" \
        --format csv | tail -n +2
}

echo "| example | model | halving | seed | best score | evaluations |"
echo "|---|---|---|---|---|---|"
for case in "${CASES[@]}"; do
    IFS='|' read -r example model <<< "$case"
    for setting in "off" "on"; do
        total=0
        for seed in $SEEDS; do
            halving=""
            [ "$setting" = on ] && halving=1
            IFS=, read -r best evaluations <<< "$(run_one "$example" "$model" "$seed" "$halving")"
            echo "| $(basename "$example" .kdl) | ${model:-its own} | $setting | $seed | $best | $evaluations |"
            total="$(awk -v t="$total" -v b="$best" 'BEGIN { print t + b }')"
        done
        count="$(wc -w <<< "$SEEDS")"
        echo "| $(basename "$example" .kdl) | ${model:-its own} | $setting | mean | $(awk -v t="$total" -v n="$count" 'BEGIN { printf "%.5f", t / n }') | |"
    done
done
