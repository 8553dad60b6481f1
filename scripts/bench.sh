#!/usr/bin/env bash
# End-to-end benchmark: `flow run` on generated data (deterministic) and, when present, on the
# shared datasets. For each run: wall time, MCTS iterations per minute, peak resident memory,
# what the search found, and where its time went; plus the best score reached after fixed
# wall-time budgets.
#
# Usage: scripts/bench.sh [--quick | --long] [--save] [--stages]
#
# Default grid (about 12 minutes on 2 cores, excluding the release build), every run
# linear-regression, RMSE, 5-fold CV, std.numeric + std.arithmetic, max-depth 2, seed 7:
#
#   run        rows       columns  budget
#   10k-x10    10,000     10       300 iterations
#   100k-x10   100,000    10       150 iterations
#   1m-x10     1,000,000  10       20 iterations
#   100k-x20   100,000    20       150 iterations  the reference: scripts/bench-memory.sh's data and pipeline
#   100k-x50   100,000    50       20 iterations
#   10k-x200   10,000     200      20 iterations
#   budget     100,000    20       time-limit: best score by 1 and 5 minutes
#   runtime/benches/*.kdl on the shared data (../shared/data), when it exists
#
#   --quick  tiny sizes (2,000–5,000 rows, budgets of 5 and 15 s): tries the script out in
#            about a minute
#   --long   the budget run lasts 15 minutes and reports 1, 5 and 15
#   --save   copies target/bench/results.json to docs/benchmarks.json
#   --stages also runs the criterion stage benchmarks first
#            (`cargo bench -p flow-runtime --bench stages`: about 4 minutes after its build),
#            with their output, peak allocated memory per stage included, in
#            target/bench/stages.txt
#
# Uses $FLOW_BIN when set, else builds flow in release mode. Writes target/bench/results.json
# (one object per run) and prints Markdown tables for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/generate.sh
source scripts/lib/generate.sh

SIZE=default
SAVE=no
STAGES=no
for arg in "$@"; do
    case "$arg" in
        --quick) SIZE=quick ;;
        --long) SIZE=long ;;
        --save) SAVE=yes ;;
        --stages) STAGES=yes ;;
        *)
            echo "usage: scripts/bench.sh [--quick | --long] [--save] [--stages]" >&2
            exit 1
            ;;
    esac
done

# name rows columns iterations
if [ "$SIZE" = quick ]; then
    GRID=("2k-x10 2000 10 40" "5k-x20 5000 20 40" "2k-x50 2000 50 20")
    REFERENCE=5k-x20
    BUDGET_ROWS=5000
    BUDGETS=(5 15)
    SHARED_ITERATIONS=20
else
    GRID=(
        "10k-x10 10000 10 300"
        "100k-x10 100000 10 150"
        "1m-x10 1000000 10 20"
        "100k-x20 100000 20 150"
        "100k-x50 100000 50 20"
        "10k-x200 10000 200 20"
    )
    REFERENCE=100k-x20
    BUDGET_ROWS=100000
    BUDGETS=(60 300)
    [ "$SIZE" = long ] && BUDGETS+=(900)
    SHARED_ITERATIONS=""
fi

if [ "$STAGES" = yes ]; then
    mkdir -p target/bench
    cargo bench -p flow-runtime --bench stages --locked | tee target/bench/stages.txt
    echo "peak memory per stage (also in target/bench/stages.txt):"
    grep '^peak memory' target/bench/stages.txt
fi

if [ -n "${FLOW_BIN:-}" ]; then
    FLOW="$FLOW_BIN"
else
    cargo build --release --locked --quiet
    FLOW="$(pwd)/target/release/flow"
fi

WORK="$(pwd)/target/bench"
rm -rf "$WORK/runs" "$WORK/pipelines" "$WORK/time"
mkdir -p "$WORK/data" "$WORK/runs" "$WORK/pipelines" "$WORK/time"
started=$SECONDS

data() { # rows, columns → path of the generated CSV (made once per generator version)
    local csv="$WORK/data/$1x$2.csv"
    if [ ! -s "$csv" ] || [ scripts/lib/generate.sh -nt "$csv" ]; then
        generate_csv "$1" "$2" > "$csv.tmp"
        mv "$csv.tmp" "$csv"
    fi
    echo "$csv"
}

pipeline() { # name, csv, search settings → path of the pipeline file
    bench_pipeline "bench-$1" "$2" "$WORK/runs/$1" "$3" > "$WORK/pipelines/$1.kdl"
    echo "$WORK/pipelines/$1.kdl"
}

timed_run() { # name, pipeline, extra args… (peak RSS in KiB and wall seconds go to time/NAME)
    local name="$1" file="$2"
    shift 2
    echo "running $name…" >&2
    /usr/bin/time -f "%M %e" -o "$WORK/time/$name" "$FLOW" run "$file" --quiet "$@"
}

query() { # name, SQL → the CSV result without its header
    "$FLOW" query "$WORK/runs/$1" "$2" --format csv | tail -n +2
}

SUMMARY="SELECT r.baseline, r.best_score, r.uplift, e.scored, e.feature_ms, e.fit_ms
FROM runs r CROSS JOIN (
    SELECT count(*) FILTER (WHERE status IN ('ok', 'failed')) AS scored,
           sum(feature_ms) AS feature_ms, sum(fit_ms) AS fit_ms
    FROM evaluations) e"

json_number() { # a CSV field → a JSON number, or null when empty
    if [ -n "$1" ]; then echo "$1"; else echo null; fi
}

RESULTS=()
ROWS_MD=()

record() { # name, rows, columns, iteration budget (JSON), budget as shown, extra JSON fields
    local name="$1" rows="$2" columns="$3" iterations="$4" budget="$5" extra="$6"
    local kib wall baseline best uplift scored feature_ms fit_ms per_min rss
    read -r kib wall < "$WORK/time/$name"
    IFS=, read -r baseline best uplift scored feature_ms fit_ms <<< "$(query "$name" "$SUMMARY")"
    per_min="$(awk -v n="$scored" -v s="$wall" 'BEGIN { printf "%.1f", n / s * 60 }')"
    rss="$((kib / 1024))"
    RESULTS+=("$(printf '{"name": "%s", "rows": %s, "columns": %s, "iterations": %s, "evaluations": %s, "wall_s": %s, "iterations_per_min": %s, "peak_rss_mib": %s, "baseline": %s, "best": %s, "uplift": %s, "feature_ms": %s, "fit_ms": %s%s}' \
        "$name" "$rows" "$columns" "$iterations" "$scored" "$wall" "$per_min" "$rss" \
        "$(json_number "$baseline")" "$(json_number "$best")" "$(json_number "$uplift")" \
        "$(json_number "$feature_ms")" "$(json_number "$fit_ms")" "$extra")")
    ROWS_MD+=("$(awk -v name="$name" -v rows="$rows" -v cols="$columns" \
        -v n="$scored" -v it="$budget" -v wall="$wall" -v pm="$per_min" -v rss="$rss" -v b="$baseline" \
        -v best="$best" -v up="$uplift" -v f="$feature_ms" -v m="$fit_ms" 'BEGIN {
            share = (f + m > 0) ? sprintf("%.0f%% / %.0f%%", 100 * f / (f + m), 100 * m / (f + m)) : "–";
            printf "| %s | %s | %s | %s / %s | %s s | %s | %s MiB | %.4g → %.4g | %.1f%% | %s |",
                name, rows, cols, n, it, wall, pm, rss, b, best, 100 * up, share
        }')")
}

for entry in "${GRID[@]}"; do
    read -r name rows columns iterations <<< "$entry"
    file="$(pipeline "$name" "$(data "$rows" "$columns")" "iterations $iterations")"
    timed_run "$name" "$file"
    record "$name" "$rows" "$columns" "$iterations" "$iterations" ""
done

# The budget run: one search with a time limit, read at each budget from the `metrics`
# table (progress after every batch: `elapsed_ms` is the wall time since the run started,
# `best_score` the best so far). The limit has 5 s of slack so the last budget's batch ends
# inside the run; the figure for each budget only counts batches finished by then.
last="${BUDGETS[-1]}"
file="$(pipeline budget "$(data "$BUDGET_ROWS" 20)" "iterations 1000000
        time-limit \"$((last + 5))s\"")"
timed_run budget "$file"
BUDGET_MD=()
best_after=""
for seconds in "${BUDGETS[@]}"; do
    IFS=, read -r evaluations best uplift <<< "$(query budget \
        "SELECT evaluations, best_score, uplift FROM metrics WHERE elapsed_ms <= $seconds * 1000 ORDER BY elapsed_ms DESC LIMIT 1")"
    best_after+="$(printf '%s"%s": {"evaluations": %s, "best": %s, "uplift": %s}' \
        "${best_after:+, }" "$seconds" "$(json_number "$evaluations")" "$(json_number "$best")" \
        "$(json_number "$uplift")")"
    BUDGET_MD+=("$(awk -v s="$seconds" -v n="$evaluations" -v b="$best" -v u="$uplift" 'BEGIN {
        if (n == "") { printf "| %s s | – | – | – |", s; exit }
        printf "| %s s | %s | %.6g | %.1f%% |", s, n, b, 100 * u
    }')")
done
record budget "$BUDGET_ROWS" 20 null "$((last + 5)) s" \
    ", \"time_limit_s\": $((last + 5)), \"best_after_s\": {$best_after}"

SHARED_NOTE="shared datasets: ../shared/data not found, skipped"
if [ -d ../shared/data ]; then
    SHARED_NOTE=""
    for file in runtime/benches/*.kdl; do
        name="$(basename "$file" .kdl)"
        extra=()
        [ -n "$SHARED_ITERATIONS" ] && extra=(-S "search.iterations=$SHARED_ITERATIONS")
        timed_run "$name" "$file" -S "output=$WORK/runs/$name" "${extra[@]}"
        location="$(query "$name" "SELECT data_location FROM runs")"
        path="${location#file://}"
        rows="$(($(wc -l < "$path") - 1))"
        columns="$(query "$name" "SELECT cardinality(input_columns) - 1 FROM runs")" # less the target
        iterations="$(query "$name" "SELECT iterations FROM runs")"
        record "$name" "$rows" "$columns" "$iterations" "$iterations" ""
    done
fi

total=$((SECONDS - started))
commit="$(git describe --always --dirty 2>/dev/null || echo unknown)"
date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
memory="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
machine="$(printf '{"nproc": %s, "cpu": "%s", "memory": "%s"}' "$(nproc)" "$cpu" "$memory")"
{
    echo "["
    for i in "${!RESULTS[@]}"; do
        result="${RESULTS[$i]%\}}, \"commit\": \"$commit\", \"date\": \"$date\", \"machine\": $machine}"
        if [ "$i" -lt $((${#RESULTS[@]} - 1)) ]; then echo "  $result,"; else echo "  $result"; fi
    done
    echo "]"
} > "$WORK/results.json"

reference="$(grep "\"name\": \"$REFERENCE\"" "$WORK/results.json" |
    sed -E 's/.*"iterations_per_min": ([0-9.]+).*/\1/')"
echo
echo "Reference run ($REFERENCE, scripts/bench-memory.sh's pipeline): $reference iterations/min"
echo
echo "$(nproc) cores of $cpu, $memory; commit $commit; $date; scripts/bench.sh${1:+ $*}"
echo
echo "| run | rows | columns | evaluations / budget | wall time | iterations/min | peak RSS | baseline → best RMSE | uplift | feature / fit time |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS_MD[@]}"
echo
echo "Best score after fixed budgets ($BUDGET_ROWS rows × 20 columns, one run, read from the metrics table):"
echo
echo "| budget | evaluations by then | best RMSE | uplift |"
echo "|---|---|---|---|"
printf '%s\n' "${BUDGET_MD[@]}"
if [ -n "$SHARED_NOTE" ]; then
    echo
    echo "$SHARED_NOTE"
fi
echo
echo "figures written to target/bench/results.json; total time $((total / 60)) min $((total % 60)) s"
if [ "$SAVE" = yes ]; then
    cp "$WORK/results.json" docs/benchmarks.json
    echo "copied to docs/benchmarks.json"
fi
