//! The `flow` binary: parses arguments, calls the runtime, renders results, and turns the
//! outcome into an exit code.
//!
//! Exit codes: 0 success; 1 the input (pipeline, data, arguments) has problems; 2 flow
//! itself failed or the command is not built yet; 130 a run stopped by Ctrl-C or SIGTERM
//! (stored as interrupted). A closed pipe exits 0.

mod cli;
mod commands;
mod prompt;
mod report;
mod scaffold;
mod shell;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc returns freed memory to the system promptly; glibc's per-thread arenas held on
/// to the search's short-lived model matrices, keeping the process far above its
/// `--memory-limit` (docs/benchmarks.md, "Memory").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for problems the user can fix.
const EXIT_USER_ERROR: u8 = 1;
/// Exit code for flow's own failures.
const EXIT_INTERNAL_ERROR: u8 = 2;
/// Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version requests print and succeed; a bad argument is the user's to fix.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(EXIT_USER_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{:?}", failure.report);
            ExitCode::from(if failure.interrupted {
                EXIT_INTERRUPTED
            } else if failure.user_error {
                EXIT_USER_ERROR
            } else {
                EXIT_INTERNAL_ERROR
            })
        }
    }
}
