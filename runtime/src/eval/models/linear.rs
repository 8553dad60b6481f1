//! Linear regression models from linfa.

use flow_dsl::ModelSpec;
use linfa::Dataset;
use linfa::traits::{Fit, Predict};
use linfa_elasticnet::ElasticNet;
use linfa_linear::{FittedLinearRegression, LinearRegression};
use ndarray::{Array1, ArrayView2, Axis};

use super::{
    FittedModel, Hyperparameters, Model, Standardizer, check_prediction, check_training,
    regression_values,
};
use crate::eval::{EvalError, Prediction, Target};

/// Ordinary least squares (`linfa_linear::LinearRegression`).
#[derive(Debug, Clone)]
pub struct LinearRegressionModel {
    fit_intercept: bool,
}

impl LinearRegressionModel {
    /// Reads `fit-intercept` (default true).
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, EvalError> {
        let h = Hyperparameters::new(spec, &["fit-intercept"])?;
        Ok(Self {
            fit_intercept: h.flag("fit-intercept")?.unwrap_or(true),
        })
    }
}

impl Model for LinearRegressionModel {
    /// Drops columns that are constant or linear combinations of earlier ones before solving:
    /// the search often proposes such features (`x` next to `2·x + 1`), and linfa's QR solve
    /// then returns coefficients around 1e13 whose rounding errors leak into the score, or
    /// fails outright on a zero column.
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let y = regression_values(train_y, "linear-regression")?;
        check_training(train_x, y.len())?;
        let columns = train_x.ncols();
        let keep = independent_columns(train_x, self.fit_intercept);
        if keep.is_empty() {
            let value = if self.fit_intercept {
                y.sum() / y.len() as f64
            } else {
                0.0
            };
            return Ok(Box::new(FittedLinear::Constant { value, columns }));
        }
        let data = Dataset::new(train_x.select(Axis(1), &keep), y.to_owned());
        let fitted = LinearRegression::new()
            .with_intercept(self.fit_intercept)
            .fit(&data)
            .map_err(|e| EvalError::Model(format!("linear regression: {e}")))?;
        Ok(Box::new(FittedLinear::Solved {
            keep,
            fitted,
            columns,
        }))
    }

    fn describe(&self) -> String {
        format!("linear-regression(fit-intercept={})", self.fit_intercept)
    }

    fn needs_one_hot(&self) -> bool {
        true
    }

    fn ordinary_least_squares(&self) -> Option<bool> {
        Some(self.fit_intercept)
    }
}

/// A fitted least-squares model.
enum FittedLinear {
    /// No usable column: the mean (or 0 without an intercept) for every row.
    Constant { value: f64, columns: usize },
    /// Coefficients for the `keep` columns.
    Solved {
        keep: Vec<usize>,
        fitted: FittedLinearRegression<f64>,
        columns: usize,
    },
}

impl FittedModel for FittedLinear {
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError> {
        match self {
            FittedLinear::Constant { value, columns } => {
                check_prediction(x, *columns)?;
                Ok(Prediction::Values(Array1::from_elem(x.nrows(), *value)))
            }
            FittedLinear::Solved {
                keep,
                fitted,
                columns,
            } => {
                check_prediction(x, *columns)?;
                Ok(Prediction::Values(fitted.predict(&x.select(Axis(1), keep))))
            }
        }
    }

    fn affine_weights(&self) -> Option<Array1<f64>> {
        Some(match self {
            FittedLinear::Constant { columns, .. } => Array1::zeros(*columns),
            FittedLinear::Solved {
                keep,
                fitted,
                columns,
            } => {
                let mut weights = Array1::zeros(*columns);
                for (&j, &w) in keep.iter().zip(fitted.params()) {
                    weights[j] = w;
                }
                weights
            }
        })
    }
}

/// Relative size below which what is left of a column, once the kept columns are projected
/// out, counts as rounding error.
const DEPENDENT_TOLERANCE: f64 = 1e-9;

/// The columns to keep, in order: each one not (nearly) a linear combination of the ones kept
/// before it, found by Gram–Schmidt with one re-orthogonalisation. With an intercept,
/// columns are centred first, so constants and affine copies go too.
fn independent_columns(x: ArrayView2<f64>, center: bool) -> Vec<usize> {
    let mut basis: Vec<Array1<f64>> = Vec::new();
    let mut keep = Vec::new();
    for (j, column) in x.columns().into_iter().enumerate() {
        if center && column.iter().all(|&v| v == column[0]) {
            continue;
        }
        let mut v = column.to_owned();
        if center {
            let mean = v.sum() / v.len() as f64;
            v -= mean;
        }
        let norm = v.dot(&v).sqrt();
        if norm == 0.0 {
            continue;
        }
        for _ in 0..2 {
            for q in &basis {
                let d = q.dot(&v);
                v.scaled_add(-d, q);
            }
        }
        let rest = v.dot(&v).sqrt();
        if rest > DEPENDENT_TOLERANCE * norm {
            v /= rest;
            basis.push(v);
            keep.push(j);
        }
    }
    keep
}

/// Linear regression with L1 + L2 penalties (`linfa_elasticnet::ElasticNet`), on features
/// standardised with the training rows' mean and standard deviation.
#[derive(Debug, Clone)]
pub struct ElasticNetModel {
    penalty: f64,
    l1_ratio: f64,
    max_iterations: u32,
}

impl ElasticNetModel {
    /// Reads `penalty` (default 1.0, scikit-learn's `alpha`: the objective is
    /// ‖y − Xw‖²/2n + penalty·(l1-ratio·‖w‖₁ + (1 − l1-ratio)/2·‖w‖²)), `l1-ratio` (0.5) and
    /// `max-iterations` of coordinate descent (1000; tolerance 1e-4 on the duality gap).
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, EvalError> {
        let h = Hyperparameters::new(spec, &["penalty", "l1-ratio", "max-iterations"])?;
        Ok(Self {
            penalty: h
                .number("penalty", |p| p > 0.0, "greater than 0")?
                .unwrap_or(1.0),
            l1_ratio: h
                .number("l1-ratio", |r| (0.0..=1.0).contains(&r), "in [0, 1]")?
                .unwrap_or(0.5),
            max_iterations: h
                .count("max-iterations", 1)?
                .map_or(1000, |m| u32::try_from(m).unwrap_or(u32::MAX)),
        })
    }
}

impl Model for ElasticNetModel {
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let y = regression_values(train_y, "elastic-net")?;
        check_training(train_x, y.len())?;
        let scaler = Standardizer::fit(train_x);
        let data = Dataset::new(scaler.apply(train_x), y.to_owned());
        // Centred features make linfa's intercept (the mean of y) the right one.
        let fitted = ElasticNet::params()
            .penalty(self.penalty)
            .l1_ratio(self.l1_ratio)
            .max_iterations(self.max_iterations)
            .with_intercept(true)
            .fit(&data)
            .map_err(|e| EvalError::Model(format!("elastic net: {e}")))?;
        Ok(Box::new(FittedElasticNet {
            scaler,
            fitted,
            columns: train_x.ncols(),
        }))
    }

    fn describe(&self) -> String {
        format!(
            "elastic-net(penalty={}, l1-ratio={}, max-iterations={})",
            self.penalty, self.l1_ratio, self.max_iterations
        )
    }

    fn needs_one_hot(&self) -> bool {
        true
    }
}

/// A fitted elastic net and the scaling of its training features.
struct FittedElasticNet {
    scaler: Standardizer,
    fitted: ElasticNet<f64>,
    columns: usize,
}

impl FittedModel for FittedElasticNet {
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError> {
        check_prediction(x, self.columns)?;
        Ok(Prediction::Values(
            self.fitted.predict(&self.scaler.apply(x)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{HyperValue, Metric, ModelKind, Task};
    use ndarray::{Array2, array, concatenate};

    use super::*;
    use crate::eval::build_model;
    use crate::eval::models::testdata::{holdout, holdout_score, linear, spec};

    #[test]
    fn linear_regression_recovers_a_linear_signal() {
        let (x, y) = linear(60, 1);
        let model = build_model(&spec(ModelKind::LinearRegression, &[]), Task::Regression, 0)
            .expect("built");
        let r2 = holdout_score(model.as_ref(), x.view(), &y, Metric::R2);
        assert!(r2 > 0.9, "R² {r2}");
        let (_, first) = holdout(model.as_ref(), x.view(), &y);
        let (_, second) = holdout(model.as_ref(), x.view(), &y);
        assert_eq!(first, second);
    }

    #[test]
    fn dependent_columns_do_not_change_linear_predictions() {
        let (x, y) = linear(40, 2);
        let model = LinearRegressionModel {
            fit_intercept: true,
        };
        let (_, plain) = holdout(&model, x.view(), &y);
        let a = x.column(0);
        let extra = Array2::from_shape_fn((40, 3), |(i, j)| match j {
            0 => 3.0 * a[i] + 1.0,
            1 => 5.0,
            _ => x[[i, 0]] - x[[i, 1]],
        });
        let wide = concatenate(ndarray::Axis(1), &[x.view(), extra.view()]).expect("same rows");
        assert_eq!(independent_columns(wide.view(), true), vec![0, 1]);
        let (_, padded) = holdout(&model, wide.view(), &y);
        let (Prediction::Values(plain), Prediction::Values(padded)) = (plain, padded) else {
            unreachable!()
        };
        let gap = (&plain - &padded)
            .mapv(f64::abs)
            .fold(0.0, |a: f64, &b| a.max(b));
        assert!(gap < 1e-9, "predictions moved by {gap}");
    }

    #[test]
    fn without_an_intercept_constant_columns_stay() {
        let x = array![[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]];
        assert_eq!(independent_columns(x.view(), false), vec![0]);
        let model = LinearRegressionModel {
            fit_intercept: false,
        };
        let y = Target::Regression(array![2.0, 4.0, 6.0]);
        let p = model
            .fit_predict(x.view(), &y, array![[1.0, 0.0]].view())
            .expect("fits");
        let Prediction::Values(p) = p else {
            unreachable!()
        };
        assert!((p[0] - 4.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn elastic_net_recovers_a_linear_signal_when_lightly_penalised() {
        let (x, y) = linear(60, 3);
        let light = spec(
            ModelKind::ElasticNet,
            &[("penalty", HyperValue::Float(0.01))],
        );
        let model = build_model(&light, Task::Regression, 0).expect("built");
        let r2 = holdout_score(model.as_ref(), x.view(), &y, Metric::R2);
        assert!(r2 > 0.9, "R² {r2}");
        let (_, first) = holdout(model.as_ref(), x.view(), &y);
        let (_, second) = holdout(model.as_ref(), x.view(), &y);
        assert_eq!(first, second);
        // The default penalty shrinks standardised coefficients by about a third.
        let default =
            build_model(&spec(ModelKind::ElasticNet, &[]), Task::Regression, 0).expect("built");
        let r2 = holdout_score(default.as_ref(), x.view(), &y, Metric::R2);
        assert!(r2 > 0.6, "R² {r2}");
    }

    #[test]
    fn regression_models_refuse_classes() {
        let x = array![[1.0], [2.0]];
        let y = Target::from_class_names(&["a", "b"]);
        let model = LinearRegressionModel {
            fit_intercept: true,
        };
        let err = model
            .fit_predict(x.view(), &y, x.view())
            .expect_err("classes");
        assert!(matches!(err, EvalError::Invalid(m) if m.contains("target has classes")));
    }
}
