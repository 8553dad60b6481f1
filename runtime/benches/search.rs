//! Throughput of the feature search's moving parts on generated data:
//! feature computation through DataFusion (one query for a batch of candidates vs one
//! query each), Arrow → model-column conversion, cross-validated evaluations per model,
//! and whole searches. Prints a Markdown table and writes the figures as JSON.
//!
//! Run: `cargo bench -p flow-runtime --bench search` (optionally `-- --rows 100000`).
//! See docs/benchmarks.md for recorded results.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use flow_runtime::eval::{Evaluator, Target};
use flow_runtime::features::{FeatureTable, ROW_ID, model_column};
use flow_runtime::{RunOptions, load_pipeline, run_pipeline};
use ndarray::{Array1, Array2};

/// A deterministic generator: the same data on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const COLUMNS: usize = 10;

/// `COLUMNS` uniform columns x0…x9 and y = 3·ln(1+x0)/(1+x1) + x2 + noise.
fn data(rows: usize) -> (RecordBatch, Vec<f64>) {
    let mut rng = Lcg(7);
    let mut columns: Vec<Vec<f64>> = (0..COLUMNS).map(|_| Vec::with_capacity(rows)).collect();
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        for c in &mut columns {
            c.push(100.0 * rng.next());
        }
        let last = |c: &Vec<f64>| *c.last().expect("pushed");
        y.push(
            3.0 * (1.0 + last(&columns[0])).ln() / (1.0 + last(&columns[1]))
                + last(&columns[2]) / 50.0
                + rng.next(),
        );
    }
    let mut fields: Vec<Field> = (0..COLUMNS)
        .map(|i| Field::new(format!("x{i}"), DataType::Float64, false))
        .collect();
    fields.push(Field::new(ROW_ID, DataType::UInt64, false));
    let mut arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    arrays.push(Arc::new(UInt64Array::from_iter_values(0..rows as u64)));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch");
    (batch, y)
}

/// Candidate expressions shaped like the standard library's.
fn candidates(n: usize) -> Vec<String> {
    let templates = [
        "signum(CAST(\"x{a}\" AS DOUBLE)) * ln(1 + abs(CAST(\"x{a}\" AS DOUBLE)))",
        "CAST(\"x{a}\" AS DOUBLE) / NULLIF(CAST(\"x{b}\" AS DOUBLE), 0)",
        "CAST(\"x{a}\" AS DOUBLE) * CAST(\"x{b}\" AS DOUBLE)",
        "(CAST(\"x{a}\" AS DOUBLE) - avg(CAST(\"x{a}\" AS DOUBLE)) OVER ()) / NULLIF(stddev(CAST(\"x{a}\" AS DOUBLE)) OVER (), 0)",
        "CAST(percent_rank() OVER (ORDER BY \"x{a}\", \"__flow_row\") AS DOUBLE)",
    ];
    (0..n)
        .map(|i| {
            let (a, b) = (i % COLUMNS, (i * 7 + 3) % COLUMNS);
            templates[i % templates.len()]
                .replace("{a}", &a.to_string())
                .replace("{b}", &b.to_string())
        })
        .collect()
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

struct Report {
    rows: Vec<(String, String, f64, String)>,
}

impl Report {
    fn add(&mut self, what: &str, setting: &str, value: f64, unit: &str) {
        println!("{what:<44} {setting:<28} {value:>14.1} {unit}");
        self.rows
            .push((what.to_owned(), setting.to_owned(), value, unit.to_owned()));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!("flow search benchmark: {rows} rows × {COLUMNS} columns, {threads} threads\n");
    let mut report = Report { rows: Vec::new() };
    let (batch, y) = data(rows);

    // Feature computation: 32 candidates in one query vs one query each.
    let table = FeatureTable::new(SessionContext::new(), &batch).expect("table");
    let sqls = candidates(32);
    runtime.block_on(table.compute(&sqls[..2])); // warm up the session
    let (_, batched) = time(|| runtime.block_on(table.compute(&sqls)));
    let (_, single) = time(|| {
        for sql in &sqls {
            runtime.block_on(table.compute(std::slice::from_ref(sql)));
        }
    });
    let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    report.add(
        "candidates computed / s",
        "32 in one query",
        per_s(32, batched),
        "candidates/s",
    );
    report.add(
        "candidates computed / s",
        "one query each",
        per_s(32, single),
        "candidates/s",
    );
    report.add(
        "rows through DataFusion / s",
        "32 in one query",
        per_s(32 * rows, batched),
        "cell/s",
    );

    // Arrow → model column.
    let computed = runtime.block_on(table.compute(&sqls[..8]));
    let arrays: Vec<ArrayRef> = computed.into_iter().map(|r| r.expect("computed")).collect();
    let (_, convert) = time(|| {
        for a in &arrays {
            let _ = model_column(a).expect("usable");
        }
    });
    report.add(
        "Arrow → model column",
        "8 columns",
        per_s(8 * rows, convert),
        "values/s",
    );

    // Evaluations: 5-fold CV on 12 features.
    let x = Array2::from_shape_fn((rows, 12), |(i, j)| {
        let c = batch
            .column(j % COLUMNS)
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("f64");
        c.value(i) * (1.0 + j as f64)
    });
    let target = Target::Regression(Array1::from(y.clone()));
    let median = {
        let mut s = y.clone();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let classes = Target::Classification {
        labels: Array1::from(
            y.iter()
                .map(|v| usize::from(*v > median))
                .collect::<Vec<_>>(),
        ),
        classes: vec!["0".into(), "1".into()],
    };
    for (model, target, label) in [
        (
            "model \"linear-regression\"",
            &target,
            "linear-regression, rmse",
        ),
        (
            "model \"logistic-regression\"",
            &classes,
            "logistic-regression, auc",
        ),
        (
            "model \"random-forest\" trees=20 max-depth=8",
            &classes,
            "random-forest 20×d8, auc",
        ),
    ] {
        let spec = evaluator_spec(
            model,
            if label.starts_with("linear") {
                "rmse"
            } else {
                "auc"
            },
        );
        let evaluator = Evaluator::new(&spec, target.clone(), 1).expect("evaluator");
        let repeats = 3;
        let (_, took) = time(|| {
            for _ in 0..repeats {
                evaluator.cross_validate(x.view()).expect("scores");
            }
        });
        report.add(
            "evaluations / s (5-fold CV, 12 features)",
            label,
            per_s(repeats, took),
            "evaluations/s",
        );
    }

    // Every model, on 10k and 100k rows × 20 features with a non-linear signal.
    for model_rows in [10_000, rows.max(10_000)] {
        let (x20, regression, classification) = model_data(model_rows);
        for (model, task_target, metric, label) in [
            (
                "model \"linear-regression\"",
                &regression,
                "rmse",
                "linear-regression",
            ),
            ("model \"elastic-net\"", &regression, "rmse", "elastic-net"),
            (
                "model \"decision-tree\" max-depth=8",
                &regression,
                "rmse",
                "decision-tree d8, regression",
            ),
            (
                "model \"random-forest\" trees=20 max-depth=8",
                &regression,
                "rmse",
                "random-forest 20×d8, regression",
            ),
            (
                "model \"gradient-boosting\"",
                &regression,
                "rmse",
                "gradient-boosting 100×d3, regression",
            ),
            (
                "model \"logistic-regression\"",
                &classification,
                "auc",
                "logistic-regression",
            ),
            (
                "model \"decision-tree\" max-depth=8",
                &classification,
                "auc",
                "decision-tree d8, classification",
            ),
            (
                "model \"random-forest\" trees=20 max-depth=8",
                &classification,
                "auc",
                "random-forest 20×d8, classification",
            ),
            (
                "model \"gradient-boosting\"",
                &classification,
                "auc",
                "gradient-boosting 100×d3, classification",
            ),
        ] {
            let evaluator = Evaluator::new(&evaluator_spec(model, metric), task_target.clone(), 1)
                .expect("evaluator");
            let (_, took) = time(|| evaluator.cross_validate(x20.view()).expect("scores"));
            report.add(
                "evaluations / s (5-fold CV, 20 features)",
                &format!("{label}, {model_rows} rows"),
                1.0 / took.as_secs_f64(),
                "evaluations/s",
            );
        }
    }

    // Whole searches through `flow run`'s code path.
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("bench.csv");
    let mut text = String::with_capacity(rows * 120);
    text.push_str(
        &(0..COLUMNS)
            .map(|i| format!("x{i}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    text.push_str(",y\n");
    for (i, target) in y.iter().enumerate() {
        for c in 0..COLUMNS {
            let v = batch
                .column(c)
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("f64")
                .value(i);
            let _ = write!(text, "{v:.4},");
        }
        let _ = writeln!(text, "{target:.4}");
    }
    std::fs::write(&csv, text).expect("writable");
    for iterations in [50, 200] {
        let pipeline = dir.path().join("bench.kdl");
        std::fs::write(
            &pipeline,
            format!(
                r#"pipeline "bench" {{
    dataset {{ source "bench.csv"; target "y" }}
    space {{ use "std.numeric" "std.arithmetic"; max-depth 2 }}
    evaluator {{ model "linear-regression"; metric "rmse"; cv "k-fold" folds=5 }}
    search {{ iterations {iterations}; seed 1 }}
    output "out"
}}"#
            ),
        )
        .expect("writable");
        let loaded = load_pipeline(&pipeline, &[]).expect("valid pipeline");
        let (summary, took) = time(|| {
            runtime
                .block_on(run_pipeline(&loaded, &RunOptions::default(), &mut |_| {}))
                .expect("run")
        });
        report.add(
            "MCTS iterations / minute",
            &format!("{iterations} iterations, linear"),
            summary.scored() as f64 / took.as_secs_f64() * 60.0,
            "iterations/min",
        );
        report.add(
            "uplift reached",
            &format!("{iterations} iterations, linear"),
            summary.uplift() * 100.0,
            "% RMSE",
        );
    }

    if let Some(peak) = peak_rss_mib() {
        report.add("peak resident memory", "whole benchmark", peak, "MiB");
    }

    let json: Vec<String> = report
        .rows
        .iter()
        .map(|(what, setting, value, unit)| {
            format!("  {{\"measure\": {what:?}, \"setting\": {setting:?}, \"value\": {value:.3}, \"unit\": {unit:?}}}")
        })
        .collect();
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-search.json");
    let _ = std::fs::write(
        &out,
        format!(
            "{{\"rows\": {rows}, \"threads\": {threads}, \"results\": [\n{}\n]}}\n",
            json.join(",\n")
        ),
    );
    println!("\nfigures written to {}", out.display());
}

/// 20 uniform features; the target mixes four of them non-linearly. Returns the matrix, a
/// regression target and a two-class target (above/below the median).
fn model_data(rows: usize) -> (Array2<f64>, Target, Target) {
    let mut rng = Lcg(3);
    let x = Array2::from_shape_simple_fn((rows, 20), || 2.0 * rng.next() - 1.0);
    let signal: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| (3.0 * r[0]).sin() + r[1] * r[2] + r[3].abs() + 0.3 * rng.next())
        .collect();
    let mut sorted = signal.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[rows / 2];
    let labels = signal
        .iter()
        .map(|s| usize::from(*s > median))
        .collect::<Vec<_>>();
    (
        x,
        Target::Regression(Array1::from(signal)),
        Target::Classification {
            labels: Array1::from(labels),
            classes: vec!["0".into(), "1".into()],
        },
    )
}

/// The process's peak resident memory, from /proc (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn evaluator_spec(model: &str, metric: &str) -> flow_dsl::EvaluatorSpec {
    let text = format!(
        "pipeline \"b\" {{\n dataset {{ source \"x.csv\"; target \"y\" }}\n space {{ use \"std.numeric\" }}\n evaluator {{ {model}; metric \"{metric}\"; cv \"k-fold\" folds=5 }}\n}}"
    );
    let mut sources = flow_dsl::Sources::new();
    let id = sources.add("bench.kdl", text);
    flow_dsl::parse_pipeline(&mut sources, id, &[])
        .expect("valid evaluator")
        .evaluator
}
