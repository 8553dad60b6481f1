//! The search tree as circles and lines on a cartesian chart: depth downwards, circle area
//! by visits, colour by mean reward, with a colour bar beside it.

use plotters::prelude::*;

use super::{Chart, INK, svg, text, tick};
use crate::report::ReportError;
use crate::report::data::{ReportData, TREE_DEPTH};
use crate::report::tree::{self, MAX_CHILDREN, MAX_NODES};

/// Height of the tree plot.
const HEIGHT: u32 = 440;
/// Width of the colour bar beside the tree.
const LEGEND_WIDTH: u32 = 110;
/// Colours of rewards -1, 0 and +1 (relative to the largest |reward| drawn).
const NEGATIVE: (f64, f64, f64) = (215.0, 48.0, 39.0);
const NEUTRAL: (f64, f64, f64) = (254.0, 224.0, 139.0);
const POSITIVE: (f64, f64, f64) = (26.0, 152.0, 80.0);
/// Edges of the tree.
const EDGE: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);

/// The colour of `reward` on a scale from `-limit` (red) through 0 (yellow) to `limit`
/// (green).
fn reward_colour(reward: f64, limit: f64) -> RGBColor {
    let t = if limit > 0.0 {
        (reward / limit).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (from, to, f) = if t < 0.0 {
        (NEUTRAL, NEGATIVE, -t)
    } else {
        (NEUTRAL, POSITIVE, t)
    };
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
}

/// Radius in pixels of a node with `visits` of `max_visits`: area grows with visits.
fn radius(visits: u64, max_visits: u64) -> i32 {
    let share = visits as f64 / max_visits.max(1) as f64;
    (3.0 + 11.0 * share.sqrt()).round() as i32
}

/// The search tree, depth-limited, with its reward colour bar.
pub fn search_tree(data: &ReportData) -> Result<Option<Chart>, ReportError> {
    let layout = tree::layout(&data.nodes, &data.best_path);
    if layout.nodes.is_empty() {
        return Ok(None);
    }
    let drawn = layout.nodes.len() as u64;
    let mut notes = Vec::new();
    if drawn < data.nodes_total {
        notes.push(format!(
            "{drawn} of the tree's {} scored nodes are drawn: depth ≤ {TREE_DEPTH}, at most the {MAX_CHILDREN} most visited children of a node, {MAX_NODES} nodes in all.",
            data.nodes_total
        ));
    }
    let max_visits = layout
        .nodes
        .iter()
        .map(|n| n.node.visits)
        .max()
        .unwrap_or(1);
    let limit = layout
        .nodes
        .iter()
        .map(|n| n.node.mean_reward.abs())
        .filter(|r| r.is_finite())
        .fold(0.0, f64::max)
        .max(1e-6);
    let depth = layout.depth().max(1) as f64;
    let slots = layout.slots.max(1) as f64;
    let best = data.run.best_node_id;
    let svg = svg("search tree", HEIGHT, |root| {
        let (main, legend) = root.split_horizontally(super::WIDTH - LEGEND_WIDTH);
        let mut chart = ChartBuilder::on(&main)
            .margin(18)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.7f64..(slots - 0.3), -(depth + 0.35)..0.45f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            // Only the depth labels: no axis line, no ticks between levels.
            .axis_style(TRANSPARENT)
            .y_labels(2 * depth as usize + 2)
            .label_style(text(12))
            .y_label_formatter(&|v| {
                let level = v.round().abs();
                if (v - v.round()).abs() < 1e-6 && *v <= 0.0 {
                    format!("depth {level:.0}")
                } else {
                    String::new()
                }
            })
            .draw()?;
        let at = |i: usize| {
            let n = &layout.nodes[i];
            (n.x, -(n.node.depth as f64))
        };
        chart.draw_series(layout.nodes.iter().enumerate().filter_map(|(i, n)| {
            let parent = n.parent?;
            let style = if n.on_best_path && layout.nodes[parent].on_best_path {
                INK.stroke_width(3)
            } else {
                EDGE.stroke_width(1)
            };
            Some(PathElement::new(vec![at(parent), at(i)], style))
        }))?;
        chart.draw_series(layout.nodes.iter().enumerate().map(|(i, n)| {
            let colour = reward_colour(n.node.mean_reward, limit);
            Circle::new(at(i), radius(n.node.visits, max_visits), colour.filled())
        }))?;
        // Outline the path to the best feature set, and name its two ends.
        chart.draw_series(
            layout
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.on_best_path)
                .map(|(i, n)| {
                    Circle::new(
                        at(i),
                        radius(n.node.visits, max_visits),
                        INK.stroke_width(2),
                    )
                }),
        )?;
        chart.draw_series(layout.nodes.iter().enumerate().filter_map(|(i, n)| {
            let label = if n.parent.is_none() {
                "base columns"
            } else if Some(n.node.node_id) == best {
                "best"
            } else {
                return None;
            };
            let offset = radius(n.node.visits, max_visits) + 4;
            Some(EmptyElement::at(at(i)) + Text::new(label, (offset, -offset), text(12)))
        }))?;

        let mut bar = ChartBuilder::on(&legend)
            .margin_top(30)
            .margin_bottom(50)
            .margin_right(44)
            .y_label_area_size(46)
            .caption("mean reward", text(12))
            .build_cartesian_2d(0f64..1.0, -limit..limit)?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(5)
            .label_style(text(11))
            .y_label_formatter(&|v| tick(*v))
            .draw()?;
        let steps = 40;
        bar.draw_series((0..steps).map(|s| {
            let lo = -limit + 2.0 * limit * s as f64 / steps as f64;
            let hi = -limit + 2.0 * limit * (s + 1) as f64 / steps as f64;
            let colour = reward_colour((lo + hi) / 2.0, limit);
            Rectangle::new([(0.0, lo), (1.0, hi)], colour.filled())
        }))?;
        Ok(())
    })?;
    Ok(Some(Chart { svg, notes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewards_run_from_red_through_yellow_to_green_and_are_never_grey() {
        assert_eq!(reward_colour(-1.0, 1.0), RGBColor(215, 48, 39));
        assert_eq!(reward_colour(0.0, 1.0), RGBColor(254, 224, 139));
        assert_eq!(reward_colour(5.0, 1.0), RGBColor(26, 152, 80));
        for step in -10..=10 {
            let RGBColor(r, g, b) = reward_colour(f64::from(step) / 10.0, 1.0);
            assert!(!(r == g && g == b), "step {step} is grey");
        }
    }

    #[test]
    fn more_visits_draw_a_larger_node() {
        assert_eq!(radius(0, 10), 3);
        assert_eq!(radius(10, 10), 14);
        assert!(radius(2, 10) < radius(5, 10));
    }
}
