//! Shared test data: a planted relation and a pipeline searching for it.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

use flow_runtime::RuntimeError;
use flow_runtime::operator::log::EvaluationRow;
use std::sync::atomic::{AtomicU32, Ordering};

/// A small deterministic generator, so the data is the same on every machine.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        #[allow(clippy::cast_precision_loss)]
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }
}

/// y = 3·ln(a)/b + small noise, with two distractor columns.
pub fn planted_csv(rows: usize) -> String {
    let mut rng = Lcg(42);
    let mut out = String::from("a,b,c,d,y\n");
    for _ in 0..rows {
        let a = 1.0 + 99.0 * rng.next();
        let b = 1.0 + 9.0 * rng.next();
        let c = 100.0 * rng.next();
        let d = rng.next() - 0.5;
        let noise = 0.05 * (rng.next() - 0.5);
        let y = 3.0 * a.ln() / b + noise;
        let _ = writeln!(out, "{a:.6},{b:.6},{c:.6},{d:.6},{y:.6}");
    }
    out
}

/// A pipeline searching the planted data at `source` with `space` and `search` settings,
/// and `output` as its last node.
pub fn planted_pipeline(source: &str, space: &str, search: &str, output: &str) -> String {
    format!(
        r#"pipeline "planted" {{
    dataset {{
        source "{source}"
        target "y"
    }}
    space {{
{space}
        max-depth 2
    }}
    evaluator {{
        model "linear-regression"
        metric "rmse"
        cv "k-fold" folds=4
    }}
    search {{
{search}
    }}
    {output}
}}
"#
    )
}

/// Writes the planted data and a pipeline searching it into `dir`.
pub fn write_pipeline(dir: &Path, space: &str, search: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("planted.csv"), planted_csv(400)).expect("writable");
    let path = dir.join("planted.kdl");
    let text = planted_pipeline("planted.csv", space, search, r#"output "results""#);
    std::fs::write(&path, text).expect("writable");
    path
}

/// A `memory://` results location no other test uses.
pub fn unique_memory_location(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("memory://{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The log without wall times, which differ between runs of the same search.
pub fn without_timings(rows: &[EvaluationRow]) -> Vec<EvaluationRow> {
    rows.iter()
        .map(|r| EvaluationRow {
            duration_ms: 0.0,
            feature_ms: None,
            fit_ms: None,
            ..r.clone()
        })
        .collect()
}

/// The value, or a panic showing the diagnostic as a user would see it.
pub fn unwrap<T>(result: Result<T, RuntimeError>) -> T {
    result.unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
}

/// Writes the rows of `csv` (a header line, then rows) into `dir` as files of `rows` rows
/// each, every one with the header, named so their path order is the row order.
pub fn split_into_files(dir: &Path, csv: &str, rows: usize) {
    let mut lines = csv.lines();
    let header = lines.next().expect("a header");
    let body: Vec<&str> = lines.collect();
    std::fs::create_dir_all(dir).expect("writable");
    for (i, chunk) in body.chunks(rows).enumerate() {
        let text = format!("{header}\n{}\n", chunk.join("\n"));
        std::fs::write(dir.join(format!("part-{i:03}.csv")), text).expect("writable");
    }
}
