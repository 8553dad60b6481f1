//! `flow query`: one SQL statement over a results location, or an interactive shell.

use flow_runtime::store::render;

use super::Failure;
use super::results::{emit, open, output_format};
use crate::cli::{QueryArgs, QueryFormat};

/// Runs the statement given, or the shell without one.
pub fn query(args: &QueryArgs) -> Result<(), Failure> {
    let format = args.format.get();
    if format == QueryFormat::Parquet && args.output.is_none() {
        return Err(Failure::user(miette::miette!(
            code = "flow::parquet-needs-file",
            help = "add `-o result.parquet`",
            "Parquet output is binary: it goes to a file, not the terminal"
        )));
    }
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.location).await?;
        let Some(sql) = &args.sql else {
            return crate::shell::run(results, output_format(format)).await;
        };
        let df = results.query(sql).await?;
        let schema = df.schema().as_arrow().clone();
        let batches = df.collect().await.map_err(|e| {
            Failure::user(miette::miette!(
                code = "flow::query",
                "the query failed: {e}"
            ))
        })?;
        let bytes = render(
            &std::sync::Arc::new(schema),
            &batches,
            output_format(format),
        )
        .map_err(|e| Failure::internal(miette::miette!("cannot format the result: {e}")))?;
        emit(&bytes, args.output.as_deref())
    })
}
