//! `flow runs`: the runs stored at a results location.

use flow_runtime::store::render;

use super::Failure;
use super::results::{emit, open, output_format};
use crate::cli::{LocationArgs, QueryFormat};

/// Lists the runs; everything about them is in the `runs` table for `flow query`.
pub fn runs(args: &LocationArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.location).await?;
        let format = args.format.get();
        let (schema, batches) = results.listing(format == QueryFormat::Table).await?;
        let bytes = render(&schema, &batches, output_format(format))
            .map_err(|e| Failure::internal(miette::miette!("cannot format the runs: {e}")))?;
        emit(&bytes, None)
    })
}
