//! How the figures of a run read: scores, changes in percent, shares, durations.

use std::time::Duration;

/// A score with four decimals, `–` when there is none yet.
pub fn score(score: Option<f64>) -> String {
    score.map_or_else(|| "–".to_owned(), |s| format!("{s:.4}"))
}

/// A relative change as a signed percentage (`+2.31%`, `-0.50%`); `0.00%` when it rounds
/// to nothing, so no `-0.00%` shows up.
pub fn change(fraction: f64) -> String {
    let percent = fraction * 100.0;
    if format!("{:.2}", percent.abs()) == "0.00" {
        "0.00%".to_owned()
    } else {
        format!("{percent:+.2}%")
    }
}

/// A share of a whole in percent, one decimal (`12.5%`).
pub fn share(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// A duration as a person reads it: `42s`, `3m05s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let seconds = d.as_secs_f64().round() as u64;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_carry_their_sign() {
        assert_eq!(change(0.02319), "+2.32%");
        assert_eq!(change(-0.005), "-0.50%");
        assert_eq!(change(-0.000_001), "0.00%");
        assert_eq!(change(0.0), "0.00%");
    }

    #[test]
    fn durations_read_in_the_largest_sensible_units() {
        assert_eq!(duration(Duration::from_millis(400)), "0s");
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn scores_and_shares() {
        assert_eq!(score(None), "–");
        assert_eq!(score(Some(53.901_09)), "53.9011");
        assert_eq!(share(0.125), "12.5%");
    }
}
