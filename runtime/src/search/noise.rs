//! Whether a difference between two feature sets' cross-validated scores is noise.

/// How many standard errors of the per-fold differences a smaller set may score worse than
/// a larger one and still be taken as scoring the same.
pub const PRUNE_STANDARD_ERRORS: f64 = 3.0;

/// Whether `smaller`'s fold scores are no worse than `larger`'s beyond the noise: compared
/// fold by fold (both sets are scored on the same folds), the mean difference is within
/// [`PRUNE_STANDARD_ERRORS`] standard errors of those differences of 0, or better.
///
/// Pairing the folds takes out what the folds themselves differ by (one fold is harder
/// for every set), which is most of the spread of either set's scores and none of the
/// difference between them. `false` when the folds do not pair (different counts, none).
///
/// ```
/// use flow_runtime::search::within_noise;
/// // Worse by 0.1 on every fold, however different the folds: a real loss.
/// assert!(!within_noise(&[10.1, 20.1, 30.1], &[10.0, 20.0, 30.0], false));
/// // Worse on some folds, better on others: noise.
/// assert!(within_noise(&[10.1, 19.95, 30.05], &[10.0, 20.0, 30.0], false));
/// ```
pub fn within_noise(smaller: &[f64], larger: &[f64], higher_is_better: bool) -> bool {
    if smaller.len() != larger.len() || smaller.is_empty() {
        return false;
    }
    // Positive where the smaller set does better.
    let gains: Vec<f64> = smaller
        .iter()
        .zip(larger)
        .map(|(s, l)| if higher_is_better { s - l } else { l - s })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let k = gains.len() as f64;
    let mean = gains.iter().sum::<f64>() / k;
    if mean >= 0.0 {
        return true;
    }
    if gains.len() < 2 {
        return false;
    }
    let variance = gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let standard_error = (variance / k).sqrt();
    mean + PRUNE_STANDARD_ERRORS * standard_error >= 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direction_of_the_metric_decides_what_worse_is() {
        let lower = [0.80, 0.70, 0.90];
        let higher = [0.85, 0.75, 0.95];
        assert!(
            within_noise(&higher, &lower, true),
            "better is never noise-worse"
        );
        assert!(!within_noise(&lower, &higher, true));
        assert!(within_noise(&lower, &higher, false));
        assert!(!within_noise(&higher, &lower, false));
    }

    #[test]
    fn a_loss_within_the_standard_errors_of_the_differences_is_noise() {
        // Differences (higher is better) −0.3, +0.1, −0.1: mean −0.1, standard error 0.115.
        assert!(within_noise(&[0.7, 1.1, 0.9], &[1.0, 1.0, 1.0], true));
        // Differences −0.3, −0.2, −0.25: mean −0.25, standard error 0.029.
        assert!(!within_noise(&[0.7, 0.8, 0.75], &[1.0, 1.0, 1.0], true));
    }

    #[test]
    fn folds_that_do_not_pair_are_not_noise() {
        assert!(!within_noise(&[1.0], &[1.0, 2.0], true));
        assert!(!within_noise(&[], &[], true));
        assert!(within_noise(&[1.0], &[1.0], true), "one fold, no loss");
        assert!(
            !within_noise(&[0.9], &[1.0], true),
            "one fold, no spread to judge by"
        );
    }
}
