//! `flow run`: run a pipeline's feature search, show progress, print what it found.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use flow_runtime::{Progress, ResumeTarget, RunOptions, RunSummary, load_pipeline, run_pipeline};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use super::Failure;
use crate::cli::RunArgs;

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
    let options = RunOptions {
        memory_limit_bytes,
        output: None,
        force: args.force,
        resume: args.resume.as_deref().map(|run| match run {
            "latest" => ResumeTarget::Latest,
            id => ResumeTarget::Run(id.to_owned()),
        }),
        interrupt: Some(watch_signals(&runtime)),
    };
    let bar = progress_bar(args.quiet || args.json);
    let json = args.json;
    let mut report = |p: &Progress| {
        if json {
            print_json(&serde_json::json!({
                "event": "progress",
                "evaluations": p.evaluations,
                "rejected": p.rejected,
                "budget": p.budget,
                "baseline": p.baseline,
                "best": p.best,
                "failed": p.failed,
                "cache_hits": p.cache_hits,
                "elapsed_s": p.elapsed.as_secs_f64(),
            }));
        }
        bar.set_length(p.budget);
        bar.set_position(p.evaluations);
        let rate = p.evaluations as f64 / p.elapsed.as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "best {} (baseline {}) · {rate:.1} eval/s",
            fmt_score(p.best),
            fmt_score(p.baseline)
        ));
    };
    let summary = runtime.block_on(run_pipeline(&pipeline, &options, &mut report));
    bar.finish_and_clear();
    let summary = summary?;
    if json {
        print_json(&summary_json(&summary));
    } else if !args.quiet {
        let _ = std::io::stdout().write_all(summary_text(&summary).as_bytes());
    }
    Ok(())
}

/// Turns the first Ctrl-C or SIGTERM into a request to stop at the next safe point (the
/// run then stores a checkpoint and exits 130); a second one exits at once, which loses only
/// what was not committed yet: every stored file is whole.
fn watch_signals(runtime: &tokio::runtime::Runtime) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    runtime.spawn(async move {
        let Some(mut signals) = StopSignals::new() else {
            return;
        };
        signals.next().await;
        let _ = writeln!(
            std::io::stderr(),
            "\nstopping at the next safe point to store a checkpoint… (Ctrl-C again to stop at once)"
        );
        let _ = tx.send(true);
        signals.next().await;
        let _ = writeln!(std::io::stderr(), "\nstopped at once");
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

fn progress_bar(hidden: bool) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} evaluations · {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn fmt_score(score: Option<f64>) -> String {
    score.map_or_else(|| "–".to_owned(), |s| format!("{s:.4}"))
}

fn print_json(value: &serde_json::Value) {
    let _ = writeln!(std::io::stdout(), "{value}");
}

fn summary_json(s: &RunSummary) -> serde_json::Value {
    serde_json::json!({
        "event": "summary",
        "run_id": s.run_id,
        "metric": s.best.metric,
        "baseline": s.baseline,
        "best": s.best.mean,
        "uplift": s.uplift(),
        "evaluations": s.scored(),
        "rejected": s.count("rejected"),
        "failed": s.count("failed"),
        "best_features": s.best.feature_names,
        "best_feature_sql": s.best.feature_sql,
        "results": s.location,
        "skipped_columns": s.skipped_columns.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        "elapsed_s": s.elapsed.as_secs_f64(),
    })
}

fn summary_text(s: &RunSummary) -> String {
    let mut out = format!(
        "run {} · {} evaluations ({} failed, {} candidates rejected) in {:.1}s\n",
        s.run_id,
        s.scored(),
        s.count("failed"),
        s.count("rejected"),
        s.elapsed.as_secs_f64()
    );
    out.push_str(&format!(
        "{}: baseline {:.4} → best {:.4} ({:+.2}%)\n",
        s.best.metric,
        s.baseline,
        s.best.mean.unwrap_or(s.baseline),
        s.uplift() * 100.0
    ));
    out.push_str("best feature set:\n");
    let base = s
        .evaluations
        .first()
        .map_or(0, |root| root.feature_names.len());
    for (i, (name, sql)) in s
        .best
        .feature_names
        .iter()
        .zip(&s.best.feature_sql)
        .enumerate()
    {
        if i < base {
            continue;
        }
        out.push_str(&format!("  {name}\n      {sql}\n"));
    }
    if s.best.feature_names.len() <= base {
        out.push_str("  (no engineered feature beat the base columns)\n");
    }
    if !s.skipped_columns.is_empty() {
        out.push_str(&format!(
            "note: the search skipped {}: nested values cannot be features\n",
            super::describe_columns(&s.skipped_columns)
        ));
    }
    let location = shell_word(&s.location);
    out.push_str(&format!("results: {}\n", s.location));
    out.push_str(&format!(
        "next:\n  flow runs {location}\n  flow query {location} \"SELECT name, best_score, sql FROM features WHERE run_id = '{id}' ORDER BY best_score {order} LIMIT 10\"\n  flow export {location} --run {id}\n",
        id = s.run_id,
        order = if s.higher_is_better { "DESC" } else { "ASC" }
    ));
    out
}

/// `text` as one word for a POSIX shell.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
