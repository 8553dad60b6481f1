//! Cross-validated ordinary least squares in one pass over the rows.
//!
//! Fitting least squares on every fold's training rows reads each row k − 1 times and
//! factorises a rows × columns matrix per fold. The normal equations need far less: each
//! fold's validation rows give a small Gram matrix, their sum is the Gram matrix of all
//! rows, and a fold's training Gram matrix is the whole less its own part. A fold's model
//! is then a Cholesky solve of a columns × columns system.
//!
//! The normal equations square the condition number, so this path is taken only where
//! that cannot matter: columns are shifted by their mean first (no cancellation when the
//! intercept is taken out), and a set where some column is nearly constant or nearly a
//! linear combination of the columns before it (squared residual share under
//! [`ILL_CONDITIONED`]) is left to the model's own QR fit, which drops such columns.
//! Otherwise both give the same scores up to rounding.

use ndarray::{Array1, Array2, ArrayView2, Axis, ShapeBuilder, Slice};

use super::Fold;

/// The share of a column's (centred) sum of squares left once the columns before it are
/// projected out, below which the set goes to the QR path instead.
const ILL_CONDITIONED: f64 = 1e-8;

/// One fold's fitted least squares: validation predictions are `offset + valid · weights`.
pub struct LinearFold {
    /// The validation rows' features, each column shifted by its mean over all rows, then
    /// the target.
    valid: Array2<f64>,
    /// One weight per feature column.
    pub weights: Array1<f64>,
    /// The predictions for the validation rows.
    pub prediction: Array1<f64>,
}

/// Fits least squares (with an intercept when `intercept`) on every fold's training rows of
/// `x` against `y` and predicts its validation rows; `None` when some fold's training
/// columns are too close to dependent (or too few rows) for the normal equations, so the
/// caller fits those the slow, exact way.
pub fn cross_validate(
    x: ArrayView2<f64>,
    y: &Array1<f64>,
    folds: &[Fold],
    intercept: bool,
) -> Option<Vec<LinearFold>> {
    let (rows, columns) = x.dim();
    // Shifting by the mean is an exact change of variables when the intercept absorbs it;
    // without an intercept the columns stay as they are.
    let (shift, y_shift) = if intercept {
        (x.mean_axis(Axis(0))?, y.mean()?)
    } else {
        (Array1::zeros(columns), 0.0)
    };
    // Column by column: the search hands over column-major matrices.
    let block = |part: &[usize]| {
        let mut b = Array2::<f64>::zeros((part.len(), columns + 1).f());
        for (j, mut out) in b.columns_mut().into_iter().enumerate() {
            if j < columns {
                let (column, m) = (x.column(j), shift[j]);
                for (o, &r) in out.iter_mut().zip(part) {
                    *o = column[r] - m;
                }
            } else {
                for (o, &r) in out.iter_mut().zip(part) {
                    *o = y[r] - y_shift;
                }
            }
        }
        b
    };
    // The Gram matrix and column sums of rows: [features | target].
    let moments = |b: &Array2<f64>| (b.t().dot(b), b.sum_axis(Axis(0)));
    let valid: Vec<Array2<f64>> = folds.iter().map(|f| block(&f.valid)).collect();
    let valid_moments: Vec<(Array2<f64>, Array1<f64>)> = valid.iter().map(moments).collect();
    let partition = valid.iter().map(Array2::nrows).sum::<usize>() == rows;
    let total = if partition {
        let mut gram = Array2::zeros((columns + 1, columns + 1));
        let mut sums = Array1::zeros(columns + 1);
        for (g, s) in &valid_moments {
            gram += g;
            sums += s;
        }
        Some((gram, sums))
    } else {
        None
    };
    folds
        .iter()
        .zip(valid)
        .zip(&valid_moments)
        .map(|((fold, valid), (valid_gram, valid_sums))| {
            let complement = fold.train.len() + fold.valid.len() == rows;
            let (gram, sums) = match &total {
                Some((gram, sums)) if complement => (gram - valid_gram, sums - valid_sums),
                _ => moments(&block(&fold.train)),
            };
            let n = fold.train.len() as f64;
            let (weights, offset) = solve(gram, &sums, n, intercept, columns)?;
            let prediction = features(&valid).dot(&weights) + (offset + y_shift);
            Some(LinearFold {
                valid,
                weights,
                prediction,
            })
        })
        .collect()
}

impl LinearFold {
    /// The validation rows' features (shifted as the weights expect).
    pub fn features(&self) -> ArrayView2<'_, f64> {
        features(&self.valid)
    }
}

/// The feature columns of a block of [features | target].
fn features(block: &Array2<f64>) -> ArrayView2<'_, f64> {
    block.slice_axis(Axis(1), Slice::from(..block.ncols() - 1))
}

/// The weights and offset of least squares from the training rows' Gram matrix and sums
/// (`n` rows; the last column is the target), or `None` when the system is ill-conditioned.
fn solve(
    mut gram: Array2<f64>,
    sums: &Array1<f64>,
    n: f64,
    intercept: bool,
    columns: usize,
) -> Option<(Array1<f64>, f64)> {
    if n <= columns as f64 {
        return None;
    }
    if intercept {
        // Centre: the cross-products about the training means.
        for i in 0..=columns {
            for j in 0..=columns {
                gram[[i, j]] -= sums[i] * sums[j] / n;
            }
        }
    }
    // Cholesky of the features' block, column by column, refusing near-dependent columns.
    let mut lower = Array2::<f64>::zeros((columns, columns));
    for j in 0..columns {
        let own = gram[[j, j]];
        let mut rest = own;
        for k in 0..j {
            rest -= lower[[j, k]] * lower[[j, k]];
        }
        if !(own > 0.0 && rest > ILL_CONDITIONED * own) {
            return None;
        }
        let pivot = rest.sqrt();
        lower[[j, j]] = pivot;
        for i in j + 1..columns {
            let mut v = gram[[i, j]];
            for k in 0..j {
                v -= lower[[i, k]] * lower[[j, k]];
            }
            lower[[i, j]] = v / pivot;
        }
    }
    // L·z = Xᵀy, then Lᵀ·w = z.
    let mut z = Array1::<f64>::zeros(columns);
    for i in 0..columns {
        let mut v = gram[[i, columns]];
        for k in 0..i {
            v -= lower[[i, k]] * z[k];
        }
        z[i] = v / lower[[i, i]];
    }
    let mut weights = Array1::<f64>::zeros(columns);
    for i in (0..columns).rev() {
        let mut v = z[i];
        for k in i + 1..columns {
            v -= lower[[k, i]] * weights[k];
        }
        weights[i] = v / lower[[i, i]];
    }
    let offset = if intercept {
        (sums[columns] - weights.dot(&sums.slice_axis(Axis(0), Slice::from(..columns)))) / n
    } else {
        0.0
    };
    weights
        .iter()
        .all(|w| w.is_finite())
        .then_some((weights, offset))
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2, array};

    use super::*;
    use crate::eval::{Target, make_folds};
    use flow_dsl::CvScheme;

    /// Least squares on the training rows by the textbook route, for comparison.
    fn reference(x: &Array2<f64>, y: &Array1<f64>, fold: &Fold) -> Array1<f64> {
        let train_x = x.select(Axis(0), &fold.train);
        let ones = Array2::ones((train_x.nrows(), 1));
        let design = ndarray::concatenate![Axis(1), ones, train_x];
        let train_y = y.select(Axis(0), &fold.train);
        let gram = design.t().dot(&design);
        let rhs = design.t().dot(&train_y);
        // Gauss–Jordan on a small, well-conditioned system.
        let k = gram.nrows();
        let mut a = ndarray::concatenate![Axis(1), gram, rhs.insert_axis(Axis(1))];
        for c in 0..k {
            let p = a[[c, c]];
            for j in 0..=k {
                a[[c, j]] /= p;
            }
            for r in 0..k {
                if r != c {
                    let f = a[[r, c]];
                    for j in 0..=k {
                        a[[r, j]] -= f * a[[c, j]];
                    }
                }
            }
        }
        let coef = a.column(k).to_owned();
        let valid_x = x.select(Axis(0), &fold.valid);
        valid_x.dot(&coef.slice_axis(Axis(0), Slice::from(1..))) + coef[0]
    }

    fn data(rows: usize) -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((rows, 3), |(i, j)| {
            let t = (i * 7 + j * 13) as f64;
            1000.0 + (t * 0.37).sin() * (j + 1) as f64 + (t * 0.11).cos()
        });
        let y = x
            .rows()
            .into_iter()
            .map(|r| 2.0 * r[0] - r[1] + 0.5 * r[2] * r[2] / 1000.0)
            .collect();
        (x, y)
    }

    #[test]
    fn every_fold_predicts_as_least_squares_on_its_training_rows() {
        let (x, y) = data(200);
        let target = Target::Regression(y.clone());
        for scheme in [
            CvScheme::KFold { folds: 5 },
            CvScheme::RepeatedKFold {
                folds: 3,
                repeats: 2,
            },
            CvScheme::Holdout { fraction: 0.25 },
        ] {
            let folds = make_folds(&scheme, &target, 4).expect("valid");
            let fitted = cross_validate(x.view(), &y, &folds, true).expect("well-conditioned");
            assert_eq!(fitted.len(), folds.len());
            for (fold, fit) in folds.iter().zip(&fitted) {
                let expected = reference(&x, &y, fold);
                let gap = (&fit.prediction - &expected)
                    .mapv(f64::abs)
                    .fold(0.0, |a: f64, &b| a.max(b));
                assert!(gap < 1e-6, "{scheme:?}: predictions differ by {gap}");
            }
        }
    }

    #[test]
    fn a_sample_of_the_rows_uses_its_own_training_rows() {
        let (x, y) = data(120);
        let folds = vec![Fold {
            train: (0..60).collect(),
            valid: (60..80).collect(),
        }];
        let fit = cross_validate(x.view(), &y, &folds, true).expect("well-conditioned");
        let gap = (&fit[0].prediction - &reference(&x, &y, &folds[0]))
            .mapv(f64::abs)
            .fold(0.0, |a: f64, &b| a.max(b));
        assert!(gap < 1e-6, "{gap}");
    }

    #[test]
    fn dependent_and_constant_columns_go_to_the_exact_path() {
        let (x, y) = data(100);
        let target = Target::Regression(y.clone());
        let folds = make_folds(&CvScheme::KFold { folds: 4 }, &target, 1).expect("valid");
        let twice =
            ndarray::concatenate![Axis(1), x, (&x.column(0) * 2.0 + 1.0).insert_axis(Axis(1))];
        assert!(cross_validate(twice.view(), &y, &folds, true).is_none());
        let constant = ndarray::concatenate![Axis(1), x, Array2::from_elem((100, 1), 3.0)];
        assert!(cross_validate(constant.view(), &y, &folds, true).is_none());
        let few = array![[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 4.0]];
        let two = make_folds(
            &CvScheme::KFold { folds: 2 },
            &Target::Regression(array![1.0, 2.0, 3.0, 4.0]),
            0,
        )
        .expect("valid");
        assert!(cross_validate(few.view(), &array![1.0, 2.0, 3.0, 4.0], &two, true).is_none());
    }

    #[test]
    fn without_an_intercept_the_fit_goes_through_the_origin() {
        let x = Array2::from_shape_fn((50, 1), |(i, _)| 1.0 + i as f64);
        let y: Array1<f64> = x.column(0).mapv(|v| 3.0 * v);
        let folds = make_folds(
            &CvScheme::KFold { folds: 5 },
            &Target::Regression(y.clone()),
            2,
        )
        .expect("valid");
        let fitted = cross_validate(x.view(), &y, &folds, false).expect("well-conditioned");
        for fit in &fitted {
            assert!((fit.weights[0] - 3.0).abs() < 1e-12);
        }
    }
}
