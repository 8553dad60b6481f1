//! Feature importance: how much a fold's score leans on each column.
//!
//! Tree models report their own (impurity decrease or loss reduction per column); for the
//! others, importance is measured by permutation on the validation rows: shuffle one column,
//! predict again, and see how much the score drops.
//!
//! The shuffles are made once per run: [`PERMUTATION_REPEATS`] seeded permutations of each
//! fold's validation rows, applied to every column of every feature set. Drawing them once
//! instead of per column and set saves most of an evaluation's time, and a column's
//! importance no longer depends on its position in the set.

use flow_dsl::Metric;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::models::FittedModel;
use super::{EvalError, Prediction, Target, score};

/// Shuffles per column and fold; their mean drop is the column's importance.
pub const PERMUTATION_REPEATS: usize = 3;

/// The first generator stream of permutations (models use streams from 0 up).
const PERMUTATION_STREAMS: u64 = 1 << 63;

/// The [`PERMUTATION_REPEATS`] permutations of each fold's `rows` validation rows: repeat
/// `r` of fold `f` shuffles `0..rows` with stream 2⁶³ + `f · repeats + r` of a ChaCha8
/// generator seeded with `seed` (apart from the low streams models draw from).
pub fn permutations(valid_rows: &[usize], seed: u64) -> Vec<Vec<Vec<u32>>> {
    valid_rows
        .iter()
        .enumerate()
        .map(|(fold, &rows)| {
            (0..PERMUTATION_REPEATS)
                .map(|r| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(PERMUTATION_STREAMS + (fold * PERMUTATION_REPEATS + r) as u64);
                    // Folds hold fewer than 2³² rows: the evaluator checks it.
                    #[allow(clippy::cast_possible_truncation)]
                    let mut order: Vec<u32> = (0..rows as u32).collect();
                    order.shuffle(&mut rng);
                    order
                })
                .collect()
        })
        .collect()
}

/// A fold's validation targets and unshuffled score: what permutation importance measures
/// drops from.
#[derive(Clone, Copy)]
pub struct ScoredFold<'a> {
    /// The validation rows' targets.
    pub valid_y: &'a Target,
    /// The metric scores are in.
    pub metric: Metric,
    /// The score of the unshuffled validation rows.
    pub base: f64,
    /// The fold's permutations of its validation rows (see [`permutations`]).
    pub permutations: &'a [Vec<u32>],
}

/// Permutation importance of each column of `valid_x` for `fitted`, whose unshuffled score
/// on these rows is `base`: the mean drop of the score over the fold's permutations of the
/// column, counted so that larger means more important whichever way the metric points,
/// and clipped at 0 (a shuffle that happens to help says the column is useless, not
/// harmful). Columns run in parallel, each on its own copy of the rows.
pub fn permutation_importance(
    fitted: &dyn FittedModel,
    valid_x: ArrayView2<f64>,
    scored: &ScoredFold,
) -> Result<Vec<f64>, EvalError> {
    per_column(valid_x.ncols(), |j| {
        let mut shuffled: Array2<f64> = valid_x.to_owned();
        mean_drop(valid_x, j, scored, |values| {
            for (cell, &v) in shuffled.column_mut(j).iter_mut().zip(values) {
                *cell = v;
            }
            score(
                scored.metric,
                scored.valid_y,
                &fitted.predict(shuffled.view())?,
            )
        })
    })
}

/// `drop(j)` for every column `j`, in parallel; the first error in column order wins.
fn per_column(
    columns: usize,
    drop: impl Fn(usize) -> Result<f64, EvalError> + Sync + Send,
) -> Result<Vec<f64>, EvalError> {
    let drops: Vec<Result<f64, EvalError>> = (0..columns).into_par_iter().map(drop).collect();
    drops.into_iter().collect()
}

/// [`permutation_importance`] for a model whose prediction is affine in its inputs,
/// `prediction = offset + valid_x · weights`: shuffling column `j` moves each prediction by
/// `weights[j]` times the change of its value, so no matrix is copied or predicted again.
/// The shuffles are the same, so the importances are too, up to rounding.
pub fn affine_permutation_importance(
    valid_x: ArrayView2<f64>,
    weights: ArrayView1<f64>,
    prediction: ArrayView1<f64>,
    scored: &ScoredFold,
) -> Result<Vec<f64>, EvalError> {
    per_column(valid_x.ncols(), |j| {
        let (column, weight) = (valid_x.column(j), weights[j]);
        let mut moved = Array1::<f64>::zeros(prediction.len());
        mean_drop(valid_x, j, scored, |values| {
            for (((m, &p), &v), &x) in moved.iter_mut().zip(prediction).zip(values).zip(column) {
                *m = p + weight * (v - x);
            }
            let permuted = Prediction::Values(std::mem::take(&mut moved));
            let result = score(scored.metric, scored.valid_y, &permuted);
            if let Prediction::Values(values) = permuted {
                moved = values;
            }
            result
        })
    })
}

/// The mean drop of the score over [`PERMUTATION_REPEATS`] shuffles of column `j`, scored by
/// `permuted` (given the shuffled values), clipped at 0.
fn mean_drop(
    valid_x: ArrayView2<f64>,
    j: usize,
    scored: &ScoredFold,
    mut permuted: impl FnMut(&[f64]) -> Result<f64, EvalError>,
) -> Result<f64, EvalError> {
    let column = valid_x.column(j);
    let mut values = vec![0.0; column.len()];
    let mut total = 0.0;
    for order in scored.permutations {
        for (v, &i) in values.iter_mut().zip(order) {
            *v = column[i as usize];
        }
        let score = permuted(&values)?;
        total += if scored.metric.higher_is_better() {
            scored.base - score
        } else {
            score - scored.base
        };
    }
    let drop = total / scored.permutations.len().max(1) as f64;
    // A NaN (a diverged prediction) says nothing about the column.
    Ok(if drop > 0.0 { drop } else { 0.0 })
}

/// `values` scaled to sum 1; all zeros when nothing is positive.
pub fn normalise(mut values: Vec<f64>) -> Vec<f64> {
    values.iter_mut().for_each(|v| *v = v.max(0.0));
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| *v /= total);
    }
    values
}

/// The mean of each fold's normalised importances, normalised again (folds where nothing
/// mattered contribute zeros), summed in fold order.
pub fn average(per_fold: &[Vec<f64>], columns: usize) -> Vec<f64> {
    let mut total = vec![0.0; columns];
    for fold in per_fold {
        for (t, v) in total.iter_mut().zip(normalise(fold.clone())) {
            *t += v;
        }
    }
    normalise(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_sums_to_one_or_stays_zero() {
        assert_eq!(normalise(vec![1.0, 3.0, 0.0]), [0.25, 0.75, 0.0]);
        assert_eq!(normalise(vec![0.0, 0.0]), [0.0, 0.0]);
        assert_eq!(normalise(vec![-1.0, 1.0]), [0.0, 1.0]);
    }

    #[test]
    fn folds_count_equally_whatever_their_scale() {
        let folds = [vec![100.0, 0.0], vec![0.0, 1.0], vec![0.0, 0.0]];
        assert_eq!(average(&folds, 2), [0.5, 0.5]);
        assert_eq!(average(&[], 3), [0.0, 0.0, 0.0]);
    }
}
