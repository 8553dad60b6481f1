//! Screening candidates cheaply before paying for cross-validation.
//!
//! The screen fits ordinary least squares of the target on a node's features (with an
//! intercept) and scores a candidate by the share of the remaining residual variance it
//! would explain if added: the squared partial correlation of the candidate with the
//! residual, given the node's features. It is exact for linear models and a strong prior for
//! the others (it asks "does this feature carry information the set does not have yet?"),
//! and costs O(rows × features) per candidate.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView1, Axis, ShapeBuilder, Slice};

use crate::eval::Target;
use crate::features::ModelColumn;

/// Columns whose norm falls below this after orthogonalisation are linear combinations of
/// earlier ones and are dropped from the basis.
const DEPENDENT: f64 = 1e-9;

/// Candidates projected together by [`Screen::scores`].
const BLOCK: usize = 8;

/// The screen of one feature set.
#[derive(Debug, Clone)]
pub struct Screen {
    /// Orthonormal basis of the intercept and the set's columns (rows × k).
    basis: Array2<f64>,
    /// Residuals of each target column after projecting out the basis.
    residuals: Vec<Array1<f64>>,
}

impl Screen {
    /// The screen of a set with these model columns. Classification targets are screened
    /// one class against the rest, and scores summed.
    pub fn new(columns: &[ModelColumn], target: &Target) -> Self {
        let rows = target.len();
        let mut basis: Vec<Array1<f64>> = Vec::with_capacity(columns.len() + 1);
        #[allow(clippy::cast_precision_loss)]
        let intercept = Array1::from_elem(rows, 1.0 / (rows as f64).sqrt());
        basis.push(intercept);
        for column in columns {
            let q = orthogonalise(&basis, column.view());
            let norm = q.dot(&q).sqrt();
            if norm > DEPENDENT * (column.dot(column.values()).sqrt() + 1.0) {
                basis.push(q / norm);
            }
        }
        let targets: Vec<Array1<f64>> = match target {
            Target::Regression(y) => vec![y.clone()],
            Target::Classification { labels, classes } => {
                let indicator = |k: usize| labels.mapv(|l| if l == k { 1.0 } else { 0.0 });
                // Two classes carry one signal; more carry one per class.
                let used = if classes.len() == 2 { 1 } else { classes.len() };
                (0..used)
                    .map(|k| indicator(classes.len() - 1 - k))
                    .collect()
            }
        };
        let residuals = targets
            .iter()
            .map(|y| orthogonalise(&basis, y.view()))
            .collect();
        let basis = ndarray::stack(Axis(1), &basis.iter().map(Array1::view).collect::<Vec<_>>())
            .expect("basis vectors have equal length");
        Self { basis, residuals }
    }

    /// The share of the residual variance the candidate explains, in [0, 1]; 0 for a
    /// candidate the set already spans.
    pub fn score(&self, candidate: &ModelColumn) -> f64 {
        self.scores(std::slice::from_ref(candidate))[0]
    }

    /// [`score`](Self::score) of each candidate, in order. Candidates are projected in
    /// blocks of [`BLOCK`] (two matrix products per block), so the basis is read once per
    /// block rather than twice per candidate; the blocks share one buffer, which the second
    /// product overwrites with the projected-out candidates.
    pub fn scores(&self, candidates: &[ModelColumn]) -> Vec<f64> {
        let rows = self.basis.nrows();
        let mut out = Vec::with_capacity(candidates.len());
        let mut buffer = Array2::<f64>::zeros((rows, BLOCK.min(candidates.len())).f());
        for block in candidates.chunks(BLOCK) {
            let mut q = buffer.slice_axis_mut(Axis(1), Slice::from(..block.len()));
            for (mut column, candidate) in q.columns_mut().into_iter().zip(block) {
                column.assign(candidate.values());
            }
            let projection = self.basis.t().dot(&q);
            // q ← q − basis · projection: each candidate less its projection onto the basis.
            general_mat_mul(-1.0, &self.basis, &projection, 1.0, &mut q);
            out.extend(q.columns().into_iter().zip(block).map(|(q, candidate)| {
                let qq = q.dot(&q);
                if qq <= DEPENDENT * (candidate.dot(candidate.values()) + 1.0) {
                    return 0.0;
                }
                self.residuals
                    .iter()
                    .map(|r| {
                        let rr = r.dot(r);
                        if rr <= 0.0 {
                            return 0.0;
                        }
                        let qr = q.dot(r);
                        (qr * qr) / (qq * rr)
                    })
                    .sum::<f64>()
                    .clamp(0.0, f64::MAX)
            }));
        }
        out
    }
}

/// `v` minus its projection onto the orthonormal `basis` (modified Gram–Schmidt).
fn orthogonalise(basis: &[Array1<f64>], v: ArrayView1<f64>) -> Array1<f64> {
    let mut q = v.to_owned();
    for b in basis {
        let c = b.dot(&q);
        q.scaled_add(-c, b);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: Vec<f64>) -> ModelColumn {
        ModelColumn::numeric(Array1::from(values))
    }

    #[test]
    fn a_candidate_explaining_the_residual_scores_high() {
        let a: Vec<f64> = (0..50).map(f64::from).collect();
        let b: Vec<f64> = (0..50).map(|i| f64::from(i * 7 % 11)).collect();
        let y: Vec<f64> = a.iter().zip(&b).map(|(a, b)| 2.0 * a + b * b).collect();
        let screen = Screen::new(
            &[column(a.clone()), column(b.clone())],
            &Target::Regression(Array1::from(y)),
        );
        let square = column(b.iter().map(|v| v * v).collect());
        let noise = column((0..50).map(|i| f64::from(i * 13 % 17)).collect());
        assert!(screen.score(&square) > 0.99, "{}", screen.score(&square));
        assert!(screen.score(&noise) < 0.3, "{}", screen.score(&noise));
    }

    #[test]
    fn a_candidate_the_set_already_spans_scores_zero() {
        let a: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = a.iter().map(|v| v.sin()).collect();
        let screen = Screen::new(&[column(a.clone())], &Target::Regression(Array1::from(y)));
        assert_eq!(
            screen.score(&column(a.iter().map(|v| 3.0 * v + 1.0).collect())),
            0.0
        );
    }

    #[test]
    fn classes_are_screened_one_against_the_rest() {
        let x: Vec<f64> = (0..40).map(|i| f64::from(i % 4)).collect();
        let labels: Vec<usize> = (0..40).map(|i| usize::from(i % 4 >= 2)).collect();
        let target = Target::Classification {
            labels: Array1::from(labels),
            classes: vec!["0".into(), "1".into()],
        };
        let screen = Screen::new(&[], &target);
        assert!(screen.score(&column(x)) > 0.7);
    }
}
