//! Criterion micro-benchmarks of the search's stages on generated, deterministic data:
//!
//! - `features`: candidates computed through DataFusion, 32 in one query vs one query each;
//! - `columns`: Arrow → model column conversion;
//! - `evaluate`: 5-fold cross-validation with importance per model, on 1 thread and on all;
//! - `screen`: building a node's screen and scoring 64 candidates with it.
//!
//! Run: `cargo bench -p flow-runtime --bench stages [-- GROUP]` (a criterion name filter,
//! e.g. `-- evaluate/random`). Sizes: `FLOW_BENCH_ROWS` (default 100000) and
//! `FLOW_BENCH_COLUMNS` (default 10). The whole-search figures come from
//! `scripts/bench.sh`; see docs/benchmarks.md.
//!
//! Before each benchmark, one call of it runs alone and prints its peak memory: a line
//! `peak memory <benchmark>: X MiB (over Y MiB allocated before)`, the most the call held
//! allocated at once, counted by the benchmark's global allocator (`peak_alloc`, which
//! wraps the system allocator).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use flow_runtime::eval::{Evaluator, Target};
use flow_runtime::features::{FeatureTable, ModelColumn, ROW_ID, model_column};
use flow_runtime::search::Screen;
use ndarray::{Array1, Array2};
use peak_alloc::PeakAlloc;
use tokio::runtime::Runtime;

/// Candidates per feature query, as the search draws them for one child of room.
const BATCH: usize = 32;

/// Candidates one screen ranks.
const SCREENED: usize = 64;

/// Rows for the models whose evaluation takes seconds at 100k rows.
const TREE_ROWS: usize = 20_000;

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

/// Benchmarks `call` in `group` (named `group_name`) as `function/parameter`, after one
/// call alone that prints its peak memory, labelled `group_name/function/parameter`.
fn measure<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    group_name: &str,
    (function, parameter): (String, String),
    call: impl Fn() -> T,
) {
    peak_memory(&format!("{group_name}/{function}/{parameter}"), &call);
    group.bench_function(BenchmarkId::new(function, parameter), |b| b.iter(&call));
}

/// Counts the bytes allocated, and their peak, for [`peak_memory`].
#[global_allocator]
static ALLOCATED: PeakAlloc = PeakAlloc;

/// Runs `call` once and prints the most memory it held allocated at once (its result
/// included), labelled `label`, beside what was allocated before it.
fn peak_memory<T>(label: &str, call: impl FnOnce() -> T) {
    let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
    ALLOCATED.reset_peak_usage();
    let before = ALLOCATED.current_usage();
    black_box(call());
    let peak = ALLOCATED.peak_usage().saturating_sub(before);
    println!(
        "peak memory {label}: {:.1} MiB (over {:.1} MiB allocated before)",
        mib(peak),
        mib(before)
    );
}

/// The benchmark's size: rows and numeric columns, from the environment.
#[derive(Clone, Copy)]
struct Size {
    rows: usize,
    columns: usize,
}

impl Size {
    fn from_env() -> Self {
        let read = |name: &str, default: usize| {
            std::env::var(name).map_or(default, |v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} must be a positive integer, not {v:?}"))
            })
        };
        let size = Self {
            rows: read("FLOW_BENCH_ROWS", 100_000),
            columns: read("FLOW_BENCH_COLUMNS", 10),
        };
        assert!(
            size.rows >= 10 && size.columns >= 1,
            "FLOW_BENCH_ROWS must be at least 10 and FLOW_BENCH_COLUMNS at least 1"
        );
        size
    }

    fn label(self) -> String {
        format!("{}x{}", self.rows, self.columns)
    }
}

/// The dataset as the search holds it: uniform columns `x0…` in [0, 100) plus the row
/// number, and y = 3·ln(1+x0)/(1+x1) + x2/50 + noise.
fn dataset(size: Size) -> (RecordBatch, Target) {
    let mut rng = Lcg(7);
    let mut columns: Vec<Vec<f64>> = (0..size.columns)
        .map(|_| Vec::with_capacity(size.rows))
        .collect();
    let mut y = Vec::with_capacity(size.rows);
    for _ in 0..size.rows {
        let row: Vec<f64> = (0..size.columns).map(|_| 100.0 * rng.next()).collect();
        let x = |i: usize| row[i % size.columns];
        y.push(3.0 * (1.0 + x(0)).ln() / (1.0 + x(1)) + x(2) / 50.0 + rng.next());
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let mut fields: Vec<Field> = (0..size.columns)
        .map(|i| Field::new(format!("x{i}"), DataType::Float64, false))
        .collect();
    fields.push(Field::new(ROW_ID, DataType::UInt64, false));
    let mut arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    arrays.push(Arc::new(UInt64Array::from_iter_values(0..size.rows as u64)));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch");
    (batch, Target::Regression(Array1::from(y)))
}

/// `n` candidate expressions shaped like the standard library's: unary, binary, window.
fn candidates(n: usize, columns: usize) -> Vec<String> {
    let templates = [
        "signum(CAST(\"x{a}\" AS DOUBLE)) * ln(1 + abs(CAST(\"x{a}\" AS DOUBLE)))",
        "CAST(\"x{a}\" AS DOUBLE) / NULLIF(CAST(\"x{b}\" AS DOUBLE), 0)",
        "CAST(\"x{a}\" AS DOUBLE) * CAST(\"x{b}\" AS DOUBLE)",
        "(CAST(\"x{a}\" AS DOUBLE) - avg(CAST(\"x{a}\" AS DOUBLE)) OVER ()) / NULLIF(stddev(CAST(\"x{a}\" AS DOUBLE)) OVER (), 0)",
        "CAST(percent_rank() OVER (ORDER BY \"x{a}\", \"__flow_row\") AS DOUBLE)",
    ];
    (0..n)
        .map(|i| {
            let (a, b) = (i % columns, (i * 7 + 3) % columns);
            templates[i % templates.len()]
                .replace("{a}", &a.to_string())
                .replace("{b}", &b.to_string())
        })
        .collect()
}

fn tokio_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Computes `sqls` in one query and converts them to model columns.
fn computed_columns(runtime: &Runtime, table: &FeatureTable, sqls: &[String]) -> Vec<ArrayRef> {
    runtime
        .block_on(table.try_compute(sqls))
        .expect("the feature query runs")
        .into_iter()
        .map(|c| c.expect("every benchmark candidate computes"))
        .collect()
}

fn features(c: &mut Criterion) {
    let size = Size::from_env();
    let runtime = tokio_runtime();
    let (batch, _) = dataset(size);
    let table = FeatureTable::new(SessionContext::new(), &batch).expect("the table registers");
    let sqls = candidates(BATCH, size.columns);
    let mut group = c.benchmark_group("features");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements((size.rows * BATCH) as u64));
    measure(
        &mut group,
        "features",
        (format!("{BATCH}-in-one-query"), size.label()),
        || computed_columns(&runtime, &table, &sqls),
    );
    measure(
        &mut group,
        "features",
        ("one-query-each".into(), size.label()),
        || {
            sqls.iter()
                .map(|sql| computed_columns(&runtime, &table, std::slice::from_ref(sql)))
                .collect::<Vec<_>>()
        },
    );
    group.finish();
}

fn columns(c: &mut Criterion) {
    let size = Size::from_env();
    let runtime = tokio_runtime();
    let (batch, _) = dataset(size);
    let table = FeatureTable::new(SessionContext::new(), &batch).expect("the table registers");
    let arrays = computed_columns(&runtime, &table, &candidates(8, size.columns));
    let mut group = c.benchmark_group("columns");
    group.throughput(Throughput::Elements((size.rows * arrays.len()) as u64));
    measure(
        &mut group,
        "columns",
        (format!("{}-computed", arrays.len()), size.label()),
        || {
            arrays
                .iter()
                .map(|a| model_column(a).expect("a usable column"))
                .collect::<Vec<_>>()
        },
    );
    group.finish();
}

/// A model to evaluate: its `evaluator` line, the metric, and whether it is a tree model
/// (evaluated on [`TREE_ROWS`] rows).
struct ModelCase {
    name: &'static str,
    model: &'static str,
    metric: &'static str,
    trees: bool,
}

const MODELS: [ModelCase; 6] = [
    ModelCase {
        name: "linear-regression",
        model: "model \"linear-regression\"",
        metric: "rmse",
        trees: false,
    },
    ModelCase {
        name: "elastic-net",
        model: "model \"elastic-net\"",
        metric: "rmse",
        trees: false,
    },
    ModelCase {
        name: "logistic-regression",
        model: "model \"logistic-regression\"",
        metric: "auc",
        trees: false,
    },
    ModelCase {
        name: "decision-tree-d8",
        model: "model \"decision-tree\" max-depth=8",
        metric: "rmse",
        trees: true,
    },
    ModelCase {
        name: "random-forest-20xd8",
        model: "model \"random-forest\" trees=20 max-depth=8",
        metric: "auc",
        trees: true,
    },
    ModelCase {
        name: "gradient-boosting-30xd3",
        model: "model \"gradient-boosting\" trees=30 max-depth=3",
        metric: "rmse",
        trees: true,
    },
];

/// Uniform features in [-1, 1) and a target mixing four of them non-linearly
/// (`sin(3·x0) + x1·x2 + |x3|` + noise): a regression target and a two-class one (above
/// the median).
fn model_data(size: Size) -> (Array2<f64>, Target, Target) {
    let mut rng = Lcg(3);
    let x = Array2::from_shape_simple_fn((size.rows, size.columns), || 2.0 * rng.next() - 1.0);
    let at = |i: usize| i % size.columns;
    let signal: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| (3.0 * r[at(0)]).sin() + r[at(1)] * r[at(2)] + r[at(3)].abs() + 0.3 * rng.next())
        .collect();
    let mut sorted = signal.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[size.rows / 2];
    let names: Vec<&str> = signal
        .iter()
        .map(|s| if *s > median { "high" } else { "low" })
        .collect();
    (
        x,
        Target::Regression(Array1::from(signal)),
        Target::from_class_names(&names),
    )
}

fn evaluator_spec(model: &str, metric: &str) -> flow_dsl::EvaluatorSpec {
    let text = format!(
        "pipeline \"b\" {{\n dataset {{ source \"x.csv\"; target \"y\" }}\n space {{ use \"std.numeric\" }}\n evaluator {{ {model}; metric \"{metric}\"; cv \"k-fold\" folds=5 }}\n}}"
    );
    let mut sources = flow_dsl::Sources::new();
    let id = sources.add("bench.kdl", text);
    flow_dsl::parse_pipeline(&mut sources, id, &[])
        .expect("a valid evaluator")
        .evaluator
}

fn evaluate(c: &mut Criterion) {
    let size = Size::from_env();
    let all = std::thread::available_parallelism().map_or(1, usize::from);
    let mut threads = vec![1];
    if all > 1 {
        threads.push(all);
    }
    let pools: Vec<(usize, rayon::ThreadPool)> = threads
        .into_iter()
        .map(|n| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("a rayon pool");
            (n, pool)
        })
        .collect();
    let full = model_data(size);
    let small = model_data(Size {
        rows: size.rows.min(TREE_ROWS),
        ..size
    });
    let mut group = c.benchmark_group("evaluate");
    group.sampling_mode(SamplingMode::Flat);
    // Room for 10 samples of the slowest evaluations (about a second each).
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    for case in &MODELS {
        let (x, regression, classification) = if case.trees { &small } else { &full };
        let target = if case.metric == "auc" {
            classification
        } else {
            regression
        };
        let evaluator = Evaluator::new(&evaluator_spec(case.model, case.metric), target.clone(), 1)
            .expect("an evaluator");
        let data = format!("{} {}x{}", case.metric, x.nrows(), x.ncols());
        for (n, pool) in &pools {
            measure(
                &mut group,
                "evaluate",
                (format!("{} {data}", case.name), format!("{n}-threads")),
                || {
                    pool.install(|| evaluator.cross_validate_with_importance(x.view(), &[], None))
                        .expect("scores")
                },
            );
        }
    }
    group.finish();
}

fn screen(c: &mut Criterion) {
    let size = Size::from_env();
    let runtime = tokio_runtime();
    let (batch, target) = dataset(size);
    let base: Vec<ModelColumn> = (0..size.columns)
        .map(|i| model_column(batch.column(i)).expect("a numeric column"))
        .collect();
    let table = FeatureTable::new(SessionContext::new(), &batch).expect("the table registers");
    let scored: Vec<ModelColumn> =
        computed_columns(&runtime, &table, &candidates(SCREENED, size.columns))
            .iter()
            .map(|a| model_column(a).expect("a usable column"))
            .collect();
    let mut group = c.benchmark_group("screen");
    measure(&mut group, "screen", ("new".into(), size.label()), || {
        Screen::new(black_box(&base), &target)
    });
    let built = Screen::new(&base, &target);
    group.throughput(Throughput::Elements(SCREENED as u64));
    measure(
        &mut group,
        "screen",
        (format!("score-{SCREENED}"), size.label()),
        || built.scores(black_box(&scored)),
    );
    group.finish();
}

criterion_group! {
    name = stages;
    // Few samples and short windows: the whole suite runs in minutes on 2 cores, and each
    // stage is slow enough per call that 10 samples are stable to a few percent.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = features, columns, evaluate, screen
}
criterion_main!(stages);
