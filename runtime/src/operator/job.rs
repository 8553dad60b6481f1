//! What a feature search needs to know: the resolved pipeline, minus everything about where
//! the data comes from (that is the operator's input).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use flow_dsl::{CvScheme, DatasetSpec, EvaluatorSpec, ResolvedOperation, SearchSpec};

use super::log::EvaluationRow;
use crate::features::FittedSet;

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
    /// Where the search leaves its pruned and fitted best set when it finishes.
    pub final_set: FinalSlot,
}

/// Where a finished search leaves its final feature set for the run: the operator's one
/// output besides the evaluation log, taken by `run.rs`.
#[derive(Debug, Clone, Default)]
pub struct FinalSlot(Arc<Mutex<Option<FinalSet>>>);

/// The best feature set after pruning.
#[derive(Debug, Clone, PartialEq)]
pub struct LeanSet {
    /// The search's best node, which the set was pruned from.
    pub node_id: u64,
    /// The features kept (base columns first), by name.
    pub names: Vec<String>,
    /// Their SQL.
    pub sqls: Vec<String>,
    /// The kept set's fold scores.
    pub folds: Vec<f64>,
    /// The kept features' importance in the kept set, when features were dropped (else
    /// the best row's importance holds).
    pub importance: Option<Vec<f64>>,
    /// The engineered features dropped, in the order they were dropped.
    pub pruned: Vec<String>,
}

/// Why a search that ran to its end stopped where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It scored as many feature sets as `iterations` allows.
    Budget,
    /// Its `time-limit` passed.
    TimeLimit,
    /// `patience` feature sets in a row found no better score.
    Patience,
    /// Every feature set the space allows was tried.
    Exhausted,
    /// The run was interrupted (Ctrl-C, a signal); `--resume` continues it.
    Interrupted,
}

impl StopReason {
    const ALL: [Self; 5] = [
        Self::Budget,
        Self::TimeLimit,
        Self::Patience,
        Self::Exhausted,
        Self::Interrupted,
    ];

    /// The name stored in the `runs` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Budget => "budget",
            Self::TimeLimit => "time-limit",
            Self::Patience => "patience",
            Self::Exhausted => "exhausted",
            Self::Interrupted => "interrupted",
        }
    }

    /// The reason stored as `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The reason in words, after "the search stopped because"; `iterations` is the budget.
    pub fn describe(self, iterations: u64) -> String {
        match self {
            Self::Budget => format!("it scored its budget of {iterations} feature sets"),
            Self::TimeLimit => "its time limit passed".to_owned(),
            Self::Patience => {
                "its patience ran out: that many feature sets in a row found no better score"
                    .to_owned()
            }
            Self::Exhausted => "it tried every feature set the space allows".to_owned(),
            Self::Interrupted => "it was interrupted".to_owned(),
        }
    }
}

/// What a finished search leaves for the run: the pruned best set, its fit for new
/// data (or why it could not be fitted), its score on the held-out rows and why the
/// search stopped.
#[derive(Debug, Clone)]
pub struct FinalSet {
    /// The rows the search read, dropped, searched and held out.
    pub rows: super::driver::SearchRows,
    /// Why the search stopped.
    pub stopped: StopReason,
    /// The pruned best set.
    pub lean: LeanSet,
    /// Its statistics frozen for new data.
    pub fit: Result<FittedSet, String>,
    /// Its score on the rows held out of the search.
    pub confirmation: Confirmation,
}

/// The best set and the base columns scored on rows the search never saw (the
/// `evaluator`'s `confirm` holdout).
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmation {
    /// The pipeline holds no rows out.
    Off,
    /// Rows were to be held out, but nothing was scored on them: why.
    NotScored(String),
    /// A model fitted on the search's rows, scored on the held-out ones.
    Scored {
        /// Held-out rows.
        rows: u64,
        /// The base columns' score.
        baseline: f64,
        /// The best set's score.
        best: f64,
        /// The share of resamples of the held-out rows on which the best set wins.
        support: f64,
    },
}

impl FinalSlot {
    /// Leaves the final set.
    pub fn put(&self, set: FinalSet) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(set);
    }

    /// Takes the final set, if the search finished and left one.
    pub fn take(&self) -> Option<FinalSet> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
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
