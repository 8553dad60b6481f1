//! `flow export`: a run's best feature set as a standalone SQL `SELECT`.

use flow_runtime::store::export_sql;

use super::Failure;
use super::results::{emit, open};
use crate::cli::ExportArgs;

/// Prints (or writes) the SQL.
pub fn export(args: &ExportArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    runtime.block_on(async {
        let results = open(&args.run.location).await?;
        let run = results.run(args.run.run.as_deref()).await?;
        let lookups = results.lookups(&run).await?;
        let sql = export_sql(&run, &args.table, &lookups)?;
        emit(sql.as_bytes(), args.run.output.as_deref())
    })
}
