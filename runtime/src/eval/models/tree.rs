//! A CART classification tree (Gini impurity), deterministic by construction.
//!
//! Ties are broken by position, never by hashing: among equally good splits the first
//! feature (in visiting order) and the lowest threshold win, and split quality is computed
//! from integer class counts in a fixed order, so one input always yields one tree. Leaves
//! keep their class frequencies, which become the predicted probabilities.

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How far a tree may grow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeSettings {
    /// Longest path from the root to a leaf; `None` grows until leaves are pure.
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split.
    pub min_samples_split: usize,
    /// Fewest rows each side of a split must keep.
    pub min_samples_leaf: usize,
    /// Features drawn at random at each split (`None`: all, in column order, no randomness).
    pub max_features: Option<usize>,
}

/// The training rows laid out for fast splitting: one contiguous row per feature.
#[derive(Debug)]
pub struct TrainingSet {
    columns: Array2<f64>,
    labels: Vec<usize>,
    classes: usize,
}

impl TrainingSet {
    /// `x` is rows × features; `labels` are class indices below `classes`.
    pub fn new(x: ArrayView2<f64>, labels: ArrayView1<usize>, classes: usize) -> Self {
        Self {
            columns: x.t().as_standard_layout().into_owned(),
            labels: labels.to_vec(),
            classes,
        }
    }

    /// The number of training rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    fn features(&self) -> usize {
        self.columns.nrows()
    }

    fn class_counts(&self, rows: &[usize]) -> Vec<u64> {
        let mut counts = vec![0; self.classes];
        for &row in rows {
            counts[self.labels[row]] += 1;
        }
        counts
    }
}

#[derive(Debug, Clone, Copy)]
enum Node {
    /// Class probabilities at `leaf_probabilities[offset..offset + classes]`.
    Leaf { offset: usize },
    /// Rows with `x[feature] <= threshold` go left.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
}

/// A fitted tree; node 0 is the root.
#[derive(Debug)]
pub struct ClassificationTree {
    nodes: Vec<Node>,
    leaf_probabilities: Vec<f64>,
    classes: usize,
}

/// The best split found so far at a node.
struct Split {
    feature: usize,
    threshold: f64,
    /// Σ left_c²/n_left + Σ right_c²/n_right: larger means lower weighted Gini impurity.
    proxy: f64,
}

impl ClassificationTree {
    /// Grows a tree on `rows` of `data` (repeats allowed, as in a bootstrap sample). `rng`
    /// is used only to draw features when `settings.max_features` asks for fewer than all.
    pub fn fit(
        data: &TrainingSet,
        rows: Vec<usize>,
        settings: &TreeSettings,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let mut tree = Self {
            nodes: vec![Node::Leaf { offset: 0 }],
            leaf_probabilities: Vec::new(),
            classes: data.classes,
        };
        let mut features: Vec<usize> = (0..data.features()).collect();
        let mut buffer = Vec::with_capacity(rows.len());
        // Depth-first, left before right, so random draws happen in a fixed order.
        let mut pending = vec![(0, rows, 0)];
        while let Some((id, rows, depth)) = pending.pop() {
            let counts = data.class_counts(&rows);
            let splittable = rows.len() >= settings.min_samples_split.max(2)
                && rows.len() >= 2 * settings.min_samples_leaf.max(1)
                && settings.max_depth.is_none_or(|max| depth < max)
                && counts.iter().filter(|&&c| c > 0).count() > 1;
            let split = if splittable {
                best_split(
                    data,
                    &rows,
                    &counts,
                    settings,
                    &mut features,
                    rng,
                    &mut buffer,
                )
            } else {
                None
            };
            let Some(split) = split else {
                tree.nodes[id] = tree.leaf(&counts, rows.len());
                continue;
            };
            let column = data.columns.row(split.feature);
            let (left, right): (Vec<usize>, Vec<usize>) =
                rows.iter().partition(|&&r| column[r] <= split.threshold);
            if left.is_empty() || right.is_empty() {
                // Cannot happen with finite values; a leaf keeps the loop finite regardless.
                tree.nodes[id] = tree.leaf(&counts, rows.len());
                continue;
            }
            let l = tree.nodes.len();
            tree.nodes.extend([Node::Leaf { offset: 0 }; 2]);
            tree.nodes[id] = Node::Split {
                feature: split.feature,
                threshold: split.threshold,
                left: l,
                right: l + 1,
            };
            pending.push((l + 1, right, depth + 1));
            pending.push((l, left, depth + 1));
        }
        tree
    }

    fn leaf(&mut self, counts: &[u64], rows: usize) -> Node {
        let offset = self.leaf_probabilities.len();
        self.leaf_probabilities
            .extend(counts.iter().map(|&c| c as f64 / rows as f64));
        Node::Leaf { offset }
    }

    /// The class frequencies of the leaf `row` falls into.
    pub fn probabilities(&self, row: ArrayView1<f64>) -> &[f64] {
        let mut id = 0;
        loop {
            match self.nodes[id] {
                Node::Leaf { offset } => {
                    return &self.leaf_probabilities[offset..offset + self.classes];
                }
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    id = if row[feature] <= threshold {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }

    /// Class probabilities for every row of `x` (rows × classes).
    pub fn predict_probabilities(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), self.classes));
        for (row, mut target) in x.rows().into_iter().zip(out.rows_mut()) {
            for (t, &p) in target.iter_mut().zip(self.probabilities(row)) {
                *t = p;
            }
        }
        out
    }

    /// The number of leaves.
    #[cfg(test)]
    pub fn leaves(&self) -> usize {
        self.leaf_probabilities.len() / self.classes
    }
}

/// The split with the lowest weighted Gini impurity, visiting features in column order (or,
/// when drawing, a random order until `max_features` non-constant ones were seen, as
/// scikit-learn does). Splits that leave fewer than `min_samples_leaf` rows on a side are
/// skipped; a split that does not lower the impurity is still taken (as in scikit-learn),
/// since a later split may need it, e.g. for an XOR pattern.
fn best_split(
    data: &TrainingSet,
    rows: &[usize],
    counts: &[u64],
    settings: &TreeSettings,
    features: &mut [usize],
    rng: &mut ChaCha8Rng,
    buffer: &mut Vec<(f64, usize)>,
) -> Option<Split> {
    let total = features.len();
    let wanted = settings
        .max_features
        .unwrap_or(total)
        .clamp(1, total.max(1));
    let draw = wanted < total;
    let min_leaf = settings.min_samples_leaf.max(1);
    let mut best: Option<Split> = None;
    let mut informative = 0;
    for i in 0..total {
        if informative == wanted {
            break;
        }
        let feature = if draw {
            features.swap(i, rng.gen_range(i..total));
            features[i]
        } else {
            i
        };
        let column = data.columns.row(feature);
        buffer.clear();
        buffer.extend(rows.iter().map(|&r| (column[r], data.labels[r])));
        buffer.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        if buffer[0].0 == buffer[buffer.len() - 1].0 {
            continue;
        }
        informative += 1;
        let mut left = vec![0u64; counts.len()];
        let mut right = counts.to_vec();
        let mut left_squares = 0u64;
        let mut right_squares: u64 = counts.iter().map(|c| c * c).sum();
        for i in 0..buffer.len() - 1 {
            let class = buffer[i].1;
            left_squares += 2 * left[class] + 1;
            left[class] += 1;
            right_squares -= 2 * right[class] - 1;
            right[class] -= 1;
            if buffer[i].0 == buffer[i + 1].0 {
                continue;
            }
            let (n_left, n_right) = (i + 1, buffer.len() - i - 1);
            if n_left < min_leaf || n_right < min_leaf {
                continue;
            }
            let proxy = left_squares as f64 / n_left as f64 + right_squares as f64 / n_right as f64;
            if best.as_ref().is_none_or(|b| proxy > b.proxy) {
                best = Some(Split {
                    feature,
                    threshold: midpoint(buffer[i].0, buffer[i + 1].0),
                    proxy,
                });
            }
        }
    }
    best
}

/// A threshold `t` with `low <= t < high`, halfway when the floats allow.
fn midpoint(low: f64, high: f64) -> f64 {
    let t = low * 0.5 + high * 0.5;
    if t < high { t.max(low) } else { low }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, array};
    use rand::SeedableRng;

    use super::*;

    const ALL: TreeSettings = TreeSettings {
        max_depth: None,
        min_samples_split: 2,
        min_samples_leaf: 1,
        max_features: None,
    };

    fn fit(
        x: ArrayView2<f64>,
        labels: &[usize],
        classes: usize,
        settings: &TreeSettings,
    ) -> ClassificationTree {
        let labels = Array1::from(labels.to_vec());
        let data = TrainingSet::new(x, labels.view(), classes);
        let rows = (0..data.rows()).collect();
        ClassificationTree::fit(&data, rows, settings, &mut ChaCha8Rng::seed_from_u64(0))
    }

    #[test]
    fn learns_xor_although_the_first_split_gains_nothing() {
        let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
        let tree = fit(x.view(), &[0, 1, 1, 0], 2, &ALL);
        let p = tree.predict_probabilities(x.view());
        assert_eq!(p, array![[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]);
    }

    #[test]
    fn identical_rows_with_different_classes_share_a_leaf() {
        // Rows 0–3 are the same point: 3 of class 2, 1 of class 0 (class 1 is absent).
        let x = array![[1.0], [1.0], [1.0], [1.0], [5.0]];
        let tree = fit(x.view(), &[2, 2, 0, 2, 1], 3, &ALL);
        assert_eq!(tree.probabilities(array![1.0].view()), [0.25, 0.0, 0.75]);
        assert_eq!(tree.probabilities(array![4.0].view()), [0.0, 1.0, 0.0]);
        assert_eq!(tree.leaves(), 2);
    }

    #[test]
    fn depth_and_leaf_size_limits_hold() {
        let x = Array2::from_shape_fn((16, 1), |(i, _)| i as f64);
        let labels: Vec<usize> = (0..16).map(|i| i % 2).collect();
        let stump = TreeSettings {
            max_depth: Some(1),
            ..ALL
        };
        assert_eq!(fit(x.view(), &labels, 2, &stump).leaves(), 2);
        let big_leaves = TreeSettings {
            min_samples_leaf: 5,
            ..ALL
        };
        let tree = fit(x.view(), &labels, 2, &big_leaves);
        assert!(tree.leaves() <= 3, "{} leaves", tree.leaves());
        let unlimited = fit(x.view(), &labels, 2, &ALL);
        assert_eq!(unlimited.leaves(), 16);
    }

    #[test]
    fn equally_good_splits_go_to_the_first_feature_and_lowest_threshold() {
        // Both columns separate the classes perfectly; column 0 must win.
        let x = array![[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0]];
        let tree = fit(x.view(), &[0, 0, 1, 1], 2, &ALL);
        assert!(
            matches!(tree.nodes[0], Node::Split { feature: 0, threshold, .. } if threshold == 1.5)
        );
    }

    #[test]
    fn thresholds_sit_between_adjacent_floats() {
        let low = 1.0f64;
        let high = f64::from_bits(low.to_bits() + 1);
        let t = midpoint(low, high);
        assert!(low <= t && t < high);
        assert_eq!(midpoint(-1.0, 3.0), 1.0);
    }
}
