//! Speed work must not change what the search does: for a fixed seed, every search below
//! makes the evaluations recorded in `tests/golden/` (node, parent, status, new feature,
//! fold scores, mean and importances), which were written by the build before the
//! performance work of issue #9. Scores may differ from the recording only by rounding
//! (relative 1e-9), which is the most a different but exact way of computing them moves
//! them; anything else is a changed search and fails.
//!
//! A change that is meant to alter the search (a new operation, a new search rule)
//! re-records them with `FLOW_BLESS_GOLDEN=1 cargo test -p flow-runtime --test golden`, and
//! says so in its commit.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{Lcg, planted_csv};
use flow_runtime::operator::log::EvaluationRow;
use flow_runtime::{RunOptions, load_pipeline, run_pipeline};

/// Relative difference allowed between a recorded and a computed score.
const TOLERANCE: f64 = 1e-9;

/// Difference allowed between a recorded and a computed importance (a share of 1): small
/// importances are differences of nearly equal scores, so rounding moves them relatively
/// more.
const IMPORTANCE_TOLERANCE: f64 = 1e-9;

async fn evaluations(dir: &Path, pipeline: &str) -> Vec<EvaluationRow> {
    let path = dir.join("pipeline.kdl");
    std::fs::write(&path, pipeline).expect("writable");
    let pipeline = load_pipeline(&path, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let options = RunOptions {
        output: Some(common::unique_memory_location("golden")),
        ..RunOptions::default()
    };
    run_pipeline(&pipeline, &options, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
        .evaluations
}

/// The log as text, one evaluation per line: what the search decided, then its numbers.
fn render(rows: &[EvaluationRow]) -> String {
    let numbers = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::new();
    for r in rows {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.iteration,
            r.node_id,
            r.parent_id.map_or("-".to_owned(), |p| p.to_string()),
            r.status,
            r.new_feature_sql.as_deref().unwrap_or("-"),
            r.mean.map_or("-".to_owned(), |m| format!("{m:e}")),
            numbers(&r.fold_scores),
            numbers(&r.importance),
        );
    }
    out
}

/// Whether two fields are equal: numbers within `tolerance(recorded, computed)`, anything
/// else exactly.
fn same_field(recorded: &str, computed: &str, tolerance: impl Fn(f64, f64) -> f64) -> bool {
    let recorded_numbers: Vec<&str> = recorded.split(' ').collect();
    let computed_numbers: Vec<&str> = computed.split(' ').collect();
    if recorded_numbers.len() != computed_numbers.len() {
        return false;
    }
    recorded_numbers
        .iter()
        .zip(&computed_numbers)
        .all(|(a, b)| match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => (x - y).abs() <= tolerance(x, y),
            _ => a == b,
        })
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.tsv"))
}

/// Runs `pipeline` and compares its log with the recording `name`.
async fn check(name: &str, dir: &Path, pipeline: &str) {
    let computed = render(&evaluations(dir, pipeline).await);
    let path = golden_path(name);
    if std::env::var_os("FLOW_BLESS_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("writable");
        std::fs::write(&path, &computed).expect("writable");
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; record it with FLOW_BLESS_GOLDEN=1",
            path.display()
        )
    });
    let (recorded, computed): (Vec<&str>, Vec<&str>) =
        (recorded.lines().collect(), computed.lines().collect());
    for (i, (r, c)) in recorded.iter().zip(&computed).enumerate() {
        let fields = [
            "iteration",
            "node",
            "parent",
            "status",
            "feature",
            "mean",
            "folds",
            "importance",
        ];
        for ((field, a), b) in fields.iter().zip(r.split('\t')).zip(c.split('\t')) {
            let tolerance = |x: f64, y: f64| {
                if *field == "importance" {
                    IMPORTANCE_TOLERANCE
                } else {
                    TOLERANCE * x.abs().max(y.abs()).max(1e-3)
                }
            };
            assert!(
                same_field(a, b, tolerance),
                "{name}: evaluation {i} differs in its {field}\nrecorded: {r}\ncomputed: {c}"
            );
        }
    }
    assert_eq!(
        recorded.len(),
        computed.len(),
        "{name}: the search made a different number of evaluations"
    );
}

fn pipeline(source: &str, target: &str, evaluator: &str, search: &str) -> String {
    format!(
        r#"pipeline "golden" {{
    dataset {{
        source "{source}"
        target "{target}"
    }}
    space {{
        use "std.numeric" "std.arithmetic"
        max-depth 2
    }}
    evaluator {{
{evaluator}
    }}
    search {{
{search}
    }}
    output "results"
}}
"#
    )
}

/// Two noisy classes that a product and a log ratio of the inputs separate.
fn classes_csv(rows: usize) -> String {
    let mut rng = Lcg(17);
    let mut out = String::from("a,b,c,d,class\n");
    for _ in 0..rows {
        let (a, b, c, d) = (
            1.0 + 9.0 * rng.next(),
            1.0 + 9.0 * rng.next(),
            rng.next(),
            10.0 * rng.next(),
        );
        let signal = (a / b).ln() + 0.3 * (c - 0.5) * d + 0.4 * (rng.next() - 0.5);
        let class = if signal > 0.0 { "yes" } else { "no" };
        let _ = writeln!(out, "{a:.6},{b:.6},{c:.6},{d:.6},{class}");
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn linear_regression_searches_as_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("data.csv"), planted_csv(1500)).expect("writable");
    let text = pipeline(
        "data.csv",
        "y",
        "        model \"linear-regression\"\n        metric \"rmse\"\n        cv \"k-fold\" folds=5",
        "        iterations 120\n        seed 5",
    );
    check("linear_regression", dir.path(), &text).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mae_on_a_linear_model_searches_as_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("data.csv"), planted_csv(800)).expect("writable");
    let text = pipeline(
        "data.csv",
        "y",
        "        model \"linear-regression\"\n        metric \"mae\"\n        cv \"repeated-k-fold\" folds=3 repeats=2",
        "        iterations 60\n        seed 8",
    );
    check("linear_regression_mae", dir.path(), &text).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logistic_regression_searches_as_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("data.csv"), classes_csv(600)).expect("writable");
    let text = pipeline(
        "data.csv",
        "class",
        "        model \"logistic-regression\"\n        metric \"auc\"\n        cv \"stratified\" folds=4",
        "        iterations 40\n        seed 3",
    );
    check("logistic_regression", dir.path(), &text).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_random_forest_searches_as_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("data.csv"), classes_csv(300)).expect("writable");
    let text = pipeline(
        "data.csv",
        "class",
        "        model \"random-forest\" trees=8 max-depth=5\n        metric \"accuracy\"\n        cv \"stratified\" folds=3",
        "        iterations 25\n        seed 4",
    );
    check("random_forest", dir.path(), &text).await;
}

/// Successive halving changes which candidates become children (a sampled cross-validation
/// reorders the best-screened), so it has its own recording.
#[tokio::test(flavor = "multi_thread")]
async fn halving_searches_as_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("data.csv"), classes_csv(900)).expect("writable");
    let text = pipeline(
        "data.csv",
        "class",
        "        model \"random-forest\" trees=8 max-depth=5\n        metric \"accuracy\"\n        cv \"stratified\" folds=3",
        "        iterations 25\n        seed 4\n        halving factor=3 rungs=2",
    );
    check("halving", dir.path(), &text).await;
}
