//! A run's lifecycle through the runtime API: interrupted at a safe point, resumed to the
//! very evaluations an uninterrupted run makes, and refused when the pipeline or the data
//! changed in between.

mod common;

use common::{unwrap, without_timings};
use std::path::Path;

use flow_runtime::operator::log::EvaluationRow;
use flow_runtime::store::{Results, RunStatus};
use flow_runtime::{
    ResumeTarget, RunOptions, RunSummary, RuntimeError, load_pipeline, run_pipeline,
};
use tokio::sync::watch;

const SPACE: &str = r#"        use "std.numeric" "std.arithmetic""#;
const SEARCH: &str = "        iterations 60\n        seed 5\n        checkpoint-interval \"1ms\"";

async fn run(
    path: &Path,
    overrides: &[&str],
    options: &RunOptions,
) -> Result<RunSummary, RuntimeError> {
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
    let pipeline = load_pipeline(path, &overrides).unwrap_or_else(|e| panic!("{e:?}"));
    run_pipeline(&pipeline, options, &mut |_| {}).await
}

/// Runs until `batches` batches of evaluations have streamed, then asks it to stop.
async fn interrupted_run(path: &Path, options: &RunOptions, batches: usize) -> RuntimeError {
    let (tx, rx) = watch::channel(false);
    let options = RunOptions {
        interrupt: Some(rx),
        ..options.clone()
    };
    let pipeline = load_pipeline(path, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    let mut seen = 0;
    let outcome = run_pipeline(&pipeline, &options, &mut |_| {
        seen += 1;
        if seen == batches {
            let _ = tx.send(true);
        }
    })
    .await;
    match outcome {
        Err(e) => e,
        Ok(summary) => panic!(
            "the run ended before it was interrupted ({} rows)",
            summary.evaluations.len()
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_run_makes_exactly_the_evaluations_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    let whole = unwrap(
        run(
            &path,
            &[],
            &RunOptions {
                output: Some(common::unique_memory_location("whole")),
                ..RunOptions::default()
            },
        )
        .await,
    );

    let location = common::unique_memory_location("interrupted");
    let options = RunOptions {
        output: Some(location.clone()),
        ..RunOptions::default()
    };
    match interrupted_run(&path, &options, 4).await {
        RuntimeError::Interrupted {
            run_id,
            evaluations,
            resume,
            ..
        } => {
            assert_eq!(run_id, whole.run_id);
            assert!(
                evaluations > 0 && evaluations < whole.scored() as u64,
                "{evaluations}"
            );
            assert!(resume.ends_with(&format!("--resume {run_id}")), "{resume}");
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
    let results = unwrap(Results::open(&location, dir.path()).await);
    let stored = unwrap(results.runs().await);
    assert_eq!(stored[0].status, RunStatus::Interrupted);
    assert!(stored[0].finished_at.is_some());

    // Starting it again without --resume is refused: it would throw the work away.
    match run(&path, &[], &options).await {
        Err(RuntimeError::AlreadyRun { status, help, .. }) => {
            assert_eq!(status, "interrupted");
            assert!(help.contains("--resume"), "{help}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.run_id)),
    }

    let resumed = unwrap(
        run(
            &path,
            &[],
            &RunOptions {
                resume: Some(ResumeTarget::Latest),
                ..options.clone()
            },
        )
        .await,
    );
    assert_eq!(
        without_timings(&resumed.evaluations),
        without_timings(&whole.evaluations)
    );
    assert_eq!(
        resumed.best,
        EvaluationRow {
            duration_ms: resumed.best.duration_ms,
            feature_ms: resumed.best.feature_ms,
            fit_ms: resumed.best.fit_ms,
            ..whole.best.clone()
        }
    );
    // The store holds the whole log once, in order, and the run is completed.
    let results = unwrap(Results::open(&location, dir.path()).await);
    let batches = unwrap(
        results
            .sql("SELECT * FROM evaluations ORDER BY iteration")
            .await,
    );
    let stored: Vec<EvaluationRow> = batches
        .iter()
        .flat_map(flow_runtime::operator::log::rows_from_batch)
        .collect();
    assert_eq!(
        without_timings(&stored),
        without_timings(&whole.evaluations)
    );
    let run = unwrap(results.run(None).await);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.best_features, whole.best.feature_names);
}

#[tokio::test(flavor = "multi_thread")]
async fn resuming_with_a_changed_pipeline_or_changed_data_says_what_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    let location = common::unique_memory_location("changed");
    let options = RunOptions {
        output: Some(location.clone()),
        ..RunOptions::default()
    };
    let RuntimeError::Interrupted { run_id, .. } = interrupted_run(&path, &options, 2).await else {
        panic!("expected an interruption");
    };
    let resume = RunOptions {
        resume: Some(ResumeTarget::Latest),
        ..options.clone()
    };

    match run(&path, &["search.iterations=61"], &resume).await {
        Err(RuntimeError::CannotResume { message, .. }) => {
            assert!(message.contains(&run_id), "{message}");
            assert!(message.contains("the pipeline changed"), "{message}");
            assert!(message.contains("    - search iterations=60 "), "{message}");
            assert!(message.contains("    + search iterations=61 "), "{message}");
            assert!(!message.contains("the data changed"), "{message}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.run_id)),
    }

    let data = dir.path().join("planted.csv");
    let original = std::fs::read_to_string(&data).expect("readable");
    std::fs::write(&data, original.replacen('1', "2", 1)).expect("writable");
    match run(&path, &[], &resume).await {
        Err(RuntimeError::CannotResume { message, .. }) => {
            assert!(
                message.contains("the data changed: it was sha256:"),
                "{message}"
            );
            assert!(!message.contains("the pipeline changed"), "{message}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.run_id)),
    }

    // Restored data: the run continues.
    std::fs::write(&data, original).expect("writable");
    let resumed = unwrap(run(&path, &[], &resume).await);
    assert_eq!(resumed.run_id, run_id);

    // Nothing left to resume.
    match run(&path, &[], &resume).await {
        Err(RuntimeError::CannotResume { message, .. }) => {
            assert!(message.contains("is completed"), "{message}");
        }
        other => panic!("expected a refusal, got {:?}", other.map(|s| s.run_id)),
    }
}
