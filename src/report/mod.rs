//! `flow report`: one self-contained HTML page about a stored run.
//!
//! The path data takes: [`data`] reads the run's rows from the results tables through SQL
//! (and what the canonical spec says, [`spec`]); [`tree`] picks and lays out the part of
//! the search tree worth drawing; [`charts`] renders every plot to SVG with plotters;
//! [`html`] puts summary, tables and plots into one page with inline CSS and nothing
//! fetched from the network.

mod charts;
mod data;
mod html;
mod spec;
mod tree;

use flow_runtime::RuntimeError;
use flow_runtime::store::{Results, RunManifest};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReportError {
    /// The results could not be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] RuntimeError),
    /// A plot could not be drawn (a bug: every input is checked before drawing).
    #[error("cannot draw the {chart} chart of the report: {message}")]
    #[diagnostic(
        code(flow::report),
        help("this is a bug in flow; please report it with the results location")
    )]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// What plotters said.
        message: String,
    },
}

/// The HTML report of `run`, read from `results`.
pub async fn render(results: &Results, run: RunManifest) -> Result<String, ReportError> {
    let data = data::gather(results, run).await?;
    let charts = charts::Charts::draw(&data)?;
    Ok(html::page(&data, &charts))
}
