//! Feature importance: how much a fold's score leans on each column.
//!
//! Tree models report their own (impurity decrease or loss reduction per column); for the
//! others, importance is measured by permutation on the validation rows: shuffle one column,
//! predict again, and see how much the score drops.

use flow_dsl::Metric;
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::models::FittedModel;
use super::{EvalError, Target, score};

/// Shuffles per column and fold; their mean drop is the column's importance.
pub const PERMUTATION_REPEATS: usize = 3;

/// The first generator stream of permutations (models use streams from 0 up).
const PERMUTATION_STREAMS: u64 = 1 << 63;

/// Permutation importance of each column of `valid_x` for `fitted`, whose unshuffled score
/// on these rows is `base`: the mean drop of the score over [`PERMUTATION_REPEATS`] shuffles
/// of the column, counted so that larger means more important whichever way the metric
/// points, and clipped at 0 (a shuffle that happens to help says the column is useless, not
/// harmful). Column `j` of fold `fold` shuffles with stream 2⁶³ + `fold · columns + j` of a
/// ChaCha8 generator seeded with `seed`, so columns run in parallel yet reproducibly, and
/// apart from the low streams models draw from with the same seed.
pub fn permutation_importance(
    fitted: &dyn FittedModel,
    valid_x: ArrayView2<f64>,
    valid_y: &Target,
    metric: Metric,
    base: f64,
    seed: u64,
    fold: usize,
) -> Result<Vec<f64>, EvalError> {
    let columns = valid_x.ncols();
    let drops: Vec<Result<f64, EvalError>> = (0..columns)
        .into_par_iter()
        .map(|j| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(PERMUTATION_STREAMS + (fold * columns + j) as u64);
            let mut shuffled: Array2<f64> = valid_x.to_owned();
            let mut values = valid_x.column(j).to_vec();
            let mut total = 0.0;
            for _ in 0..PERMUTATION_REPEATS {
                values.shuffle(&mut rng);
                for (cell, &v) in shuffled.column_mut(j).iter_mut().zip(&values) {
                    *cell = v;
                }
                let prediction = fitted.predict(shuffled.view())?;
                let permuted = score(metric, valid_y, &prediction)?;
                total += if metric.higher_is_better() {
                    base - permuted
                } else {
                    permuted - base
                };
            }
            let drop = total / PERMUTATION_REPEATS as f64;
            // A NaN (a diverged prediction) says nothing about the column.
            Ok(if drop > 0.0 { drop } else { 0.0 })
        })
        .collect();
    drops.into_iter().collect()
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
