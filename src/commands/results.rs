//! What the commands over a results location share: opening it, and telling the user about
//! files that were left out of its tables.

use std::io::Write;
use std::path::Path;

use flow_runtime::store::{OutputFormat, Results};

use super::Failure;
use crate::cli::QueryFormat;

/// Opens the results at `location` (relative to the working directory), warning on
/// standard error about every file left out of the tables.
pub async fn open(location: &str) -> Result<Results, Failure> {
    let results = Results::open(location, Path::new(".")).await?;
    let mut stderr = std::io::stderr();
    for problem in &results.problems {
        let _ = writeln!(stderr, "warning: {}: {}", problem.path, problem.reason);
    }
    Ok(results)
}

/// The runtime's format for a command-line format.
pub fn output_format(format: QueryFormat) -> OutputFormat {
    match format {
        QueryFormat::Table => OutputFormat::Table,
        QueryFormat::Csv => OutputFormat::Csv,
        QueryFormat::Json => OutputFormat::Json,
        QueryFormat::Parquet => OutputFormat::Parquet,
    }
}

/// Writes `bytes` to `path`, or to standard output.
pub fn emit(bytes: &[u8], path: Option<&Path>) -> Result<(), Failure> {
    match path {
        Some(path) => std::fs::write(path, bytes).map_err(|e| {
            Failure::user(miette::miette!(
                code = "flow::write-output",
                help = "check that the directory exists and is writable",
                "cannot write {}: {e}",
                path.display()
            ))
        }),
        None => {
            let _ = std::io::stdout().write_all(bytes);
            Ok(())
        }
    }
}
