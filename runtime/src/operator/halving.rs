//! Successive halving (`search { halving }`): the rungs between the screen and
//! cross-validation on all rows.
//!
//! The screen ranks a node's candidates by what a linear fit of the residual says; a forest
//! or boosting model can disagree. With halving on, `room · factor^rungs` of the
//! best-screened candidates race before `room` of them become children: each rung
//! cross-validates the node's set plus the candidate on a row sample (`1/factor^rungs` of
//! the rows first, `factor` times more each rung) and keeps the best `1/factor`. Each rung
//! costs about `room` full cross-validations, whatever `factor` is. The losers go back to
//! the front of the node's pool, best first, for its next expansion.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::{Array2, ShapeBuilder};

use crate::eval::{EvalError, Evaluator, Sample};
use crate::features::{ModelColumn, categorical_positions};
use crate::search::settled;

/// The rungs of one run: a sample evaluator per rung and the scores raced so far.
pub struct Rungs {
    spec: flow_dsl::Halving,
    /// One evaluator per rung, on its own seeded sample of the rows; smallest first.
    samples: Arc<Vec<Sample>>,
    /// Mean sampled score (settled) of each feature set raced, by rung and key digest, so a
    /// candidate that races again (a loser back in the pool) costs nothing.
    scores: HashMap<(usize, [u8; 32]), f64>,
}

impl Rungs {
    /// The rungs of `spec`, sampled from `evaluator`'s rows with `seed` (rung `r` with
    /// `seed + r`, so rungs do not share a sample).
    pub fn new(
        spec: flow_dsl::Halving,
        evaluator: &Evaluator,
        seed: u64,
    ) -> Result<Self, EvalError> {
        let samples = (0..spec.rungs)
            .map(|rung| {
                evaluator
                    .on_sample(spec.rows(rung), seed.wrapping_add(rung.into()))
                    .map_err(|e| match e {
                        EvalError::Invalid(m) => EvalError::Invalid(format!(
                            "rung {} cross-validates on 1/{} of the rows, {m}",
                            rung + 1,
                            spec.entrants(rung)
                        )),
                        other => other,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            spec,
            samples: Arc::new(samples),
            scores: HashMap::new(),
        })
    }

    /// How many candidates race for `room` children.
    pub fn entrants(&self, room: usize) -> usize {
        room.saturating_mul(self.spec.entrants(0))
    }

    /// The number of rungs.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// How many of the candidates rung `rung` keeps, for `room` children.
    pub fn survivors(&self, rung: usize, room: usize) -> usize {
        let next = u32::try_from(rung + 1).unwrap_or(u32::MAX);
        room.saturating_mul(self.spec.entrants(next))
    }

    /// The rows rung `rung` cross-validates on.
    pub fn rows(&self, rung: usize) -> usize {
        self.samples[rung].rows.len()
    }

    /// The sample evaluators, to score on the evaluation threads.
    pub fn samples(&self) -> Arc<Vec<Sample>> {
        Arc::clone(&self.samples)
    }

    /// The score of the set `key` on rung `rung`, if it raced there already.
    pub fn cached(&self, rung: usize, key: &[u8; 32]) -> Option<f64> {
        self.scores.get(&(rung, *key)).copied()
    }

    /// Remembers the score of the set `key` on rung `rung`.
    pub fn record(&mut self, rung: usize, key: [u8; 32], score: f64) {
        self.scores.insert((rung, key), score);
    }
}

/// Positions of `scores` best first (larger first when `higher_is_better`); a NaN (a set
/// the sample could not score) comes last, and equal scores keep their order (the
/// screen's).
pub fn rank(scores: &[f64], higher_is_better: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (scores[a], scores[b]);
        match (x.is_nan(), y.is_nan()) {
            (false, false) if higher_is_better => y.total_cmp(&x),
            (false, false) => x.total_cmp(&y),
            (nan_x, nan_y) => nan_x.cmp(&nan_y),
        }
        .then(a.cmp(&b))
    });
    order
}

/// The mean fold score (settled) of `columns` on `sample`'s rows, NaN when the model
/// fails there: the race ranks such a set last, and the full cross-validation says why.
pub fn sampled_score(sample: &Sample, columns: &[ModelColumn]) -> f64 {
    let mut x = Array2::<f64>::zeros((sample.rows.len(), columns.len()).f());
    for (mut out, column) in x.columns_mut().into_iter().zip(columns) {
        for (o, &row) in out.iter_mut().zip(&sample.rows) {
            *o = column[row];
        }
    }
    match sample
        .evaluator
        .cross_validate(x.view(), &categorical_positions(columns))
    {
        Ok(folds) if !folds.is_empty() => {
            #[allow(clippy::cast_precision_loss)]
            let mean = folds.iter().sum::<f64>() / folds.len() as f64;
            settled(mean)
        }
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{
        CvScheme, CvSpec, EvaluatorSpec, Loc, Metric, ModelKind, ModelSpec, Sources, Spanned,
    };
    use ndarray::Array1;

    use super::*;
    use crate::eval::Target;

    fn rungs(factor: u32, rungs: u32, metric: Metric) -> Rungs {
        setup(factor, rungs, metric).expect("valid")
    }

    fn setup(factor: u32, rungs: u32, metric: Metric) -> Result<Rungs, EvalError> {
        let loc = Loc::new(Sources::new().add("test.kdl", ""), (0, 0));
        let spec = EvaluatorSpec {
            model: ModelSpec {
                kind: Spanned::new(ModelKind::LinearRegression, loc),
                hyperparameters: Default::default(),
            },
            metric: Some(Spanned::new(metric, loc)),
            cv: CvSpec {
                scheme: CvScheme::KFold { folds: 3 },
                seed: None,
            },
            confirm: flow_dsl::ConfirmSpec::Off,
            final_model: None,
        };
        let y = Target::Regression(Array1::from_iter((0..900).map(f64::from)));
        let evaluator = Evaluator::new(&spec, y, 1).expect("valid");
        Rungs::new(flow_dsl::Halving { factor, rungs }, &evaluator, 4)
    }

    #[test]
    fn rungs_sample_growing_shares_and_keep_a_factor_fewer_each() {
        let r = rungs(3, 2, Metric::Rmse);
        assert_eq!(r.len(), 2);
        assert_eq!((r.rows(0), r.rows(1)), (100, 300));
        assert_eq!(r.entrants(2), 18);
        assert_eq!((r.survivors(0, 2), r.survivors(1, 2)), (6, 2));
        let samples = r.samples();
        assert_ne!(samples[0].rows, samples[1].rows[..100]);
    }

    #[test]
    fn a_rung_with_too_few_rows_for_the_folds_says_which_and_why() {
        let Err(EvalError::Invalid(message)) = setup(16, 3, Metric::Rmse) else {
            panic!("1 row of 900 cannot be cross-validated in 3 folds");
        };
        assert!(
            message.starts_with(
                "rung 1 cross-validates on 1/4096 of the rows, a sample of 1 of the 900 rows: "
            ),
            "{message}"
        );
    }

    #[test]
    fn the_race_ranks_best_first_failures_last_ties_in_screen_order() {
        assert_eq!(
            rank(&[3.0, f64::NAN, 1.0, 3.0, 2.0], false),
            [2, 4, 0, 3, 1]
        );
        assert_eq!(rank(&[0.5, f64::NAN, 0.9, 0.5], true), [2, 0, 3, 1]);
    }

    #[test]
    fn a_sampled_score_reads_only_the_sampled_rows() {
        let r = rungs(4, 1, Metric::Rmse);
        let sample = &r.samples()[0];
        // The target itself as the only column: a perfect fit on any rows.
        let exact = ModelColumn::numeric(Array1::from_iter((0..900).map(f64::from)));
        assert!(sampled_score(sample, &[exact]) < 1e-9);
        // A column that is wrong outside the sample fits as well; one wrong inside it, not.
        let noise = |row: usize| f64::from(u32::try_from(row * row % 7).expect("small"));
        let wrong = |inside: bool| -> ModelColumn {
            ModelColumn::numeric(Array1::from_iter((0..900).map(|row| {
                if sample.rows.binary_search(&row).is_ok() == inside {
                    noise(row)
                } else {
                    row as f64
                }
            })))
        };
        assert!(sampled_score(sample, &[wrong(false)]) < 1e-9);
        assert!(sampled_score(sample, &[wrong(true)]) > 10.0);
        // A constant column explains nothing: the fit predicts the mean (RMSE ≈ 260 here).
        let constant = ModelColumn::numeric(Array1::from_elem(900, 1.0));
        let score = sampled_score(sample, &[constant]);
        assert!((200.0..300.0).contains(&score), "{score}");
    }
}
