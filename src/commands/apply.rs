//! `flow apply`: a run's best feature set computed on new data, written to Parquet.

use std::io::Write;
use std::path::Path;

use flow_runtime::store::apply as apply_run;

use super::Failure;
use super::results::open;
use crate::cli::ApplyArgs;

/// Computes and writes the features.
pub fn apply(args: &ApplyArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.location).await?;
        let run = results.run(args.run.as_deref()).await?;
        let applied = apply_run(&run, &args.input, &args.output, Path::new(".")).await?;
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
