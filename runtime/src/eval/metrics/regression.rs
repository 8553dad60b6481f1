//! Regression metrics: errors of predicted values. Callers guarantee equal, non-zero lengths.

use ndarray::ArrayView1;

/// Root mean squared error.
pub fn rmse(truth: ArrayView1<f64>, predicted: ArrayView1<f64>) -> f64 {
    (squared_error(truth, predicted) / truth.len() as f64).sqrt()
}

/// The sum of squared errors, `Σ(truth − predicted)²`, in row order.
pub fn squared_error(truth: ArrayView1<f64>, predicted: ArrayView1<f64>) -> f64 {
    truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum()
}

/// The total sum of squares about the mean, R²'s denominator.
pub fn total_squares(truth: ArrayView1<f64>) -> f64 {
    let mean = truth.sum() / truth.len() as f64;
    truth.iter().map(|t| (t - mean).powi(2)).sum()
}

/// Mean absolute error.
pub fn mae(truth: ArrayView1<f64>, predicted: ArrayView1<f64>) -> f64 {
    let absolute: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).abs())
        .sum();
    absolute / truth.len() as f64
}

/// Coefficient of determination, 1 − SS_res / SS_tot. A constant truth has no variance to
/// explain: like scikit-learn, a perfect prediction then scores 1 and any other 0, so one
/// degenerate fold cannot stop a search.
pub fn r2(truth: ArrayView1<f64>, predicted: ArrayView1<f64>) -> f64 {
    let residual = squared_error(truth, predicted);
    let total = total_squares(truth);
    if total == 0.0 {
        return if residual == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - residual / total
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn hand_worked_errors() {
        let truth = array![1.0, 2.0, 3.0, 4.0];
        let predicted = array![2.0, 2.0, 1.0, 4.0];
        // Errors 1, 0, -2, 0: squares sum to 5, absolutes to 3; SS_tot = 5.
        assert_eq!(rmse(truth.view(), predicted.view()), (5.0f64 / 4.0).sqrt());
        assert_eq!(mae(truth.view(), predicted.view()), 0.75);
        assert_eq!(r2(truth.view(), predicted.view()), 0.0);
        assert_eq!(r2(truth.view(), truth.view()), 1.0);
    }

    #[test]
    fn r2_of_a_constant_truth_is_one_when_perfect_and_zero_otherwise() {
        let truth = array![2.0, 2.0, 2.0];
        assert_eq!(r2(truth.view(), array![2.0, 2.0, 2.0].view()), 1.0);
        assert_eq!(r2(truth.view(), array![2.0, 2.0, 2.5].view()), 0.0);
    }

    #[test]
    fn match_scikit_learn() {
        // Reference values from scikit-learn 1.9.1: root_mean_squared_error,
        // mean_absolute_error and r2_score on these inputs.
        let truth = array![3.0, -0.5, 2.0, 7.0, 4.2];
        let predicted = array![2.5, 0.0, 2.1, 7.8, 3.9];
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        close(rmse(truth.view(), predicted.view()), 0.49799598391954925);
        close(mae(truth.view(), predicted.view()), 0.44000000000000006);
        close(r2(truth.view(), predicted.view()), 0.9594665271966527);
    }
}
