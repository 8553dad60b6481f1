//! The report's plots, drawn by plotters onto its SVG backend. Every plot draws its data in
//! colour and its frame (axes, grid, labels) in greys, so a reader — or a test — can tell a
//! plot with data from an empty frame. Text is left to the browser's fonts: plotters only
//! estimates its size, which is why labels get generous room.

mod bars;
mod scores;
mod tree;

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::ReportError;
use super::data::ReportData;

/// Width of every plot, in SVG pixels (the page scales them down on narrow screens).
const WIDTH: u32 = 820;
/// Font of all text in plots.
const FONT: &str = "sans-serif";

/// Axes and labels.
const INK: RGBColor = RGBColor(0x44, 0x44, 0x44);
/// The main data colour.
const BLUE: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
/// Individual evaluations behind the main line.
const LIGHT_BLUE: RGBColor = RGBColor(0x8e, 0xb8, 0xe0);
/// Reference values (the baseline).
const ORANGE: RGBColor = RGBColor(0xd9, 0x5f, 0x02);
/// The best value.
const GREEN: RGBColor = RGBColor(0x1b, 0x9e, 0x77);
/// Base columns, beside engineered features.
const SLATE: RGBColor = RGBColor(0x8a, 0xa4, 0xbf);
/// One colour per category, in category order (cycled past eight).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xe7, 0x29, 0x8a),
    RGBColor(0x66, 0xa6, 0x1e),
    RGBColor(0xe6, 0xab, 0x02),
    RGBColor(0xa6, 0x76, 0x1d),
    RGBColor(0x1f, 0x78, 0xb4),
];

/// One plot: its SVG and what was left out of it, for its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The `<svg>` element.
    pub svg: String,
    /// Sentences on what the plot does not show (caps on points, bars or nodes).
    pub notes: Vec<String>,
}

/// Every plot of the report; `None` where the run has nothing to plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Charts {
    /// Best score over iterations, with every evaluation and the baseline.
    pub progress: Option<Chart>,
    /// Histogram of the scores.
    pub scores: Option<Chart>,
    /// Importance of the best set's features.
    pub importance: Option<Chart>,
    /// The search tree.
    pub tree: Option<Chart>,
    /// Evaluations per operation, coloured by category.
    pub operations: Option<Chart>,
    /// Time per stretch of iterations: feature computation and model fitting.
    pub timing: Option<Chart>,
}

impl Charts {
    /// Draws every plot of `data`.
    pub fn draw(data: &ReportData) -> Result<Self, ReportError> {
        Ok(Self {
            progress: scores::progress(data)?,
            scores: scores::histogram(data)?,
            importance: bars::importance(data)?,
            tree: tree::search_tree(data)?,
            operations: bars::operations(data)?,
            timing: bars::timing(data)?,
        })
    }
}

/// What a drawing step can fail with.
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws onto a white SVG canvas of `height` and returns the `<svg>` element.
fn svg(
    chart: &'static str,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> DrawResult,
) -> Result<String, ReportError> {
    let failed = |e: &dyn std::fmt::Display| ReportError::Chart {
        chart,
        message: e.to_string(),
    };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        draw(&root).map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    Ok(out)
}

/// A text style of `size` pixels in the plots' font and ink.
fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

/// A chart on `DB` whose axes span the ranges `X` and `Y`.
type Frame<'a, DB, X, Y> = ChartContext<
    'a,
    DB,
    Cartesian2d<<X as AsRangedCoord>::CoordDescType, <Y as AsRangedCoord>::CoordDescType>,
>;

/// The plot area of a chart with axes: the frame every chart but the tree's shares, with
/// `y_labels` pixels left for the labels of the y axis.
fn frame<'a, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    root: &'a DrawingArea<DB, Shift>,
    y_labels: u32,
    x: X,
    y: Y,
) -> Result<Frame<'a, DB, X, Y>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(root)
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(x, y)
}

/// Axes in the plots' style: labels and descriptions in ink, no light grid lines. The
/// caller adds what differs (descriptions, formatters, which mesh to hide) and draws.
fn axes<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(TRANSPARENT)
        .label_style(text(12))
        .axis_desc_style(text(13));
    mesh
}

/// Draws the legend of `chart`'s labelled series at `position`, on a pale white box.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(text(12))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xcc, 0xcc, 0xcc))
        .draw()?;
    Ok(())
}

/// A legend mark for bars: a small filled box in `style`.
fn swatch(style: ShapeStyle) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], style)
}

/// A legend mark for lines: a short stroke in `style`.
fn stroke(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style)
}

/// `lo..hi` widened by a margin on both sides, and never empty.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let span = hi - lo;
    let margin = if span > 0.0 {
        span * 0.06
    } else {
        (lo.abs() * 0.01).max(1e-6)
    };
    (lo - margin)..(hi + margin)
}

/// A number for an axis label: short, and readable at any magnitude.
fn tick(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 {
        "0".to_owned()
    } else if !(1e-3..1e6).contains(&magnitude) {
        format!("{value:.2e}")
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        let s = format!("{value:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        let s = format!("{value:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// `text` cut to `max` characters with an ellipsis, for axis labels.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_padded_and_never_empty() {
        let r = padded(0.0, 10.0);
        assert!(r.start < 0.0 && r.end > 10.0);
        let flat = padded(5.0, 5.0);
        assert!(flat.start < 5.0 && flat.end > 5.0);
        let zero = padded(0.0, 0.0);
        assert!(zero.start < zero.end);
    }

    #[test]
    fn ticks_and_labels_stay_short() {
        assert_eq!(tick(55.18), "55.18");
        assert_eq!(tick(120.4), "120");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(1.5e7), "1.50e7");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
