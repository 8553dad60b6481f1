//! The evaluator: one model, one metric and one set of folds, applied to many feature sets.

use std::sync::Arc;

use flow_dsl::{CvScheme, EvaluatorSpec, Metric};
use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use super::metrics::metric_label;
use super::{EvalError, Fold, Model, Target, build_model, default_metric, make_folds, score};

/// Scores feature sets by cross-validation. Built once per run from the `evaluator` block,
/// so every feature set is judged by the same model settings on the same folds.
#[derive(Debug)]
pub struct Evaluator {
    model: Arc<dyn Model>,
    metric: Metric,
    scheme: CvScheme,
    folds: Vec<Fold>,
    target: Target,
    /// The (training, validation) targets of each fold, cut once rather than per call.
    fold_targets: Vec<(Target, Target)>,
}

impl Evaluator {
    /// Checks that the metric fits the target's task (AUC or RMSE when the spec names none),
    /// builds the model (its random choices seeded by `seed`) and the folds (seeded by the
    /// `cv` block's own seed when it has one, else by `seed`).
    pub fn new(spec: &EvaluatorSpec, target: Target, seed: u64) -> Result<Self, EvalError> {
        let task = target.task();
        let metric = spec
            .metric
            .map_or_else(|| default_metric(task), |m| m.value);
        if metric.task() != task {
            return Err(EvalError::Invalid(format!(
                "the metric `{}` scores {}, but the target is for {}; choose a {} metric",
                metric_label(metric),
                metric.task().name(),
                task.name(),
                task.name()
            )));
        }
        let model = build_model(&spec.model, task, seed)?;
        let folds = make_folds(&spec.cv.scheme, &target, spec.cv.seed.unwrap_or(seed))?;
        let fold_targets = folds
            .iter()
            .map(|f| (target.select(&f.train), target.select(&f.valid)))
            .collect();
        Ok(Self {
            model,
            metric,
            scheme: spec.cv.scheme,
            folds,
            target,
            fold_targets,
        })
    }

    /// The metric every fold is scored with.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The folds, in the order scores are returned.
    pub fn folds(&self) -> &[Fold] {
        &self.folds
    }

    /// The target the folds split.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Model, metric and scheme in one line, e.g.
    /// "linear-regression(fit-intercept=true), rmse, 5-fold".
    pub fn describe(&self) -> String {
        let cv = match self.scheme {
            CvScheme::KFold { folds } => format!("{folds}-fold"),
            CvScheme::Stratified { folds } => format!("stratified {folds}-fold"),
            CvScheme::RepeatedKFold { folds, repeats } => {
                format!("{folds}-fold repeated {repeats} times")
            }
            CvScheme::Holdout { fraction } => format!("holdout {fraction}"),
        };
        format!(
            "{}, {}, {cv}",
            self.model.describe(),
            metric_label(self.metric)
        )
    }

    /// Scores `x` (rows aligned with the target, one column per feature) on every fold, in
    /// fold order. Folds run in parallel on rayon's pool; each score depends only on its
    /// fold, so the result is the same whatever the thread count. The first failing fold
    /// (in fold order) is the error reported, prefixed with its number.
    ///
    /// Missing or infinite values are refused: the caller imputes first, because how to
    /// impute is part of the feature definition, not of the model.
    pub fn cross_validate(&self, x: ArrayView2<f64>) -> Result<Vec<f64>, EvalError> {
        if x.nrows() != self.target.len() {
            return Err(EvalError::Invalid(format!(
                "the features have {} rows but the target has {}",
                x.nrows(),
                self.target.len()
            )));
        }
        if x.ncols() == 0 {
            return Err(EvalError::Invalid(
                "there are no feature columns to evaluate; a feature set needs at least one".into(),
            ));
        }
        if let Some(((row, column), value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(EvalError::Invalid(format!(
                "feature column {column} holds {value} at row {row}; impute missing and \
                 infinite values before evaluating"
            )));
        }
        let scores: Vec<Result<f64, EvalError>> = self
            .folds
            .par_iter()
            .zip(&self.fold_targets)
            .enumerate()
            .map(|(i, (fold, (train_y, valid_y)))| {
                self.score_fold(x, fold, train_y, valid_y)
                    .map_err(|e| in_fold(e, i, self.folds.len()))
            })
            .collect();
        scores.into_iter().collect()
    }

    fn score_fold(
        &self,
        x: ArrayView2<f64>,
        fold: &Fold,
        train_y: &Target,
        valid_y: &Target,
    ) -> Result<f64, EvalError> {
        let train_x = x.select(Axis(0), &fold.train);
        let valid_x = x.select(Axis(0), &fold.valid);
        let prediction = self
            .model
            .fit_predict(train_x.view(), train_y, valid_x.view())?;
        if !prediction.is_finite() {
            return Err(EvalError::Model(format!(
                "{} predicted values that are not finite",
                self.model.describe()
            )));
        }
        score(self.metric, valid_y, &prediction)
    }
}

fn in_fold(error: EvalError, index: usize, folds: usize) -> EvalError {
    let place = format!("fold {} of {folds}", index + 1);
    match error {
        EvalError::Invalid(m) => EvalError::Invalid(format!("{place}: {m}")),
        EvalError::Model(m) => EvalError::Model(format!("{place}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{CvSpec, HyperValue, Loc, ModelKind, Sources, Spanned};
    use ndarray::{Array2, array};

    use super::*;
    use crate::eval::models::testdata::{blobs, linear, spec};

    fn evaluator_spec(kind: ModelKind, metric: Option<Metric>, scheme: CvScheme) -> EvaluatorSpec {
        let hyper: &[(&str, HyperValue)] = match kind {
            ModelKind::RandomForest => &[("trees", HyperValue::Int(10))],
            _ => &[],
        };
        let loc = Loc::new(Sources::new().add("test.kdl", ""), (0, 0));
        EvaluatorSpec {
            model: spec(kind, hyper),
            metric: metric.map(|m| Spanned::new(m, loc)),
            cv: CvSpec { scheme, seed: None },
        }
    }

    #[test]
    fn scores_every_fold_with_the_default_metric() {
        let (x, y) = linear(50, 1);
        let spec = evaluator_spec(
            ModelKind::LinearRegression,
            None,
            CvScheme::KFold { folds: 5 },
        );
        let evaluator = Evaluator::new(&spec, y, 3).expect("valid");
        assert_eq!(evaluator.metric(), Metric::Rmse);
        assert_eq!(evaluator.folds().len(), 5);
        assert_eq!(
            evaluator.describe(),
            "linear-regression(fit-intercept=true), rmse, 5-fold"
        );
        let scores = evaluator.cross_validate(x.view()).expect("scores");
        assert_eq!(scores.len(), 5);
        assert!(scores.iter().all(|&s| s < 0.5), "{scores:?}");
    }

    #[test]
    fn scores_do_not_depend_on_the_thread_count() {
        let (x, y) = blobs(60, 3, 2);
        let scheme = CvScheme::RepeatedKFold {
            folds: 3,
            repeats: 2,
        };
        let spec = evaluator_spec(ModelKind::RandomForest, Some(Metric::LogLoss), scheme);
        let evaluator = Evaluator::new(&spec, y, 11).expect("valid");
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| evaluator.cross_validate(x.view()).expect("scores"))
        };
        let one = run(1);
        assert_eq!(one.len(), 6);
        assert_eq!(one, run(4));
        let again = Evaluator::new(&spec, evaluator.target().clone(), 11).expect("valid");
        assert_eq!(one, again.cross_validate(x.view()).expect("scores"));
    }

    #[test]
    fn a_stratified_forest_scores_separable_classes_well() {
        let (x, y) = blobs(60, 2, 8);
        let spec = evaluator_spec(
            ModelKind::RandomForest,
            None,
            CvScheme::Stratified { folds: 3 },
        );
        let evaluator = Evaluator::new(&spec, y, 0).expect("valid");
        assert!(evaluator.describe().ends_with(", auc, stratified 3-fold"));
        let scores = evaluator.cross_validate(x.view()).expect("scores");
        assert!(scores.iter().all(|&auc| auc > 0.9), "{scores:?}");
    }

    #[test]
    fn the_cv_block_seed_wins_over_the_run_seed() {
        let (_, y) = linear(20, 1);
        let mut spec = evaluator_spec(
            ModelKind::LinearRegression,
            None,
            CvScheme::KFold { folds: 4 },
        );
        spec.cv.seed = Some(7);
        let evaluator = Evaluator::new(&spec, y.clone(), 99).expect("valid");
        let expected = make_folds(&spec.cv.scheme, &y, 7).expect("valid");
        assert_eq!(evaluator.folds(), &expected[..]);
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let (x, y) = linear(20, 1);
        let spec = evaluator_spec(
            ModelKind::LinearRegression,
            None,
            CvScheme::KFold { folds: 4 },
        );
        let evaluator = Evaluator::new(&spec, y.clone(), 0).expect("valid");
        let invalid = |r: Result<Vec<f64>, EvalError>, text: &str| {
            assert!(
                matches!(&r, Err(EvalError::Invalid(m)) if m.contains(text)),
                "{r:?}"
            );
        };
        invalid(
            evaluator.cross_validate(Array2::zeros((20, 0)).view()),
            "no feature columns",
        );
        invalid(
            evaluator.cross_validate(x.select(Axis(0), &[0, 1, 2, 3, 4]).view()),
            "5 rows but the target has 20",
        );
        let mut holes = x.clone();
        holes[[3, 1]] = f64::NAN;
        invalid(
            evaluator.cross_validate(holes.view()),
            "column 1 holds NaN at row 3",
        );

        let wrong_metric = evaluator_spec(
            ModelKind::LinearRegression,
            Some(Metric::Auc),
            CvScheme::KFold { folds: 4 },
        );
        let err = Evaluator::new(&wrong_metric, y.clone(), 0).expect_err("auc on numbers");
        assert!(
            matches!(&err, EvalError::Invalid(m) if m.contains("`auc` scores classification")),
            "{err}"
        );
        let unbuilt = evaluator_spec(
            ModelKind::GradientBoosting,
            None,
            CvScheme::KFold { folds: 4 },
        );
        let err = Evaluator::new(&unbuilt, y, 0).expect_err("not built");
        assert!(matches!(
            err,
            EvalError::NotBuilt {
                model: "gradient-boosting",
                task: "regression"
            }
        ));
    }

    #[test]
    fn a_fold_without_both_classes_names_the_fold() {
        // Plain k-fold on 4 rows with one row of class `b`: one of the two folds lacks it.
        let y = Target::from_class_names(&["a", "a", "a", "b"]);
        let spec = evaluator_spec(
            ModelKind::DecisionTree,
            Some(Metric::Auc),
            CvScheme::KFold { folds: 2 },
        );
        let evaluator = Evaluator::new(&spec, y, 0).expect("valid");
        let err = evaluator
            .cross_validate(array![[1.0], [2.0], [3.0], [4.0]].view())
            .expect_err("undefined");
        let EvalError::Invalid(message) = &err else {
            panic!("{err}")
        };
        assert!(message.starts_with("fold ") && message.contains("AUC is undefined"));
    }
}
