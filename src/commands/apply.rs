//! `flow apply`: a run's best feature set computed on new data, written to Parquet or CSV.

use std::io::Write;
use std::path::Path;

use flow_runtime::store::{ApplyFormat, ApplyOptions, SetChoice, apply as apply_run, unconfirmed};

use super::Failure;
use super::export::withheld_note;
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
            choice: if args.unconfirmed {
                SetChoice::Best
            } else {
                SetChoice::Confirmed
            },
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
        if let Some(why) = unconfirmed(&run) {
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                withheld_note(&why, args.unconfirmed)
            );
        }
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
