//! `flow export`: a run's best feature set as a standalone SQL `SELECT`.

use std::io::Write;

use flow_runtime::store::{RunManifest, SetChoice, export_sql, unconfirmed};

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
        let sql = export_sql(
            &run,
            &args.table,
            &lookups,
            set_choice(&run, args.unconfirmed),
        )?;
        emit(sql.as_bytes(), args.run.output.as_deref())
    })
}

/// The set export and apply give for `run` (`anyway`: the `--unconfirmed` flag); when the
/// held-out rows did not confirm its features, says so on stderr, and what is given.
pub fn set_choice(run: &RunManifest, anyway: bool) -> SetChoice {
    if let Some(why) = unconfirmed(run) {
        let note = if anyway {
            format!("note: {why}; its features are given anyway (`--unconfirmed`)")
        } else {
            format!(
                "note: {why}, so only the base columns are given; `--unconfirmed` gives the features anyway"
            )
        };
        let _ = writeln!(std::io::stderr(), "{note}");
    }
    if anyway {
        SetChoice::Best
    } else {
        SetChoice::Confirmed
    }
}
