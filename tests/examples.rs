//! Every example pipeline under `examples/` runs: found by listing the directory (so a new
//! example cannot be forgotten), run through the real binary with a small budget into a
//! temporary output, and stored as a completed run. Pipelines whose output is on `s3://`
//! run against the loopback S3 server that `scripts/test.sh` starts.

mod common;

use std::path::{Path, PathBuf};

use common::{flow, repo, text};

/// Evaluations per example: enough to expand the tree a few times, small enough for a
/// debug build.
const ITERATIONS: &str = "search.iterations=8";

/// Every `.kdl` file under `dir` (recursively), sorted.
fn kdl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(kdl_files(&path));
        } else if path.extension().is_some_and(|e| e == "kdl") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A pipeline file has a top-level `pipeline` node; module files hold only `op` and `use`.
fn is_pipeline(path: &Path) -> bool {
    let source = std::fs::read_to_string(path).expect("readable example");
    source.lines().any(|line| line.starts_with("pipeline "))
}

/// The example pipelines, relative to the repository.
fn example_pipelines() -> Vec<PathBuf> {
    let pipelines: Vec<PathBuf> = kdl_files(&repo().join("examples"))
        .into_iter()
        .filter(|p| is_pipeline(p))
        .map(|p| {
            p.strip_prefix(repo())
                .expect("under the repo")
                .to_path_buf()
        })
        .collect();
    assert!(!pipelines.is_empty(), "no example pipelines found");
    pipelines
}

/// Whether the pipeline writes its results to S3.
fn writes_to_s3(path: &Path) -> bool {
    let source = std::fs::read_to_string(repo().join(path)).expect("readable example");
    source
        .lines()
        .any(|line| line.trim_start().starts_with("output \"s3://"))
}

/// A fresh prefix in the loopback server's bucket.
fn s3_location(name: &str) -> String {
    let bucket = std::env::var("FLOW_TEST_S3_BUCKET").unwrap_or_else(|_| {
        panic!(
            "the S3 example needs the loopback S3 server: run the tests through \
             scripts/test.sh, or start it with `eval \"$(scripts/s3-server.sh start \
             target/s3)\"` and export AWS_ENDPOINT=$FLOW_TEST_S3_ENDPOINT"
        )
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("s3://{bucket}/examples-{nanos}/{name}")
}

/// Runs one example into `location` and checks that a completed run was stored there.
fn run_example(pipeline: &Path, location: &str) -> Result<(), String> {
    let out = flow()
        .current_dir(repo())
        .arg("run")
        .arg(pipeline)
        .args(["--quiet", "-S", ITERATIONS, "-S"])
        .arg(format!("output={location}"))
        .output()
        .expect("flow runs");
    if !out.status.success() {
        return Err(format!(
            "{}: `flow run` exited with {}:\n{}",
            pipeline.display(),
            out.status,
            text(&out.stderr)
        ));
    }
    let out = flow()
        .args(["runs", location, "--format", "csv"])
        .output()
        .expect("flow runs");
    let listing = text(&out.stdout);
    if !out.status.success() || !listing.contains(",completed,") {
        return Err(format!(
            "{}: no completed run at {location}:\n{listing}{}",
            pipeline.display(),
            text(&out.stderr)
        ));
    }
    Ok(())
}

#[test]
fn every_example_pipeline_runs_to_a_completed_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for pipeline in example_pipelines() {
        let name = pipeline
            .with_extension("")
            .to_string_lossy()
            .replace(['/', '\\'], "-");
        let location = if writes_to_s3(&pipeline) {
            s3_location(&name)
        } else {
            dir.path().join(&name).display().to_string()
        };
        if let Err(failure) = run_example(&pipeline, &location) {
            failures.push(failure);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_example_pipeline_is_listed_in_the_examples_readme() {
    let readme = std::fs::read_to_string(repo().join("examples/README.md"))
        .expect("examples/README.md exists");
    let missing: Vec<String> = example_pipelines()
        .iter()
        .map(|p| p.display().to_string())
        .filter(|p| !readme.contains(&format!("flow run {p}")))
        .collect();
    assert!(
        missing.is_empty(),
        "examples/README.md should show `flow run <path>` for: {missing:?}"
    );
}

#[test]
fn generated_datasets_are_what_the_generator_writes() {
    let python = std::env::var("FLOW_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(&python)
        .arg(repo().join("examples/data/generate.py"))
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("this test runs `{python} examples/data/generate.py`: {e}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in ["store_sales.csv", "support_tickets.csv"] {
        let generated = std::fs::read(dir.path().join(name)).expect("generated");
        let committed = std::fs::read(repo().join("examples/data").join(name)).expect("committed");
        assert!(
            generated == committed,
            "examples/data/{name} differs from what examples/data/generate.py writes; \
             regenerate it with `python3 examples/data/generate.py`"
        );
    }
}
