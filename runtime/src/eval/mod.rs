//! Scoring a feature set: cross-validate a model on the features and report one score per fold.
//!
//! The search hands [`Evaluator::cross_validate`] a matrix with one column per feature (rows
//! aligned with the [`Target`]); the evaluator splits the rows into [`Fold`]s once
//! ([`make_folds`]), fits the [`Model`] on each training part, predicts the validation part
//! and [`score`]s it. [`Evaluator::cross_validate_with_importance`] also says how much each
//! column mattered (the model's own importance, or permutation importance), and
//! [`Evaluator::on_sample`] cross-validates on a seeded sample of the rows ([`sample_rows`]).
//! Everything random is seeded, so the same inputs give the same scores bit for bit,
//! whatever the number of threads.

mod evaluator;
mod folds;
mod importance;
mod least_squares;
mod metrics;
mod models;
mod screening;

use flow_dsl::Task;
use ndarray::{Array1, Array2};

pub use evaluator::{Evaluator, Sample};
pub use folds::{Fold, make_folds};
pub use importance::PERMUTATION_REPEATS;
pub use metrics::{default_metric, score};
pub use models::{FittedModel, Model, build_model};
pub use screening::sample_rows;

/// What a model learns to predict, one entry per row.
///
/// Classes are indices rather than names so that models, folds and metrics work on plain
/// integers; the names stay alongside for display and to fix the class order.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// One float per row.
    Regression(Array1<f64>),
    /// One class index per row, into `classes` (class names sorted, as strings).
    Classification {
        /// The class index of each row.
        labels: Array1<usize>,
        /// Every class name, sorted; index `i` names class `i`.
        classes: Vec<String>,
    },
}

impl Target {
    /// Builds a classification target from the class name of each row, numbering the classes
    /// in sorted name order (so the positive class of a binary task is the second name).
    pub fn from_class_names<S: AsRef<str>>(names: &[S]) -> Target {
        let mut classes: Vec<String> = names.iter().map(|n| n.as_ref().to_owned()).collect();
        classes.sort();
        classes.dedup();
        let labels = names
            .iter()
            .map(|n| {
                classes
                    .binary_search_by(|c| c.as_str().cmp(n.as_ref()))
                    .expect("every name is in the class list built from the names")
            })
            .collect();
        Target::Classification { labels, classes }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Target::Regression(values) => values.len(),
            Target::Classification { labels, .. } => labels.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task this target is for.
    pub fn task(&self) -> Task {
        match self {
            Target::Regression(_) => Task::Regression,
            Target::Classification { .. } => Task::Classification,
        }
    }

    /// The rows `rows`, in that order (classes list kept whole, so class indices keep their
    /// meaning in every fold).
    ///
    /// # Panics
    /// If a row index is out of range: folds only hold rows of the target they were made for.
    pub fn select(&self, rows: &[usize]) -> Target {
        match self {
            Target::Regression(values) => {
                Target::Regression(rows.iter().map(|&r| values[r]).collect())
            }
            Target::Classification { labels, classes } => Target::Classification {
                labels: rows.iter().map(|&r| labels[r]).collect(),
                classes: classes.clone(),
            },
        }
    }
}

/// A model's output for the validation rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// One predicted value per row (regression).
    Values(Array1<f64>),
    /// Hard labels plus class probabilities (rows × classes, each row sums to 1).
    Classes {
        /// The predicted class index of each row.
        labels: Array1<usize>,
        /// The probability of each class (columns in the target's class order).
        probabilities: Array2<f64>,
    },
}

impl Prediction {
    /// Class probabilities with the hard label of each row taken as the most probable class
    /// (the lowest class index on ties), so every model breaks ties the same way.
    pub fn from_probabilities(probabilities: Array2<f64>) -> Prediction {
        let labels = probabilities
            .rows()
            .into_iter()
            .map(|row| argmax(row.iter().copied()))
            .collect();
        Prediction::Classes {
            labels,
            probabilities,
        }
    }

    /// The number of rows predicted.
    pub fn len(&self) -> usize {
        match self {
            Prediction::Values(values) => values.len(),
            Prediction::Classes { labels, .. } => labels.len(),
        }
    }

    /// The prediction of the rows numbered in `rows`, in that order (repeats allowed).
    pub fn select(&self, rows: &[usize]) -> Prediction {
        match self {
            Prediction::Values(values) => {
                Prediction::Values(rows.iter().map(|&r| values[r]).collect())
            }
            Prediction::Classes {
                labels,
                probabilities,
            } => Prediction::Classes {
                labels: rows.iter().map(|&r| labels[r]).collect(),
                probabilities: probabilities.select(ndarray::Axis(0), rows),
            },
        }
    }

    /// Whether no rows were predicted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every number in the prediction is finite; a model that diverged must not be
    /// scored as if it had predicted something.
    pub fn is_finite(&self) -> bool {
        match self {
            Prediction::Values(values) => values.iter().all(|v| v.is_finite()),
            Prediction::Classes { probabilities, .. } => {
                probabilities.iter().all(|p| p.is_finite())
            }
        }
    }
}

/// The index of the largest value, the first one on ties (0 for an empty input).
pub(crate) fn argmax(values: impl IntoIterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.into_iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// Why a feature set could not be scored.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EvalError {
    /// The model is designed but not built for this task yet (every model of the language
    /// is built for every task it declares; this guards models added to the language later).
    #[error("`{model}` for {task} is not built yet")]
    #[diagnostic(
        code("flow::eval::not-built"),
        help("choose another model for this task")
    )]
    NotBuilt {
        /// The model's KDL name.
        model: &'static str,
        /// The task's KDL name.
        task: &'static str,
    },
    /// Settings that cannot work together or with this data (message says what and how to fix).
    #[error("{0}")]
    #[diagnostic(code("flow::eval::invalid"))]
    Invalid(String),
    /// The model failed to fit or predict (message includes linfa's error).
    #[error("the model failed: {0}")]
    #[diagnostic(code("flow::eval::model"))]
    Model(String),
    /// The evaluation was stopped before it finished: its time was up.
    #[error("the time limit passed before the evaluation finished")]
    #[diagnostic(code("flow::eval::cut"))]
    Cut,
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn class_names_are_numbered_in_sorted_order() {
        let target = Target::from_class_names(&["yes", "no", "yes", "maybe"]);
        assert_eq!(
            target,
            Target::Classification {
                labels: array![2, 1, 2, 0],
                classes: vec!["maybe".into(), "no".into(), "yes".into()],
            }
        );
        assert_eq!(target.task(), Task::Classification);
        assert_eq!(target.len(), 4);
    }

    #[test]
    fn select_keeps_row_order_and_the_whole_class_list() {
        let target = Target::from_class_names(&["a", "b", "c"]);
        let Target::Classification { labels, classes } = target.select(&[2, 0]) else {
            panic!("selecting keeps the task");
        };
        assert_eq!(labels, array![2, 0]);
        assert_eq!(classes.len(), 3);
        let values = Target::Regression(array![1.0, 2.0, 3.0]).select(&[1, 1]);
        assert_eq!(values, Target::Regression(array![2.0, 2.0]));
        assert!(Target::Regression(array![]).is_empty());
    }

    #[test]
    fn hard_labels_break_ties_towards_the_lower_class() {
        let prediction = Prediction::from_probabilities(array![[0.5, 0.5], [0.2, 0.8]]);
        let Prediction::Classes { labels, .. } = prediction else {
            panic!("probabilities give classes");
        };
        assert_eq!(labels, array![0, 1]);
    }
}
