//! The models an evaluator can cross-validate, behind one [`Model`] trait.
//!
//! Linear models come from linfa (`linfa-linear`, `linfa-elasticnet`, `linfa-logistic`).
//! Trees are flow's own CART (module `tree`): linfa-trees 0.8 breaks ties between equally frequent
//! classes through a `HashMap` with a per-process random hasher, so the same data gave
//! different trees from one fit to the next, which would make scores irreproducible.

mod forest;
mod linear;
mod logistic;
#[cfg(test)]
pub(super) mod testdata;
mod tree;

use std::collections::BTreeMap;
use std::sync::Arc;

use flow_dsl::{HyperValue, ModelKind, ModelSpec, Spanned, Task};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::{EvalError, Prediction, Target};
use forest::{DecisionTreeModel, RandomForestModel};
use linear::{ElasticNetModel, LinearRegressionModel};
use logistic::LogisticRegressionModel;

/// A model that can be fitted on one part of the rows and asked about another.
///
/// Fitting and predicting are one call because the evaluator never keeps a fitted model:
/// every fold fits afresh, so a model holds only its settings and can be shared across
/// threads.
pub trait Model: Send + Sync + std::fmt::Debug {
    /// Fits on (train_x, train_y) and predicts valid_x. `train_y` has the full classes list,
    /// so probability columns line up with the target's classes even when the training rows
    /// lack some of them (those get probability 0).
    fn fit_predict(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
        valid_x: ArrayView2<f64>,
    ) -> Result<Prediction, EvalError>;

    /// Short description with every effective setting, for logs and EXPLAIN, e.g.
    /// "random-forest(trees=100, max-depth=8, …)".
    fn describe(&self) -> String;
}

/// Builds the model for a task, with defaults for the hyperparameters the pipeline leaves
/// out (see each model's `from_spec`). `seed` seeds every random choice the model makes.
///
/// A model that cannot do the task is [`EvalError::Invalid`]; one that is designed for the
/// task but not built yet is [`EvalError::NotBuilt`].
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
        (ModelKind::DecisionTree, Task::Classification) => {
            Arc::new(DecisionTreeModel::from_spec(spec)?)
        }
        (ModelKind::RandomForest, Task::Classification) => {
            Arc::new(RandomForestModel::from_spec(spec, seed)?)
        }
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

/// Checks what every model needs: training rows, matching row and column counts, and finite
/// values (a NaN would silently steer trees and poison linear solvers).
fn check_inputs(
    train_x: ArrayView2<f64>,
    train_rows: usize,
    valid_x: ArrayView2<f64>,
) -> Result<(), EvalError> {
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
    if train_x.ncols() != valid_x.ncols() {
        return Err(EvalError::Invalid(format!(
            "the training features have {} columns but the validation features have {}",
            train_x.ncols(),
            valid_x.ncols()
        )));
    }
    if train_x.iter().chain(valid_x.iter()).any(|v| !v.is_finite()) {
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
    fn designed_but_unbuilt_pairs_say_not_built() {
        let cases = [
            (ModelKind::DecisionTree, Task::Regression),
            (ModelKind::RandomForest, Task::Regression),
            (ModelKind::GradientBoosting, Task::Regression),
            (ModelKind::GradientBoosting, Task::Classification),
        ];
        for (kind, task) in cases {
            let err = build_model(&spec(kind, &[]), task, 0).expect_err("not built");
            assert!(matches!(err, EvalError::NotBuilt { model, .. } if model == kind.name()));
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
    }

    #[test]
    fn degenerate_training_data_never_panics() {
        let built = |kind, task| build_model(&spec(kind, &[]), task, 1).expect("built");
        let regression = [ModelKind::LinearRegression, ModelKind::ElasticNet]
            .map(|k| built(k, Task::Regression));
        let classification = [
            ModelKind::LogisticRegression,
            ModelKind::DecisionTree,
            ModelKind::RandomForest,
        ]
        .map(|k| built(k, Task::Classification));
        let shapes = [
            array![[1.0, 2.0]],                         // one row
            array![[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], // constant columns
            array![[0.0, 1.0], [0.0, 1.0], [5.0, 1.0]], // duplicate rows
        ];
        for x in &shapes {
            let rows = x.nrows();
            let numbers = Target::Regression((0..rows).map(|i| i as f64).collect());
            for model in &regression {
                let p = model
                    .fit_predict(x.view(), &numbers, x.view())
                    .expect("fits");
                assert!(p.is_finite(), "{model:?} on {x}");
            }
            let classes = Target::Classification {
                labels: (0..rows).map(|i| i % 2).collect(),
                classes: vec!["a".into(), "b".into(), "c".into()],
            };
            for model in &classification {
                let p = model
                    .fit_predict(x.view(), &classes, x.view())
                    .expect("fits");
                assert!(p.is_finite(), "{model:?} on {x}");
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
        let err = check_inputs(x.view(), 2, x.view()).expect_err("NaN");
        assert!(matches!(err, EvalError::Invalid(m) if m.contains("impute")));
    }
}
