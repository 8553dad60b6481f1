//! The models an evaluator can cross-validate, behind one [`Model`] trait.
//!
//! Linear models come from linfa (`linfa-linear`, `linfa-elasticnet`, `linfa-logistic`).
//! Trees are flow's own: an exact CART (module `tree`) for the decision tree and the random
//! forest, and histogram trees on binned features (modules `bins`, `gradient_tree`, `loss`)
//! for gradient boosting. linfa-trees 0.8 breaks ties between equally frequent classes through a
//! `HashMap` with a per-process random hasher, so the same data gave different trees from one
//! fit to the next, which would make scores irreproducible.

mod bins;
mod boosting;
mod forest;
mod gradient_tree;
mod linear;
mod logistic;
mod loss;
mod one_hot;
#[cfg(test)]
pub(super) mod testdata;
mod tree;

use std::collections::BTreeMap;
use std::sync::Arc;

use flow_dsl::{HyperValue, ModelKind, ModelSpec, Spanned, Task};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::{EvalError, Prediction, Target};
use boosting::GradientBoostingModel;
use forest::{DecisionTreeModel, RandomForestModel};
use linear::{ElasticNetModel, LinearRegressionModel};
use logistic::LogisticRegressionModel;
pub use one_hot::OneHotModel;

/// A model that can be fitted on one part of the rows and asked about others.
///
/// A model holds only its settings, so one can be shared across threads and fitted on every
/// fold; the evaluator keeps a fitted model no longer than the fold it was fitted for.
pub trait Model: Send + Sync + std::fmt::Debug {
    /// Fits on (train_x, train_y). `train_y` has the full classes list, so probability
    /// columns line up with the target's classes even when the training rows lack some of
    /// them (those get probability 0).
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError>;

    /// Fits on (train_x, train_y) and predicts valid_x.
    fn fit_predict(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
        valid_x: ArrayView2<f64>,
    ) -> Result<Prediction, EvalError> {
        self.fit(train_x, train_y)?.predict(valid_x)
    }

    /// Short description with every effective setting, for logs and EXPLAIN, e.g.
    /// "random-forest(trees=100, max-depth=8, …)".
    fn describe(&self) -> String;

    /// `Some(with an intercept)` when the model is ordinary least squares, which the
    /// evaluator can cross-validate from per-fold Gram matrices in one pass over the rows.
    fn ordinary_least_squares(&self) -> Option<bool> {
        None
    }

    /// Whether the model reads every input as a quantity, so category codes must reach it
    /// one-hot encoded ([`OneHotModel`]); trees split codes into groups and read them as
    /// they are.
    fn needs_one_hot(&self) -> bool {
        false
    }

    /// Whether all the model reads of a column is the order of its values, ties included
    /// (trees, which split at thresholds): a strictly monotone function of a column then
    /// gives it nothing new.
    fn reads_order_only(&self) -> bool {
        false
    }
}

/// A model fitted on one fold's training rows.
pub trait FittedModel: Send + Sync {
    /// Predicts the rows of `x` (the same columns as the training features, all finite).
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError>;

    /// The model's own importance of each training column (non-negative, any scale), or
    /// `None` when it has none and permutation importance must stand in. Trees report the
    /// impurity decrease (or loss reduction) of their splits, per column.
    fn importance(&self) -> Option<Vec<f64>> {
        None
    }

    /// One weight per training column when the prediction is affine in the inputs
    /// (`offset + x · weights`), so permutation importance can move predictions instead of
    /// predicting again; `None` otherwise.
    fn affine_weights(&self) -> Option<Array1<f64>> {
        None
    }
}

/// Builds the model for a task, with defaults for the hyperparameters the pipeline leaves
/// out (see each model's `from_spec`). `seed` seeds every random choice the model makes.
///
/// A model that cannot do the task is [`EvalError::Invalid`].
pub fn build_model(spec: &ModelSpec, task: Task, seed: u64) -> Result<Arc<dyn Model>, EvalError> {
    let kind = spec.kind.value;
    if !kind.tasks().contains(&task) {
        return Err(EvalError::Invalid(format!(
            "`{}` cannot do {}; it does {}",
            kind.name(),
            task.name(),
            kind.tasks()[0].name()
        )));
    }
    Ok(match (kind, task) {
        (ModelKind::LinearRegression, Task::Regression) => {
            Arc::new(LinearRegressionModel::from_spec(spec)?)
        }
        (ModelKind::ElasticNet, Task::Regression) => Arc::new(ElasticNetModel::from_spec(spec)?),
        (ModelKind::LogisticRegression, Task::Classification) => {
            Arc::new(LogisticRegressionModel::from_spec(spec)?)
        }
        (ModelKind::DecisionTree, _) => Arc::new(DecisionTreeModel::from_spec(spec)?),
        (ModelKind::RandomForest, task) => {
            Arc::new(RandomForestModel::from_spec(spec, task, seed)?)
        }
        (ModelKind::GradientBoosting, _) => Arc::new(GradientBoostingModel::from_spec(spec, seed)?),
        (kind, task) => {
            return Err(EvalError::NotBuilt {
                model: kind.name(),
                task: task.name(),
            });
        }
    })
}

/// Reads a model's hyperparameters, checking names, types and ranges again because library
/// users can build a [`ModelSpec`] without going through the pipeline checks.
struct Hyperparameters<'a> {
    model: &'static str,
    values: &'a BTreeMap<String, Spanned<HyperValue>>,
}

impl<'a> Hyperparameters<'a> {
    fn new(spec: &'a ModelSpec, known: &[&str]) -> Result<Self, EvalError> {
        let model = spec.kind.value.name();
        if let Some(unknown) = spec
            .hyperparameters
            .keys()
            .find(|k| !known.contains(&k.as_str()))
        {
            return Err(EvalError::Invalid(format!(
                "`{model}` has no hyperparameter `{unknown}`; it takes {}",
                known.join(", ")
            )));
        }
        Ok(Self {
            model,
            values: &spec.hyperparameters,
        })
    }

    fn wrong(&self, name: &str, expected: &str, value: HyperValue) -> EvalError {
        EvalError::Invalid(format!(
            "`{name}` of `{}` must be {expected}, not {value:?}",
            self.model
        ))
    }

    /// An integer of at least `min`.
    fn count(&self, name: &str, min: usize) -> Result<Option<usize>, EvalError> {
        let Some(value) = self.values.get(name).map(|v| v.value) else {
            return Ok(None);
        };
        match value {
            HyperValue::Int(i) if i >= 0 && i as u64 >= min as u64 => {
                Ok(Some(usize::try_from(i).unwrap_or(usize::MAX)))
            }
            _ => Err(self.wrong(name, &format!("an integer of at least {min}"), value)),
        }
    }

    /// A number accepted by `ok`, described by `range` ("in (0, 1]").
    fn number(
        &self,
        name: &str,
        ok: fn(f64) -> bool,
        range: &str,
    ) -> Result<Option<f64>, EvalError> {
        let Some(value) = self.values.get(name).map(|v| v.value) else {
            return Ok(None);
        };
        let number = match value {
            HyperValue::Float(f) => f,
            HyperValue::Int(i) => i as f64,
            HyperValue::Bool(_) => f64::NAN,
        };
        if number.is_finite() && ok(number) {
            Ok(Some(number))
        } else {
            Err(self.wrong(name, &format!("a number {range}"), value))
        }
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, EvalError> {
        match self.values.get(name).map(|v| v.value) {
            None => Ok(None),
            Some(HyperValue::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong(name, "#true or #false", other)),
        }
    }
}

/// Checks what every fit needs: training rows, as many as targets, all finite (a NaN would
/// silently steer trees and poison linear solvers).
fn check_training(train_x: ArrayView2<f64>, train_rows: usize) -> Result<(), EvalError> {
    if train_x.nrows() == 0 {
        return Err(EvalError::Invalid(
            "cannot fit a model on an empty training fold".into(),
        ));
    }
    if train_x.nrows() != train_rows {
        return Err(EvalError::Invalid(format!(
            "the training features have {} rows but the training target has {train_rows}",
            train_x.nrows()
        )));
    }
    check_finite(train_x)
}

/// Checks what every prediction needs: the training columns, all finite.
fn check_prediction(x: ArrayView2<f64>, columns: usize) -> Result<(), EvalError> {
    if x.ncols() != columns {
        return Err(EvalError::Invalid(format!(
            "the model was fitted on {columns} columns but is asked about {}",
            x.ncols()
        )));
    }
    check_finite(x)
}

fn check_finite(x: ArrayView2<f64>) -> Result<(), EvalError> {
    if x.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::Invalid(
            "the features contain missing or infinite values; impute them before evaluating".into(),
        ));
    }
    Ok(())
}

/// The numeric target, or an error naming the model that needed it.
fn regression_values<'t>(
    target: &'t Target,
    model: &str,
) -> Result<ArrayView1<'t, f64>, EvalError> {
    match target {
        Target::Regression(values) => Ok(values.view()),
        Target::Classification { .. } => Err(EvalError::Invalid(format!(
            "`{model}` does regression, but the target has classes"
        ))),
    }
}

/// The class labels and the number of classes, or an error naming the model that needed them.
fn class_labels<'t>(
    target: &'t Target,
    model: &str,
) -> Result<(ArrayView1<'t, usize>, usize), EvalError> {
    match target {
        Target::Classification { labels, classes } => {
            if let Some(bad) = labels.iter().find(|&&l| l >= classes.len()) {
                return Err(EvalError::Invalid(format!(
                    "class index {bad} is out of range: there are {} classes",
                    classes.len()
                )));
            }
            Ok((labels.view(), classes.len()))
        }
        Target::Regression(_) => Err(EvalError::Invalid(format!(
            "`{model}` does classification, but the target is numeric"
        ))),
    }
}

/// Centres and scales columns with the training rows' mean and standard deviation, because
/// penalised models would otherwise penalise features by their units. Constant columns map
/// to 0 (they carry nothing, and dividing by a zero spread would not be finite).
#[derive(Debug)]
struct Standardizer {
    mean: Array1<f64>,
    inverse_std: Array1<f64>,
}

impl Standardizer {
    fn fit(x: ArrayView2<f64>) -> Self {
        let rows = x.nrows() as f64;
        let mut mean = Array1::zeros(x.ncols());
        let mut inverse_std = Array1::zeros(x.ncols());
        for (j, column) in x.columns().into_iter().enumerate() {
            let m = column.sum() / rows;
            let constant = column.iter().all(|&v| v == column[0]);
            let variance = column.iter().map(|v| (v - m).powi(2)).sum::<f64>() / rows;
            mean[j] = m;
            inverse_std[j] = if constant || variance <= 0.0 {
                0.0
            } else {
                1.0 / variance.sqrt()
            };
        }
        Self { mean, inverse_std }
    }

    fn apply(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = x.to_owned();
        for (j, mut column) in out.columns_mut().into_iter().enumerate() {
            let (m, s) = (self.mean[j], self.inverse_std[j]);
            column.mapv_inplace(|v| (v - m) * s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::testdata::spec;
    use super::*;

    #[test]
    fn every_model_builds_for_every_task_it_declares() {
        for kind in ModelKind::ALL {
            for &task in kind.tasks() {
                let built = build_model(&spec(kind, &[]), task, 0);
                assert!(
                    built.is_ok(),
                    "{} for {}: {built:?}",
                    kind.name(),
                    task.name()
                );
            }
        }
    }

    #[test]
    fn a_model_asked_for_the_wrong_task_is_invalid() {
        let err = build_model(
            &spec(ModelKind::LinearRegression, &[]),
            Task::Classification,
            0,
        )
        .expect_err("wrong task");
        assert!(
            matches!(&err, EvalError::Invalid(m) if m.contains("cannot do classification")),
            "{err}"
        );
    }

    #[test]
    fn bad_hyperparameters_are_invalid() {
        let bad = [
            spec(ModelKind::RandomForest, &[("trees", HyperValue::Int(0))]),
            spec(
                ModelKind::RandomForest,
                &[("feature-fraction", HyperValue::Float(1.5))],
            ),
            spec(
                ModelKind::LogisticRegression,
                &[("fit-intercept", HyperValue::Int(1))],
            ),
            spec(ModelKind::DecisionTree, &[("depth", HyperValue::Int(3))]),
        ];
        for spec in bad {
            let err = build_model(&spec, Task::Classification, 0).expect_err("bad");
            assert!(matches!(err, EvalError::Invalid(_)), "{err}");
        }
    }

    #[test]
    fn describe_shows_the_defaults() {
        let described = |kind, task| {
            build_model(&spec(kind, &[]), task, 0)
                .expect("built")
                .describe()
        };
        assert_eq!(
            described(ModelKind::LinearRegression, Task::Regression),
            "linear-regression(fit-intercept=true)"
        );
        assert_eq!(
            described(ModelKind::ElasticNet, Task::Regression),
            "elastic-net(penalty=1, l1-ratio=0.5, max-iterations=1000)"
        );
        assert_eq!(
            described(ModelKind::LogisticRegression, Task::Classification),
            "logistic-regression(l2=1, max-iterations=100, fit-intercept=true)"
        );
        assert_eq!(
            described(ModelKind::DecisionTree, Task::Classification),
            "decision-tree(max-depth=unlimited, min-samples-split=2, min-samples-leaf=1)"
        );
        assert_eq!(
            described(ModelKind::RandomForest, Task::Classification),
            "random-forest(trees=100, max-depth=unlimited, min-samples-leaf=1, \
             feature-fraction=sqrt, sample-fraction=1)"
        );
        assert_eq!(
            described(ModelKind::RandomForest, Task::Regression),
            "random-forest(trees=100, max-depth=unlimited, min-samples-leaf=1, \
             feature-fraction=1, sample-fraction=1)"
        );
        assert_eq!(
            described(ModelKind::GradientBoosting, Task::Regression),
            "gradient-boosting(trees=100, learning-rate=0.1, max-depth=3, min-samples-leaf=1, \
             subsample=1)"
        );
    }

    #[test]
    fn degenerate_training_data_never_panics() {
        let built = |task| {
            ModelKind::ALL
                .iter()
                .filter(|k| k.tasks().contains(&task))
                .map(|&k| build_model(&spec(k, &[]), task, 1).expect("built"))
                .collect::<Vec<_>>()
        };
        let (regression, classification) = (built(Task::Regression), built(Task::Classification));
        let shapes = [
            array![[1.0, 2.0]],                         // one row
            array![[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], // constant columns
            array![[0.0, 1.0], [0.0, 1.0], [5.0, 1.0]], // duplicate rows
        ];
        for x in &shapes {
            let rows = x.nrows();
            let numbers = Target::Regression((0..rows).map(|i| i as f64).collect());
            let constant = Target::Regression(Array1::from_elem(rows, 4.0));
            for model in &regression {
                for y in [&numbers, &constant] {
                    let p = model.fit_predict(x.view(), y, x.view()).expect("fits");
                    assert!(p.is_finite(), "{model:?} on {x}");
                }
            }
            let two = Target::Classification {
                labels: (0..rows).map(|i| i % 2).collect(),
                classes: vec!["a".into(), "b".into(), "c".into()],
            };
            let three = Target::Classification {
                labels: (0..rows).map(|i| i % 3).collect(),
                classes: vec!["a".into(), "b".into(), "c".into()],
            };
            let one = Target::Classification {
                labels: Array1::from_elem(rows, 2),
                classes: vec!["a".into(), "b".into(), "c".into()],
            };
            for model in &classification {
                for y in [&two, &three, &one] {
                    let p = model.fit_predict(x.view(), y, x.view()).expect("fits");
                    assert!(p.is_finite(), "{model:?} on {x}");
                }
            }
        }
    }

    #[test]
    fn standardizing_maps_constant_columns_to_zero() {
        let x = array![[1.0, 0.1], [3.0, 0.1], [5.0, 0.1]];
        let s = Standardizer::fit(x.view());
        let z = s.apply(array![[3.0, 0.1], [7.0, 9.0]].view());
        let sd = (8.0f64 / 3.0).sqrt();
        assert_eq!(z, array![[0.0, 0.0], [4.0 / sd, 0.0]]);
    }

    #[test]
    fn non_finite_features_are_refused() {
        let x = array![[1.0], [f64::NAN]];
        let err = check_training(x.view(), 2).expect_err("NaN");
        assert!(matches!(err, EvalError::Invalid(m) if m.contains("impute")));
        let err = check_prediction(x.view(), 1).expect_err("NaN");
        assert!(matches!(err, EvalError::Invalid(m) if m.contains("impute")));
        let err = check_prediction(array![[1.0, 2.0]].view(), 1).expect_err("columns");
        assert!(matches!(err, EvalError::Invalid(m) if m.contains("fitted on 1 columns")));
    }
}
