//! One-hot encoding of category codes, for models that read every input as a quantity.
//!
//! A category column reaches the evaluator as codes in order of first appearance
//! (`features::column`). A tree can split such codes into groups, but a linear or logistic
//! model would fit one slope across arbitrary numbers. [`OneHotModel`] wraps such a model:
//! each fit learns, from its own training rows only, which levels of each category column
//! get an indicator, encodes, fits the inner model, and encodes the rows it predicts the
//! same way. The encoding is part of the fitted model, so cross-validation, permutation
//! importance and the held-out score all see the category column as one input.
//!
//! Per category column, from the training rows:
//! - levels seen on fewer than [`MIN_LEVEL_ROWS`] rows, and any beyond the
//!   [`MAX_LEVELS`] most frequent, share an "other" indicator (present only when some
//!   training row falls there);
//! - the most frequent level is the reference and gets no indicator, so the indicators
//!   never sum to a constant column beside the intercept;
//! - a level never seen in training counts as "other", or as the reference when no training
//!   row was "other".
//!
//! Levels are ranked by training count, ties by code (first appearance), so the encoding is
//! deterministic.

use std::collections::BTreeMap;
use std::sync::Arc;

use ndarray::{Array2, ArrayView1, ArrayView2, ShapeBuilder};

use super::{FittedModel, Model};
use crate::eval::{EvalError, Prediction, Target};

/// The most levels of one category column that get their own indicator, the reference
/// included.
pub const MAX_LEVELS: usize = 32;

/// The fewest training rows a level needs for its own indicator.
pub const MIN_LEVEL_ROWS: usize = 5;

/// A model that one-hot encodes the `categorical` columns of its input before `inner`
/// sees them.
#[derive(Debug)]
pub struct OneHotModel {
    inner: Arc<dyn Model>,
    categorical: Vec<usize>,
}

impl OneHotModel {
    /// `inner` fitted on one-hot encodings of the columns numbered in `categorical`.
    pub fn new(inner: Arc<dyn Model>, categorical: Vec<usize>) -> Self {
        Self { inner, categorical }
    }
}

impl Model for OneHotModel {
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let encoder = Encoder::fit(train_x, &self.categorical);
        let fitted = self.inner.fit(encoder.encode(train_x).view(), train_y)?;
        Ok(Box::new(EncodedFit { encoder, fitted }))
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// A model fitted on encoded rows, which encodes the rows it predicts.
struct EncodedFit {
    encoder: Encoder,
    fitted: Box<dyn FittedModel>,
}

impl FittedModel for EncodedFit {
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError> {
        self.fitted.predict(self.encoder.encode(x).view())
    }

    /// Tree models are never wrapped; an inner model's own importance would be per
    /// indicator, so this says nothing and permutation importance permutes whole columns.
    fn importance(&self) -> Option<Vec<f64>> {
        None
    }
}

/// How one input column becomes model columns.
#[derive(Debug, Clone, PartialEq)]
enum ColumnCode {
    /// Passed through.
    Quantity,
    /// No indicator for `reference`, one per code in `levels`, then one for every other
    /// code when `other`.
    Levels {
        reference: f64,
        levels: Vec<f64>,
        other: bool,
    },
}

impl ColumnCode {
    fn width(&self) -> usize {
        match self {
            Self::Quantity => 1,
            Self::Levels { levels, other, .. } => levels.len() + usize::from(*other),
        }
    }
}

/// The encoding of every input column, fitted on training rows.
#[derive(Debug, Clone, PartialEq)]
struct Encoder {
    columns: Vec<ColumnCode>,
}

impl Encoder {
    fn fit(x: ArrayView2<f64>, categorical: &[usize]) -> Self {
        let columns = (0..x.ncols())
            .map(|j| {
                if categorical.contains(&j) {
                    levels_of(x.column(j))
                } else {
                    ColumnCode::Quantity
                }
            })
            .collect();
        Self { columns }
    }

    /// `x` with each category column replaced by its indicators (column-major, as the
    /// search's matrices are).
    fn encode(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let width = self.columns.iter().map(ColumnCode::width).sum();
        let mut out = Array2::<f64>::zeros((x.nrows(), width).f());
        let mut next = 0;
        for (j, code) in self.columns.iter().enumerate() {
            let input = x.column(j);
            match code {
                ColumnCode::Quantity => out.column_mut(next).assign(&input),
                ColumnCode::Levels {
                    reference,
                    levels,
                    other,
                } => {
                    for (row, value) in input.iter().enumerate() {
                        match levels.iter().position(|l| l == value) {
                            Some(k) => out[[row, next + k]] = 1.0,
                            None if *other && value != reference => {
                                out[[row, next + levels.len()]] = 1.0;
                            }
                            None => {}
                        }
                    }
                }
            }
            next += code.width();
        }
        out
    }
}

/// The indicators of one category column, from its training values.
fn levels_of(values: ArrayView1<f64>) -> ColumnCode {
    let mut counts: BTreeMap<u64, (f64, usize)> = BTreeMap::new();
    for &v in values {
        counts.entry(v.to_bits()).or_insert((v, 0)).1 += 1;
    }
    let mut ranked: Vec<(f64, usize)> = counts.into_values().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
    let Some(&(reference, _)) = ranked.first() else {
        return ColumnCode::Quantity;
    };
    let kept = ranked
        .iter()
        .take(MAX_LEVELS)
        .take_while(|(_, n)| *n >= MIN_LEVEL_ROWS)
        .count()
        .max(1);
    let other = ranked.len() > kept;
    ColumnCode::Levels {
        reference,
        levels: ranked[1..kept].iter().map(|(v, _)| *v).collect(),
        other,
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{ModelKind, Task};
    use ndarray::{Array1, array};

    use super::super::testdata::spec;
    use super::*;
    use crate::eval::build_model;

    fn codes(counts: &[(f64, usize)]) -> Array1<f64> {
        counts
            .iter()
            .flat_map(|&(code, n)| std::iter::repeat_n(code, n))
            .collect()
    }

    #[test]
    fn the_most_frequent_level_is_the_reference_and_rare_levels_share_other() {
        // Level 2 is the most frequent, 0 and 1 are kept, 3 and 4 are too rare.
        let column = codes(&[(0.0, 6), (1.0, 5), (2.0, 9), (3.0, 4), (4.0, 1)]);
        let code = levels_of(column.view());
        assert_eq!(
            code,
            ColumnCode::Levels {
                reference: 2.0,
                levels: vec![0.0, 1.0],
                other: true
            }
        );
        let x = Array2::from_shape_vec((5, 1), vec![2.0, 0.0, 1.0, 3.0, 7.0]).expect("shape");
        let encoder = Encoder {
            columns: vec![code],
        };
        // Columns: level 0, level 1, other. An unseen code (7) counts as other.
        assert_eq!(
            encoder.encode(x.view()),
            array![
                [0.0, 0.0, 0.0],
                [1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [0.0, 0.0, 1.0],
                [0.0, 0.0, 1.0]
            ]
        );
    }

    #[test]
    fn levels_are_capped_and_an_unseen_level_is_the_reference_without_other() {
        let many: Vec<(f64, usize)> = (0..40).map(|c| (f64::from(c), 10)).collect();
        let ColumnCode::Levels {
            reference,
            levels,
            other,
        } = levels_of(codes(&many).view())
        else {
            panic!("a category column gets levels");
        };
        // Equal counts rank by code: 0 is the reference, 1..=31 get indicators.
        assert_eq!(
            (reference, levels.len(), other),
            (0.0, MAX_LEVELS - 1, true)
        );
        let two = levels_of(codes(&[(0.0, 5), (1.0, 8)]).view());
        let encoder = Encoder {
            columns: vec![ColumnCode::Quantity, two],
        };
        let x = array![[3.5, 0.0], [1.5, 1.0], [2.5, 9.0]];
        assert_eq!(
            encoder.encode(x.view()),
            array![[3.5, 1.0], [1.5, 0.0], [2.5, 0.0]]
        );
    }

    #[test]
    fn a_linear_model_fits_each_category_its_own_mean() {
        // y depends on the category, not monotonically in its code: a slope on the codes
        // cannot fit it, one-hot indicators fit it exactly.
        let means = [10.0, -4.0, 7.0, 0.0];
        let x: Array2<f64> = Array2::from_shape_fn((40, 1), |(i, _)| (i % 4) as f64);
        let y: Array1<f64> = (0..40).map(|i| means[i % 4]).collect();
        let target = Target::Regression(y.clone());
        let linear = build_model(&spec(ModelKind::LinearRegression, &[]), Task::Regression, 0)
            .expect("linear regression");
        let encoded = OneHotModel::new(Arc::clone(&linear), vec![0]);
        let residual = |model: &dyn Model| {
            let Prediction::Values(p) = model
                .fit_predict(x.view(), &target, x.view())
                .expect("fits")
            else {
                panic!("regression predicts values");
            };
            (&p - &y).mapv(f64::abs).sum()
        };
        assert!(residual(&encoded) < 1e-6);
        assert!(residual(linear.as_ref()) > 50.0);
    }
}
