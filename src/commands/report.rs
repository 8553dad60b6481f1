//! `flow report`: a run's self-contained HTML report (see `docs/report.md`).

use std::path::PathBuf;

use super::Failure;
use super::results::{emit, open};
use crate::cli::RunRefArgs;
use crate::report::{self, ReportError};

impl From<ReportError> for Failure {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::Store(error) => error.into(),
            chart @ ReportError::Chart { .. } => Failure::internal(miette::Report::new(chart)),
        }
    }
}

/// Writes the report of the chosen run to `-o` (`-` for standard output) or to
/// `report-<run id>.html`, and says where it went.
pub fn report(args: &RunRefArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.location).await?;
        let run = results.run(args.run.as_deref()).await?;
        let run_id = run.run_id.clone();
        let html = report::render(&results, run).await?;
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("report-{run_id}.html")));
        if path.as_os_str() == "-" {
            return emit(html.as_bytes(), None);
        }
        emit(html.as_bytes(), Some(&path))?;
        println!("report of run {run_id}: {}", path.display());
        Ok(())
    })
}
