//! Logistic regression from linfa, binary or multinomial by the classes in the training rows.

use std::collections::BTreeSet;

use flow_dsl::ModelSpec;
use linfa::Dataset;
use linfa::traits::Fit;
use linfa_logistic::{
    FittedLogisticRegression, LogisticRegression, MultiFittedLogisticRegression,
    MultiLogisticRegression,
};
use ndarray::{Array2, ArrayView2};

use super::{
    FittedModel, Hyperparameters, Model, Standardizer, check_prediction, check_training,
    class_labels,
};
use crate::eval::{EvalError, Prediction, Target};

/// Logistic regression (`linfa_logistic`) on features standardised with the training rows'
/// mean and standard deviation.
#[derive(Debug, Clone)]
pub struct LogisticRegressionModel {
    l2: f64,
    max_iterations: u64,
    fit_intercept: bool,
}

impl LogisticRegressionModel {
    /// Reads `l2` (default 1.0: linfa's `alpha`, the weight of ‖w‖²/2 against the summed
    /// log-loss, i.e. scikit-learn's `1/C`), `max-iterations` of L-BFGS (100) and
    /// `fit-intercept` (true).
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, EvalError> {
        let h = Hyperparameters::new(spec, &["l2", "max-iterations", "fit-intercept"])?;
        Ok(Self {
            l2: h
                .number("l2", |a| a >= 0.0, "of at least 0")?
                .unwrap_or(1.0),
            max_iterations: h.count("max-iterations", 1)?.map_or(100, |m| m as u64),
            fit_intercept: h.flag("fit-intercept")?.unwrap_or(true),
        })
    }
}

impl Model for LogisticRegressionModel {
    /// Two classes in the training rows fit a binary model, more a multinomial one; a
    /// single class is predicted with probability 1 (linfa refuses to fit it). Classes absent
    /// from the training rows get probability 0.
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let (labels, classes) = class_labels(train_y, "logistic-regression")?;
        check_training(train_x, labels.len())?;
        let columns = train_x.ncols();
        let present: Vec<usize> = labels
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if let [only] = present[..] {
            return Ok(Box::new(FittedLogistic {
                solved: Solved::Certain(only),
                classes,
                columns,
            }));
        }
        let scaler = Standardizer::fit(train_x);
        let data = Dataset::new(scaler.apply(train_x), labels.to_owned());
        let failed =
            |e: linfa_logistic::error::Error| EvalError::Model(format!("logistic regression: {e}"));
        let solved = if present.len() == 2 {
            let fitted = LogisticRegression::default()
                .alpha(self.l2)
                .max_iterations(self.max_iterations)
                .with_intercept(self.fit_intercept)
                .fit(&data)
                .map_err(failed)?;
            Solved::Binary(scaler, fitted)
        } else {
            let fitted = MultiLogisticRegression::default()
                .alpha(self.l2)
                .max_iterations(self.max_iterations)
                .with_intercept(self.fit_intercept)
                .fit(&data)
                .map_err(failed)?;
            Solved::Multinomial(scaler, fitted)
        };
        Ok(Box::new(FittedLogistic {
            solved,
            classes,
            columns,
        }))
    }

    fn describe(&self) -> String {
        format!(
            "logistic-regression(l2={}, max-iterations={}, fit-intercept={})",
            self.l2, self.max_iterations, self.fit_intercept
        )
    }

    fn needs_one_hot(&self) -> bool {
        true
    }
}

/// What the training rows allowed to fit.
enum Solved {
    /// One class only: it is certain.
    Certain(usize),
    Binary(Standardizer, FittedLogisticRegression<f64, usize>),
    Multinomial(Standardizer, MultiFittedLogisticRegression<f64, usize>),
}

/// A fitted logistic regression, with probability columns for every class of the target.
struct FittedLogistic {
    solved: Solved,
    classes: usize,
    columns: usize,
}

impl FittedModel for FittedLogistic {
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError> {
        check_prediction(x, self.columns)?;
        let mut probabilities = Array2::zeros((x.nrows(), self.classes));
        match &self.solved {
            Solved::Certain(only) => probabilities.column_mut(*only).fill(1.0),
            Solved::Binary(scaler, fitted) => {
                // linfa's probability is that of its "positive" class, the more frequent one.
                let positive = fitted.predict_probabilities(&scaler.apply(x));
                let (pos, neg) = (fitted.labels().pos.class, fitted.labels().neg.class);
                probabilities.column_mut(pos).assign(&positive);
                probabilities
                    .column_mut(neg)
                    .assign(&positive.mapv(|p| 1.0 - p));
            }
            Solved::Multinomial(scaler, fitted) => {
                let p = fitted.predict_probabilities(&scaler.apply(x));
                for (column, &class) in fitted.classes().iter().enumerate() {
                    probabilities.column_mut(class).assign(&p.column(column));
                }
            }
        }
        Ok(Prediction::from_probabilities(probabilities))
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{Metric, ModelKind, Task};
    use ndarray::{Array1, array};

    use super::*;
    use crate::eval::build_model;
    use crate::eval::models::testdata::{blobs, holdout, holdout_score, spec};

    fn model() -> std::sync::Arc<dyn Model> {
        build_model(
            &spec(ModelKind::LogisticRegression, &[]),
            Task::Classification,
            0,
        )
        .expect("built")
    }

    #[test]
    fn separates_two_and_three_blobs_deterministically() {
        for classes in [2, 3] {
            let (x, y) = blobs(60, classes, 4);
            let accuracy = holdout_score(model().as_ref(), x.view(), &y, Metric::Accuracy);
            assert!(accuracy > 0.9, "{classes} classes: accuracy {accuracy}");
            let (_, first) = holdout(model().as_ref(), x.view(), &y);
            let (_, second) = holdout(model().as_ref(), x.view(), &y);
            assert_eq!(first, second);
            let Prediction::Classes { probabilities, .. } = first else {
                unreachable!()
            };
            for row in probabilities.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
            }
        }
    }

    #[test]
    fn classes_missing_from_training_get_probability_zero() {
        // Four classes declared; training rows hold classes 1 and 3 only.
        let x = array![[0.0], [0.2], [3.0], [3.3], [0.1], [3.1]];
        let y = Target::Classification {
            labels: array![1, 1, 3, 3, 1, 3],
            classes: (0..4).map(|c| c.to_string()).collect(),
        };
        let p = model()
            .fit_predict(x.view(), &y, array![[0.05], [3.2]].view())
            .expect("fits");
        let Prediction::Classes {
            labels,
            probabilities,
        } = p
        else {
            unreachable!()
        };
        assert_eq!(labels, array![1, 3]);
        assert_eq!(probabilities.column(0), Array1::<f64>::zeros(2));
        assert_eq!(probabilities.column(2), Array1::<f64>::zeros(2));
    }

    #[test]
    fn a_single_training_class_is_predicted_with_certainty() {
        let x = array![[0.0], [1.0]];
        let y = Target::Classification {
            labels: array![2, 2],
            classes: vec!["a".into(), "b".into(), "c".into()],
        };
        let p = model()
            .fit_predict(x.view(), &y, array![[5.0]].view())
            .expect("fits");
        assert_eq!(
            p,
            Prediction::Classes {
                labels: array![2],
                probabilities: array![[0.0, 0.0, 1.0]],
            }
        );
    }
}
