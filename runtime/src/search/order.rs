//! Which candidates a model cannot tell apart.
//!
//! A tree splits a column at thresholds, so all it reads of a column is the order the
//! column puts the rows in, ties included: `log(age)`, `sqrt(age)` and `-age` give it
//! exactly what `age` does, and `group-mean(x, color)` and `group-mean(y, color)` the same
//! thing whenever both rank the colours alike. Least squares with an intercept reads a
//! column up to scale and shift: `frequency-encode(c)` is `count-encode(c)` divided by the
//! row count, and gives it nothing the other does not. For such models, a candidate that is
//! a copy of a column already in the set (or of an earlier candidate of the same node) in
//! the model's eyes scores what that column scores and costs a cross-validation to learn
//! it; the search drops it before it is evaluated.

use std::hash::{DefaultHasher, Hash, Hasher};

use ndarray::ArrayView1;

/// A fingerprint of the order `values` (all finite) put the rows in, ties included: equal
/// for two columns exactly when one is a strictly monotone function (increasing or
/// decreasing) of the other, but for hash collisions (64 bits).
pub fn order_fingerprint(values: ArrayView1<f64>) -> u64 {
    // Adding 0 turns -0 into 0, so the two sort as the one value they are.
    let value = |row: usize| values[row] + 0.0;
    let mut rows: Vec<usize> = (0..values.len()).collect();
    rows.sort_unstable_by(|&a, &b| value(a).total_cmp(&value(b)).then(a.cmp(&b)));
    // Runs of equal values, in ascending order; rows within a run ascending.
    let mut runs: Vec<&[usize]> = Vec::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || value(rows[i]) != value(rows[start]) {
            runs.push(&rows[start..i]);
            start = i;
        }
    }
    let hash = |runs: &mut dyn Iterator<Item = &&[usize]>| {
        let mut hasher = DefaultHasher::new();
        for run in runs {
            run.hash(&mut hasher);
        }
        hasher.finish()
    };
    let ascending = hash(&mut runs.iter());
    let descending = hash(&mut runs.iter().rev());
    ascending.min(descending)
}

/// A fingerprint of `values` (all finite) up to scale and shift (`a·v + b`, `a ≠ 0`):
/// equal for two columns when one is such a copy of the other, to a billionth of their
/// spread, but for hash collisions (64 bits) and values that round apart at that
/// precision (then a copy is merely evaluated).
pub fn affine_fingerprint(values: ArrayView1<f64>) -> u64 {
    #[allow(clippy::cast_precision_loss)]
    let mean = values.sum() / values.len().max(1) as f64;
    let spread = values.iter().map(|v| (v - mean).abs()).fold(0.0, f64::max);
    let mut hasher = DefaultHasher::new();
    if spread > 0.0 {
        // The sign of the first row off the mean decides, so `-v` is a copy of `v`.
        let sign = values
            .iter()
            .map(|v| v - mean)
            .find(|d| d.abs() > spread * 1e-9)
            .map_or(1.0, f64::signum);
        for v in values {
            #[allow(clippy::cast_possible_truncation)]
            let standard = ((v - mean) / spread * sign * 1e9).round() as i64;
            standard.hash(&mut hasher);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use ndarray::Array1;

    fn order_fingerprint(values: &[f64]) -> u64 {
        super::order_fingerprint(Array1::from(values.to_vec()).view())
    }

    fn affine_fingerprint(values: &[f64]) -> u64 {
        super::affine_fingerprint(Array1::from(values.to_vec()).view())
    }

    #[test]
    fn scaled_and_shifted_copies_share_an_affine_fingerprint() {
        let counts = [3.0, 7.0, 3.0, 12.0, 7.0, 7.0, 1.0];
        let rows = 4_973.0;
        let shares: Vec<f64> = counts.iter().map(|c| c / rows).collect();
        let shifted: Vec<f64> = counts.iter().map(|c| 2.5 * c - 40.0).collect();
        let negated: Vec<f64> = counts.iter().map(|c| -c).collect();
        let fingerprint = affine_fingerprint(&counts);
        assert_eq!(affine_fingerprint(&shares), fingerprint);
        assert_eq!(affine_fingerprint(&shifted), fingerprint);
        assert_eq!(affine_fingerprint(&negated), fingerprint);
        // Monotone but not affine: a least-squares model reads it differently.
        let logs: Vec<f64> = counts.iter().map(|c: &f64| c.ln()).collect();
        assert_ne!(affine_fingerprint(&logs), fingerprint);
        let other = [3.0, 7.0, 3.0, 12.0, 7.0, 8.0, 1.0];
        assert_ne!(affine_fingerprint(&other), fingerprint);
    }

    #[test]
    fn monotone_functions_of_a_column_share_its_fingerprint() {
        let age = [34.0, 51.0, 23.0, 51.0, 68.0, 45.0];
        let log: Vec<f64> = age.iter().map(|v: &f64| v.ln()).collect();
        let negated: Vec<f64> = age.iter().map(|v| -v).collect();
        let reciprocal: Vec<f64> = age.iter().map(|v| 1.0 / v).collect();
        let fingerprint = order_fingerprint(&age);
        assert_eq!(order_fingerprint(&log), fingerprint);
        assert_eq!(order_fingerprint(&negated), fingerprint);
        assert_eq!(order_fingerprint(&reciprocal), fingerprint);
    }

    #[test]
    fn another_order_or_other_ties_give_another_fingerprint() {
        let age = [34.0, 51.0, 23.0, 51.0, 68.0, 45.0];
        // Squaring around a centre folds the order.
        let folded: Vec<f64> = age.iter().map(|v| (v - 45.0) * (v - 45.0)).collect();
        // The same order but the tie broken.
        let untied = [34.0, 51.0, 23.0, 52.0, 68.0, 45.0];
        // Two rows newly tied.
        let tied = [34.0, 51.0, 23.0, 51.0, 68.0, 34.0];
        let fingerprint = order_fingerprint(&age);
        for other in [&folded[..], &untied, &tied] {
            assert_ne!(order_fingerprint(other), fingerprint, "{other:?}");
        }
    }

    #[test]
    fn negative_and_positive_zero_are_one_value() {
        assert_eq!(
            order_fingerprint(&[0.0, -0.0, 1.0]),
            order_fingerprint(&[2.0, 2.0, 3.0])
        );
    }
}
