//! The evaluator: one model, one metric and one set of folds, applied to many feature sets.

use std::sync::Arc;
use std::time::Instant;

use flow_dsl::{CvScheme, EvaluatorSpec, Metric};
use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use super::importance::{
    ScoredFold, affine_permutation_importance, average, permutation_importance, permutations,
};
use super::least_squares::{self, LinearFold};
use super::metrics::metric_label;
use super::models::OneHotModel;
use super::screening::sample_rows;
use super::{
    EvalError, Fold, Model, Prediction, Target, build_model, default_metric, make_folds, score,
};

/// Scores feature sets by cross-validation. Built once per run from the `evaluator` block,
/// so every feature set is judged by the same model settings on the same folds.
#[derive(Debug)]
pub struct Evaluator {
    model: Arc<dyn Model>,
    /// The model held-out rows are scored with (`final-model`), when not `model`.
    final_model: Option<Arc<dyn Model>>,
    metric: Metric,
    scheme: CvScheme,
    folds: Vec<Fold>,
    target: Target,
    /// The (training, validation) targets of each fold, cut once rather than per call.
    fold_targets: Vec<(Target, Target)>,
    /// Seeds the model.
    seed: u64,
    /// Each fold's permutations of its validation rows, for permutation importance.
    permutations: Vec<Vec<Vec<u32>>>,
    /// Seeds the folds.
    fold_seed: u64,
    /// The share of the full target's rows this evaluator sees (1 unless a sample).
    row_fraction: f64,
}

/// An evaluator of a sample of the rows (see [`Evaluator::on_sample`]).
#[derive(Debug)]
pub struct Sample {
    /// Scores matrices of the sampled rows, in `rows` order.
    pub evaluator: Evaluator,
    /// The sampled rows of the full target, ascending.
    pub rows: Vec<usize>,
}

/// One fold's score and, when asked for, its column importances.
struct FoldOutcome {
    score: f64,
    importance: Option<Vec<f64>>,
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
        let final_model = spec
            .final_model
            .as_ref()
            .map(|m| build_model(m, task, seed))
            .transpose()?;
        let fold_seed = spec.cv.seed.unwrap_or(seed);
        let folds = make_folds(&spec.cv.scheme, &target, fold_seed)?;
        let fold_targets = cut_targets(&target, &folds);
        Ok(Self {
            model,
            final_model,
            metric,
            scheme: spec.cv.scheme,
            permutations: fold_permutations(&folds, seed)?,
            folds,
            target,
            fold_targets,
            seed,
            fold_seed,
            row_fraction: 1.0,
        })
    }

    /// The same model, metric and scheme on a seeded sample of `fraction` of the target's
    /// rows, for multi-fidelity evaluation: race many feature sets on the sample, confirm
    /// the best on the full evaluator. The sample evaluator scores matrices of the sampled
    /// rows only (`x.select(Axis(0), &sample.rows)`), so a race costs `fraction` of a full
    /// cross-validation.
    ///
    /// Classification samples each class separately, so class shares are kept (see
    /// [`sample_rows`]). The folds are made afresh on the sample with the same fold seed; a
    /// fraction of 1 gives the same rows and folds as `self`'s.
    pub fn on_sample(&self, fraction: f64, seed: u64) -> Result<Sample, EvalError> {
        let rows = sample_rows(&self.target, fraction, seed)?;
        let target = self.target.select(&rows);
        let folds = make_folds(&self.scheme, &target, self.fold_seed).map_err(|e| match e {
            EvalError::Invalid(m) => EvalError::Invalid(format!(
                "a sample of {} of the {} rows: {m}",
                rows.len(),
                self.target.len()
            )),
            other => other,
        })?;
        let evaluator = Evaluator {
            model: Arc::clone(&self.model),
            final_model: self.final_model.clone(),
            metric: self.metric,
            scheme: self.scheme,
            fold_targets: cut_targets(&target, &folds),
            permutations: fold_permutations(&folds, self.seed)?,
            folds,
            target,
            seed: self.seed,
            fold_seed: self.fold_seed,
            row_fraction: fraction,
        };
        Ok(Sample { evaluator, rows })
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

    /// Whether the search's model reads only the order of a column's values (trees), so a
    /// strictly monotone function of a column scores what the column does.
    pub fn reads_order_only(&self) -> bool {
        self.model.reads_order_only()
    }

    /// Whether the search's model is least squares with an intercept, so a scaled and
    /// shifted copy of a column scores what the column does.
    pub fn reads_up_to_scale_and_shift(&self) -> bool {
        self.model.ordinary_least_squares() == Some(true)
    }

    /// Model, metric and scheme in one line, e.g.
    /// "linear-regression(fit-intercept=true), rmse, 5-fold", with the share of rows for a
    /// sample ("…, 5-fold, 0.2 of the rows").
    pub fn describe(&self) -> String {
        let cv = match self.scheme {
            CvScheme::KFold { folds } => format!("{folds}-fold"),
            CvScheme::Stratified { folds } => format!("stratified {folds}-fold"),
            CvScheme::RepeatedKFold { folds, repeats } => {
                format!("{folds}-fold repeated {repeats} times")
            }
            CvScheme::Holdout { fraction } => format!("holdout {fraction}"),
        };
        let rows = if self.row_fraction < 1.0 {
            format!(", {} of the rows", self.row_fraction)
        } else {
            String::new()
        };
        format!(
            "{}, {}, {cv}{rows}",
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
    /// impute is part of the feature definition, not of the model. The columns numbered in
    /// `categorical` hold category codes, which models that read quantities get one-hot
    /// encoded, fitted on each fold's training rows ([`OneHotModel`]).
    pub fn cross_validate(
        &self,
        x: ArrayView2<f64>,
        categorical: &[usize],
    ) -> Result<Vec<f64>, EvalError> {
        let outcomes = self.run_folds(x, categorical, false, None)?;
        Ok(outcomes.into_iter().map(|o| o.score).collect())
    }

    /// As [`cross_validate`](Self::cross_validate), plus one importance per column of `x`:
    /// non-negative, summing to 1 (all 0 when no column mattered in any fold), the mean over
    /// folds of each fold's normalised importances.
    ///
    /// Tree models give their own: impurity decrease (decision tree, random forest) or split
    /// gain (gradient boosting). Linear and logistic models get permutation importance on
    /// each validation fold: the drop of the metric when a column is shuffled (mean of
    /// [`PERMUTATION_REPEATS`](super::importance::PERMUTATION_REPEATS) seeded shuffles,
    /// counted so that a larger drop is always more important, negative drops clipped to 0).
    ///
    /// A fold not started by `until` is not started at all: the evaluation ends with
    /// [`EvalError::Cut`] (so a time limit stops work in flight within one fold's fit).
    /// Least squares, which fits every fold at once and fast, is never cut.
    pub fn cross_validate_with_importance(
        &self,
        x: ArrayView2<f64>,
        categorical: &[usize],
        until: Option<Instant>,
    ) -> Result<(Vec<f64>, Vec<f64>), EvalError> {
        let outcomes = self.run_folds(x, categorical, true, until)?;
        let (scores, importances): (Vec<f64>, Vec<Vec<f64>>) = outcomes
            .into_iter()
            .map(|o| (o.score, o.importance.unwrap_or_default()))
            .unzip();
        Ok((scores, average(&importances, x.ncols())))
    }

    /// Fits the final model (`final-model`, else the search's) on `train` (rows aligned
    /// with the target, as in cross-validation) and predicts the `test` rows: how a feature
    /// set does on rows the search never saw, once [`score`](Self::score)d. Category
    /// columns are encoded as in [`cross_validate`](Self::cross_validate), with the levels
    /// of `train`.
    pub fn predict_held_out(
        &self,
        train: ArrayView2<f64>,
        test: ArrayView2<f64>,
        categorical: &[usize],
    ) -> Result<Prediction, EvalError> {
        self.check_features(train)?;
        self.predict_final(train, &self.target, test, categorical)
    }

    /// As [`predict_held_out`](Self::predict_held_out), with the final model fitted on the
    /// training rows numbered `rows` (a resample: rows may repeat) and their targets.
    pub fn predict_held_out_on(
        &self,
        train: ArrayView2<f64>,
        rows: &[usize],
        test: ArrayView2<f64>,
        categorical: &[usize],
    ) -> Result<Prediction, EvalError> {
        self.check_features(train)?;
        if let Some(row) = rows.iter().find(|&&r| r >= train.nrows()) {
            return Err(EvalError::Invalid(format!(
                "training row {row} is asked for, but there are {}",
                train.nrows()
            )));
        }
        let resampled = train.select(Axis(0), rows);
        self.predict_final(
            resampled.view(),
            &self.target.select(rows),
            test,
            categorical,
        )
    }

    /// Fits the final model on (`train`, `target`) and predicts `test`.
    fn predict_final(
        &self,
        train: ArrayView2<f64>,
        target: &Target,
        test: ArrayView2<f64>,
        categorical: &[usize],
    ) -> Result<Prediction, EvalError> {
        if test.ncols() != train.ncols() {
            return Err(EvalError::Invalid(format!(
                "the held-out rows have {} feature columns, the training rows {}",
                test.ncols(),
                train.ncols()
            )));
        }
        let model = self.final_model.as_ref().unwrap_or(&self.model);
        encoded(model, categorical)
            .fit(train, target)?
            .predict(test)
    }

    fn run_folds(
        &self,
        x: ArrayView2<f64>,
        categorical: &[usize],
        importance: bool,
        until: Option<Instant>,
    ) -> Result<Vec<FoldOutcome>, EvalError> {
        self.check_features(x)?;
        let model = encoded(&self.model, categorical);
        if let (Some(intercept), Target::Regression(y)) =
            (model.ordinary_least_squares(), &self.target)
            && let Some(fitted) = least_squares::cross_validate(x, y, &self.folds, intercept)
        {
            return fitted
                .into_iter()
                .zip(&self.fold_targets)
                .enumerate()
                .map(|(i, (fold, (_, valid_y)))| {
                    self.score_linear_fold(fold, i, valid_y, importance)
                        .map_err(|e| in_fold(e, i, self.folds.len()))
                })
                .collect();
        }
        let outcomes: Vec<Result<FoldOutcome, EvalError>> = self
            .folds
            .par_iter()
            .zip(&self.fold_targets)
            .enumerate()
            .map(|(i, (fold, (train_y, valid_y)))| {
                if until.is_some_and(|until| Instant::now() >= until) {
                    return Err(EvalError::Cut);
                }
                self.score_fold(model.as_ref(), x, i, fold, train_y, valid_y, importance)
                    .map_err(|e| in_fold(e, i, self.folds.len()))
            })
            .collect();
        // A cut fold cuts the whole evaluation, whichever fold came first.
        if outcomes.iter().any(|o| matches!(o, Err(EvalError::Cut))) {
            return Err(EvalError::Cut);
        }
        outcomes.into_iter().collect()
    }

    fn check_features(&self, x: ArrayView2<f64>) -> Result<(), EvalError> {
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
        // In memory order first: the search's matrices are column-major.
        let all_finite = x
            .as_slice_memory_order()
            .is_some_and(|values| values.iter().all(|v| v.is_finite()));
        if all_finite {
            return Ok(());
        }
        if let Some(((row, column), value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(EvalError::Invalid(format!(
                "feature column {column} holds {value} at row {row}; impute missing and \
                 infinite values before evaluating"
            )));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn score_fold(
        &self,
        model: &dyn Model,
        x: ArrayView2<f64>,
        index: usize,
        fold: &Fold,
        train_y: &Target,
        valid_y: &Target,
        importance: bool,
    ) -> Result<FoldOutcome, EvalError> {
        let train_x = x.select(Axis(0), &fold.train);
        let valid_x = x.select(Axis(0), &fold.valid);
        let fitted = model.fit(train_x.view(), train_y)?;
        let prediction = fitted.predict(valid_x.view())?;
        let base = self.score(&prediction, valid_y)?;
        if !importance {
            return Ok(FoldOutcome {
                score: base,
                importance: None,
            });
        }
        let scored = self.scored_fold(valid_y, base, index);
        let importances = match (fitted.importance(), fitted.affine_weights(), &prediction) {
            (Some(own), _, _) => own,
            (None, Some(weights), Prediction::Values(values)) => affine_permutation_importance(
                valid_x.view(),
                weights.view(),
                values.view(),
                &scored,
            )?,
            _ => permutation_importance(fitted.as_ref(), valid_x.view(), &scored)?,
        };
        Ok(FoldOutcome {
            score: base,
            importance: Some(importances),
        })
    }

    /// [`score_fold`](Self::score_fold) for a fold least squares fitted already.
    fn score_linear_fold(
        &self,
        fold: LinearFold,
        index: usize,
        valid_y: &Target,
        importance: bool,
    ) -> Result<FoldOutcome, EvalError> {
        let prediction = Prediction::Values(fold.prediction.clone());
        let base = self.score(&prediction, valid_y)?;
        let importance = importance
            .then(|| {
                affine_permutation_importance(
                    fold.features(),
                    fold.weights.view(),
                    fold.prediction.view(),
                    &self.scored_fold(valid_y, base, index),
                )
            })
            .transpose()?;
        Ok(FoldOutcome {
            score: base,
            importance,
        })
    }

    /// What permutation importance of fold `index` measures drops from.
    fn scored_fold<'a>(&'a self, valid_y: &'a Target, base: f64, index: usize) -> ScoredFold<'a> {
        ScoredFold {
            valid_y,
            metric: self.metric,
            base,
            permutations: &self.permutations[index],
        }
    }

    /// Scores `prediction` of `truth` with the evaluator's metric; a prediction that is not
    /// finite is the model's failure.
    pub fn score(&self, prediction: &Prediction, truth: &Target) -> Result<f64, EvalError> {
        if !prediction.is_finite() {
            return Err(EvalError::Model(format!(
                "{} predicted values that are not finite",
                self.model.describe()
            )));
        }
        score(self.metric, truth, prediction)
    }
}

/// `model` for a feature set whose columns numbered in `categorical` are categories.
fn encoded(model: &Arc<dyn Model>, categorical: &[usize]) -> Arc<dyn Model> {
    if categorical.is_empty() || !model.needs_one_hot() {
        Arc::clone(model)
    } else {
        Arc::new(OneHotModel::new(Arc::clone(model), categorical.to_vec()))
    }
}

/// The permutations of each fold's validation rows for permutation importance, seeded
/// with `seed`.
fn fold_permutations(folds: &[Fold], seed: u64) -> Result<Vec<Vec<Vec<u32>>>, EvalError> {
    let rows: Vec<usize> = folds.iter().map(|f| f.valid.len()).collect();
    if rows.iter().any(|&r| u32::try_from(r).is_err()) {
        return Err(EvalError::Invalid(
            "a fold holds 2³² validation rows or more; sample the dataset with \
             `sample fraction=…`"
                .into(),
        ));
    }
    Ok(permutations(&rows, seed))
}

/// The (training, validation) targets of each fold.
fn cut_targets(target: &Target, folds: &[Fold]) -> Vec<(Target, Target)> {
    folds
        .iter()
        .map(|f| (target.select(&f.train), target.select(&f.valid)))
        .collect()
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
    use ndarray::{Array1, Array2, array};

    use super::*;
    use crate::eval::argmax;
    use crate::eval::models::testdata::{blobs, linear, on_threads, one_informative, spec};

    fn evaluator_spec(kind: ModelKind, metric: Option<Metric>, scheme: CvScheme) -> EvaluatorSpec {
        let hyper: &[(&str, HyperValue)] = match kind {
            ModelKind::RandomForest => &[("trees", HyperValue::Int(10))],
            ModelKind::GradientBoosting => &[("trees", HyperValue::Int(30))],
            _ => &[],
        };
        let loc = Loc::new(Sources::new().add("test.kdl", ""), (0, 0));
        EvaluatorSpec {
            model: spec(kind, hyper),
            metric: metric.map(|m| Spanned::new(m, loc)),
            cv: CvSpec { scheme, seed: None },
            confirm: flow_dsl::ConfirmSpec::Off,
            final_model: None,
        }
    }

    #[test]
    fn least_squares_is_cross_validated_in_one_pass() {
        let (x, y) = linear(200, 4);
        let spec = evaluator_spec(
            ModelKind::LinearRegression,
            None,
            CvScheme::KFold { folds: 5 },
        );
        let evaluator = Evaluator::new(&spec, y.clone(), 3).expect("valid");
        let Target::Regression(values) = &y else {
            unreachable!("a regression target")
        };
        let fits = least_squares::cross_validate(x.view(), values, evaluator.folds(), true)
            .expect("well-conditioned");
        let expected: Vec<f64> = fits
            .into_iter()
            .zip(&evaluator.fold_targets)
            .map(|(fit, (_, valid_y))| {
                score(Metric::Rmse, valid_y, &Prediction::Values(fit.prediction)).expect("rmse")
            })
            .collect();
        // The same bits: the evaluator took the one-pass path, not linfa's QR.
        assert_eq!(
            evaluator.cross_validate(x.view(), &[]).expect("scores"),
            expected
        );
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
        let scores = evaluator.cross_validate(x.view(), &[]).expect("scores");
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
            pool.install(|| evaluator.cross_validate(x.view(), &[]).expect("scores"))
        };
        let one = run(1);
        assert_eq!(one.len(), 6);
        assert_eq!(one, run(4));
        let again = Evaluator::new(&spec, evaluator.target().clone(), 11).expect("valid");
        assert_eq!(one, again.cross_validate(x.view(), &[]).expect("scores"));
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
        let scores = evaluator.cross_validate(x.view(), &[]).expect("scores");
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
            evaluator.cross_validate(Array2::zeros((20, 0)).view(), &[]),
            "no feature columns",
        );
        invalid(
            evaluator.cross_validate(x.select(Axis(0), &[0, 1, 2, 3, 4]).view(), &[]),
            "5 rows but the target has 20",
        );
        let mut holes = x.clone();
        holes[[3, 1]] = f64::NAN;
        invalid(
            evaluator.cross_validate(holes.view(), &[]),
            "column 1 holds NaN at row 3",
        );

        let wrong_metric = evaluator_spec(
            ModelKind::LinearRegression,
            Some(Metric::Auc),
            CvScheme::KFold { folds: 4 },
        );
        let err = Evaluator::new(&wrong_metric, y, 0).expect_err("auc on numbers");
        assert!(
            matches!(&err, EvalError::Invalid(m) if m.contains("`auc` scores classification")),
            "{err}"
        );
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
            .cross_validate(array![[1.0], [2.0], [3.0], [4.0]].view(), &[])
            .expect_err("undefined");
        let EvalError::Invalid(message) = &err else {
            panic!("{err}")
        };
        assert!(message.starts_with("fold ") && message.contains("AUC is undefined"));
    }

    #[test]
    fn folds_not_started_by_the_deadline_cut_the_evaluation() {
        let (x, y) = one_informative(90, 3, false, 4);
        let spec = evaluator_spec(ModelKind::DecisionTree, None, CvScheme::KFold { folds: 3 });
        let evaluator = Evaluator::new(&spec, y, 1).expect("valid");
        let cut = evaluator.cross_validate_with_importance(x.view(), &[], Some(Instant::now()));
        assert!(matches!(cut, Err(EvalError::Cut)), "{cut:?}");
        let later = Instant::now() + std::time::Duration::from_secs(3600);
        let (scores, _) = evaluator
            .cross_validate_with_importance(x.view(), &[], Some(later))
            .expect("scores");
        assert_eq!(
            scores,
            evaluator.cross_validate(x.view(), &[]).expect("scores")
        );
    }

    #[test]
    fn every_model_ranks_the_informative_column_first() {
        for kind in ModelKind::ALL {
            for &task in kind.tasks() {
                let (x, y) = one_informative(90, 3, task == flow_dsl::Task::Classification, 4);
                let spec = evaluator_spec(kind, None, CvScheme::KFold { folds: 3 });
                let evaluator = Evaluator::new(&spec, y, 1).expect("valid");
                let (scores, importance) = evaluator
                    .cross_validate_with_importance(x.view(), &[], None)
                    .expect("scores");
                let name = evaluator.describe();
                assert_eq!(
                    scores,
                    evaluator.cross_validate(x.view(), &[]).expect("scores")
                );
                assert_eq!(importance.len(), 4);
                assert!(
                    importance.iter().all(|&v| v >= 0.0),
                    "{name}: {importance:?}"
                );
                let total: f64 = importance.iter().sum();
                assert!((total - 1.0).abs() < 1e-9, "{name}: {importance:?}");
                assert_eq!(
                    argmax(importance.iter().copied()),
                    0,
                    "{name}: {importance:?}"
                );
            }
        }
    }

    #[test]
    fn permutation_importance_is_seeded_and_independent_of_threads() {
        let (x, y) = one_informative(60, 2, false, 5);
        let spec = evaluator_spec(
            ModelKind::LinearRegression,
            Some(Metric::R2),
            CvScheme::KFold { folds: 3 },
        );
        let run = |seed, threads| {
            let evaluator = Evaluator::new(&spec, y.clone(), seed).expect("valid");
            on_threads(threads, || {
                evaluator
                    .cross_validate_with_importance(x.view(), &[], None)
                    .expect("scores")
            })
        };
        let first = run(1, 1);
        assert_eq!(first, run(1, 4));
        let other = run(2, 1);
        assert_ne!(first.1, other.1, "other shuffles give other drops");
    }

    #[test]
    fn a_column_the_model_ignores_has_no_importance() {
        // Column 1 is constant: no tree splits on it and shuffling it changes nothing.
        let (x, y) = one_informative(40, 1, false, 6);
        let mut x = x;
        x.column_mut(1).fill(3.0);
        for kind in [ModelKind::LinearRegression, ModelKind::GradientBoosting] {
            let spec = evaluator_spec(kind, None, CvScheme::KFold { folds: 2 });
            let evaluator = Evaluator::new(&spec, y.clone(), 0).expect("valid");
            let (_, importance) = evaluator
                .cross_validate_with_importance(x.view(), &[], None)
                .expect("scores");
            assert_eq!(importance, [1.0, 0.0], "{}", evaluator.describe());
        }
    }

    #[test]
    fn category_columns_reach_a_linear_model_one_hot_in_folds_and_on_held_out_rows() {
        // y is a per-category mean, not monotone in the codes: a slope on the codes cannot
        // follow it, indicators fit it exactly.
        let means = [10.0, -4.0, 7.0, 0.0, 3.0];
        let x = Array2::from_shape_fn((100, 1), |(i, _)| (i % 5) as f64);
        let y: Array1<f64> = (0..100).map(|i| means[i % 5]).collect();
        let spec = evaluator_spec(
            ModelKind::LinearRegression,
            Some(Metric::Rmse),
            CvScheme::KFold { folds: 4 },
        );
        let evaluator = Evaluator::new(&spec, Target::Regression(y.clone()), 0).expect("valid");
        let mean = |scores: Vec<f64>| scores.iter().sum::<f64>() / scores.len() as f64;
        let as_codes = mean(evaluator.cross_validate(x.view(), &[]).expect("scores"));
        let as_categories = mean(evaluator.cross_validate(x.view(), &[0]).expect("scores"));
        assert!(as_codes > 3.0, "{as_codes}");
        assert!(as_categories < 1e-6, "{as_categories}");
        let (_, importance) = evaluator
            .cross_validate_with_importance(x.view(), &[0], None)
            .expect("scores");
        assert_eq!(
            importance,
            [1.0],
            "one input column, however many indicators"
        );
        // The held-out rows are encoded with the training rows' levels.
        let test = array![[2.0], [1.0], [4.0]];
        let test_y = Target::Regression(array![7.0, -4.0, 3.0]);
        let prediction = evaluator
            .predict_held_out(x.view(), test.view(), &[0])
            .expect("a prediction");
        let held_out = evaluator.score(&prediction, &test_y).expect("scores");
        assert!(held_out < 1e-6, "{held_out}");
    }

    #[test]
    fn the_final_model_can_learn_from_a_resample_of_the_training_rows() {
        // y = 2x on every row but the last, an outlier.
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
        let y = Target::Regression(array![0.0, 2.0, 4.0, 6.0, 8.0, 100.0]);
        let spec = evaluator_spec(
            ModelKind::LinearRegression,
            Some(Metric::Rmse),
            CvScheme::KFold { folds: 2 },
        );
        let evaluator = Evaluator::new(&spec, y, 0).expect("valid");
        let test = array![[10.0]];
        let value = |p: Prediction| match p {
            Prediction::Values(v) => v[0],
            Prediction::Classes { .. } => unreachable!(),
        };
        let all = evaluator
            .predict_held_out(x.view(), test.view(), &[])
            .expect("a prediction");
        let in_order = evaluator
            .predict_held_out_on(x.view(), &[0, 1, 2, 3, 4, 5], test.view(), &[])
            .expect("a prediction");
        assert_eq!(value(all), value(in_order));
        // Without the outlier, and with rows repeated, the line is y = 2x.
        let resampled = evaluator
            .predict_held_out_on(x.view(), &[0, 0, 2, 3, 3, 4], test.view(), &[])
            .expect("a prediction");
        assert!((value(resampled) - 20.0).abs() < 1e-9);
        assert!(
            evaluator
                .predict_held_out_on(x.view(), &[0, 6], test.view(), &[])
                .is_err(),
            "row 6 does not exist"
        );
    }

    #[test]
    fn a_sample_evaluator_cross_validates_a_seeded_stratified_share_of_the_rows() {
        // 40 rows of class 0, 20 of class 1, 20 of class 2.
        let (x, y) = blobs(80, 4, 3);
        let y = match y {
            Target::Classification { labels, .. } => Target::Classification {
                labels: labels.mapv(|l| l.saturating_sub(1)),
                classes: vec!["a".into(), "b".into(), "c".into()],
            },
            Target::Regression(_) => unreachable!(),
        };
        let spec = evaluator_spec(
            ModelKind::DecisionTree,
            Some(Metric::Accuracy),
            CvScheme::Stratified { folds: 2 },
        );
        let full = Evaluator::new(&spec, y.clone(), 2).expect("valid");
        let sample = full.on_sample(0.25, 7).expect("valid");
        let Target::Classification { labels, .. } = &y else {
            unreachable!()
        };
        let mut counts = [0; 3];
        for &row in &sample.rows {
            counts[labels[row]] += 1;
        }
        assert_eq!(counts, [10, 5, 5], "each class keeps a quarter of its rows");
        assert_eq!(sample.evaluator.target(), &y.select(&sample.rows));
        for fold in sample.evaluator.folds() {
            assert!(fold.valid.iter().all(|r| !fold.train.contains(r)));
            assert_eq!(fold.train.len() + fold.valid.len(), 20);
        }
        let again = full.on_sample(0.25, 7).expect("valid");
        assert_eq!(
            (&sample.rows, sample.evaluator.folds()),
            (&again.rows, again.evaluator.folds())
        );
        assert_ne!(sample.rows, full.on_sample(0.25, 8).expect("valid").rows);
        let everything = full.on_sample(1.0, 7).expect("valid");
        assert_eq!(everything.rows, (0..80).collect::<Vec<_>>());
        assert_eq!(everything.evaluator.folds(), full.folds());
        assert!(
            sample
                .evaluator
                .describe()
                .ends_with("stratified 2-fold, 0.25 of the rows")
        );
        let scores = sample
            .evaluator
            .cross_validate(x.select(Axis(0), &sample.rows).view(), &[])
            .expect("scores the sampled rows");
        assert_eq!(scores.len(), 2);
        let err = full.on_sample(0.02, 7).expect_err("too few rows");
        assert!(
            matches!(&err, EvalError::Invalid(m) if m.starts_with("a sample of 3 of the 80 rows")),
            "{err}"
        );
    }

    #[test]
    fn fewer_rows_than_folds_is_an_error_for_every_model() {
        let y = Target::Regression(array![1.0, 2.0]);
        for kind in [ModelKind::GradientBoosting, ModelKind::RandomForest] {
            let spec = evaluator_spec(kind, None, CvScheme::KFold { folds: 3 });
            let err = Evaluator::new(&spec, y.clone(), 0).expect_err("2 rows, 3 folds");
            assert!(matches!(err, EvalError::Invalid(m) if m.contains("cannot be split")));
        }
    }
}
