//! `flow explain`: the DataFusion plan a pipeline compiles to.

use std::io::Write;

use flow_runtime::{RunOptions, compile, load_pipeline};

use super::Failure;
use crate::cli::PipelineArgs;

/// Prints the logical and physical plans.
pub fn explain(args: &PipelineArgs) -> Result<(), Failure> {
    let pipeline = load_pipeline(&args.pipeline, &args.overrides)?;
    let runtime = super::async_runtime()?;
    let text = runtime.block_on(async {
        let compiled = compile(&pipeline, &RunOptions::default()).await?;
        compiled.explain().await
    })?;
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
}
