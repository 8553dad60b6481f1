//! `flow run`: run a pipeline's feature search, show progress, print what it found; and
//! the signals that stop a run at a safe point.

mod format;
mod progress;
mod style;
mod summary;

use std::io::{IsTerminal, Write};

use flow_runtime::store::RunStatus;
use flow_runtime::{Progress, ResumeTarget, RunOptions, RuntimeError, load_pipeline, run_pipeline};
use tokio::sync::watch;

use progress::LiveDisplay;
use style::Palette;

use super::Failure;
use crate::cli::{Format, RunArgs};

/// Runs the pipeline and prints its summary.
pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let pipeline = load_pipeline(&args.pipeline.pipeline, &args.pipeline.overrides)?;
    let memory_limit_bytes = args
        .memory_limit
        .as_deref()
        .map(|text| {
            flow_dsl::parse_size(text).map_err(|why| {
                Failure::user(miette::miette!(
                    code = "flow::invalid-size",
                    help = "write a number and a unit: `512MiB`, `4GiB`, `2GB`",
                    "`--memory-limit {text}` is not a size: {why}"
                ))
            })
        })
        .transpose()?;
    let runtime = super::async_runtime()?;
    let search = &pipeline.resolved.spec.search;
    let time_limit = search.time_limit;
    let json = args.format.get() == Format::Json;
    let display = LiveDisplay::new(
        !args.quiet && !json && std::io::stderr().is_terminal(),
        search.iterations,
        time_limit,
        Palette::stderr(),
    );
    let options = RunOptions {
        memory_limit_bytes,
        output: None,
        force: args.force,
        resume: args.resume.as_deref().map(|run| match run {
            "latest" => ResumeTarget::Latest,
            id => ResumeTarget::Run(id.to_owned()),
        }),
        interrupt: Some(watch_signals(&runtime, display.notifier(), !args.quiet)),
    };
    let mut report = |p: &Progress| {
        if json {
            print_json(&progress::json_line(p, time_limit));
        }
        display.update(p);
    };
    let summary = runtime.block_on(run_pipeline(&pipeline, &options, &mut report));
    display.finish();
    let summary = match summary {
        Err(RuntimeError::AlreadyRun {
            run_id,
            location,
            status,
            ..
        }) if status == RunStatus::Completed.as_str() => {
            up_to_date(&run_id, &location, json, args.quiet);
            return Ok(());
        }
        other => other?,
    };
    if json {
        print_json(&summary::json(&summary));
    } else if !args.quiet {
        let stdout = std::io::stdout();
        let width = stdout
            .is_terminal()
            .then(|| console::Term::stdout().size_checked().map(|(_, w)| w))
            .flatten();
        let text = summary::text(&summary, Palette::stdout(), width);
        let _ = stdout.lock().write_all(text.as_bytes());
    }
    Ok(())
}

/// Says that the run the pipeline asks for is stored and completed: nothing to do, as
/// `make` says of a target whose inputs did not change.
fn up_to_date(run_id: &str, location: &str, json: bool, quiet: bool) {
    if json {
        print_json(&serde_json::json!({
            "run_id": run_id,
            "location": location,
            "status": RunStatus::Completed.as_str(),
            "up_to_date": true,
        }));
    } else if !quiet {
        let text = format!(
            "run {run_id} is up to date at {location}: the same pipeline, data and seed gave this search already\n\
             see it with `flow runs {location}`, or pass `--force` to run it again\n"
        );
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
}

/// Turns the first Ctrl-C or SIGTERM into a request to stop at the next safe point (the
/// run then stores a checkpoint and exits 130); a second one exits at once, which loses only
/// what was not committed yet: every stored file is whole. `say` prints on standard error
/// (the first notice only when `notify` is set).
fn watch_signals(
    runtime: &tokio::runtime::Runtime,
    say: impl Fn(&str) + Send + 'static,
    notify: bool,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    runtime.spawn(async move {
        let Some(mut signals) = StopSignals::new() else {
            return;
        };
        signals.next().await;
        if notify {
            say("\nstopping at the next safe point to store a checkpoint… (Ctrl-C again to stop at once)");
        }
        let _ = tx.send(true);
        signals.next().await;
        say("\nstopped at once");
        std::process::exit(i32::from(crate::EXIT_INTERRUPTED));
    });
    rx
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), watched from the moment this exists.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> Option<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Some(Self {
                interrupt: signal(SignalKind::interrupt()).ok()?,
                terminate: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Self {})
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print_json(value: &serde_json::Value) {
    let _ = writeln!(std::io::stdout(), "{value}");
}
