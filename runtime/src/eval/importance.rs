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

use super::metrics::regression;
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
        let mut values = vec![0.0; valid_x.nrows()];
        mean_drop(scored, |order| {
            gather(valid_x.column(j), order, &mut values);
            for (cell, &v) in shuffled.column_mut(j).iter_mut().zip(&values) {
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
/// Under a squared error (RMSE, R²) the permuted score follows from the residuals in one
/// pass over the rows (see [`SquaredError`]). The shuffles are the same, so the
/// importances are too, up to rounding.
pub fn affine_permutation_importance(
    valid_x: ArrayView2<f64>,
    weights: ArrayView1<f64>,
    prediction: ArrayView1<f64>,
    scored: &ScoredFold,
) -> Result<Vec<f64>, EvalError> {
    if let Some(squared) = SquaredError::new(scored, prediction) {
        return per_column(valid_x.ncols(), |j| {
            let (column, weight) = (valid_x.column(j), weights[j]);
            mean_drop(scored, |order| Ok(squared.permuted(column, weight, order)))
        });
    }
    per_column(valid_x.ncols(), |j| {
        let (column, weight) = (valid_x.column(j), weights[j]);
        let mut values = vec![0.0; column.len()];
        let mut moved = Array1::<f64>::zeros(prediction.len());
        mean_drop(scored, |order| {
            gather(column, order, &mut values);
            for (((m, &p), &v), &x) in moved.iter_mut().zip(prediction).zip(&values).zip(column) {
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

/// A fold's residuals under a squared-error metric, from which the score of an affine
/// model with one column shuffled follows without predicting again. Shuffling column `x`
/// (weight `w`) by `order` changes each residual `r` by `−w·d`, where `d = x[order[i]] − x[i]`,
/// so the squared error becomes `Σr² − 2w·Σr·d + w²·Σd²`: one pass over the rows.
struct SquaredError {
    metric: Metric,
    residuals: Vec<f64>,
    /// `Σr²`, summed as the metric sums it, so a column of weight 0 drops exactly 0.
    squared: f64,
    /// R²'s total sum of squares (positive), or the row count for RMSE.
    scale: f64,
}

impl SquaredError {
    /// `None` unless the metric is RMSE, or R² of a truth that varies.
    fn new(scored: &ScoredFold, prediction: ArrayView1<f64>) -> Option<Self> {
        let Target::Regression(truth) = scored.valid_y else {
            return None;
        };
        let scale = match scored.metric {
            Metric::Rmse => truth.len() as f64,
            Metric::R2 => regression::total_squares(truth.view()),
            _ => return None,
        };
        if scale.is_nan() || scale <= 0.0 || truth.len() != prediction.len() {
            return None;
        }
        Some(Self {
            metric: scored.metric,
            residuals: truth.iter().zip(prediction).map(|(t, p)| t - p).collect(),
            squared: regression::squared_error(truth.view(), prediction),
            scale,
        })
    }

    /// The score once `column` (of weight `weight`) is shuffled by `order`.
    fn permuted(&self, column: ArrayView1<f64>, weight: f64, order: &[u32]) -> f64 {
        let (mut cross, mut moved) = (0.0, 0.0);
        for ((&i, &x), &r) in order.iter().zip(column).zip(&self.residuals) {
            let d = column[i as usize] - x;
            cross += r * d;
            moved += d * d;
        }
        let squared = (self.squared - 2.0 * weight * cross + weight * weight * moved).max(0.0);
        match self.metric {
            Metric::R2 => 1.0 - squared / self.scale,
            _ => (squared / self.scale).sqrt(),
        }
    }
}

/// `values[i] = column[order[i]]`.
fn gather(column: ArrayView1<f64>, order: &[u32], values: &mut [f64]) {
    for (v, &i) in values.iter_mut().zip(order) {
        *v = column[i as usize];
    }
}

/// The mean drop of the score over the fold's permutations, each scored by
/// `permuted(order)`, clipped at 0.
fn mean_drop(
    scored: &ScoredFold,
    mut permuted: impl FnMut(&[u32]) -> Result<f64, EvalError>,
) -> Result<f64, EvalError> {
    let mut total = 0.0;
    for order in scored.permutations {
        let score = permuted(order)?;
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

    /// Every regression metric's affine importance equals shuffling the column, predicting
    /// `offset + x · w` again and scoring it: the squared-error shortcut (RMSE, R²) and the
    /// moved-prediction path (MAE) alike.
    #[test]
    fn affine_importance_is_the_drop_of_predicting_the_shuffled_rows_again() {
        let rows = 300;
        let x = Array2::from_shape_fn((rows, 3), |(i, j)| {
            ((i * 7 + j * 31) as f64 * 0.173).sin() * (j + 1) as f64 + 50.0
        });
        let weights = ndarray::array![1.5, -0.25, 0.0];
        let prediction = x.dot(&weights) + 3.0;
        let truth: Array1<f64> = prediction
            .iter()
            .enumerate()
            .map(|(i, p)| p + (i as f64 * 0.91).cos())
            .collect();
        let valid_y = Target::Regression(truth);
        let orders = &permutations(&[rows], 11)[0];
        for metric in [Metric::Rmse, Metric::R2, Metric::Mae] {
            let base =
                score(metric, &valid_y, &Prediction::Values(prediction.clone())).expect("scores");
            let scored = ScoredFold {
                valid_y: &valid_y,
                metric,
                base,
                permutations: orders,
            };
            let fast =
                affine_permutation_importance(x.view(), weights.view(), prediction.view(), &scored)
                    .expect("scores");
            for (j, &got) in fast.iter().enumerate() {
                let mut total = 0.0;
                for order in orders {
                    let mut shuffled = x.clone();
                    for (i, &o) in order.iter().enumerate() {
                        shuffled[[i, j]] = x[[o as usize, j]];
                    }
                    let again = Prediction::Values(shuffled.dot(&weights) + 3.0);
                    let permuted = score(metric, &valid_y, &again).expect("scores");
                    total += if metric.higher_is_better() {
                        base - permuted
                    } else {
                        permuted - base
                    };
                }
                let expected = (total / orders.len() as f64).max(0.0);
                assert!(
                    (got - expected).abs() <= 1e-9 * expected.max(1.0),
                    "{metric:?} column {j}: {got} vs {expected}"
                );
                if j == 2 {
                    assert_eq!(
                        got, 0.0,
                        "{metric:?}: a column of weight 0 matters not at all"
                    );
                } else {
                    assert!(got > 0.01, "{metric:?} column {j}: {got}");
                }
            }
        }
    }
}
