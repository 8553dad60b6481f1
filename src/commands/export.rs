//! `flow export`: a run's best feature set as a standalone SQL `SELECT`.

use flow_runtime::store::{SetChoice, export_sql, unconfirmed};
use std::io::Write;

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
        let choice = if args.unconfirmed {
            SetChoice::Best
        } else {
            SetChoice::Confirmed
        };
        let sql = export_sql(&run, &args.table, &lookups, choice)?;
        if let Some(why) = unconfirmed(&run) {
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                withheld_note(&why, args.unconfirmed)
            );
        }
        emit(sql.as_bytes(), args.run.output.as_deref())
    })
}

/// What export and apply say on stderr when the held-out rows did not confirm the best
/// set: `why`, and what was done about it.
pub fn withheld_note(why: &str, unconfirmed: bool) -> String {
    if unconfirmed {
        format!("note: {why}; its features are given anyway (`--unconfirmed`)")
    } else {
        format!(
            "note: {why}, so only the base columns are given; `--unconfirmed` gives the features anyway"
        )
    }
}
