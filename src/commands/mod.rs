//! One module per verb. Each turns arguments into runtime calls and renders the result.

mod apply;
mod check;
mod explain;
mod export;
mod init;
mod ops;
mod query;
mod report;
mod results;
mod run;
mod runs;

use flow_runtime::SearchRows;

use crate::cli::Command;

/// Why a command failed, and whose fault it is (which decides the exit code).
pub struct Failure {
    /// The rendered diagnostic.
    pub report: miette::Report,
    /// Whether the user can fix it (exit 1) or flow failed (exit 2).
    pub user_error: bool,
    /// Whether the user stopped it (exit 130, as after SIGINT).
    pub interrupted: bool,
}

impl Failure {
    /// A failure caused by the input.
    pub fn user(report: miette::Report) -> Self {
        Self {
            report,
            user_error: true,
            interrupted: false,
        }
    }

    /// A failure of flow itself.
    pub fn internal(report: miette::Report) -> Self {
        Self {
            report,
            user_error: false,
            interrupted: false,
        }
    }
}

/// The rows a search gets, in words: `442 read, dropped 37 without a target: 324
/// searched, 81 held out to confirm the features`.
pub fn describe_rows(rows: &SearchRows) -> String {
    let dropped = match rows.without_target {
        0 => String::new(),
        n => format!(", dropped {n} without a target"),
    };
    let held_out = match rows.held_out {
        0 => String::new(),
        n => format!(", {n} held out to confirm the features"),
    };
    format!(
        "{} read{dropped}: {} searched{held_out}",
        rows.read, rows.searched
    )
}

/// Columns with what they hold, for notes: `` `a` (a list), `b` (a struct) ``.
pub fn describe_columns(columns: &[(String, String)]) -> String {
    columns
        .iter()
        .map(|(name, kind)| format!("`{name}` ({kind})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stack of each async worker: DataFusion plans and optimises expressions recursively on
/// these threads, and tokio's default (2 MiB) leaves little room for the deepest features
/// flow computes (up to `MAX_FEATURE_SQL_BYTES` of SQL); the main thread has 8 MiB.
const WORKER_STACK_BYTES: usize = 16 << 20;

/// A tokio runtime for the runtime's async calls; DataFusion uses all its worker threads.
pub fn async_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
        .map_err(|e| Failure::internal(miette::miette!("cannot start the async runtime: {e}")))
}

/// Runs one command.
pub fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Check(args) => check::check(&args),
        Command::Run(args) => run::run(&args),
        Command::Explain(args) => explain::explain(&args),
        Command::Query(args) => query::query(&args),
        Command::Runs(args) => runs::runs(&args),
        Command::Export(args) => export::export(&args),
        Command::Apply(args) => apply::apply(&args),
        Command::Report(args) => report::report(&args),
        Command::Ops(args) => ops::ops(&args),
        Command::Init(args) => init::init(&args),
    }
}
