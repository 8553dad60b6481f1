//! Scoring a prediction of the validation rows.
//!
//! Regression metrics read [`Prediction::Values`]; classification metrics read
//! [`Prediction::Classes`] (hard labels for accuracy and F1, probabilities for AUC, log-loss
//! and MAP@K). A prediction of the wrong kind, or of the wrong shape, is a caller bug reported
//! as [`EvalError::Invalid`] rather than a panic.

mod classification;
pub(super) mod regression;

use flow_dsl::{Metric, Task};
use ndarray::{ArrayView1, ArrayView2};

use super::{EvalError, Prediction, Target};

/// The metric used when the pipeline names none: AUC for classification (it judges the
/// ranking of probabilities, not one threshold), RMSE for regression.
pub fn default_metric(task: Task) -> Metric {
    match task {
        Task::Classification => Metric::Auc,
        Task::Regression => Metric::Rmse,
    }
}

/// Scores `prediction` of `truth` with `metric`; whether larger is better is
/// [`Metric::higher_is_better`].
///
/// Conventions where scikit-learn has a choice: R² of a constant truth is 1 for a perfect
/// prediction and 0 otherwise (scikit-learn's `force_finite`); binary F1 is the F1 of the
/// positive class, class index 1 (the second class name in sorted order); multiclass F1 is
/// the macro average over the classes present in the truth or the prediction; AUC of a
/// fold holding a single class is an error; log-loss clips probabilities to
/// [1e-15, 1 − 1e-15]; MAP@K ranks classes by probability, lower class index first on ties.
pub fn score(metric: Metric, truth: &Target, prediction: &Prediction) -> Result<f64, EvalError> {
    if truth.is_empty() {
        return Err(EvalError::Invalid(format!(
            "cannot compute `{}` on an empty validation fold",
            metric_label(metric)
        )));
    }
    if prediction.len() != truth.len() {
        return Err(EvalError::Invalid(format!(
            "the prediction has {} rows but the validation fold has {}",
            prediction.len(),
            truth.len()
        )));
    }
    match (metric.task(), truth, prediction) {
        (Task::Regression, Target::Regression(y), Prediction::Values(p)) => {
            Ok(regression_score(metric, y.view(), p.view()))
        }
        (
            Task::Classification,
            Target::Classification { labels, classes },
            Prediction::Classes {
                labels: predicted,
                probabilities,
            },
        ) => {
            check_classes(
                labels.view(),
                predicted.view(),
                probabilities.view(),
                classes,
            )?;
            classification_score(
                metric,
                labels.view(),
                predicted.view(),
                probabilities.view(),
                classes,
            )
        }
        (task, target, _) if task != target.task() => Err(EvalError::Invalid(format!(
            "`{}` scores {}, but the target is for {}",
            metric_label(metric),
            task.name(),
            target.task().name()
        ))),
        (task, _, _) => Err(EvalError::Invalid(format!(
            "`{}` scores {} but the model predicted {}",
            metric_label(metric),
            task.name(),
            match prediction {
                Prediction::Values(_) => "numbers",
                Prediction::Classes { .. } => "classes",
            }
        ))),
    }
}

/// The metric as written in KDL, with `k` for MAP@K.
pub(crate) fn metric_label(metric: Metric) -> String {
    match metric {
        Metric::MapAtK(k) => format!("map@{k}"),
        other => other.name().to_owned(),
    }
}

fn regression_score(metric: Metric, truth: ArrayView1<f64>, predicted: ArrayView1<f64>) -> f64 {
    match metric {
        Metric::Rmse => regression::rmse(truth, predicted),
        Metric::Mae => regression::mae(truth, predicted),
        Metric::R2 => regression::r2(truth, predicted),
        _ => unreachable!("only regression metrics reach here"),
    }
}

fn classification_score(
    metric: Metric,
    truth: ArrayView1<usize>,
    predicted: ArrayView1<usize>,
    probabilities: ArrayView2<f64>,
    classes: &[String],
) -> Result<f64, EvalError> {
    Ok(match metric {
        Metric::Accuracy => classification::accuracy(truth, predicted),
        Metric::F1 => classification::f1(truth, predicted, classes.len()),
        Metric::Auc => classification::auc(truth, probabilities, classes)?,
        Metric::LogLoss => classification::log_loss(truth, probabilities),
        Metric::MapAtK(k) => {
            if k == 0 {
                return Err(EvalError::Invalid(
                    "`map` needs k of at least 1; set `k=5`".into(),
                ));
            }
            classification::map_at_k(truth, probabilities, k as usize)
        }
        _ => unreachable!("only classification metrics reach here"),
    })
}

fn check_classes(
    truth: ArrayView1<usize>,
    predicted: ArrayView1<usize>,
    probabilities: ArrayView2<f64>,
    classes: &[String],
) -> Result<(), EvalError> {
    let n = classes.len();
    if probabilities.dim() != (truth.len(), n) {
        return Err(EvalError::Invalid(format!(
            "the probabilities are {} rows × {} classes, expected {} × {n}",
            probabilities.nrows(),
            probabilities.ncols(),
            truth.len()
        )));
    }
    if let Some(bad) = truth
        .iter()
        .chain(predicted.iter())
        .find(|&&label| label >= n)
    {
        return Err(EvalError::Invalid(format!(
            "class index {bad} is out of range: there are {n} classes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use flow_dsl::Metric;
    use ndarray::array;

    use super::*;

    #[test]
    fn defaults_are_auc_and_rmse() {
        assert_eq!(default_metric(Task::Classification), Metric::Auc);
        assert_eq!(default_metric(Task::Regression), Metric::Rmse);
    }

    #[test]
    fn a_prediction_of_the_wrong_kind_or_shape_is_invalid() {
        let numbers = Target::Regression(array![1.0, 2.0]);
        let classes = Target::from_class_names(&["a", "b"]);
        let values = Prediction::Values(array![1.0, 2.0]);
        let labelled = Prediction::from_probabilities(array![[0.9, 0.1], [0.2, 0.8]]);
        let invalid = |r: Result<f64, EvalError>, text: &str| {
            assert!(
                matches!(&r, Err(EvalError::Invalid(m)) if m.contains(text)),
                "{r:?}"
            );
        };
        invalid(
            score(Metric::Rmse, &numbers, &labelled),
            "model predicted classes",
        );
        invalid(
            score(Metric::Auc, &classes, &values),
            "model predicted numbers",
        );
        invalid(
            score(Metric::Auc, &numbers, &values),
            "target is for regression",
        );
        invalid(
            score(Metric::Rmse, &classes, &labelled),
            "target is for classification",
        );
        let short = Prediction::Values(array![1.0]);
        invalid(
            score(Metric::Mae, &numbers, &short),
            "1 rows but the validation fold has 2",
        );
        let wide = Prediction::from_probabilities(array![[0.5, 0.25, 0.25], [0.2, 0.4, 0.4]]);
        invalid(
            score(Metric::LogLoss, &classes, &wide),
            "2 rows × 3 classes",
        );
        let empty = Target::Regression(array![]);
        invalid(
            score(Metric::R2, &empty, &Prediction::Values(array![])),
            "empty validation fold",
        );
        invalid(
            score(Metric::MapAtK(0), &classes, &labelled),
            "k of at least 1",
        );
    }
}
