//! CART trees on exact thresholds: Gini impurity for classes, squared error for numbers.
//!
//! Deterministic by construction. Ties are broken by position, never by hashing: among
//! equally good splits the first feature (in visiting order) and the lowest threshold win.
//! Class splits are scored from integer counts, so their order of summation cannot matter;
//! numeric splits sum the rows in (feature value, row index) order, one fixed order for one
//! sample. Leaves keep their class frequencies (the predicted probabilities) or the mean of
//! their rows (the predicted value).
//!
//! Nothing is sorted while growing: each feature's training rows are sorted once per fit
//! ([`TrainingSet`]), each tree derives its sample's sorted lists from them, and splitting a
//! node partitions every list stably, so a node's rows stay sorted by every feature.

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

/// What the tree learns to predict.
#[derive(Debug)]
enum Response {
    /// Class indices below `classes`.
    Classes { labels: Vec<usize>, classes: usize },
    /// One number per row.
    Values(Vec<f64>),
}

/// The training rows laid out for fast splitting: one contiguous row per feature, and each
/// feature's rows in ascending order of value (then of row index), sorted once for every
/// tree grown on them.
#[derive(Debug)]
pub struct TrainingSet {
    columns: Array2<f64>,
    response: Response,
    order: Vec<Vec<usize>>,
}

/// Per feature (a row of `columns`), the row indices by ascending value, ties by row index.
fn sort_rows(columns: &Array2<f64>) -> Vec<Vec<usize>> {
    columns
        .rows()
        .into_iter()
        .map(|column| {
            let mut order: Vec<usize> = (0..column.len()).collect();
            // A stable sort keeps equal values in row order.
            order.sort_by(|&a, &b| column[a].total_cmp(&column[b]));
            order
        })
        .collect()
}

impl TrainingSet {
    /// `x` is rows × features; `labels` are class indices below `classes`.
    pub fn classification(x: ArrayView2<f64>, labels: ArrayView1<usize>, classes: usize) -> Self {
        Self::new(
            x,
            Response::Classes {
                labels: labels.to_vec(),
                classes,
            },
        )
    }

    /// `x` is rows × features; `values` is the number to predict for each row.
    pub fn regression(x: ArrayView2<f64>, values: ArrayView1<f64>) -> Self {
        Self::new(x, Response::Values(values.to_vec()))
    }

    fn new(x: ArrayView2<f64>, response: Response) -> Self {
        let columns = x.t().as_standard_layout().into_owned();
        let order = sort_rows(&columns);
        Self {
            columns,
            response,
            order,
        }
    }

    /// The number of training rows.
    pub fn rows(&self) -> usize {
        self.columns.ncols()
    }

    /// The number of features.
    pub fn features(&self) -> usize {
        self.columns.nrows()
    }

    /// Numbers per leaf: one per class, or one value.
    fn width(&self) -> usize {
        match &self.response {
            Response::Classes { classes, .. } => *classes,
            Response::Values(_) => 1,
        }
    }

    fn summarize(&self, rows: impl Iterator<Item = usize> + Clone) -> Summary {
        match &self.response {
            Response::Classes { labels, classes } => {
                let mut counts = vec![0; *classes];
                for row in rows {
                    counts[labels[row]] += 1;
                }
                Summary::Counts(counts)
            }
            Response::Values(values) => {
                let (mut sum, mut n) = (0.0, 0usize);
                for row in rows.clone() {
                    sum += values[row];
                    n += 1;
                }
                let mean = sum / n.max(1) as f64;
                let mut all = rows.map(|r| values[r]);
                let first = all.next();
                Summary::Values {
                    mean,
                    constant: all.all(|v| Some(v) == first),
                }
            }
        }
    }
}

/// What a node's rows hold, before deciding whether to split it.
enum Summary {
    Counts(Vec<u64>),
    Values { mean: f64, constant: bool },
}

impl Summary {
    /// Nothing left to separate: one class, or one value.
    fn is_pure(&self) -> bool {
        match self {
            Summary::Counts(counts) => counts.iter().filter(|&&c| c > 0).count() <= 1,
            Summary::Values { constant, .. } => *constant,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Node {
    /// The leaf's numbers are `leaf_values[offset..offset + width]`.
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
pub struct DecisionTree {
    nodes: Vec<Node>,
    leaf_values: Vec<f64>,
    width: usize,
    /// Per feature, the total impurity decrease (weighted by rows) of the splits on it.
    importance: Vec<f64>,
}

/// The best split found so far at a node.
struct Split {
    feature: usize,
    threshold: f64,
    /// Larger means lower weighted impurity: Σ left_c²/n_left + Σ right_c²/n_right for
    /// classes, left_sum²/n_left + right_sum²/n_right of the centred values for numbers.
    proxy: f64,
}

/// A sample row and its value of the feature its list is sorted by (kept alongside so that
/// scanning a list reads memory in order).
#[derive(Debug, Clone, Copy)]
struct Entry {
    value: f64,
    row: usize,
}

/// A tree's sample, once per feature, sorted by that feature. A node owns the same range
/// `start..end` of every list.
struct SortedRows {
    lists: Vec<Vec<Entry>>,
    /// Per training row, the side of the split being applied.
    goes_left: Vec<bool>,
    scratch: Vec<Entry>,
}

impl SortedRows {
    /// `sample` may repeat rows (a bootstrap); repeats sit next to each other in every list.
    fn new(data: &TrainingSet, sample: &[usize]) -> Self {
        let mut copies = vec![0usize; data.rows()];
        for &row in sample {
            copies[row] += 1;
        }
        let lists = data
            .order
            .iter()
            .zip(data.columns.rows())
            .map(|(order, column)| {
                let mut list = Vec::with_capacity(sample.len());
                for &row in order {
                    let entry = Entry {
                        value: column[row],
                        row,
                    };
                    list.extend(std::iter::repeat_n(entry, copies[row]));
                }
                list
            })
            .collect();
        Self {
            lists,
            goes_left: vec![false; data.rows()],
            scratch: Vec::with_capacity(sample.len()),
        }
    }

    /// The node's rows ordered by `feature`.
    fn by(&self, feature: usize, start: usize, end: usize) -> &[Entry] {
        &self.lists[feature][start..end]
    }

    /// The node's rows, in some fixed order.
    fn rows(&self, start: usize, end: usize) -> impl Iterator<Item = usize> + Clone + '_ {
        self.lists[0][start..end].iter().map(|e| e.row)
    }

    /// Sends the node's rows whose value of `feature` is at most `threshold` to the front of
    /// its range in every list, each side keeping its order; returns where the right side
    /// starts.
    fn split(&mut self, start: usize, end: usize, feature: usize, threshold: f64) -> usize {
        for entry in &self.lists[feature][start..end] {
            self.goes_left[entry.row] = entry.value <= threshold;
        }
        let mut middle = start;
        for list in &mut self.lists {
            self.scratch.clear();
            let mut kept = start;
            for i in start..end {
                let entry = list[i];
                if self.goes_left[entry.row] {
                    list[kept] = entry;
                    kept += 1;
                } else {
                    self.scratch.push(entry);
                }
            }
            list[kept..end].copy_from_slice(&self.scratch);
            middle = kept;
        }
        middle
    }
}

impl DecisionTree {
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
            leaf_values: Vec::new(),
            width: data.width(),
            importance: vec![0.0; data.features()],
        };
        if data.features() == 0 || rows.is_empty() {
            tree.nodes[0] = tree.leaf(data, &data.summarize(rows.iter().copied()), rows.len());
            return tree;
        }
        let mut sorted = SortedRows::new(data, &rows);
        let mut features: Vec<usize> = (0..data.features()).collect();
        // Depth-first, left before right, so random draws happen in a fixed order.
        let mut pending = vec![(0, 0, rows.len(), 0)];
        while let Some((id, start, end, depth)) = pending.pop() {
            let size = end - start;
            let summary = data.summarize(sorted.rows(start, end));
            let splittable = size >= settings.min_samples_split.max(2)
                && size >= 2 * settings.min_samples_leaf.max(1)
                && settings.max_depth.is_none_or(|max| depth < max)
                && !summary.is_pure();
            let split = if splittable {
                best_split(
                    data,
                    &sorted,
                    (start, end),
                    &summary,
                    settings,
                    &mut features,
                    rng,
                )
            } else {
                None
            };
            let Some(split) = split else {
                tree.nodes[id] = tree.leaf(data, &summary, size);
                continue;
            };
            let decrease = split.proxy - parent_proxy(data, sorted.rows(start, end), &summary);
            let middle = sorted.split(start, end, split.feature, split.threshold);
            if middle == start || middle == end {
                // Cannot happen with finite values; a leaf keeps the loop finite regardless.
                tree.nodes[id] = tree.leaf(data, &summary, size);
                continue;
            }
            tree.importance[split.feature] += decrease.max(0.0);
            let l = tree.nodes.len();
            tree.nodes.extend([Node::Leaf { offset: 0 }; 2]);
            tree.nodes[id] = Node::Split {
                feature: split.feature,
                threshold: split.threshold,
                left: l,
                right: l + 1,
            };
            pending.push((l + 1, middle, end, depth + 1));
            pending.push((l, start, middle, depth + 1));
        }
        tree
    }

    fn leaf(&mut self, data: &TrainingSet, summary: &Summary, rows: usize) -> Node {
        let offset = self.leaf_values.len();
        match summary {
            Summary::Counts(counts) => self
                .leaf_values
                .extend(counts.iter().map(|&c| c as f64 / rows.max(1) as f64)),
            Summary::Values { mean, .. } => self.leaf_values.push(*mean),
        }
        debug_assert_eq!(self.leaf_values.len(), offset + data.width());
        Node::Leaf { offset }
    }

    /// The numbers of the leaf `row` falls into: class frequencies, or the one mean value.
    pub fn leaf_values(&self, row: ArrayView1<f64>) -> &[f64] {
        let mut id = 0;
        loop {
            match self.nodes[id] {
                Node::Leaf { offset } => return &self.leaf_values[offset..offset + self.width],
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

    /// The leaf numbers for every row of `x` (rows × classes, or rows × 1).
    #[cfg(test)]
    pub fn predict(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), self.width));
        for (row, mut target) in x.rows().into_iter().zip(out.rows_mut()) {
            for (t, &p) in target.iter_mut().zip(self.leaf_values(row)) {
                *t = p;
            }
        }
        out
    }

    /// Per feature, the summed impurity decrease of the splits on it, each weighted by the
    /// rows it split (scikit-learn's `feature_importances_` before normalising).
    pub fn importance(&self) -> &[f64] {
        &self.importance
    }

    /// The number of leaves.
    #[cfg(test)]
    pub fn leaves(&self) -> usize {
        self.leaf_values.len() / self.width
    }
}

/// The node's own proxy (see [`Split::proxy`]): a split's proxy minus this is the decrease
/// of rows × impurity it brings.
fn parent_proxy(data: &TrainingSet, rows: impl Iterator<Item = usize>, summary: &Summary) -> f64 {
    match (summary, &data.response) {
        (Summary::Counts(counts), _) => {
            let n: u64 = counts.iter().sum();
            counts.iter().map(|&c| (c * c) as f64).sum::<f64>() / n as f64
        }
        (Summary::Values { mean, .. }, Response::Values(values)) => {
            let (mut centred, mut n) = (0.0, 0usize);
            for r in rows {
                centred += values[r] - mean;
                n += 1;
            }
            centred * centred / n as f64
        }
        (Summary::Values { .. }, Response::Classes { .. }) => {
            unreachable!("a node's summary comes from its own training set")
        }
    }
}

/// The split with the lowest weighted impurity, visiting features in column order (or,
/// when drawing, a random order until `max_features` non-constant ones were seen, as
/// scikit-learn does). Splits that leave fewer than `min_samples_leaf` rows on a side are
/// skipped; a split that does not lower the impurity is still taken (as in scikit-learn),
/// since a later split may need it, e.g. for an XOR pattern.
fn best_split(
    data: &TrainingSet,
    sorted: &SortedRows,
    (start, end): (usize, usize),
    summary: &Summary,
    settings: &TreeSettings,
    features: &mut [usize],
    rng: &mut ChaCha8Rng,
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
        let rows = sorted.by(feature, start, end);
        if rows[0].value == rows[rows.len() - 1].value {
            continue; // constant here: it does not count towards `max_features`
        }
        informative += 1;
        let candidate = match (&data.response, summary) {
            (Response::Classes { labels, .. }, Summary::Counts(counts)) => {
                scan_classes(rows, labels, counts, min_leaf)
            }
            (Response::Values(values), Summary::Values { mean, .. }) => {
                scan_values(rows, values, *mean, min_leaf)
            }
            _ => unreachable!("a node's summary comes from its own training set"),
        };
        if let Some((proxy, threshold)) = candidate
            && best.as_ref().is_none_or(|b| proxy > b.proxy)
        {
            best = Some(Split {
                feature,
                threshold,
                proxy,
            });
        }
    }
    best
}

/// The best (proxy, threshold) of a node's `rows`, sorted by value and not all equal, with
/// their classes; `None` when no split keeps `min_leaf` rows on each side.
fn scan_classes(
    rows: &[Entry],
    labels: &[usize],
    counts: &[u64],
    min_leaf: usize,
) -> Option<(f64, f64)> {
    let mut left = vec![0u64; counts.len()];
    let mut right = counts.to_vec();
    let mut left_squares = 0u64;
    let mut right_squares: u64 = counts.iter().map(|c| c * c).sum();
    let mut best: Option<(f64, f64)> = None;
    for i in 0..rows.len() - 1 {
        let class = labels[rows[i].row];
        left_squares += 2 * left[class] + 1;
        left[class] += 1;
        right_squares -= 2 * right[class] - 1;
        right[class] -= 1;
        let (here, next) = (rows[i].value, rows[i + 1].value);
        if here == next {
            continue;
        }
        let (n_left, n_right) = (i + 1, rows.len() - i - 1);
        if n_left < min_leaf || n_right < min_leaf {
            continue;
        }
        let proxy = left_squares as f64 / n_left as f64 + right_squares as f64 / n_right as f64;
        if best.is_none_or(|(b, _)| proxy > b) {
            best = Some((proxy, midpoint(here, next)));
        }
    }
    best
}

/// As [`scan_classes`], for numbers: the proxy is left_sum²/n_left + right_sum²/n_right of
/// the values centred on the node's `mean`, which grows as the squared error shrinks.
/// Centring first keeps the sums small, so a large common offset cannot swamp them.
fn scan_values(rows: &[Entry], values: &[f64], mean: f64, min_leaf: usize) -> Option<(f64, f64)> {
    let total: f64 = rows.iter().map(|e| values[e.row] - mean).sum();
    let mut left = 0.0;
    let mut best: Option<(f64, f64)> = None;
    for i in 0..rows.len() - 1 {
        left += values[rows[i].row] - mean;
        let (here, next) = (rows[i].value, rows[i + 1].value);
        if here == next {
            continue;
        }
        let (n_left, n_right) = (i + 1, rows.len() - i - 1);
        if n_left < min_leaf || n_right < min_leaf {
            continue;
        }
        let right = total - left;
        let proxy = left * left / n_left as f64 + right * right / n_right as f64;
        if best.is_none_or(|(b, _)| proxy > b) {
            best = Some((proxy, midpoint(here, next)));
        }
    }
    best
}

/// A threshold `t` with `low <= t < high`, halfway when the floats allow.
pub(super) fn midpoint(low: f64, high: f64) -> f64 {
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

    fn stump() -> TreeSettings {
        TreeSettings {
            max_depth: Some(1),
            ..ALL
        }
    }

    fn grow(data: &TrainingSet, settings: &TreeSettings) -> DecisionTree {
        let rows = (0..data.rows()).collect();
        DecisionTree::fit(data, rows, settings, &mut ChaCha8Rng::seed_from_u64(0))
    }

    fn fit(
        x: ArrayView2<f64>,
        labels: &[usize],
        classes: usize,
        settings: &TreeSettings,
    ) -> DecisionTree {
        let labels = Array1::from(labels.to_vec());
        grow(
            &TrainingSet::classification(x, labels.view(), classes),
            settings,
        )
    }

    fn fit_values(x: ArrayView2<f64>, values: &[f64], settings: &TreeSettings) -> DecisionTree {
        let values = Array1::from(values.to_vec());
        grow(&TrainingSet::regression(x, values.view()), settings)
    }

    #[test]
    fn learns_xor_although_the_first_split_gains_nothing() {
        let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
        let tree = fit(x.view(), &[0, 1, 1, 0], 2, &ALL);
        let p = tree.predict(x.view());
        assert_eq!(p, array![[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]);
        let values = fit_values(x.view(), &[0.0, 1.0, 1.0, 0.0], &ALL);
        assert_eq!(values.predict(x.view()), array![[0.0], [1.0], [1.0], [0.0]]);
    }

    #[test]
    fn identical_rows_with_different_classes_share_a_leaf() {
        // Rows 0–3 are the same point: 3 of class 2, 1 of class 0 (class 1 is absent).
        let x = array![[1.0], [1.0], [1.0], [1.0], [5.0]];
        let tree = fit(x.view(), &[2, 2, 0, 2, 1], 3, &ALL);
        assert_eq!(tree.leaf_values(array![1.0].view()), [0.25, 0.0, 0.75]);
        assert_eq!(tree.leaf_values(array![4.0].view()), [0.0, 1.0, 0.0]);
        assert_eq!(tree.leaves(), 2);
    }

    #[test]
    fn regression_leaves_hold_the_mean_of_their_rows() {
        let x = array![[1.0], [1.0], [1.0], [5.0], [6.0]];
        let tree = fit_values(x.view(), &[1.0, 2.0, 6.0, 10.0, 10.0], &ALL);
        assert_eq!(tree.leaf_values(array![0.0].view()), [3.0]);
        assert_eq!(tree.leaf_values(array![9.0].view()), [10.0]);
        // 10 and 10 are one value: no split between 5 and 6.
        assert_eq!(tree.leaves(), 2);
    }

    #[test]
    fn regression_splits_minimise_the_squared_error() {
        // Splitting at 2.5 leaves errors {0, 0} | {1, 1}: 2; at 1.5 or 3.5 more.
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let tree = fit_values(x.view(), &[0.0, 0.0, 9.0, 11.0], &stump());
        assert!(matches!(tree.nodes[0], Node::Split { threshold, .. } if threshold == 2.5));
        assert_eq!(
            tree.predict(x.view()).column(0).to_vec(),
            [0.0, 0.0, 10.0, 10.0]
        );
        // Squared error about the mean: 102 before, 2 after.
        assert!(
            (tree.importance()[0] - 100.0).abs() < 1e-9,
            "{:?}",
            tree.importance()
        );
    }

    #[test]
    fn a_large_offset_does_not_change_regression_splits() {
        let x = Array2::from_shape_fn((12, 2), |(i, j)| ((i * 7 + j * 5) % 12) as f64);
        let values: Vec<f64> = (0..12)
            .map(|i| if x[[i, 1]] > 5.0 { 1.0 } else { 0.0 })
            .collect();
        let shifted: Vec<f64> = values.iter().map(|v| v + 1e9).collect();
        let stump = TreeSettings {
            max_depth: Some(1),
            ..ALL
        };
        let plain = fit_values(x.view(), &values, &stump);
        let offset = fit_values(x.view(), &shifted, &stump);
        let split = |t: &DecisionTree| match t.nodes[0] {
            Node::Split {
                feature, threshold, ..
            } => (feature, threshold),
            Node::Leaf { .. } => panic!("a split was expected"),
        };
        assert_eq!(split(&plain), (1, 5.5));
        assert_eq!(split(&offset), split(&plain));
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
        let values: Vec<f64> = (0..16).map(|i| (i * i) as f64).collect();
        assert_eq!(fit_values(x.view(), &values, &ALL).leaves(), 16);
        assert!(fit_values(x.view(), &values, &big_leaves).leaves() <= 3);
    }

    #[test]
    fn equally_good_splits_go_to_the_first_feature_and_lowest_threshold() {
        // Both columns separate the classes perfectly; column 0 must win.
        let x = array![[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0]];
        let tree = fit(x.view(), &[0, 0, 1, 1], 2, &ALL);
        assert!(
            matches!(tree.nodes[0], Node::Split { feature: 0, threshold, .. } if threshold == 1.5)
        );
        let tree = fit_values(x.view(), &[0.0, 0.0, 1.0, 1.0], &ALL);
        assert!(
            matches!(tree.nodes[0], Node::Split { feature: 0, threshold, .. } if threshold == 1.5)
        );
        // Splitting off row 0 or row 3 is equally good; the lower threshold wins.
        let ends = fit_values(x.view(), &[1.0, 0.0, 0.0, 1.0], &stump());
        assert!(
            matches!(ends.nodes[0], Node::Split { feature: 0, threshold, .. } if threshold == 0.5)
        );
    }

    #[test]
    fn importance_adds_the_weighted_gini_decrease_per_feature() {
        // Column 1 is noise; column 0 separates the classes: 4 rows × Gini 0.5 → 0.
        let x = array![[0.0, 3.0], [1.0, 1.0], [2.0, 2.0], [3.0, 0.0]];
        let tree = fit(x.view(), &[0, 0, 1, 1], 2, &ALL);
        assert_eq!(tree.importance(), [2.0, 0.0]);
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
