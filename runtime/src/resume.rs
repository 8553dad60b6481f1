//! Which stored run `flow run --resume` continues, and why it refuses: a run can only be
//! continued by the same pipeline on the same data with the same seed, so anything that
//! changed is named.

use crate::error::RuntimeError;
use crate::load::LoadedPipeline;
use crate::store::{
    RunIdentity, RunManifest, RunStatus, StoreLocation, now_micros, read_manifests,
};

/// The run to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeTarget {
    /// The latest interrupted run of this pipeline.
    Latest,
    /// This run id (or a unique prefix of it).
    Run(String),
}

/// The most lines of a pipeline change listed in a refusal.
const MAX_CHANGED_LINES: usize = 12;

/// Finds the stored run to continue and checks it is this pipeline's, on this data.
pub async fn find(
    pipeline: &LoadedPipeline,
    identity: &RunIdentity,
    location: &StoreLocation,
    target: &ResumeTarget,
) -> Result<RunManifest, RuntimeError> {
    let refuse = |message: String, help: String| RuntimeError::CannotResume { message, help };
    let runs = read_manifests(location)
        .await
        .map_err(|message| RuntimeError::Results {
            location: location.display.clone(),
            message,
        })?;
    let now = now_micros();
    let name = &pipeline.resolved.spec.name.value;
    let stored = match target {
        ResumeTarget::Run(id) => {
            let mut matching: Vec<&RunManifest> = runs
                .iter()
                .filter(|r| r.run_id.starts_with(id.as_str()))
                .collect();
            match matching.len() {
                1 => matching.remove(0).clone(),
                0 => {
                    return Err(refuse(
                        format!("there is no run `{id}` at {}", location.display),
                        format!(
                            "`flow runs {}` lists the runs stored there",
                            location.display
                        ),
                    ));
                }
                n => {
                    return Err(refuse(
                        format!("`{id}` matches {n} runs at {}", location.display),
                        "give more characters of the run id".to_owned(),
                    ));
                }
            }
        }
        ResumeTarget::Latest => {
            // This very run first; otherwise the latest interrupted run of this pipeline,
            // which then says what changed.
            let own = runs.iter().find(|r| r.run_id == identity.run_id);
            let latest = runs
                .iter()
                .filter(|r| &r.pipeline == name && r.effective_status(now).is_resumable())
                .max_by_key(|r| r.created_at);
            match own
                .filter(|r| r.effective_status(now).is_resumable())
                .or(latest)
                .or(own)
            {
                Some(run) => run.clone(),
                None => {
                    return Err(refuse(
                        format!(
                            "there is no interrupted run of pipeline \"{name}\" at {}",
                            location.display
                        ),
                        "run it without `--resume` to start a new run".to_owned(),
                    ));
                }
            }
        }
    };
    let changes = changes(&stored, identity, &pipeline.resolved.canonical_text());
    if !changes.is_empty() {
        return Err(refuse(
            format!(
                "run {} cannot be continued by this pipeline on this data:\n{}",
                stored.run_id,
                changes.join("\n")
            ),
            "a resumed run must compute exactly what the interrupted one did: restore the pipeline and data it ran with, or run without `--resume` to start a new run (the interrupted one stays stored)".to_owned(),
        ));
    }
    match stored.effective_status(now) {
        RunStatus::Interrupted => Ok(stored),
        RunStatus::Completed => Err(refuse(
            format!(
                "run {} is completed: there is nothing to resume",
                stored.run_id
            ),
            format!("see it with `flow runs {}`", location.display),
        )),
        RunStatus::Failed => Err(refuse(
            format!(
                "run {} failed ({}); a failed run is not resumed",
                stored.run_id,
                stored.error.as_deref().unwrap_or("no reason recorded")
            ),
            "fix the cause and run it again without `--resume`".to_owned(),
        )),
        RunStatus::Created | RunStatus::Running | RunStatus::Resuming => Err(refuse(
            format!(
                "run {} is still going on (process {} on {})",
                stored.run_id, stored.pid, stored.host
            ),
            "wait for it, or stop it (Ctrl-C) and resume then".to_owned(),
        )),
    }
}

/// What differs between a stored run and this pipeline on this data, one line each.
fn changes(stored: &RunManifest, identity: &RunIdentity, canonical: &str) -> Vec<String> {
    let mut out = Vec::new();
    if stored.spec_hash != identity.spec_hash {
        out.push("  the pipeline changed (lines of its canonical form):".to_owned());
        let before: Vec<&str> = stored.canonical_spec.lines().collect();
        let after: Vec<&str> = canonical.lines().collect();
        let mut lines: Vec<String> = before
            .iter()
            .filter(|l| !after.contains(l))
            .map(|l| format!("    - {l}"))
            .chain(
                after
                    .iter()
                    .filter(|l| !before.contains(l))
                    .map(|l| format!("    + {l}")),
            )
            .collect();
        if lines.len() > MAX_CHANGED_LINES {
            let more = lines.len() - MAX_CHANGED_LINES;
            lines.truncate(MAX_CHANGED_LINES);
            lines.push(format!("    … and {more} more"));
        }
        out.extend(lines);
    }
    if stored.data_fingerprint != identity.data_fingerprint {
        out.push(format!(
            "  the data changed: it was {} and is now {}",
            stored.data_fingerprint, identity.data_fingerprint
        ));
    }
    out
}
