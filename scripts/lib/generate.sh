# shellcheck shell=bash
# Generated benchmark data and its pipeline, shared by scripts/bench.sh and
# scripts/bench-memory.sh. Source this file, then:
#   generate_csv ROWS COLUMNS > data.csv
#   bench_pipeline NAME SOURCE OUTPUT SEARCH-SETTINGS > pipeline.kdl
#
# Columns y, x0…x{COLUMNS-1} (COLUMNS ≥ 4), each x uniform in [1, 10); y depends on a ratio,
# a log and a product of the inputs, so the search has something to find:
#   y = 3·ln(x0)/x1 + x2·x3/10 + noise
# Deterministic (awk's srand(42)): the same file on every machine for the same arguments.

generate_csv() { # rows, columns → CSV on standard output
    awk -v rows="$1" -v columns="$2" 'BEGIN {
        if (columns < 4) { print "generate_csv: at least 4 columns" > "/dev/stderr"; exit 1 }
        srand(42);
        header = "y";
        for (j = 0; j < columns; j++) header = header ",x" j;
        print header;
        for (i = 0; i < rows; i++) {
            line = "";
            for (j = 0; j < columns; j++) { x[j] = 1 + 9 * rand(); line = line "," sprintf("%.6f", x[j]); }
            y = 3 * log(x[0]) / x[1] + x[2] * x[3] / 10 + 0.1 * (rand() - 0.5);
            print sprintf("%.6f", y) line;
        }
    }'
}

# The benchmark pipeline on a generated CSV: std.numeric + std.arithmetic at depth 2, linear
# regression, RMSE, 5-fold, seed 7, with SEARCH-SETTINGS (KDL lines) in its `search` block.
bench_pipeline() { # name, source, output, search settings → KDL on standard output
    cat <<EOF
pipeline "$1" {
    dataset {
        source "$2"
        target "y"
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
        $4
        seed 7
    }
    output "$3"
}
EOF
}
