//! Turning scores into rewards.

/// The reward of a score: its relative improvement over the baseline (the root's score),
/// signed so that better is positive whatever the metric's direction, and clipped to
/// [-1, 1] so one extreme score cannot swamp the tree's averages.
///
/// ```
/// assert_eq!(flow_runtime::search::reward(1.5, 1.0, true), 0.5);
/// assert_eq!(flow_runtime::search::reward(40.0, 50.0, false), 0.2);
/// ```
pub fn reward(score: f64, baseline: f64, higher_is_better: bool) -> f64 {
    let scale = baseline.abs().max(1e-12);
    let gain = if higher_is_better {
        score - baseline
    } else {
        baseline - score
    };
    (gain / scale).clamp(-1.0, 1.0)
}
