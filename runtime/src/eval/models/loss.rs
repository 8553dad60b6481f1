//! What gradient boosting minimises, and how its summed scores read as a prediction.

use ndarray::{Array2, ArrayView1};

use super::gradient_tree::GradientPair;
use crate::eval::Prediction;

/// The loss for the classes present in the training rows (none when there is only one), and
/// how to turn its scores into probabilities over all `classes`.
pub fn classification_loss<'a>(
    labels: ArrayView1<usize>,
    classes: usize,
) -> (Option<Loss<'a>>, Link) {
    let mut present: Vec<usize> = labels.to_vec();
    present.sort_unstable();
    present.dedup();
    match present[..] {
        [] | [_] => {
            let class = present.first().copied().unwrap_or(0);
            (None, Link::Certain { class, classes })
        }
        [negative, positive] => (
            Some(Loss::Logistic(
                labels
                    .iter()
                    .map(|&l| f64::from(u8::from(l == positive)))
                    .collect(),
            )),
            Link::Logistic {
                negative,
                positive,
                classes,
            },
        ),
        _ => {
            let position = |l: &usize| present.binary_search(l).expect("present lists every label");
            (
                Some(Loss::Softmax {
                    labels: labels.iter().map(position).collect(),
                    outputs: present.len(),
                }),
                Link::Softmax { present, classes },
            )
        }
    }
}

/// What the trees are fitted to reduce.
pub enum Loss<'a> {
    /// ½(y − score)²: gradient score − y, hessian 1.
    SquaredError(ArrayView1<'a, f64>),
    /// Logistic loss of 0/1 targets with p = σ(score): gradient p − y, hessian p(1 − p).
    Logistic(Vec<f64>),
    /// Softmax cross-entropy with p = softmax(scores): per class gradient p_k − [y = k],
    /// hessian p_k(1 − p_k) (the diagonal of the Newton step).
    Softmax { labels: Vec<usize>, outputs: usize },
}

impl Loss<'_> {
    pub fn outputs(&self) -> usize {
        match self {
            Loss::SquaredError(_) | Loss::Logistic(_) => 1,
            Loss::Softmax { outputs, .. } => *outputs,
        }
    }

    /// The constant scores boosting starts from: the loss's best constant.
    pub fn base_scores(&self) -> Vec<f64> {
        match self {
            Loss::SquaredError(y) => vec![y.sum() / y.len().max(1) as f64],
            Loss::Logistic(y) => {
                let p = y.iter().sum::<f64>() / y.len() as f64;
                vec![(p / (1.0 - p)).ln()]
            }
            Loss::Softmax { labels, outputs } => {
                let mut counts = vec![0usize; *outputs];
                for &l in labels {
                    counts[l] += 1;
                }
                counts
                    .iter()
                    .map(|&c| (c as f64 / labels.len() as f64).ln())
                    .collect()
            }
        }
    }

    /// Fills `pairs[k][row]` with the derivatives at `scores[[row, k]]`.
    pub fn pairs(&self, scores: &Array2<f64>, pairs: &mut [Vec<GradientPair>]) {
        match self {
            Loss::SquaredError(y) => {
                for ((p, &s), &t) in pairs[0].iter_mut().zip(scores.column(0)).zip(y) {
                    *p = GradientPair {
                        gradient: s - t,
                        hessian: 1.0,
                    };
                }
            }
            Loss::Logistic(y) => {
                for ((p, &s), &t) in pairs[0].iter_mut().zip(scores.column(0)).zip(y) {
                    let q = sigmoid(s);
                    *p = GradientPair {
                        gradient: q - t,
                        hessian: q * (1.0 - q),
                    };
                }
            }
            Loss::Softmax { labels, .. } => {
                let mut probabilities = vec![0.0; pairs.len()];
                for (row, (scores, &label)) in scores.rows().into_iter().zip(labels).enumerate() {
                    softmax(scores, &mut probabilities);
                    for (k, &q) in probabilities.iter().enumerate() {
                        pairs[k][row] = GradientPair {
                            gradient: q - f64::from(u8::from(k == label)),
                            hessian: q * (1.0 - q),
                        };
                    }
                }
            }
        }
    }
}

fn sigmoid(score: f64) -> f64 {
    1.0 / (1.0 + (-score).exp())
}

/// Writes softmax(scores) into `out`, shifting by the largest score so nothing overflows.
fn softmax(scores: ArrayView1<f64>, out: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for (o, &s) in out.iter_mut().zip(scores) {
        *o = (s - max).exp();
        total += *o;
    }
    out.iter_mut().for_each(|o| *o /= total);
}

/// How raw scores become a prediction over the target's classes.
pub enum Link {
    /// Regression: the score is the value.
    Identity,
    /// Two classes: σ(score) is the probability of `positive`.
    Logistic {
        negative: usize,
        positive: usize,
        classes: usize,
    },
    /// More classes: the softmax of the scores, score `k` for class `present[k]`.
    Softmax { present: Vec<usize>, classes: usize },
    /// One training class: probability 1, no trees.
    Certain { class: usize, classes: usize },
}

impl Link {
    /// The prediction for raw `scores` (rows × loss outputs).
    pub fn predict(&self, scores: Array2<f64>) -> Prediction {
        let rows = scores.nrows();
        match self {
            Link::Identity => Prediction::Values(scores.column(0).to_owned()),
            Link::Logistic {
                negative,
                positive,
                classes,
            } => {
                let mut probabilities = Array2::zeros((rows, *classes));
                for (r, &s) in scores.column(0).iter().enumerate() {
                    let p = sigmoid(s);
                    probabilities[[r, *positive]] = p;
                    probabilities[[r, *negative]] = 1.0 - p;
                }
                Prediction::from_probabilities(probabilities)
            }
            Link::Softmax { present, classes } => {
                let mut probabilities = Array2::zeros((rows, *classes));
                let mut p = vec![0.0; present.len()];
                for (r, row) in scores.rows().into_iter().enumerate() {
                    softmax(row, &mut p);
                    for (&class, &q) in present.iter().zip(&p) {
                        probabilities[[r, class]] = q;
                    }
                }
                Prediction::from_probabilities(probabilities)
            }
            Link::Certain { class, classes } => {
                let mut probabilities = Array2::zeros((rows, *classes));
                probabilities.column_mut(*class).fill(1.0);
                Prediction::from_probabilities(probabilities)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn the_first_rounds_start_from_the_best_constant() {
        let y = Loss::Logistic(vec![1.0, 0.0, 0.0, 0.0]);
        assert!((y.base_scores()[0] - (1.0f64 / 3.0).ln()).abs() < 1e-12);
        let shares = Loss::Softmax {
            labels: vec![0, 1, 1, 2],
            outputs: 3,
        };
        let base = shares.base_scores();
        let mut p = vec![0.0f64; 3];
        softmax(ArrayView1::from(&base[..]), &mut p);
        assert!(
            (p[1] - 0.5).abs() < 1e-12 && (p[0] - 0.25).abs() < 1e-12,
            "{p:?}"
        );
    }

    #[test]
    fn gradients_point_from_the_score_to_the_truth() {
        let scores = array![[0.0], [2.0]];
        let mut pairs = vec![vec![GradientPair::default(); 2]];
        let values = [1.0, 2.0];
        Loss::SquaredError(ArrayView1::from(&values[..])).pairs(&scores, &mut pairs);
        assert_eq!(pairs[0][0].gradient, -1.0);
        assert_eq!(pairs[0][1].gradient, 0.0);
        Loss::Logistic(vec![1.0, 0.0]).pairs(&scores, &mut pairs);
        assert_eq!(pairs[0][0].gradient, -0.5);
        assert_eq!(pairs[0][0].hessian, 0.25);
        assert!(pairs[0][1].gradient > 0.8);
    }

    #[test]
    fn links_give_probabilities_over_every_class() {
        let softmax = Link::Softmax {
            present: vec![0, 2],
            classes: 3,
        };
        let Prediction::Classes { probabilities, .. } = softmax.predict(array![[0.0, 0.0]]) else {
            unreachable!()
        };
        assert_eq!(probabilities, array![[0.5, 0.0, 0.5]]);
        let logistic = Link::Logistic {
            negative: 1,
            positive: 2,
            classes: 3,
        };
        let Prediction::Classes { probabilities, .. } = logistic.predict(array![[0.0]]) else {
            unreachable!()
        };
        assert_eq!(probabilities, array![[0.0, 0.5, 0.5]]);
    }
}
