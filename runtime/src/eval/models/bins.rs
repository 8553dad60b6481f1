//! Features cut into at most 255 quantile bins, once per fit, so that boosted trees find
//! splits by scanning small histograms instead of sorting rows at every node.

use ndarray::ArrayView2;

use super::tree::midpoint;

/// The most bins a feature is cut into; bin codes fit a byte.
pub const MAX_BINS: usize = 255;

/// The training rows as bin codes, one contiguous run per feature.
#[derive(Debug)]
pub struct BinnedFeatures {
    /// `codes[feature * rows + row]`: the bin of `row` in `feature`.
    codes: Vec<u8>,
    /// Per feature, the upper edges of its bins but the last: bin `b` holds the values
    /// `v <= thresholds[b]` above `thresholds[b - 1]`, and the last bin all values above.
    thresholds: Vec<Vec<f64>>,
    rows: usize,
}

impl BinnedFeatures {
    /// Bins every column of `x` (rows × features, all finite). A column with at most
    /// `MAX_BINS` distinct values gets one bin per value, with edges halfway between
    /// neighbours, so binning loses nothing; a column with more gets edges at its quantiles.
    pub fn new(x: ArrayView2<f64>) -> Self {
        let rows = x.nrows();
        let mut codes = Vec::with_capacity(rows * x.ncols());
        let mut thresholds = Vec::with_capacity(x.ncols());
        let mut sorted = Vec::with_capacity(rows);
        for column in x.columns() {
            sorted.clear();
            sorted.extend(column.iter().copied());
            sorted.sort_unstable_by(f64::total_cmp);
            let edges = quantile_edges(&sorted, MAX_BINS);
            codes.extend(column.iter().map(|&v| bin_of(&edges, v)));
            thresholds.push(edges);
        }
        Self {
            codes,
            thresholds,
            rows,
        }
    }

    /// The bin codes of `feature`, one per training row.
    pub fn column(&self, feature: usize) -> &[u8] {
        &self.codes[feature * self.rows..(feature + 1) * self.rows]
    }

    /// The number of training rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of features.
    pub fn features(&self) -> usize {
        self.thresholds.len()
    }

    /// The number of bins of `feature` (1 for a constant column).
    pub fn bins(&self, feature: usize) -> usize {
        self.thresholds[feature].len() + 1
    }

    /// The value that splits `feature` after bin `bin`: rows with a value at most this are
    /// in bins `0..=bin`. `bin` must not be the last bin.
    pub fn threshold(&self, feature: usize, bin: usize) -> f64 {
        self.thresholds[feature][bin]
    }
}

/// The bin of `value`: the number of edges below it.
fn bin_of(edges: &[f64], value: f64) -> u8 {
    u8::try_from(edges.partition_point(|&t| t < value)).expect("at most 254 edges")
}

/// Edges for at most `max_bins` bins of the ascending `sorted` values, each halfway between
/// two distinct neighbours. Walking the distinct values, an edge is placed once the rows seen
/// reach the next multiple of rows / `max_bins`, so a value repeated on many rows fills its
/// own bin and is never cut.
fn quantile_edges(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let distinct = sorted.windows(2).filter(|w| w[0] < w[1]).count() + 1;
    if sorted.is_empty() || distinct == 1 {
        return Vec::new();
    }
    if distinct <= max_bins {
        return sorted
            .windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| midpoint(w[0], w[1]))
            .collect();
    }
    let step = sorted.len() as f64 / max_bins as f64;
    let mut edges = Vec::with_capacity(max_bins - 1);
    let mut next = step;
    for (i, w) in sorted.windows(2).enumerate() {
        if w[0] == w[1] || ((i + 1) as f64) < next {
            continue;
        }
        edges.push(midpoint(w[0], w[1]));
        if edges.len() == max_bins - 1 {
            break;
        }
        while next <= (i + 1) as f64 {
            next += step;
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let x = array![[3.0, 7.0], [1.0, 7.0], [2.0, 7.0], [3.0, 7.0]];
        let bins = BinnedFeatures::new(x.view());
        assert_eq!(bins.bins(0), 3);
        assert_eq!(bins.column(0), [2, 0, 1, 2]);
        assert_eq!((bins.threshold(0, 0), bins.threshold(0, 1)), (1.5, 2.5));
        assert_eq!(bins.bins(1), 1, "a constant column has one bin");
        assert_eq!(bins.column(1), [0, 0, 0, 0]);
    }

    #[test]
    fn many_distinct_values_get_near_equal_quantile_bins() {
        let x = Array2::from_shape_fn((2550, 1), |(i, _)| ((i * 7919) % 2550) as f64);
        let bins = BinnedFeatures::new(x.view());
        assert_eq!(bins.bins(0), MAX_BINS);
        let mut counts = vec![0; MAX_BINS];
        for &code in bins.column(0) {
            counts[usize::from(code)] += 1;
        }
        assert!(counts.iter().all(|&c| c == 10), "{counts:?}");
    }

    #[test]
    fn a_value_on_many_rows_is_never_cut() {
        // Half the rows are 0: whatever the quantiles, they share one bin.
        let x = Array2::from_shape_fn((1000, 1), |(i, _)| if i % 2 == 0 { 0.0 } else { i as f64 });
        let bins = BinnedFeatures::new(x.view());
        let zero_bins: Vec<u8> = bins.column(0).iter().step_by(2).copied().collect();
        assert!(zero_bins.iter().all(|&b| b == zero_bins[0]));
        assert!(bins.bins(0) <= MAX_BINS);
    }

    #[test]
    fn values_at_most_a_threshold_are_in_the_bins_below_it() {
        let x = Array2::from_shape_fn((600, 1), |(i, _)| ((i * 37) % 600) as f64 / 7.0);
        let bins = BinnedFeatures::new(x.view());
        for (&code, &v) in bins.column(0).iter().zip(x.column(0)) {
            for b in 0..bins.bins(0) - 1 {
                assert_eq!(v <= bins.threshold(0, b), usize::from(code) <= b);
            }
        }
    }
}
