//! Where a running search stands: the live display on standard error (redrawn in place on
//! a terminal) and the `--json` progress lines.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flow_runtime::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::format;
use super::style::Palette;

/// How long a run has left, and what bounds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Remaining {
    /// The time left.
    pub left: Duration,
    /// Whether the `search { time-limit }` ends the run before the budget would.
    pub by_time_limit: bool,
}

/// The time left: the budget's remaining evaluations at the rate so far, or what is left
/// of the time limit, whichever ends first; unknown before the first evaluation of a run
/// without a time limit.
pub fn remaining(
    evaluations: u64,
    budget: u64,
    elapsed: Duration,
    time_limit: Option<Duration>,
) -> Option<Remaining> {
    let by_rate = (evaluations > 0).then(|| {
        let left = budget.saturating_sub(evaluations) as f64;
        elapsed.mul_f64(left / evaluations as f64)
    });
    let by_limit = time_limit.map(|limit| limit.saturating_sub(elapsed));
    match (by_rate, by_limit) {
        (Some(rate), Some(limit)) if limit < rate => Some(Remaining {
            left: limit,
            by_time_limit: true,
        }),
        (Some(rate), _) => Some(Remaining {
            left: rate,
            by_time_limit: false,
        }),
        (None, Some(limit)) => Some(Remaining {
            left: limit,
            by_time_limit: true,
        }),
        (None, None) => None,
    }
}

/// The best score's relative improvement over the baseline (positive is better, whichever
/// way the metric points), as the run store records it.
pub fn uplift(best: Option<f64>, baseline: Option<f64>, higher_is_better: bool) -> Option<f64> {
    best.zip(baseline)
        .map(|(best, baseline)| flow_runtime::search::reward(best, baseline, higher_is_better))
}

/// What the display derives from a progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Time left, when it can be told.
    pub remaining: Option<Remaining>,
    /// Evaluations per second so far.
    pub rate: f64,
    /// The best score's uplift over the baseline.
    pub uplift: Option<f64>,
    /// The share of evaluations answered from the cache.
    pub cache_hit_rate: Option<f64>,
}

impl Stats {
    /// The figures of `p`, `since` after it was reported (the clocks move on between
    /// reports; the counts do not).
    pub fn of(p: &Progress, time_limit: Option<Duration>, since: Duration) -> Self {
        let remaining =
            remaining(p.evaluations, p.budget, p.elapsed, time_limit).map(|r| Remaining {
                left: r.left.saturating_sub(since),
                ..r
            });
        Self {
            elapsed: p.elapsed + since,
            remaining,
            rate: p.evaluations as f64 / p.elapsed.as_secs_f64().max(1e-9),
            uplift: uplift(p.best, p.baseline, p.higher_is_better),
            cache_hit_rate: (p.evaluations > 0).then(|| p.cache_hits as f64 / p.evaluations as f64),
        }
    }
}

/// The clocks: `12s elapsed · ~31s left`.
fn clock_text(stats: &Stats) -> String {
    let mut out = format!("{} elapsed · ", format::duration(stats.elapsed));
    match stats.remaining {
        Some(r) if r.by_time_limit => {
            let _ = write!(out, "{} left (time limit)", format::duration(r.left));
        }
        Some(r) => {
            let _ = write!(out, "~{} left", format::duration(r.left));
        }
        None => out.push_str("estimating time left"),
    }
    out
}

/// The scores and rates: `best 53.9011 (+2.32% vs baseline) · 3.8 eval/s · …`.
fn scores_text(p: &Progress, stats: &Stats, palette: Palette) -> String {
    let Some(best) = p.best else {
        return "waiting for the baseline score…".to_owned();
    };
    let uplift = stats.uplift.unwrap_or(0.0);
    let mut out = format!(
        "best {} ({} vs baseline) · {:.1} eval/s",
        palette.strong(&format::score(Some(best))),
        palette.change(uplift, &format::change(uplift)),
        stats.rate
    );
    if let Some(rate) = stats.cache_hit_rate {
        let _ = write!(out, " · {:.0}% cached", rate * 100.0);
    }
    let _ = write!(out, " · {} rejected", p.rejected);
    if p.failed > 0 {
        let _ = write!(out, " · {} failed", p.failed);
    }
    out
}

/// One `--json` progress line.
pub fn json_line(p: &Progress, time_limit: Option<Duration>) -> serde_json::Value {
    let stats = Stats::of(p, time_limit, Duration::ZERO);
    serde_json::json!({
        "event": "progress",
        "evaluations": p.evaluations,
        "rejected": p.rejected,
        "budget": p.budget,
        "baseline": p.baseline,
        "best": p.best,
        "uplift": stats.uplift,
        "failed": p.failed,
        "cache_hits": p.cache_hits,
        "cache_hit_rate": stats.cache_hit_rate,
        "elapsed_s": p.elapsed.as_secs_f64(),
        "remaining_s": stats.remaining.map(|r| r.left.as_secs_f64()),
        "evaluations_per_s": stats.rate,
    })
}

/// The last report and when it came.
struct Snapshot {
    progress: Progress,
    at: Instant,
}

type Latest = Arc<Mutex<Option<Snapshot>>>;

/// The live display: a bar with the clocks, and a line of scores, redrawn in place on
/// standard error (and ticking between reports so the clocks move).
pub struct LiveDisplay {
    bar: ProgressBar,
    latest: Latest,
}

impl LiveDisplay {
    /// A display of a search of `budget` evaluations, drawn only when `show` is set.
    pub fn new(show: bool, budget: u64, time_limit: Option<Duration>, palette: Palette) -> Self {
        let latest: Latest = Arc::new(Mutex::new(None));
        if !show {
            return Self {
                bar: ProgressBar::hidden(),
                latest,
            };
        }
        // indicatif colours its bar through console's switch for standard error.
        console::set_colors_enabled_stderr(palette.is_on());
        let clock = {
            let latest = Arc::clone(&latest);
            move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let text = match stats_now(&latest, time_limit) {
                    Some((_, stats)) => clock_text(&stats),
                    None => format!(
                        "{} elapsed · starting the search",
                        format::duration(state.elapsed())
                    ),
                };
                let _ = w.write_str(&text);
            }
        };
        let scores = {
            let latest = Arc::clone(&latest);
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let text = match stats_now(&latest, time_limit) {
                    Some((progress, stats)) => scores_text(&progress, &stats, palette),
                    None => "waiting for the baseline score…".to_owned(),
                };
                let _ = w.write_str(&text);
            }
        };
        let style = ProgressStyle::with_template(
            "{spinner:.cyan} [{bar:24.cyan/blue}] {pos}/{len} evaluations · {clock}\n  {scores}",
        )
        .expect("the template is valid")
        .progress_chars("=> ")
        .with_key("clock", clock)
        .with_key("scores", scores);
        let bar = ProgressBar::with_draw_target(Some(budget), ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar, latest }
    }

    /// Shows a new report.
    pub fn update(&self, p: &Progress) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = Some(Snapshot {
                progress: p.clone(),
                at: Instant::now(),
            });
        }
        self.bar.set_length(p.budget);
        self.bar.set_position(p.evaluations);
    }

    /// Something that prints a line on standard error without tearing the display (which
    /// it hides for the moment).
    pub fn notifier(&self) -> impl Fn(&str) + Send + 'static {
        let bar = self.bar.clone();
        move |line| {
            bar.suspend(|| {
                let _ = writeln!(std::io::stderr(), "{line}");
            });
        }
    }

    /// Removes the display, leaving the terminal as it was.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The last report and its figures now.
fn stats_now(latest: &Latest, time_limit: Option<Duration>) -> Option<(Progress, Stats)> {
    let latest = latest.lock().ok()?;
    let snapshot = latest.as_ref()?;
    let stats = Stats::of(&snapshot.progress, time_limit, snapshot.at.elapsed());
    Some((snapshot.progress.clone(), stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress() -> Progress {
        Progress {
            evaluations: 10,
            rejected: 3,
            budget: 40,
            baseline: Some(50.0),
            best: Some(45.0),
            failed: 0,
            cache_hits: 2,
            elapsed: Duration::from_secs(20),
            higher_is_better: false,
        }
    }

    #[test]
    fn remaining_time_follows_the_rate_so_far() {
        let r = remaining(10, 40, Duration::from_secs(20), None).expect("known");
        assert_eq!(r.left, Duration::from_secs(60));
        assert!(!r.by_time_limit);
        assert_eq!(
            remaining(40, 40, Duration::from_secs(20), None).map(|r| r.left),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn the_time_limit_bounds_the_remaining_time_when_it_ends_first() {
        let limit = Some(Duration::from_secs(50));
        let r = remaining(10, 40, Duration::from_secs(20), limit).expect("known");
        assert_eq!(r.left, Duration::from_secs(30));
        assert!(r.by_time_limit);
        let far = Some(Duration::from_secs(600));
        let r = remaining(10, 40, Duration::from_secs(20), far).expect("known");
        assert_eq!(r.left, Duration::from_secs(60));
        assert!(!r.by_time_limit);
    }

    #[test]
    fn remaining_time_is_unknown_before_the_first_evaluation_without_a_limit() {
        assert_eq!(remaining(0, 40, Duration::from_secs(3), None), None);
        let r = remaining(0, 40, Duration::from_secs(3), Some(Duration::from_secs(10)));
        assert_eq!(r.map(|r| r.left), Some(Duration::from_secs(7)));
    }

    #[test]
    fn uplift_is_positive_when_the_score_improves_in_the_metrics_direction() {
        // rmse: lower is better.
        assert!(uplift(Some(45.0), Some(50.0), false).expect("both") > 0.0);
        assert!(uplift(Some(55.0), Some(50.0), false).expect("both") < 0.0);
        // auc: higher is better.
        let up = uplift(Some(0.88), Some(0.80), true).expect("both");
        assert!((up - 0.1).abs() < 1e-12, "{up}");
        assert!(uplift(Some(0.70), Some(0.80), true).expect("both") < 0.0);
        assert_eq!(uplift(None, Some(0.8), true), None);
    }

    #[test]
    fn the_clocks_move_between_reports() {
        let p = progress();
        let now = Stats::of(&p, None, Duration::ZERO);
        let later = Stats::of(&p, None, Duration::from_secs(15));
        assert_eq!(later.elapsed, Duration::from_secs(35));
        assert_eq!(
            later.remaining.map(|r| r.left),
            Some(Duration::from_secs(45))
        );
        assert_eq!(later.rate, now.rate);
        assert_eq!(now.cache_hit_rate, Some(0.2));
    }

    #[test]
    fn the_lines_show_clocks_scores_and_rates() {
        let p = progress();
        let stats = Stats::of(&p, Some(Duration::from_secs(30)), Duration::ZERO);
        assert_eq!(clock_text(&stats), "20s elapsed · 10s left (time limit)");
        let stats = Stats::of(&p, None, Duration::ZERO);
        assert_eq!(clock_text(&stats), "20s elapsed · ~1m00s left");
        assert_eq!(
            scores_text(&p, &stats, Palette::with_colours(false)),
            "best 45.0000 (+10.00% vs baseline) · 0.5 eval/s · 20% cached · 3 rejected"
        );
    }

    #[test]
    fn json_lines_carry_the_derived_figures() {
        let line = json_line(&progress(), None);
        assert_eq!(line["event"], "progress");
        assert_eq!(line["remaining_s"], 60.0);
        assert_eq!(line["cache_hit_rate"], 0.2);
        assert_eq!(line["uplift"], 0.1);
    }
}
