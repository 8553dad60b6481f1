//! What a feature search needs to know: the resolved pipeline, minus everything about where
//! the data comes from (that is the operator's input).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use flow_dsl::{CvScheme, DatasetSpec, EvaluatorSpec, ResolvedOperation, SearchSpec};

use super::log::EvaluationRow;

/// The settings of one feature search, shared by the logical and physical operators.
#[derive(Debug, Clone)]
pub struct SearchJob {
    /// The run this search belongs to.
    pub run_id: String,
    /// The pipeline's spec hash (part of the operator's identity).
    pub spec_hash: String,
    /// The operations the search may apply.
    pub operations: BTreeMap<String, ResolvedOperation>,
    /// Column roles, sampling and task.
    pub dataset: DatasetSpec,
    /// The deepest composition in one feature.
    pub max_depth: u32,
    /// Only these columns are base features, when not empty.
    pub include: Vec<String>,
    /// Never base features.
    pub exclude: Vec<String>,
    /// How feature sets are scored.
    pub evaluator: EvaluatorSpec,
    /// Budget and MCTS settings.
    pub search: SearchSpec,
    /// The stored evaluations of an interrupted run, in order: the search replays them
    /// (taking their scores instead of cross-validating again) to rebuild its state exactly,
    /// and emits only what comes after.
    pub replay: Arc<Vec<EvaluationRow>>,
    /// Search time spent before this process took over, counted against `time-limit`.
    pub prior_elapsed: Duration,
}

impl fmt::Display for SearchJob {
    /// The key settings, as EXPLAIN shows them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cv = match self.evaluator.cv.scheme {
            CvScheme::KFold { folds } => format!("{folds}-fold"),
            CvScheme::Stratified { folds } => format!("stratified-{folds}-fold"),
            CvScheme::RepeatedKFold { folds, repeats } => format!("{repeats}x{folds}-fold"),
            CvScheme::Holdout { fraction } => format!("holdout-{fraction}"),
        };
        let metric = self
            .evaluator
            .metric
            .as_ref()
            .map_or("default", |m| m.value.name());
        write!(
            f,
            "target={}, operations={}, iterations={}, depth={}, max-features={}, model={}, metric={metric}, cv={cv}, seed={}",
            self.dataset.target.value,
            self.operations.len(),
            self.search.iterations,
            self.max_depth,
            self.search.max_features,
            self.evaluator.model.kind.value.name(),
            self.search.seed,
        )?;
        if let Some(h) = self.search.halving {
            write!(f, ", halving=factor-{}-rungs-{}", h.factor, h.rungs)?;
        }
        Ok(())
    }
}
