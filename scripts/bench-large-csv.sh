#!/usr/bin/env bash
# A CSV larger than the memory limit, streamed: `flow run` on ~1 GB of generated data with
# `sample fraction=…` under `--memory-limit`, reporting peak RSS, wall time and the rows the
# search kept. The sample is drawn while reading, batch by batch, so memory follows the
# sample, not the file.
#
# Usage: scripts/bench-large-csv.sh [ROWS] [FRACTION] [LIMIT]
#   defaults: 10000000 rows × 12 numeric columns (1.04 GB), fraction 0.02, limit 768MiB
# Builds flow in release mode first. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-10000000}"
FRACTION="${2:-0.02}"
LIMIT="${3:-768MiB}"
WORK="${BENCH_DIR:-target/bench-large-csv}"

cargo build --release --locked --quiet
FLOW="$(pwd)/target/release/flow"
mkdir -p "$WORK"
rm -rf "$WORK/results"

# Generated once per size (deterministic); y depends on a product and a ratio.
if [ ! -s "$WORK/data-$ROWS.csv" ]; then
    awk -v rows="$ROWS" 'BEGIN {
        srand(11);
        header = "y";
        for (j = 0; j < 12; j++) header = header ",x" j;
        print header;
        for (i = 0; i < rows; i++) {
            line = "";
            for (j = 0; j < 12; j++) { x[j] = 1 + 9 * rand(); line = line "," sprintf("%.5f", x[j]); }
            y = x[0] * x[1] / 10 + 2 * x[2] / x[3] + 0.1 * (rand() - 0.5);
            print sprintf("%.5f", y) line;
        }
    }' > "$WORK/data-$ROWS.csv.tmp"
    mv "$WORK/data-$ROWS.csv.tmp" "$WORK/data-$ROWS.csv"
fi
BYTES="$(stat -c %s "$WORK/data-$ROWS.csv")"

cat > "$WORK/pipeline.kdl" <<KDL
pipeline "large-csv" {
    dataset {
        source "data-$ROWS.csv"
        target "y"
        sample fraction=$FRACTION seed=3
    }
    space {
        use "std.numeric" "std.arithmetic"
        max-depth 2
    }
    evaluator {
        model "linear-regression"
        metric "rmse"
        cv "k-fold" folds=5
    }
    search {
        iterations 60
        seed 5
    }
    output "results"
}
KDL

/usr/bin/time -f "%M %e" -o "$WORK/run.time" \
    "$FLOW" run "$WORK/pipeline.kdl" --quiet --memory-limit "$LIMIT"
read -r kib seconds < "$WORK/run.time"
peak_reserved="$("$FLOW" query "$WORK/results" \
    "SELECT max(memory_reserved_bytes) / 1048576 FROM metrics" --format csv | tail -1)"

echo
echo "$ROWS rows × 12 columns ($((BYTES / 1000000)) MB of CSV), sample fraction=$FRACTION, 60 iterations, linear-regression 5-fold"
echo
echo "| memory limit | wall time | peak RSS | peak reserved in the pool |"
echo "|---|---|---|---|"
printf '| %s | %s s | %s MiB | %.0f MiB |\n' "$LIMIT" "$seconds" "$((kib / 1024))" "$peak_reserved"
