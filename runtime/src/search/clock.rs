//! A search's time limit as instants: when its evaluations are cut, and how much of the
//! limit is left for what comes after the search (pruning the best set, scoring it on the
//! held-out rows). The end is reserved from measured evaluation times, so that a run with
//! `time-limit "1m"` ends close to one minute, not one batch of evaluations later.

use std::time::{Duration, Instant};

/// Evaluations' worth of time left for the end of a run: a round of pruning (its sets are
/// cross-validated in parallel) and the held-out confirmation (two fits on all searched
/// rows, about half an evaluation).
const END_EVALUATIONS: u32 = 2;

/// When a search must stop, from its time limit and the evaluation times it measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchClock {
    /// The time limit as an instant (`None` without a limit).
    deadline: Option<Instant>,
    /// Cross-validations measured so far, and their total wall time.
    evaluations: u32,
    evaluating: Duration,
}

impl SearchClock {
    /// The clock of a search started at `started` with `limit`, of which `spent` went to
    /// earlier processes of the same run (a resumed run).
    pub fn new(limit: Option<Duration>, started: Instant, spent: Duration) -> Self {
        Self {
            deadline: limit.map(|limit| started + limit.saturating_sub(spent)),
            ..Self::default()
        }
    }

    /// Records one cross-validation's wall time.
    pub fn record(&mut self, took: Duration) {
        self.evaluations = self.evaluations.saturating_add(1);
        self.evaluating += took;
    }

    /// What the end of the run is expected to take.
    fn reserve(&self) -> Duration {
        match self.evaluations {
            0 => Duration::ZERO,
            n => self.evaluating / n * END_EVALUATIONS,
        }
    }

    /// The instant the search's evaluations are cut at: the limit less the reserve.
    pub fn search_until(&self) -> Option<Instant> {
        let deadline = self.deadline?;
        Some(
            deadline
                .checked_sub(self.reserve())
                .unwrap_or_else(Instant::now),
        )
    }

    /// Whether the search must stop drawing and scoring.
    pub fn search_over(&self) -> bool {
        self.search_until()
            .is_some_and(|until| Instant::now() >= until)
    }

    /// The time limit itself, where pruning is cut.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_limit_the_search_is_never_over() {
        let mut clock = SearchClock::new(None, Instant::now(), Duration::ZERO);
        clock.record(Duration::from_secs(3600));
        assert!(!clock.search_over());
        assert_eq!(clock.search_until(), None);
        assert_eq!(clock.deadline(), None);
    }

    #[test]
    fn the_end_is_reserved_from_measured_evaluations() {
        let started = Instant::now();
        let mut clock = SearchClock::new(Some(Duration::from_secs(60)), started, Duration::ZERO);
        assert_eq!(
            clock.search_until(),
            Some(started + Duration::from_secs(60))
        );
        clock.record(Duration::from_secs(2));
        clock.record(Duration::from_secs(4));
        // Two evaluations of 3 s on average.
        assert_eq!(
            clock.search_until(),
            Some(started + Duration::from_secs(54))
        );
        assert_eq!(clock.deadline(), Some(started + Duration::from_secs(60)));
        assert!(!clock.search_over());
    }

    #[test]
    fn time_spent_before_a_resume_counts() {
        let started = Instant::now();
        let clock = SearchClock::new(
            Some(Duration::from_secs(60)),
            started,
            Duration::from_secs(45),
        );
        assert_eq!(clock.deadline(), Some(started + Duration::from_secs(15)));
        let spent = SearchClock::new(
            Some(Duration::from_secs(60)),
            started,
            Duration::from_secs(90),
        );
        assert!(spent.search_over());
    }

    #[test]
    fn evaluations_longer_than_the_limit_stop_the_search_at_once() {
        let mut clock = SearchClock::new(
            Some(Duration::from_secs(10)),
            Instant::now(),
            Duration::ZERO,
        );
        clock.record(Duration::from_secs(30));
        assert!(clock.search_over());
    }
}
