//! The canonical form of a resolved pipeline and its hash.
//!
//! The canonical text lists everything that changes what a search computes, in a fixed
//! order with defaults filled in: whitespace, comments, property order, how operations
//! were imported (`std.all` or one module at a time) and the order of unordered lists do
//! not change it. Settings that only say *where* or *how fast* (the pipeline's name,
//! `output`, `parallelism`, `memory-limit`, `checkpoint-interval`) are left out, so
//! moving the results or using more cores keeps the same run identity.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::dataset::{DatasetSpec, SampleSize};
use crate::evaluator::{ConfirmSpec, CvScheme, EvaluatorSpec, HyperValue};
use crate::operation::OperationSpec;
use crate::resolve::ResolvedPipeline;
use crate::search::SearchSpec;
use crate::space::SpaceSpec;

/// Bumped whenever the canonical text changes shape, so old and new hashes never collide.
pub const CANONICAL_VERSION: u32 = 2;

impl ResolvedPipeline {
    /// The canonical text of the pipeline (one setting group per line).
    pub fn canonical_text(&self) -> String {
        let mut out = format!("canonical-version {CANONICAL_VERSION}\n");
        let spec = &self.spec;
        dataset(&mut out, &spec.dataset, spec.search.seed);
        space(&mut out, &spec.space);
        for op in self.operations.values() {
            operation(&mut out, &op.spec);
        }
        evaluator(&mut out, &spec.evaluator, spec.search.seed);
        search(&mut out, &spec.search);
        out
    }

    /// SHA-256 of [`Self::canonical_text`], as 64 lower-case hex digits.
    pub fn spec_hash(&self) -> String {
        let digest = Sha256::digest(self.canonical_text().as_bytes());
        digest.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

fn sorted(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().collect();
    v.sort();
    v.dedup();
    v
}

fn dataset(out: &mut String, d: &DatasetSpec, seed: u64) {
    let _ = write!(
        out,
        "dataset source={:?} format={} target={:?}",
        d.source.value.display(),
        d.format.value.name(),
        d.target.value
    );
    if d.format.value == crate::dataset::DataFormat::Csv {
        let _ = write!(
            out,
            " delimiter={} header={}",
            d.csv.delimiter, d.csv.header
        );
    }
    if let Some(task) = &d.task {
        let _ = write!(out, " task={}", task.value.name());
    }
    for (key, column) in [("id", &d.id), ("time", &d.time), ("group", &d.group)] {
        if let Some(c) = column {
            let _ = write!(out, " {key}={:?}", c.value);
        }
    }
    let drop = sorted(d.drop.iter().map(|c| c.value.clone()));
    if !drop.is_empty() {
        let _ = write!(out, " drop={drop:?}");
    }
    if let Some(sample) = &d.sample {
        match sample.size {
            SampleSize::Rows(n) => {
                let _ = write!(out, " sample-rows={n}");
            }
            SampleSize::Fraction(f) => {
                let _ = write!(out, " sample-fraction={f:?}");
            }
        }
        let _ = write!(out, " sample-seed={}", sample.seed.unwrap_or(seed));
    }
    out.push('\n');
}

fn space(out: &mut String, s: &SpaceSpec) {
    let include = sorted(s.include.iter().map(|c| c.value.clone()));
    let exclude = sorted(s.exclude.iter().map(|c| c.value.clone()));
    let _ = writeln!(
        out,
        "space max-depth={} include={include:?} exclude={exclude:?}",
        s.max_depth
    );
}

fn operation(out: &mut String, op: &OperationSpec) {
    let _ = write!(out, "op {:?}", op.name.value);
    for input in &op.inputs {
        let _ = write!(out, " input:{}={}", input.name.value, input.ty.name());
    }
    for param in &op.params {
        let values: Vec<String> = param.values.iter().map(|v| v.value.to_string()).collect();
        let _ = write!(
            out,
            " param:{}:{}=[{}]",
            param.name.value,
            param.ty.name(),
            values.join(",")
        );
    }
    let _ = writeln!(
        out,
        " sql={:?} output={} weight={:?} commutative={}",
        op.template.value.text,
        op.output.name(),
        op.weight,
        op.commutative
    );
}

fn evaluator(out: &mut String, e: &EvaluatorSpec, seed: u64) {
    let _ = write!(out, "evaluator model={}", e.model.kind.value.name());
    for (name, value) in &e.model.hyperparameters {
        let _ = write!(out, " {name}={}", hyper_text(value.value));
    }
    match &e.metric {
        Some(m) => {
            let _ = write!(out, " metric={}", m.value.name());
            if let crate::evaluator::Metric::MapAtK(k) = m.value {
                let _ = write!(out, " k={k}");
            }
        }
        None => out.push_str(" metric=task-default"),
    }
    let scheme = match e.cv.scheme {
        CvScheme::KFold { folds } => format!("k-fold folds={folds}"),
        CvScheme::Stratified { folds } => format!("stratified folds={folds}"),
        CvScheme::RepeatedKFold { folds, repeats } => {
            format!("repeated-k-fold folds={folds} repeats={repeats}")
        }
        CvScheme::Holdout { fraction } => format!("holdout fraction={fraction:?}"),
    };
    let _ = write!(out, " cv={scheme} cv-seed={}", e.cv.seed.unwrap_or(seed));
    if let ConfirmSpec::Holdout {
        fraction,
        seed: own,
    } = e.confirm
    {
        let _ = write!(
            out,
            " confirm={fraction:?} confirm-seed={}",
            own.unwrap_or(seed)
        );
    }
    if let Some(model) = &e.final_model {
        let _ = write!(out, " final-model={}", model.kind.value.name());
        for (name, value) in &model.hyperparameters {
            let _ = write!(out, " final-model.{name}={}", hyper_text(value.value));
        }
    }
    out.push('\n');
}

fn hyper_text(value: HyperValue) -> String {
    match value {
        HyperValue::Int(i) => i.to_string(),
        HyperValue::Float(f) => format!("{f:?}"),
        HyperValue::Bool(b) => b.to_string(),
    }
}

fn search(out: &mut String, s: &SearchSpec) {
    let _ = write!(
        out,
        "search iterations={} exploration={:?} expansion-threshold={} max-children={} max-features={} seed={}",
        s.iterations, s.exploration, s.expansion_threshold, s.max_children, s.max_features, s.seed
    );
    if let Some(t) = s.time_limit {
        let _ = write!(out, " time-limit-ms={}", t.as_millis());
    }
    if let Some(p) = s.patience {
        let _ = write!(out, " patience={p}");
    }
    if let Some(h) = s.halving {
        let _ = write!(
            out,
            " halving-factor={} halving-rungs={}",
            h.factor, h.rungs
        );
    }
    out.push('\n');
}
