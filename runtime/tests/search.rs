//! The feature search end to end through the runtime API: it finds a planted relation, it is
//! deterministic for a seed, and failing candidates never stop it.

mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::{Lcg, split_into_files, without_timings, write_pipeline};

use flow_runtime::operator::log::EvaluationRow;
use flow_runtime::{RunOptions, RunSummary, load_pipeline, run_pipeline};

async fn run(path: &Path, overrides: &[&str]) -> RunSummary {
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
    let pipeline = load_pipeline(path, &overrides).unwrap_or_else(|e| panic!("{e:?}"));
    // Each run gets its own in-memory results: the same run twice would be refused.
    let options = RunOptions {
        output: Some(common::unique_memory_location("search")),
        ..RunOptions::default()
    };
    run_pipeline(&pipeline, &options, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
}

const SPACE: &str = r#"        use "std.numeric" "std.arithmetic""#;

#[tokio::test(flavor = "multi_thread")]
async fn the_search_finds_a_planted_composition() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 400\n        seed 1");
    let summary = run(&path, &[]).await;
    assert!(
        summary.uplift() > 0.9,
        "RMSE {:.4} → {:.4} is not a clear improvement",
        summary.baseline,
        summary.best.mean.unwrap_or(f64::NAN)
    );
    let names = &summary.best.feature_names;
    assert!(
        names
            .iter()
            .any(|n| n.contains("log(a)") && n.contains('b')),
        "the best set does not combine log(a) with b: {names:?}"
    );
    // The feature importance of the best set ranks the planted composition above its own
    // ingredients and the distractor. (Not necessarily first: a collinear pair such as
    // `c` and `c − 1/b` shares a large importance between its two columns.)
    let importance = &summary.best.importance;
    assert_eq!(importance.len(), names.len());
    assert!(
        (importance.iter().sum::<f64>() - 1.0).abs() < 1e-9,
        "{importance:?}"
    );
    let of = |wanted: &dyn Fn(&str) -> bool| {
        names
            .iter()
            .zip(importance)
            .filter(|(n, _)| wanted(n))
            .map(|(_, &i)| i)
            .fold(f64::NAN, f64::max)
    };
    let composition = of(&|n| n.contains("log(a)") && n.contains('b'));
    let ingredients = of(&|n| ["a", "b", "d", "log(a)"].contains(&n));
    assert!(
        composition > 0.01 && composition > ingredients,
        "the composition's importance {composition} is not above its ingredients' \
         {ingredients}: {names:?} {importance:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_seed_gives_the_same_evaluations_whatever_the_parallelism() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 40\n        seed 9");
    let first = run(&path, &["search.parallelism=1"]).await;
    let second = run(&path, &["search.parallelism=3"]).await;
    assert_eq!(first.scored(), 40);
    assert_eq!(
        without_timings(&first.evaluations),
        without_timings(&second.evaluations)
    );
    let other = run(&path, &["search.seed=10"]).await;
    assert_ne!(
        without_timings(&first.evaluations),
        without_timings(&other.evaluations)
    );
}

/// Every score is the same to the last bit at any parallelism, on a machine kept busy by
/// other work: windows (z-scores, clipping, bins) add up rows in an order that must not
/// depend on which candidates share a query or which thread finishes first.
#[tokio::test(flavor = "multi_thread")]
async fn scores_are_bit_identical_at_any_parallelism_under_load() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = tempfile::tempdir().expect("temp dir");
    let space = r#"        use "std.numeric" "std.arithmetic" "std.binning""#;
    let path = write_pipeline(dir.path(), space, "        iterations 40\n        seed 5");
    let busy = Arc::new(AtomicBool::new(true));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let busy = Arc::clone(&busy);
            std::thread::spawn(move || {
                let mut x = 0_u64;
                while busy.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005) + 1);
                }
            })
        })
        .collect();
    let mut runs = Vec::new();
    for parallelism in [1, 2, 4] {
        runs.push(run(&path, &[&format!("search.parallelism={parallelism}")]).await);
    }
    busy.store(false, Ordering::Relaxed);
    for thread in load {
        thread.join().expect("the load ends");
    }
    let bits = |summary: &RunSummary| -> Vec<(u64, Vec<u64>)> {
        summary
            .evaluations
            .iter()
            .map(|r| {
                (
                    r.node_id,
                    r.fold_scores.iter().map(|s| s.to_bits()).collect(),
                )
            })
            .collect()
    };
    assert_eq!(runs[0].scored(), 40);
    for other in &runs[1..] {
        assert_eq!(bits(&runs[0]), bits(other));
        assert_eq!(
            without_timings(&runs[0].evaluations),
            without_timings(&other.evaluations)
        );
    }
}

/// Halving reorders the best-screened candidates by sampled cross-validation before they
/// become children: a different search from the screen alone, as deterministic.
#[tokio::test(flavor = "multi_thread")]
async fn halving_races_candidates_deterministically_whatever_the_parallelism() {
    let dir = tempfile::tempdir().expect("temp dir");
    let search = "        iterations 30\n        seed 9\n        halving factor=2 rungs=2";
    let path = write_pipeline(dir.path(), SPACE, search);
    let first = run(&path, &["search.parallelism=1"]).await;
    let second = run(&path, &["search.parallelism=3"]).await;
    assert_eq!(first.scored(), 30);
    assert_eq!(
        without_timings(&first.evaluations),
        without_timings(&second.evaluations)
    );
    let screened_only = run(
        &path,
        &["search.halving.rungs=1", "search.halving.factor=16"],
    )
    .await;
    let features = |rows: &[EvaluationRow]| -> Vec<Option<String>> {
        rows.iter().map(|r| r.new_feature_sql.clone()).collect()
    };
    assert_ne!(
        features(&first.evaluations),
        features(&screened_only.evaluations)
    );
    let plain = write_pipeline(dir.path(), SPACE, "        iterations 30\n        seed 9");
    let without = run(&plain, &[]).await;
    assert_ne!(features(&first.evaluations), features(&without.evaluations));
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_candidates_are_recorded_and_the_search_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let space = r#"        use "std.numeric"
        op "integer-division-by-zero" {
            input "x" type="numeric"
            sql "CAST({x} AS BIGINT) / 0"
            output "numeric"
            weight 4.0
        }
        op "no-such-function" {
            input "x" type="numeric"
            sql "no_such_function({x})"
            output "numeric"
            weight 4.0
        }
        op "constant" {
            input "x" type="numeric"
            sql "{x} * 0"
            output "numeric"
            weight 4.0
        }"#;
    let path = write_pipeline(dir.path(), space, "        iterations 30\n        seed 3");
    let summary = run(&path, &[]).await;
    assert_eq!(summary.scored(), 30, "the run stopped early");
    let failed: Vec<&EvaluationRow> = summary
        .evaluations
        .iter()
        .filter(|r| r.status == "rejected")
        .collect();
    for op in ["integer-division-by-zero", "no-such-function", "constant"] {
        let row = failed
            .iter()
            .find(|r| r.operation.as_deref() == Some(op))
            .unwrap_or_else(|| {
                panic!("no failed `{op}` candidate among {} failures", failed.len())
            });
        assert!(
            row.error.as_deref().is_some_and(|e| !e.is_empty()),
            "{op} failed without a reason"
        );
        assert!(row.fold_scores.is_empty() && row.mean.is_none());
    }
    assert!(
        summary
            .evaluations
            .iter()
            .any(|r| r.status == "ok" && r.depth > 0)
    );
}

/// The out-of-fold target encoding of docs/language.md, as a user would write it.
const TARGET_MEAN: &str = r#"        op "target-mean" {
            input "c" type="categorical"
            param "smoothing" type="float" 10.0
            sql "(sum({target}) OVER (PARTITION BY {c}) - sum({target}) OVER (PARTITION BY {c}, {fold}) + {smoothing} * (sum({target}) OVER () - sum({target}) OVER (PARTITION BY {fold})) / (count(*) OVER () - count(*) OVER (PARTITION BY {fold}))) / (count(*) OVER (PARTITION BY {c}) - count(*) OVER (PARTITION BY {c}, {fold}) + {smoothing})"
            output "numeric"
        }"#;

#[tokio::test(flavor = "multi_thread")]
async fn supervised_operations_are_computed_out_of_fold() {
    let dir = tempfile::tempdir().expect("temp dir");
    // y depends on a category with 80 levels of 6 rows each: one-hot encoding gives a linear
    // model at most 31 of them (levels of 5 training rows or more), so most of the effects
    // reach it only through the target encoding.
    let mut rng = Lcg(11);
    let effects: Vec<f64> = (0..80).map(|_| 10.0 * rng.next()).collect();
    let mut csv = String::from("city,x,y\n");
    for i in 0..480 {
        let city = (i * 7) % 80;
        let x = rng.next();
        let y = effects[city] + 0.5 * x + 0.1 * rng.next();
        let _ = writeln!(csv, "c{city},{x:.5},{y:.5}");
    }
    std::fs::write(dir.path().join("cities.csv"), csv).expect("writable");
    let pipeline = format!(
        r#"pipeline "cities" {{
    dataset {{
        source "cities.csv"
        target "y"
    }}
    space {{
{TARGET_MEAN}
        max-depth 1
    }}
    evaluator {{
        model "linear-regression"
        metric "rmse"
        cv "k-fold" folds=5
    }}
    search {{
        iterations 5
        seed 2
    }}
    output "results"
}}
"#
    );
    let path = dir.path().join("cities.kdl");
    std::fs::write(&path, pipeline).expect("writable");
    let summary = run(&path, &[]).await;
    assert!(
        summary
            .best
            .feature_names
            .iter()
            .any(|n| n == "target-mean(city, smoothing=10.0)"),
        "{:?}",
        summary.best.feature_names
    );
    assert!(summary.uplift() > 0.5, "uplift {}", summary.uplift());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_out_of_fold_encoding_never_reads_its_own_fold() {
    let cities = ["a", "b", "a", "a", "b", "c", "a", "b"];
    let targets = [1.0, 5.0, 2.0, 4.0, 6.0, 9.0, 8.0, 7.0];
    let folds = [0u32, 0, 1, 1, 1, 2, 2, 0];
    let module = TARGET_MEAN.replace("        ", "");
    let values = encode(&module, "target-mean", "2.0", &cities, &targets, &folds).await;
    for row in 0..8 {
        // Independently: only rows of other folds count, for the category and the prior.
        let other = |r: usize| folds[r] != folds[row];
        let prior_rows: Vec<usize> = (0..8).filter(|r| other(*r)).collect();
        let prior = prior_rows.iter().map(|r| targets[*r]).sum::<f64>() / prior_rows.len() as f64;
        let same: Vec<usize> = prior_rows
            .iter()
            .copied()
            .filter(|r| cities[*r] == cities[row])
            .collect();
        let expected = (same.iter().map(|r| targets[*r]).sum::<f64>() + 2.0 * prior)
            / (same.len() as f64 + 2.0);
        assert!(
            (values[row] - expected).abs() < 1e-12,
            "row {row}: {} vs {expected}",
            values[row]
        );
    }
}

/// `op(city, smoothing)` from the module text, computed by DataFusion over a table of
/// cities with these targets and folds.
async fn encode(
    module: &str,
    op: &str,
    smoothing: &str,
    cities: &[&str],
    targets: &[f64],
    folds: &[u32],
) -> Vec<f64> {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        AsArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
    use flow_runtime::features::{
        FOLD_ID, FeatureExpr, FeatureTable, ParamLiteral, ROW_ID, RenderContext, TARGET_VALUE,
        render,
    };

    let schema = Schema::new(vec![
        Field::new("city", DataType::Utf8, false),
        Field::new(ROW_ID, DataType::UInt64, false),
        Field::new(TARGET_VALUE, DataType::Float64, false),
        Field::new(FOLD_ID, DataType::UInt32, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(cities.to_vec())),
            Arc::new(UInt64Array::from_iter_values(0..targets.len() as u64)),
            Arc::new(Float64Array::from(targets.to_vec())),
            Arc::new(UInt32Array::from(folds.to_vec())),
        ],
    )
    .expect("valid batch");
    let mut sources = flow_dsl::Sources::new();
    let id = sources.add("ops.kdl", module);
    let ops = flow_dsl::parse_module(&sources, id)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .ops
        .into_iter()
        .map(|spec| {
            let name = spec.name.value.clone();
            (
                name,
                flow_dsl::ResolvedOperation {
                    spec,
                    origin: flow_dsl::Origin::Pipeline,
                    tuned: false,
                    enabled: true,
                },
            )
        })
        .collect();
    let ctx = RenderContext {
        time: None,
        group: None,
        target: TARGET_VALUE.into(),
        row: ROW_ID.into(),
        fold: FOLD_ID.into(),
    };
    let expr = FeatureExpr::Apply {
        op: op.into(),
        args: vec![FeatureExpr::Column("city".into())],
        params: vec![ParamLiteral {
            name: "smoothing".into(),
            sql: smoothing.into(),
        }],
    };
    let sql = render(&expr, &ops, &ctx).expect("renders");
    let table =
        FeatureTable::new(datafusion::prelude::SessionContext::new(), &batch).expect("table");
    let column = table.compute(&[sql]).await.remove(0).expect("computes");
    column.as_primitive::<Float64Type>().values().to_vec()
}

/// The standard library's `target-encode(city)`.
async fn stdlib_target_encoding(targets: &[f64], folds: &[u32]) -> Vec<f64> {
    let cities: Vec<&str> = (0..targets.len()).map(|i| ["a", "b", "c"][i % 3]).collect();
    let module = flow_stdlib::module("std.categorical").expect("the categorical module");
    encode(
        module.text,
        "target-encode",
        "10.0",
        &cities,
        targets,
        folds,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_one_folds_targets_leaves_that_folds_encodings_unchanged() {
    let folds: Vec<u32> = (0..30).map(|i| (i / 3) % 3).collect();
    let targets: Vec<f64> = (0..30).map(|i| f64::from(i % 7)).collect();
    let before = stdlib_target_encoding(&targets, &folds).await;
    let changed: Vec<f64> = targets
        .iter()
        .zip(&folds)
        .map(|(t, f)| if *f == 1 { t * 10.0 + 100.0 } else { *t })
        .collect();
    let after = stdlib_target_encoding(&changed, &folds).await;
    for row in 0..30 {
        if folds[row] == 1 {
            assert_eq!(
                before[row], after[row],
                "row {row} of fold 1 saw its own fold's targets"
            );
        } else {
            assert_ne!(
                before[row], after[row],
                "row {row} ignores fold 1, which it may use"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_memory_limit_evicts_cached_columns_without_changing_the_search() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 40\n        seed 4");
    // 5,000 rows: a column is 40 KB. Under a 24 MiB limit each feature query first makes
    // room for its 10 MiB sort reservation and its ~10 MB of results, which leaves the cache
    // about 100 columns; every expansion draws at least 64 new ones, so columns are evicted
    // from the third expansion on, and recomputed when needed again.
    std::fs::write(dir.path().join("planted.csv"), common::planted_csv(5_000)).expect("writable");
    let roomy_results = common::unique_memory_location("roomy");
    let pipeline = load_pipeline(&path, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let options = RunOptions {
        output: Some(roomy_results.clone()),
        ..RunOptions::default()
    };
    let roomy = common::unwrap(run_pipeline(&pipeline, &options, &mut |_| {}).await);
    let tight = run(&path, &["search.memory-limit=\"24MiB\""]).await;
    assert_eq!(
        without_timings(&tight.evaluations),
        without_timings(&roomy.evaluations)
    );
    // Unbounded, the cache grew past the 4 MiB the limit allows it (a third of the 12 MiB
    // pool a 24 MiB limit leaves): the tight run had to evict (or not keep) columns, and
    // still searched alike.
    let results =
        common::unwrap(flow_runtime::store::Results::open(&roomy_results, dir.path()).await);
    let peak = common::unwrap(
        results
            .sql("SELECT max(memory_reserved_bytes) FROM metrics")
            .await,
    );
    use datafusion::arrow::array::AsArray;
    let peak = peak[0]
        .column(0)
        .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
        .value(0);
    assert!(peak > 4 << 20, "the unbounded cache peaked at {peak} bytes");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_limit_too_small_for_the_search_fails_the_run_clearly() {
    // 12,000 rows fit in the 1 MiB pool of a 2 MiB limit; cross-validating them (copies of
    // the matrix) does not.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 20\n        seed 4");
    std::fs::write(dir.path().join("planted.csv"), common::planted_csv(12_000)).expect("writable");
    let pipeline = load_pipeline(&path, &["search.memory-limit=\"2MiB\"".to_owned()])
        .unwrap_or_else(|e| panic!("{e:?}"));
    let options = RunOptions {
        output: Some(common::unique_memory_location("oom")),
        ..RunOptions::default()
    };
    match run_pipeline(&pipeline, &options, &mut |_| {}).await {
        Err(flow_runtime::RuntimeError::Search { message }) => {
            assert!(message.contains("cross-validating"), "{message}");
            assert!(message.contains("raise `--memory-limit`"), "{message}");
        }
        other => panic!(
            "expected a memory error, got {:?}",
            other.map(|s| s.evaluations.len())
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_reach_the_search_in_file_order_however_the_data_is_split() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 40\n        seed 2");
    let whole = run(&path, &[]).await;

    // The same rows as three files of a directory, which DataFusion scans as several
    // partitions on a multi-core machine.
    split_into_files(&dir.path().join("parts"), &common::planted_csv(400), 134);
    let split = run(
        &path,
        &["dataset.source=\"parts/\"", "dataset.format=\"csv\""],
    )
    .await;
    assert_eq!(
        without_timings(&split.evaluations),
        without_timings(&whole.evaluations)
    );

    let pipeline = load_pipeline(
        &path,
        &[
            "dataset.source=\"parts/\"".to_owned(),
            "dataset.format=\"csv\"".to_owned(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let plan = flow_runtime::compile(&pipeline, &RunOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .explain()
        .await
        .expect("explains");
    for merge in [
        "RepartitionExec",
        "CoalescePartitionsExec",
        "SortPreservingMergeExec",
    ] {
        assert!(
            !plan.contains(merge),
            "the plan merges partitions in arrival order:\n{plan}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn window_features_compute_to_the_same_bits_every_time() {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray, Float64Array, RecordBatch, UInt64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
    use datafusion::prelude::SessionContext;
    use flow_runtime::features::{FeatureTable, ROW_ID};

    // Enough rows for several batches, and more partitions than this machine may have
    // cores: a float sum over rows taken in arrival order would differ between runs.
    let rows = 100_000u64;
    let mut rng = Lcg(11);
    let x: Float64Array = (0..rows).map(|_| 1.0 + 9.0 * rng.next()).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, false),
        Field::new(ROW_ID, DataType::UInt64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(x),
            Arc::new(UInt64Array::from_iter_values(0..rows)),
        ],
    )
    .expect("valid");
    let config = flow_runtime::search_session_config().with_target_partitions(4);
    let table =
        FeatureTable::new(SessionContext::new_with_config(config), &batch).expect("registered");
    let sql = "(ln(\"x\") - avg(ln(\"x\")) OVER ()) / stddev(ln(\"x\")) OVER ()".to_owned();
    let bits = |column: &Arc<dyn Array>| -> Vec<u64> {
        column
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    let first = bits(
        &table
            .compute(std::slice::from_ref(&sql))
            .await
            .remove(0)
            .expect("computes"),
    );
    for _ in 0..4 {
        let again = table
            .compute(std::slice::from_ref(&sql))
            .await
            .remove(0)
            .expect("computes");
        assert!(bits(&again) == first, "the same SQL gave other values");
    }
    // … and in a batch with other candidates.
    let batch_of = vec![
        "\"x\" * 2.0".to_owned(),
        "avg(\"x\") OVER ()".to_owned(),
        sql,
    ];
    let together = table
        .compute(&batch_of)
        .await
        .pop()
        .expect("three")
        .expect("computes");
    assert!(bits(&together) == first, "another batch gave other values");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fraction_sample_taken_while_reading_does_not_depend_on_how_rows_arrive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 10\n        seed 3");
    std::fs::write(dir.path().join("planted.csv"), common::planted_csv(20_000)).expect("writable");
    let text = std::fs::read_to_string(&path)
        .expect("readable")
        .replace("target \"y\"", "target \"y\"\n        sample fraction=0.1");
    std::fs::write(&path, text).expect("writable");
    let whole = run(&path, &[]).await;

    // The same rows as four files: other batches, the same draws, the same sample.
    let csv = std::fs::read_to_string(dir.path().join("planted.csv")).expect("readable");
    split_into_files(&dir.path().join("parts"), &csv, 5_000);
    let split = run(
        &path,
        &["dataset.source=\"parts/\"", "dataset.format=\"csv\""],
    )
    .await;
    assert_eq!(
        without_timings(&split.evaluations),
        without_timings(&whole.evaluations)
    );
}

/// Operations that keep the order of their input's values (for the planted columns, all
/// above −1,000) and one that folds it.
const ORDER_OPS: &str = r#"        op "shifted-log" {
            input "x" type="numeric"
            sql "ln({x} + 1000)"
            output "numeric"
        }
        op "negated" {
            input "x" type="numeric"
            sql "-{x}"
            output "numeric"
        }
        op "cubed" {
            input "x" type="numeric"
            sql "{x} * {x} * {x}"
            output "numeric"
        }
        op "folded" {
            input "x" type="numeric"
            sql "({x} - 50) * ({x} - 50)"
            output "numeric"
        }"#;

/// A tree reads only the order of a column's values, so a strictly monotone function of a
/// column scores what the column does: the search drops such candidates unevaluated for
/// trees, and evaluates them for a linear model, which they do change, except the scaled
/// and shifted copies (`-x`), which least squares cannot tell from the column.
#[tokio::test(flavor = "multi_thread")]
async fn trees_are_not_offered_a_column_they_already_have_in_another_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("planted.csv"), common::planted_csv(400)).expect("writable");
    let text = common::planted_pipeline(
        "planted.csv",
        ORDER_OPS,
        "        iterations 30\n        seed 5",
        r#"output "results""#,
    )
    .replace("max-depth 2", "max-depth 1");
    let evaluated = |model: &str| {
        let path = dir.path().join(format!("{}.kdl", model.len()));
        std::fs::write(
            &path,
            text.replace("model \"linear-regression\"", &format!("model {model}")),
        )
        .expect("writable");
        async move {
            let summary = run(&path, &[]).await;
            summary
                .evaluations
                .iter()
                .filter(|r| r.status == "ok")
                .filter_map(|r| r.operation.clone())
                .collect::<Vec<String>>()
        }
    };
    let monotone = ["shifted-log", "negated", "cubed"];
    let by_tree = evaluated("\"decision-tree\" max-depth=4").await;
    assert!(by_tree.iter().any(|op| op == "folded"), "{by_tree:?}");
    assert!(
        by_tree.iter().all(|op| !monotone.contains(&op.as_str())),
        "a tree was offered a reordered copy of a column: {by_tree:?}"
    );
    let by_line = evaluated("\"linear-regression\"").await;
    assert!(
        by_line.iter().any(|op| monotone.contains(&op.as_str())),
        "{by_line:?}"
    );
    assert!(
        by_line.iter().all(|op| op != "negated"),
        "least squares was offered a negated copy of a column: {by_line:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_time_limit_cuts_evaluations_in_flight() {
    // A forest on one thread: each evaluation takes a while, and a batch of them far longer.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("planted.csv"), common::planted_csv(800)).expect("writable");
    let path = dir.path().join("forest.kdl");
    let text = common::planted_pipeline(
        "planted.csv",
        SPACE,
        "        iterations 1000\n        parallelism 1\n        seed 2",
        r#"output "results""#,
    )
    .replace("model \"linear-regression\"", "model \"random-forest\"");
    std::fs::write(&path, text).expect("writable");

    // How long one evaluation takes here and now (the baseline alone).
    let calibration = run(&path, &["search.iterations=1"]).await;
    let one = calibration.evaluations[0]
        .fit_ms
        .expect("the baseline was fitted");
    // Room for the baseline and about two batches' first evaluations: the limit falls while
    // a batch is being scored, which used to run to its end (each batch holds 4 or more).
    let limit_ms = (5.0 * one).max(1000.0);
    let started = std::time::Instant::now();
    let limited = run(&path, &[&format!("search.time-limit=\"{limit_ms:.0}ms\"")]).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;

    assert_eq!(limited.manifest.stop_reason.as_deref(), Some("time-limit"));
    let slowest = limited
        .evaluations
        .iter()
        .filter_map(|r| r.fit_ms)
        .fold(one, f64::max);
    // Past the limit: at most the fold in flight, the held-out fits and some bookkeeping.
    assert!(
        elapsed_ms <= limit_ms + 1.5 * slowest + 2000.0,
        "the run took {elapsed_ms:.0} ms under a limit of {limit_ms:.0} ms (one evaluation: {slowest:.0} ms)"
    );
    // What was cut left no row: every logged evaluation ran to its end.
    assert!(
        limited.evaluations.iter().all(|r| r.status != "failed"),
        "{:?}",
        limited
            .evaluations
            .iter()
            .map(|r| &r.error)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_without_a_named_memory_limit_is_bounded_by_the_machine() {
    use datafusion::execution::memory_pool::MemoryLimit;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_pipeline(dir.path(), SPACE, "        iterations 1");
    let pipeline = load_pipeline(&path, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let pool_limit = |options: RunOptions| {
        let pipeline = &pipeline;
        async move {
            let compiled = common::unwrap(flow_runtime::compile(pipeline, &options).await);
            compiled.ctx.task_ctx().memory_pool().memory_limit()
        }
    };
    let machine = flow_runtime::machine::memory_bytes().expect("this machine's memory");
    let MemoryLimit::Finite(bytes) = pool_limit(RunOptions::default()).await else {
        panic!("no memory limit without a named one");
    };
    assert!(
        (bytes as u64) < machine && (bytes as u64) > machine / 2,
        "a pool of {bytes} bytes on a machine of {machine}"
    );
    // A named limit wins.
    let named = pool_limit(RunOptions {
        memory_limit_bytes: Some(1 << 30),
        ..RunOptions::default()
    })
    .await;
    assert!(
        matches!(named, MemoryLimit::Finite(bytes) if bytes < 1 << 30),
        "a named limit of 1 GiB was not the pool's"
    );
}
