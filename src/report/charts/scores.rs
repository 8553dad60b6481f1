//! Plots of the scores: the best score over iterations and the distribution of scores.

use plotters::prelude::*;

use super::{
    BLUE, Chart, GREEN, LIGHT_BLUE, ORANGE, axes, frame, legend, padded, stroke, svg, swatch, tick,
};
use crate::report::ReportError;
use crate::report::data::ReportData;

/// Evaluations drawn as points at most; beyond, every n-th is drawn.
pub const MAX_POINTS: usize = 2000;
/// Height of the score plots.
const HEIGHT: u32 = 360;

/// The metric with its direction, for an axis.
fn metric_label(data: &ReportData) -> String {
    let metric = data.run.metric.as_deref().unwrap_or("score");
    let direction = if data.run.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    format!("{metric} ({direction})")
}

/// The best score so far as a step line: one point where it starts and two at every
/// improvement, then one at the last iteration.
fn best_so_far(scores: &[(u64, f64)], higher_is_better: bool, last: u64) -> Vec<(f64, f64)> {
    let mut line: Vec<(f64, f64)> = Vec::new();
    let mut best: Option<f64> = None;
    for &(iteration, score) in scores {
        let better = match best {
            None => true,
            Some(b) if higher_is_better => score > b,
            Some(b) => score < b,
        };
        if better {
            if let Some(b) = best {
                line.push((iteration as f64, b));
            }
            line.push((iteration as f64, score));
            best = Some(score);
        }
    }
    if let Some(b) = best {
        line.push((last as f64, b));
    }
    line
}

/// Every `stride`-th item of `items`, so that at most `max` remain; and the stride.
pub fn thin<T: Copy>(items: &[T], max: usize) -> (Vec<T>, usize) {
    let stride = items.len().div_ceil(max.max(1)).max(1);
    (items.iter().step_by(stride).copied().collect(), stride)
}

/// The best score over iterations, every evaluation as a point, the baseline as a line.
pub fn progress(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let scores = data.scores();
    if scores.is_empty() {
        return Ok(None);
    }
    let last = data
        .evaluations
        .last()
        .map_or(0, |e| e.iteration)
        .max(scores.last().map_or(0, |s| s.0));
    let line = best_so_far(&scores, data.run.higher_is_better, last);
    let (points, stride) = thin(&scores, MAX_POINTS);
    let mut notes = Vec::new();
    if stride > 1 {
        notes.push(format!(
            "Points show every {stride}th of {} scored evaluations; the best-score line uses all of them.",
            scores.len()
        ));
    }
    let baseline = data.run.baseline.filter(|b| b.is_finite());
    let lo = scores
        .iter()
        .map(|s| s.1)
        .chain(baseline)
        .fold(f64::INFINITY, f64::min);
    let hi = scores
        .iter()
        .map(|s| s.1)
        .chain(baseline)
        .fold(f64::NEG_INFINITY, f64::max);
    let y_label = metric_label(data);
    let x_end = (last as f64).max(1.0);
    // Headroom above the data for the legend, wherever the scores go.
    let y_range = with_headroom(padded(lo, hi));
    let svg = svg("best score", HEIGHT, |root| {
        let mut chart = frame(root, 70, 0f64..x_end, y_range)?;
        axes(&mut chart)
            .x_desc("iteration")
            .y_desc(y_label.as_str())
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| tick(*v))
            .draw()?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(i, s)| Circle::new((i as f64, s), 3, LIGHT_BLUE.filled())),
            )?
            .label("an evaluation")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, LIGHT_BLUE.filled()));
        chart
            .draw_series(LineSeries::new(line, BLUE.stroke_width(3)))?
            .label("best so far")
            .legend(stroke(BLUE.stroke_width(3)));
        if let Some(b) = baseline {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, b), (x_end, b)],
                    8,
                    5,
                    ORANGE.stroke_width(2),
                ))?
                .label("baseline (base columns)")
                .legend(stroke(ORANGE.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Some(Chart { svg, notes }))
}

/// `range` extended upwards so the legend, in the upper right corner, covers no data.
fn with_headroom(range: std::ops::Range<f64>) -> std::ops::Range<f64> {
    let span = range.end - range.start;
    range.start..(range.end + span * 0.4)
}

/// How many bins a histogram of `n` values gets.
fn bin_count(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).clamp(5, 30)
}

/// A histogram of the scored evaluations, with the baseline and the best score marked.
pub fn histogram(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let scores: Vec<f64> = data.scores().into_iter().map(|s| s.1).collect();
    if scores.is_empty() {
        return Ok(None);
    }
    let baseline = data.run.baseline.filter(|b| b.is_finite());
    let best = data.run.best_score.filter(|b| b.is_finite());
    let lo = scores
        .iter()
        .copied()
        .chain(baseline)
        .fold(f64::INFINITY, f64::min);
    let hi = scores
        .iter()
        .copied()
        .chain(baseline)
        .fold(f64::NEG_INFINITY, f64::max);
    let range = padded(lo, hi);
    let bins = bin_count(scores.len());
    let width = (range.end - range.start) / bins as f64;
    let mut counts = vec![0u32; bins];
    for s in &scores {
        let bin = (((s - range.start) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let top = f64::from(counts.iter().copied().max().unwrap_or(1)) * 1.5;
    let x_label = metric_label(data);
    let svg = svg("score distribution", HEIGHT, |root| {
        let mut chart = frame(root, 60, range.clone(), 0f64..top.max(1.0))?;
        axes(&mut chart)
            .disable_x_mesh()
            .x_desc(x_label.as_str())
            .y_desc("evaluations")
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(i, &c)| {
                        let x0 = range.start + width * i as f64;
                        let mut bar =
                            Rectangle::new([(x0, 0.0), (x0 + width, f64::from(c))], BLUE.filled());
                        bar.set_margin(0, 0, 1, 1);
                        bar
                    }),
            )?
            .label("evaluations in the bin")
            .legend(swatch(BLUE.filled()));
        for (value, colour, label) in [(baseline, ORANGE, "baseline"), (best, GREEN, "best")] {
            if let Some(v) = value {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(v, 0.0), (v, top)],
                        6,
                        4,
                        colour.stroke_width(2),
                    ))?
                    .label(label)
                    .legend(stroke(colour.stroke_width(2)));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Some(Chart {
        svg,
        notes: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_score_line_steps_at_improvements_only() {
        let scores = [(0, 10.0), (1, 11.0), (2, 9.0), (3, 9.5), (4, 8.0)];
        assert_eq!(
            best_so_far(&scores, false, 6),
            [
                (0.0, 10.0),
                (2.0, 10.0),
                (2.0, 9.0),
                (4.0, 9.0),
                (4.0, 8.0),
                (6.0, 8.0)
            ]
        );
        assert_eq!(
            best_so_far(&scores, true, 4),
            [(0.0, 10.0), (1.0, 10.0), (1.0, 11.0), (4.0, 11.0)]
        );
    }

    #[test]
    fn thinning_keeps_at_most_the_maximum() {
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(thin(&items, 4), (vec![0, 3, 6, 9], 3));
        assert_eq!(thin(&items, 20).1, 1);
        assert_eq!(bin_count(1), 5);
        assert_eq!(bin_count(10_000), 30);
    }
}
