//! Turning scores into rewards.

/// Significant digits of a score the search decides on.
const SETTLED_DIGITS: i32 = 10;

/// `score` rounded to [`SETTLED_DIGITS`] significant digits: what the search compares.
///
/// Feature sets that span the same space (`b³` and `|d − b³|` next to `d`) score the same
/// but for the last bits, which depend on how the arithmetic was ordered. Deciding on the
/// rounded score makes such sets tie, and ties go by node order, so the search does not
/// change when the arithmetic does (a faster solver, another machine).
///
/// ```
/// use flow_runtime::search::settled;
/// assert_eq!(settled(0.923_357_494_891_738_1), settled(0.923_357_494_891_737_9));
/// assert_eq!(settled(1234.567_890_123), 1234.567_890);
/// assert_eq!(settled(0.0), 0.0);
/// ```
pub fn settled(score: f64) -> f64 {
    if score == 0.0 || !score.is_finite() {
        return score;
    }
    #[allow(clippy::cast_possible_truncation)]
    let magnitude = score.abs().log10().floor() as i32;
    let scale = 10f64.powi(SETTLED_DIGITS - 1 - magnitude);
    (score * scale).round() / scale
}

/// Whether `score` beats `best` as the search decides: on [`settled`] scores, so scores
/// equal to rounding tie and the earlier one stays (no `best` yet: any score does).
///
/// ```
/// use flow_runtime::search::improves;
/// assert!(improves(0.5, None, true));
/// assert!(improves(40.0, Some(50.0), false));
/// assert!(!improves(0.923_357_494_891_738_1, Some(0.923_357_494_891_737_9), true));
/// ```
pub fn improves(score: f64, best: Option<f64>, higher_is_better: bool) -> bool {
    let score = settled(score);
    best.map(settled).is_none_or(|best| {
        if higher_is_better {
            score > best
        } else {
            score < best
        }
    })
}

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
