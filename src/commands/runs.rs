//! `flow runs`: the runs stored at a results location.

use flow_runtime::store::render;

use super::Failure;
use super::results::{emit, open, output_format};
use crate::cli::LocationArgs;

/// The columns people want first; everything is in the `runs` table for `flow query`.
const LISTING: &str = "SELECT run_id AS id, pipeline, status, \
     date_trunc('second', created_at) AS started, \
     round(duration_ms / 1000.0, 1) AS seconds, \
     evaluations, iterations AS budget, metric, \
     round(baseline, 4) AS baseline, round(best_score, 4) AS best, \
     round(uplift * 100.0, 2) AS \"uplift %\" \
     FROM runs ORDER BY created_at, run_id";

/// Lists the runs.
pub fn runs(args: &LocationArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.location).await?;
        let df = results.query(LISTING).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df
            .collect()
            .await
            .map_err(|e| Failure::internal(miette::miette!("cannot read the runs table: {e}")))?;
        let bytes = render(&schema, &batches, output_format(args.format))
            .map_err(|e| Failure::internal(miette::miette!("cannot format the runs: {e}")))?;
        emit(&bytes, None)
    })
}
