//! Bar charts: importance in the best feature set, evaluations per operation, and time per
//! stretch of iterations.

use std::collections::BTreeSet;

use plotters::prelude::*;

use super::{BLUE, Chart, ORANGE, PALETTE, SLATE, axes, frame, legend, shorten, svg, swatch, tick};
use crate::report::ReportError;
use crate::report::data::{Evaluation, OperationUse, ReportData};

/// Features of the best set drawn at most.
pub const MAX_IMPORTANCE_BARS: usize = 20;
/// Operations drawn at most (the most evaluated).
pub const MAX_OPERATION_BARS: usize = 30;
/// Bars of the timing chart at most; iterations are grouped to fit.
pub const MAX_TIMING_BARS: usize = 60;
/// Characters of a bar label.
const LABEL_CHARS: usize = 34;
/// Model fitting, in the timing chart.
const PURPLE: RGBColor = RGBColor(0x75, 0x70, 0xb3);

/// Height of a horizontal bar chart with `bars` bars.
fn bar_height(bars: usize) -> u32 {
    (70 + 24 * bars as u32).max(180)
}

/// One bar of a horizontal bar chart with labelled rows: row `row` of `rows` counted from
/// the top, from `from` to `to`.
fn hbar(
    row: usize,
    rows: usize,
    from: f64,
    to: f64,
    style: ShapeStyle,
) -> Rectangle<(f64, SegmentValue<usize>)> {
    let y = rows - 1 - row;
    let mut bar = Rectangle::new(
        [
            (from, SegmentValue::Exact(y)),
            (to, SegmentValue::Exact(y + 1)),
        ],
        style,
    );
    bar.set_margin(4, 4, 0, 0);
    bar
}

/// The label of row `value` (rows counted from the top), for the segmented axis.
fn row_label(labels: &[String], value: &SegmentValue<usize>) -> String {
    match value {
        SegmentValue::CenterOf(y) if *y < labels.len() => labels[labels.len() - 1 - y].clone(),
        _ => String::new(),
    }
}

/// Each feature of the best set with its importance; engineered ones in blue.
pub fn importance(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let mut features = data.best_importance.clone();
    if features.is_empty() {
        return Ok(None);
    }
    features.sort_by(|a, b| {
        b.importance
            .total_cmp(&a.importance)
            .then(a.name.cmp(&b.name))
    });
    let mut notes = Vec::new();
    if features.len() > MAX_IMPORTANCE_BARS {
        notes.push(format!(
            "The {} least important of the set's {} features are not drawn.",
            features.len() - MAX_IMPORTANCE_BARS,
            features.len()
        ));
        features.truncate(MAX_IMPORTANCE_BARS);
    }
    let labels: Vec<String> = features
        .iter()
        .map(|f| shorten(&f.name, LABEL_CHARS))
        .collect();
    let rows = features.len();
    let top = features
        .iter()
        .map(|f| f.importance)
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.1;
    let svg = svg("importance", bar_height(rows), |root| {
        let mut chart = frame(root, 250, 0f64..top, (0..rows).into_segmented())?;
        axes(&mut chart)
            .disable_y_mesh()
            .y_labels(rows)
            .x_desc("share of the model's importance in the best feature set")
            .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .y_label_formatter(&|v| row_label(&labels, v))
            .draw()?;
        for (engineered, colour, label) in [
            (true, BLUE, "engineered feature"),
            (false, SLATE, "base column"),
        ] {
            let bars: Vec<_> = features
                .iter()
                .enumerate()
                .filter(|(_, f)| f.engineered == engineered)
                .map(|(row, f)| hbar(row, rows, 0.0, f.importance, colour.filled()))
                .collect();
            if !bars.is_empty() {
                chart
                    .draw_series(bars)?
                    .label(label)
                    .legend(swatch(colour.filled()));
            }
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })?;
    Ok(Some(Chart { svg, notes }))
}

/// Evaluations per operation, one colour per category; rejected candidates as a paler
/// extension of the bar.
pub fn operations(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let mut uses = data.operations.clone();
    if uses.is_empty() {
        return Ok(None);
    }
    let mut notes = Vec::new();
    if uses.len() > MAX_OPERATION_BARS {
        let mut by_use: Vec<&OperationUse> = uses.iter().collect();
        by_use.sort_by(|a, b| {
            (b.evaluated + b.rejected)
                .cmp(&(a.evaluated + a.rejected))
                .then(a.operation.cmp(&b.operation))
        });
        let kept: BTreeSet<String> = by_use[..MAX_OPERATION_BARS]
            .iter()
            .map(|u| u.operation.clone())
            .collect();
        notes.push(format!(
            "{} less used operations are not drawn.",
            uses.len() - MAX_OPERATION_BARS
        ));
        uses.retain(|u| kept.contains(&u.operation));
    }
    let mut categories: Vec<String> = uses.iter().map(|u| u.category.clone()).collect();
    categories.dedup();
    let colour = |category: &str| {
        let index = categories.iter().position(|c| c == category).unwrap_or(0);
        PALETTE[index % PALETTE.len()]
    };
    let labels: Vec<String> = uses
        .iter()
        .map(|u| shorten(&u.operation, LABEL_CHARS))
        .collect();
    let rows = uses.len();
    let top = uses
        .iter()
        .map(|u| (u.evaluated + u.rejected) as f64)
        .fold(1.0, f64::max)
        * 1.1;
    let svg = svg("operation usage", bar_height(rows), |root| {
        let mut chart = frame(root, 200, 0f64..top, (0..rows).into_segmented())?;
        axes(&mut chart)
            .disable_y_mesh()
            .y_labels(rows)
            .x_desc("nodes (pale: rejected candidates)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| row_label(&labels, v))
            .draw()?;
        for category in &categories {
            let c = colour(category);
            let rows_of: Vec<(usize, &OperationUse)> = uses
                .iter()
                .enumerate()
                .filter(|(_, u)| &u.category == category)
                .collect();
            let mut bars = Vec::new();
            for &(row, u) in &rows_of {
                let evaluated = u.evaluated as f64;
                if u.evaluated > 0 {
                    bars.push(hbar(row, rows, 0.0, evaluated, c.filled()));
                }
                if u.rejected > 0 {
                    let end = evaluated + u.rejected as f64;
                    bars.push(hbar(row, rows, evaluated, end, c.mix(0.35).filled()));
                }
            }
            chart
                .draw_series(bars)?
                .label(category.as_str())
                .legend(swatch(c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })?;
    Ok(Some(Chart { svg, notes }))
}

/// A stacked part of the timing bars: its legend, colour, and span of a bar.
type TimeLayer = (&'static str, RGBColor, fn(&TimeBar) -> (f64, f64));

/// Time of one group of consecutive log rows.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TimeBar {
    first: u64,
    last: u64,
    feature_ms: f64,
    fit_ms: f64,
    /// Time not in the split (all of it when the split is not recorded).
    other_ms: f64,
}

/// The log's time in at most [`MAX_TIMING_BARS`] groups of consecutive rows.
fn time_bars(rows: &[Evaluation]) -> (Vec<TimeBar>, usize) {
    let group = rows.len().div_ceil(MAX_TIMING_BARS).max(1);
    let bars = rows
        .chunks(group)
        .map(|chunk| {
            let mut bar = TimeBar {
                first: chunk[0].iteration,
                last: chunk[chunk.len() - 1].iteration,
                feature_ms: 0.0,
                fit_ms: 0.0,
                other_ms: 0.0,
            };
            for e in chunk {
                let feature = e.feature_ms.unwrap_or(0.0).max(0.0);
                let fit = e.fit_ms.unwrap_or(0.0).max(0.0);
                bar.feature_ms += feature;
                bar.fit_ms += fit;
                bar.other_ms += (e.duration_ms - feature - fit).max(0.0);
            }
            bar
        })
        .collect();
    (bars, group)
}

/// Time per group of iterations, split into feature computation and model fitting when
/// the log records the split.
pub fn timing(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let (bars, group) = time_bars(&data.evaluations);
    if bars.is_empty() {
        return Ok(None);
    }
    let mut notes = Vec::new();
    if group > 1 {
        notes.push(format!(
            "Each bar sums {group} consecutive rows of the evaluation log."
        ));
    }
    let total = |b: &TimeBar| b.feature_ms + b.fit_ms + b.other_ms;
    let top_ms = bars.iter().map(total).fold(0.0, f64::max).max(1e-3);
    // Seconds read better once bars pass a few seconds.
    let (unit, scale) = if top_ms >= 5000.0 {
        ("s", 1000.0)
    } else {
        ("ms", 1.0)
    };
    let x_end = bars.last().map_or(1, |b| b.last + 1) as f64;
    let split = data.timing_split;
    let svg = svg("timing", 340, |root| {
        let mut chart = frame(root, 70, 0f64..x_end, 0f64..top_ms / scale * 1.12)?;
        axes(&mut chart)
            .disable_x_mesh()
            .x_desc("iteration")
            .y_desc(format!("time ({unit})"))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| tick(*v))
            .draw()?;
        let layers: Vec<TimeLayer> = if split {
            vec![
                ("feature computation", BLUE, |b| (0.0, b.feature_ms)),
                ("model fitting", PURPLE, |b| {
                    (b.feature_ms, b.feature_ms + b.fit_ms)
                }),
                ("other", ORANGE, |b| {
                    (
                        b.feature_ms + b.fit_ms,
                        b.feature_ms + b.fit_ms + b.other_ms,
                    )
                }),
            ]
        } else {
            vec![("time on the nodes", BLUE, |b| (0.0, b.other_ms))]
        };
        for (label, colour, span) in layers {
            let rects: Vec<_> = bars
                .iter()
                .filter_map(|b| {
                    let (from, to) = span(b);
                    (to > from).then(|| {
                        let mut r = Rectangle::new(
                            [
                                (b.first as f64, from / scale),
                                ((b.last + 1) as f64, to / scale),
                            ],
                            colour.filled(),
                        );
                        r.set_margin(0, 0, 1, 1);
                        r
                    })
                })
                .collect();
            if !rects.is_empty() {
                chart
                    .draw_series(rects)?
                    .label(label)
                    .legend(swatch(colour.filled()));
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Some(Chart { svg, notes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: u64, duration_ms: f64, split: Option<(f64, f64)>) -> Evaluation {
        Evaluation {
            iteration,
            mean: None,
            status: "ok".to_owned(),
            operation: None,
            duration_ms,
            feature_ms: split.map(|s| s.0),
            fit_ms: split.map(|s| s.1),
        }
    }

    #[test]
    fn timing_bars_group_rows_and_keep_unsplit_time_whole() {
        let rows: Vec<Evaluation> = (0..130).map(|i| row(i, 10.0, Some((6.0, 3.0)))).collect();
        let (bars, group) = time_bars(&rows);
        assert_eq!(group, 3);
        assert_eq!(bars.len(), 44);
        assert_eq!((bars[0].first, bars[0].last), (0, 2));
        assert_eq!(
            (bars[0].feature_ms, bars[0].fit_ms, bars[0].other_ms),
            (18.0, 9.0, 3.0)
        );
        assert_eq!((bars[43].first, bars[43].last), (129, 129));

        // Logs written before the split was recorded: all of the time is "other".
        let (bars, _) = time_bars(&[row(0, 7.0, None), row(1, 5.0, None)]);
        let whole: Vec<(f64, f64, f64)> = bars
            .iter()
            .map(|b| (b.feature_ms, b.fit_ms, b.other_ms))
            .collect();
        assert_eq!(whole, [(0.0, 0.0, 7.0), (0.0, 0.0, 5.0)]);
    }
}
