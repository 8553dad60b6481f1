//! A regression tree fitted to gradients and hessians on binned features: the weak learner
//! of gradient boosting.
//!
//! Splits maximise the second-order gain of XGBoost and LightGBM,
//! G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ), found by scanning per-node histograms of
//! gradient and hessian sums by bin; each node's histogram is built only for the smaller
//! child and derived for the larger one by subtracting it from the parent's. Leaves hold the
//! Newton step −G/(H + λ), scaled by the learning rate. Histograms sum rows in ascending row
//! order and features are scanned in column order (first feature and lowest bin win ties),
//! so a tree depends on nothing but its inputs.

use ndarray::ArrayView1;
use rayon::prelude::*;

use super::bins::BinnedFeatures;

/// How a boosted tree grows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientTreeSettings {
    /// Longest path from the root to a leaf.
    pub max_depth: usize,
    /// Fewest (sampled) rows each side of a split must keep.
    pub min_samples_leaf: usize,
    /// λ, the L2 penalty on leaf values.
    pub l2: f64,
    /// The factor applied to every leaf value.
    pub learning_rate: f64,
}

/// A row's first and second derivative of the loss at the current prediction.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GradientPair {
    /// ∂loss/∂score.
    pub gradient: f64,
    /// ∂²loss/∂score².
    pub hessian: f64,
}

/// Sums over a set of rows.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    gradient: f64,
    hessian: f64,
    rows: usize,
}

impl Sums {
    fn add(&mut self, pair: GradientPair) {
        self.gradient += pair.gradient;
        self.hessian += pair.hessian;
        self.rows += 1;
    }

    fn minus(self, other: Sums) -> Sums {
        Sums {
            gradient: self.gradient - other.gradient,
            hessian: self.hessian - other.hessian,
            rows: self.rows - other.rows,
        }
    }

    /// G²/(H + λ): the loss reduction a leaf with these sums achieves.
    fn score(self, l2: f64) -> f64 {
        self.gradient * self.gradient / (self.hessian + l2)
    }
}

/// Gradient sums per (feature, bin), features laid end to end.
#[derive(Debug, Clone)]
struct Histogram(Vec<Sums>);

/// Where each feature's bins start in a [`Histogram`].
struct Layout {
    offsets: Vec<usize>,
}

/// Rows × features below which building a histogram on one thread beats splitting it up.
const PARALLEL_HISTOGRAM_CELLS: usize = 1 << 16;

impl Layout {
    fn new(bins: &BinnedFeatures) -> Self {
        let mut offsets = Vec::with_capacity(bins.features() + 1);
        offsets.push(0);
        for f in 0..bins.features() {
            offsets.push(offsets[f] + bins.bins(f));
        }
        Self { offsets }
    }

    fn histogram(
        &self,
        bins: &BinnedFeatures,
        rows: &[usize],
        pairs: &[GradientPair],
    ) -> Histogram {
        let mut sums = vec![Sums::default(); self.offsets[self.offsets.len() - 1]];
        let mut parts: Vec<(usize, &mut [Sums])> = Vec::with_capacity(bins.features());
        let mut rest = sums.as_mut_slice();
        for f in 0..bins.features() {
            let (part, tail) = rest.split_at_mut(bins.bins(f));
            parts.push((f, part));
            rest = tail;
        }
        let fill = |(f, part): &mut (usize, &mut [Sums])| {
            let codes = bins.column(*f);
            for &r in rows {
                part[usize::from(codes[r])].add(pairs[r]);
            }
        };
        // Each feature's sums depend on that feature only, so splitting the work by feature
        // gives the same numbers on any number of threads.
        if rows.len() * bins.features() >= PARALLEL_HISTOGRAM_CELLS {
            parts.par_iter_mut().for_each(fill);
        } else {
            parts.iter_mut().for_each(fill);
        }
        Histogram(sums)
    }
}

impl Histogram {
    fn minus(&self, other: &Histogram) -> Histogram {
        Histogram(
            self.0
                .iter()
                .zip(&other.0)
                .map(|(a, b)| a.minus(*b))
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Leaf {
        value: f64,
    },
    /// Rows in bins `0..=bin` of `feature`, i.e. with a value `<= threshold`, go left.
    Split {
        feature: usize,
        bin: u8,
        threshold: f64,
        left: usize,
        right: usize,
    },
}

/// A fitted boosted tree; node 0 is the root.
#[derive(Debug)]
pub struct GradientTree {
    nodes: Vec<Node>,
}

/// The best split of a node.
struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
    left: Sums,
}

/// A node waiting to be split or made a leaf: its rows are `order[start..end]`.
struct Pending {
    id: usize,
    start: usize,
    end: usize,
    depth: usize,
    sums: Sums,
    histogram: Option<Histogram>,
}

impl GradientTree {
    /// Grows a tree on `rows` (ascending training row indices) fitted to `pairs` (one per
    /// training row), adding each split's gain to `gains[feature]`.
    pub fn fit(
        bins: &BinnedFeatures,
        rows: &[usize],
        pairs: &[GradientPair],
        settings: &GradientTreeSettings,
        gains: &mut [f64],
    ) -> Self {
        let layout = Layout::new(bins);
        let mut order = rows.to_vec();
        let mut scratch = Vec::with_capacity(rows.len());
        let mut root = Sums::default();
        for &r in rows {
            root.add(pairs[r]);
        }
        let mut tree = Self {
            nodes: vec![Node::Leaf { value: 0.0 }],
        };
        let splittable = |rows: usize, depth: usize| {
            depth < settings.max_depth && rows >= 2 * settings.min_samples_leaf.max(1)
        };
        let histogram = splittable(rows.len(), 0).then(|| layout.histogram(bins, rows, pairs));
        let mut pending = vec![Pending {
            id: 0,
            start: 0,
            end: order.len(),
            depth: 0,
            sums: root,
            histogram,
        }];
        while let Some(node) = pending.pop() {
            let split = node
                .histogram
                .as_ref()
                .and_then(|h| best_split(bins, &layout, h, node.sums, settings));
            let Some(split) = split else {
                let value = -node.sums.gradient / (node.sums.hessian + settings.l2);
                tree.nodes[node.id] = Node::Leaf {
                    value: settings.learning_rate * value,
                };
                continue;
            };
            gains[split.feature] += split.gain;
            let codes = bins.column(split.feature);
            let middle = stable_partition(&mut order[node.start..node.end], &mut scratch, |r| {
                usize::from(codes[r]) <= split.bin
            }) + node.start;
            let (left_sums, right_sums) = (split.left, node.sums.minus(split.left));
            let depth = node.depth + 1;
            let grow_left = splittable(middle - node.start, depth);
            let grow_right = splittable(node.end - middle, depth);
            let (left_histogram, right_histogram) = if grow_left || grow_right {
                let parent = node
                    .histogram
                    .as_ref()
                    .expect("a split node has a histogram");
                // Build the smaller child's histogram; the larger is what the parent has more.
                let left_smaller = middle - node.start <= node.end - middle;
                let smaller_rows = if left_smaller {
                    &order[node.start..middle]
                } else {
                    &order[middle..node.end]
                };
                let smaller = layout.histogram(bins, smaller_rows, pairs);
                let larger = parent.minus(&smaller);
                if left_smaller {
                    (Some(smaller), Some(larger))
                } else {
                    (Some(larger), Some(smaller))
                }
            } else {
                (None, None)
            };
            let l = tree.nodes.len();
            tree.nodes.extend([Node::Leaf { value: 0.0 }; 2]);
            tree.nodes[node.id] = Node::Split {
                feature: split.feature,
                bin: u8::try_from(split.bin).expect("bins fit a byte"),
                threshold: bins.threshold(split.feature, split.bin),
                left: l,
                right: l + 1,
            };
            pending.push(Pending {
                id: l + 1,
                start: middle,
                end: node.end,
                depth,
                sums: right_sums,
                histogram: right_histogram.filter(|_| grow_right),
            });
            pending.push(Pending {
                id: l,
                start: node.start,
                end: middle,
                depth,
                sums: left_sums,
                histogram: left_histogram.filter(|_| grow_left),
            });
        }
        tree
    }

    /// The leaf value of training row `row`, found through its bin codes.
    pub fn value_of_training_row(&self, bins: &BinnedFeatures, row: usize) -> f64 {
        let mut id = 0;
        loop {
            match self.nodes[id] {
                Node::Leaf { value } => return value,
                Node::Split {
                    feature,
                    bin,
                    left,
                    right,
                    ..
                } => {
                    id = if bins.column(feature)[row] <= bin {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }

    /// The leaf value of a row of raw feature values.
    pub fn value(&self, row: ArrayView1<f64>) -> f64 {
        let mut id = 0;
        loop {
            match self.nodes[id] {
                Node::Leaf { value } => return value,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                    ..
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

    /// The number of leaves.
    #[cfg(test)]
    pub fn leaves(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf { .. }))
            .count()
    }
}

/// The split with the largest positive gain keeping `min_samples_leaf` rows each side;
/// `None` when no split gains anything.
fn best_split(
    bins: &BinnedFeatures,
    layout: &Layout,
    histogram: &Histogram,
    total: Sums,
    settings: &GradientTreeSettings,
) -> Option<Split> {
    let min_leaf = settings.min_samples_leaf.max(1);
    let parent = total.score(settings.l2);
    let mut best: Option<Split> = None;
    for feature in 0..bins.features() {
        let sums = &histogram.0[layout.offsets[feature]..layout.offsets[feature + 1]];
        let mut left = Sums::default();
        for (bin, &s) in sums.iter().enumerate().take(sums.len() - 1) {
            left = Sums {
                gradient: left.gradient + s.gradient,
                hessian: left.hessian + s.hessian,
                rows: left.rows + s.rows,
            };
            if s.rows == 0 || left.rows < min_leaf {
                continue;
            }
            if total.rows - left.rows < min_leaf {
                break;
            }
            let right = total.minus(left);
            let gain = left.score(settings.l2) + right.score(settings.l2) - parent;
            if gain > 0.0 && best.as_ref().is_none_or(|b| gain > b.gain) {
                best = Some(Split {
                    feature,
                    bin,
                    gain,
                    left,
                });
            }
        }
    }
    best
}

/// Reorders `rows` so that those where `left` holds come first, each side keeping its order;
/// returns how many went left.
fn stable_partition(
    rows: &mut [usize],
    scratch: &mut Vec<usize>,
    left: impl Fn(usize) -> bool,
) -> usize {
    scratch.clear();
    let mut kept = 0;
    for i in 0..rows.len() {
        let r = rows[i];
        if left(r) {
            rows[kept] = r;
            kept += 1;
        } else {
            scratch.push(r);
        }
    }
    rows[kept..].copy_from_slice(scratch);
    kept
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;

    const STUMP: GradientTreeSettings = GradientTreeSettings {
        max_depth: 1,
        min_samples_leaf: 1,
        l2: 0.0,
        learning_rate: 1.0,
    };

    /// Squared-error pairs at prediction 0: gradient −y, hessian 1.
    fn squared_error(y: &[f64]) -> Vec<GradientPair> {
        y.iter()
            .map(|&v| GradientPair {
                gradient: -v,
                hessian: 1.0,
            })
            .collect()
    }

    fn fit(
        x: &Array2<f64>,
        pairs: &[GradientPair],
        settings: &GradientTreeSettings,
    ) -> (GradientTree, Vec<f64>) {
        let bins = BinnedFeatures::new(x.view());
        let rows: Vec<usize> = (0..x.nrows()).collect();
        let mut gains = vec![0.0; x.ncols()];
        let tree = GradientTree::fit(&bins, &rows, pairs, settings, &mut gains);
        (tree, gains)
    }

    #[test]
    fn a_stump_fits_the_mean_of_each_side_without_a_penalty() {
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let (tree, gains) = fit(&x, &squared_error(&[0.0, 0.0, 9.0, 11.0]), &STUMP);
        let values: Vec<f64> = x.rows().into_iter().map(|r| tree.value(r)).collect();
        assert_eq!(values, [0.0, 0.0, 10.0, 10.0]);
        // Gain: 0 + 20²/2 − 20²/4 = 100.
        assert_eq!(gains, [100.0]);
    }

    #[test]
    fn the_penalty_shrinks_leaves_towards_zero() {
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let settings = GradientTreeSettings {
            l2: 1.0,
            learning_rate: 0.5,
            ..STUMP
        };
        let (tree, _) = fit(&x, &squared_error(&[-4.0, -4.0, 8.0, 8.0]), &settings);
        // Each leaf: 0.5 · (sum of y)/(rows + 1).
        assert_eq!(tree.value(array![1.0].view()), -4.0 / 3.0);
        assert_eq!(tree.value(array![4.0].view()), 8.0 / 3.0);
    }

    #[test]
    fn binned_and_raw_routing_agree_on_training_rows() {
        let x = Array2::from_shape_fn((400, 3), |(i, j)| ((i * (j + 3) * 7919) % 401) as f64 / 3.0);
        let y: Vec<f64> = (0..400).map(|i| (x[[i, 0]] - x[[i, 2]]).sin()).collect();
        let settings = GradientTreeSettings {
            max_depth: 4,
            ..STUMP
        };
        let bins = BinnedFeatures::new(x.view());
        let rows: Vec<usize> = (0..400).collect();
        let tree = GradientTree::fit(&bins, &rows, &squared_error(&y), &settings, &mut [0.0; 3]);
        assert!(tree.leaves() > 8);
        for (r, row) in x.rows().into_iter().enumerate() {
            assert_eq!(tree.value_of_training_row(&bins, r), tree.value(row));
        }
    }

    #[test]
    fn leaf_size_and_depth_limits_hold() {
        let x = Array2::from_shape_fn((16, 1), |(i, _)| i as f64);
        let pairs = squared_error(&(0..16).map(|i| (i % 2) as f64).collect::<Vec<_>>());
        let deep = GradientTreeSettings {
            max_depth: 10,
            ..STUMP
        };
        assert!(fit(&x, &pairs, &deep).0.leaves() <= 16);
        let big = GradientTreeSettings {
            min_samples_leaf: 5,
            ..deep
        };
        assert!(fit(&x, &pairs, &big).0.leaves() <= 3);
        assert_eq!(fit(&x, &pairs, &STUMP).0.leaves(), 2);
    }

    #[test]
    fn constant_gradients_or_columns_give_one_leaf() {
        let x = array![[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]];
        let (tree, gains) = fit(&x, &squared_error(&[2.0, 2.0, 2.0]), &STUMP);
        assert_eq!(tree.leaves(), 1);
        assert_eq!(gains, [0.0, 0.0]);
        let constant = array![[5.0], [5.0]];
        let (tree, _) = fit(&constant, &squared_error(&[1.0, 3.0]), &STUMP);
        assert_eq!(tree.value(array![9.0].view()), 2.0);
    }

    #[test]
    fn stable_partition_keeps_each_side_in_order() {
        let mut rows = vec![0, 1, 2, 3, 4, 5, 6];
        let kept = stable_partition(&mut rows, &mut Vec::new(), |r| r % 3 == 0);
        assert_eq!((kept, rows), (3, vec![0, 3, 6, 1, 2, 4, 5]));
    }
}
