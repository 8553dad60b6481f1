//! `flow apply`: a run's best feature set computed on new data, written to Parquet or CSV.

use std::io::Write;
use std::path::Path;

use flow_runtime::store::{ApplyFormat, ApplyOptions, apply as apply_run};

use super::Failure;
use super::export::set_choice;
use super::results::open;
use crate::cli::{ApplyArgs, OutputFileFormat};

/// Computes and writes the features.
pub fn apply(args: &ApplyArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.location).await?;
        let run = results.run(args.run.as_deref()).await?;
        let lookups = results.lookups(&run).await?;
        let options = ApplyOptions {
            keep: args.keep.clone(),
            format: match args.format {
                OutputFileFormat::Parquet => ApplyFormat::Parquet,
                OutputFileFormat::Csv => ApplyFormat::Csv,
            },
            choice: set_choice(&run, args.unconfirmed),
        };
        let applied = apply_run(
            &run,
            &lookups,
            &args.input,
            &args.output,
            Path::new("."),
            &options,
        )
        .await?;
        let _ = writeln!(
            std::io::stdout(),
            "wrote {} rows × {} columns of run {} to {}",
            applied.rows,
            applied.columns.len(),
            run.run_id,
            applied.output
        );
        Ok(())
    })
}
