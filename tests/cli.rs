//! End-to-end tests of the `flow` binary on real files: exit codes and what is printed.

use std::path::{Path, PathBuf};

mod common;

use common::{flow, repo};

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
        .collect();
    files.sort();
    files
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

/// Ten houses: enough rows for five folds, as `flow check` prepares them like a run.
const CSV: &str = "id,price,area,rooms,city\n1,100,50,2,a\n2,150,70,3,b\n3,90,40,1,a\n\
                   4,210,95,4,b\n5,120,55,2,c\n6,170,80,3,a\n7,80,35,1,c\n8,260,120,5,b\n\
                   9,140,60,2,a\n10,190,85,4,c\n";

/// `text` as one line: a diagnostic's lines joined, its frame (`│`) left out.
fn flat(text: &str) -> String {
    text.replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn pipeline(target: &str) -> String {
    format!(
        r#"pipeline "houses" {{
    dataset {{
        source "houses.csv"
        target "{target}"
        id "id"
    }}
    space {{ use "std.numeric" }}
    evaluator {{ model "decision-tree" }}
}}
"#
    )
}

#[test]
fn every_shipped_example_checks_clean() {
    let examples = examples();
    assert!(examples.len() >= 3, "examples are missing: {examples:?}");
    for example in examples {
        let out = flow()
            .arg("check")
            .arg(&example)
            .output()
            .expect("flow runs");
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            example.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("is valid"), "{stdout}");
        assert!(stdout.contains("spec hash"), "{stdout}");
    }
}

#[test]
fn check_reads_the_data_and_reports_its_shape() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "houses.csv", CSV);
    let file = write(dir.path(), "houses.kdl", &pipeline("price"));
    let out = flow().arg("check").arg(&file).output().expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(csv, 5 columns)"), "{stdout}");
    assert!(stdout.contains("operations"), "{stdout}");
    assert!(!stdout.contains("halving"), "{stdout}");
    // Settings that change the search are shown, such as successive halving.
    let out = flow()
        .arg("check")
        .arg(&file)
        .args(["-S", "search.halving=true", "-S", "search.halving.rungs=2"])
        .output()
        .expect("flow runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("seed 0, halving (factor 3, 2 rungs)"),
        "{stdout}"
    );
}

#[test]
fn a_column_missing_from_the_data_is_a_user_error_naming_the_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "houses.csv", CSV);
    let file = write(dir.path(), "houses.kdl", &pipeline("prise"));
    let out = flow().arg("check").arg(&file).output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the data has no column `prise`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `price`?"), "{stderr}");
    assert!(stderr.contains("houses.kdl:4:"), "{stderr}");
    // --no-data skips the data, so the same pipeline is valid.
    let out = flow()
        .args(["check", "--no-data"])
        .arg(&file)
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unreadable_dataset_is_a_user_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "houses.kdl", &pipeline("price"));
    let out = flow().arg("check").arg(&file).output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the dataset"), "{stderr}");
}

#[test]
fn an_invalid_pipeline_exits_1_with_every_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "bad.kdl",
        r#"pipeline "bad" {
    dataset { source "x.csv"; target "y"; sampel rows=3 }
    space { use "std.numerc" }
    evaluator { model "random-forest" tress=10 }
}
"#,
    );
    let out = flow().arg("check").arg(&file).output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "3 problems in",
        "flow::unknown-node",
        "did you mean `sample`?",
        "flow::unknown-module",
        "did you mean `std.numeric`?",
        "flow::unknown-property",
        "bad.kdl:2:",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
}

#[test]
fn a_missing_pipeline_file_is_a_user_error() {
    let out = flow()
        .args(["check", "no/such/pipeline.kdl"])
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the pipeline file no/such/pipeline.kdl"),
        "{stderr}"
    );
}

#[test]
fn a_data_file_given_as_a_pipeline_is_named_as_such_with_the_init_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = write(dir.path(), "houses.csv", CSV);
    let parquet_without_extension = write(dir.path(), "table", "PAR1 and the rest");
    for (command, file) in [
        ("run", &csv),
        ("check", &csv),
        ("run", &parquet_without_extension),
    ] {
        let out = flow().arg(command).arg(file).output().expect("flow runs");
        assert_eq!(out.status.code(), Some(1), "{command} {}", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("flow::not-a-pipeline"), "{stderr}");
        let name = file.file_name().and_then(|n| n.to_str()).expect("a name");
        let said = flat(&stderr);
        assert!(said.contains("is a data file, not a pipeline"), "{stderr}");
        assert!(said.contains("flow init --dataset"), "{stderr}");
        assert!(said.contains(name), "{stderr}");
        assert!(stderr.lines().count() < 15, "one diagnostic: {stderr}");
    }
}

#[test]
fn runs_on_a_directory_that_is_not_a_results_store_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "notes.txt", "not results");
    write(dir.path(), "houses.csv", CSV);
    let out = flow()
        .arg("runs")
        .arg(dir.path())
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        flat(&stderr).contains("it is not a flow results store: none of its 2 files"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "no warning per file: {stderr}");
}

/// A regression on `data.csv`'s column `y`, results in `results`.
const DATA_CSV_REGRESSION: &str = r#"pipeline "p" {
    dataset {
        source "data.csv"
        target "y"
        task "regression"
    }
    space { use "std.numeric" }
    evaluator { model "linear-regression" }
    search { iterations 3 }
    output "results"
}
"#;

/// Data that `flow run` refuses before its first fit fails `flow check` with the same
/// diagnostic, and nothing is written.
#[test]
fn check_refuses_what_run_refuses_with_the_same_diagnostic() {
    let cases = [
        ("header-only", "a,b,y\n", "has no rows"),
        ("one-row", "a,b,y\n1,2,3\n", "a search needs at least 2"),
        (
            "no-features",
            "y\n1\n2\n3\n4\n5\n6\n",
            "no column can feed the model",
        ),
        (
            "constant",
            "a,y\n1,5\n2,5\n3,5\n4,5\n5,5\n6,5\n",
            "holds the same value (5)",
        ),
        (
            "all-null",
            "a,y\n1,\n2,\n3,\n4,\n",
            "is empty (NULL) in all 4 rows",
        ),
        (
            "words",
            "a,y\n1,x\n2,y\n3,x\n4,y\n5,x\n6,y\n",
            "which is not a number",
        ),
        (
            "infinite",
            "a,y\n1,inf\n2,3\n3,4\n4,5\n5,6\n6,7\n",
            "not a finite number",
        ),
    ];
    for (name, csv, says) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "data.csv", csv);
        let path = write(dir.path(), "pipeline.kdl", DATA_CSV_REGRESSION);
        let diagnostic = |command: &str| {
            let out = flow().arg(command).arg(&path).output().expect("flow runs");
            assert_eq!(out.status.code(), Some(1), "{name}: {command}");
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(
                stderr.contains("flow::dataset"),
                "{name}: {command}: {stderr}"
            );
            assert!(flat(&stderr).contains(says), "{name}: {command}: {stderr}");
            stderr
        };
        let checked = diagnostic("check");
        assert!(
            !dir.path().join("results").exists(),
            "{name}: check wrote results"
        );
        assert_eq!(checked, diagnostic("run"), "{name}");
    }
}

#[test]
fn check_says_how_many_rows_the_search_gets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("a,b,y\n");
    for i in 0..200 {
        let y = if i % 10 == 0 {
            String::new()
        } else {
            format!("{}", i % 7)
        };
        csv.push_str(&format!("{i},{},{y}\n", i * 3 % 11));
    }
    write(dir.path(), "data.csv", &csv);
    let path = write(dir.path(), "pipeline.kdl", DATA_CSV_REGRESSION);
    let out = flow().arg("check").arg(&path).output().expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "rows        200 read, dropped 20 without a target: 144 searched, 36 held out"
        ),
        "{stdout}"
    );
}

#[test]
fn overrides_apply_and_are_validated() {
    let example = repo().join("examples/diabetes.kdl");
    let out = flow()
        .arg("check")
        .arg(&example)
        .args(["-S", "search.iterations=7", "-S", "search.seed=9"])
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("7 iterations"), "{stdout}");
    assert!(stdout.contains("seed 9"), "{stdout}");

    let out = flow()
        .arg("check")
        .arg(&example)
        .args(["-S", "evaluator.cv.folds=1"])
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-S evaluator.cv.folds=1"), "{stderr}");
    assert!(stderr.contains("must be between 2 and 100"), "{stderr}");
}

#[test]
fn json_output_is_one_object_per_pipeline() {
    let examples = examples();
    let out = flow()
        .args(["check", "--format", "json"])
        .args(&examples)
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), examples.len());
    for line in &lines {
        assert_eq!(line["valid"], true);
        assert_eq!(line["spec_hash"].as_str().map(str::len), Some(64));
        assert!(line["operations"].as_u64().unwrap_or(0) > 0);
    }
}

#[test]
fn the_spec_hash_ignores_formatting_but_not_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "houses.csv", CSV);
    let a = write(dir.path(), "a.kdl", &pipeline("price"));
    let b = write(
        dir.path(),
        "b.kdl",
        &format!(
            "// same pipeline, other layout\n{}",
            pipeline("price").replace("    ", "\t")
        ),
    );
    let hash = |file: &Path, extra: &[&str]| {
        let out = flow()
            .args(["check", "--format", "json"])
            .arg(file)
            .args(extra)
            .output()
            .expect("flow runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["spec_hash"].as_str().expect("a hash").to_owned()
    };
    assert_eq!(hash(&a, &[]), hash(&b, &[]));
    assert_ne!(hash(&a, &[]), hash(&a, &["-S", "search.seed=5"]));
}

#[test]
fn every_command_of_the_brief_has_help() {
    for command in [
        "run", "check", "explain", "query", "runs", "export", "apply", "report", "ops", "init",
    ] {
        let out = flow()
            .args([command, "--help"])
            .output()
            .expect("flow runs");
        assert!(out.status.success(), "`flow {command} --help` failed");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: flow"));
    }
    let out = flow().arg("--help").output().expect("flow runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("automated feature engineering"), "{stdout}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = flow().arg("frobnicate").output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"));
    let out = flow().arg("check").output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn run_searches_an_example_and_stores_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("out");
    let out = flow()
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["-S", "search.iterations=12", "-S"])
        .arg(format!("output={}", output.display()))
        .output()
        .expect("flow runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("12 evaluations"), "{stdout}");
    assert!(stdout.contains("rmse: baseline"), "{stdout}");
    assert!(stdout.contains("best feature set"), "{stdout}");
    assert!(output.join("runs").is_dir(), "{stdout}");
    assert!(
        stdout.contains(&format!("flow runs {}", output.display())),
        "{stdout}"
    );
    // Nothing but errors goes to stderr when it is not a terminal.
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn run_json_prints_progress_and_a_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = flow()
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["--json", "-S", "search.iterations=8", "-S"])
        .arg(format!("output={}", dir.path().display()))
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["evaluations"], 8);
    assert!(summary["baseline"].as_f64().is_some());
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l["event"] == "progress")
    );
}

/// `--json` is `--format json` on every command that reports; the runs listing gives
/// scripts the `runs` table's own column names and unrounded values.
#[test]
fn json_is_one_flag_with_plain_keys_everywhere() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().display().to_string();
    let out = flow()
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["--format", "json", "-S", "search.iterations=6", "-S"])
        .arg(format!("output={results}"))
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .expect("a summary");
    assert_eq!(summary["event"], "summary");

    let json_lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = flow().args(args).output().expect("flow runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
            .collect()
    };
    let runs = json_lines(&["runs", &results, "--json"]);
    assert_eq!(runs, json_lines(&["runs", &results, "--format", "json"]));
    let run = &runs[0];
    for key in [
        "run_id",
        "status",
        "duration_ms",
        "baseline",
        "best_score",
        "uplift",
    ] {
        assert!(run.get(key).is_some(), "no `{key}` in {run}");
    }
    assert!(run.get("uplift %").is_none(), "{run}");
    // Unrounded: the listing for people shows 4 decimals.
    let baseline = run["baseline"].as_f64().expect("a number");
    assert_eq!(Some(baseline), summary["baseline"].as_f64(), "{run}");

    let query = ["query", &results, "SELECT count(*) AS n FROM evaluations"];
    let counted = json_lines(&[query.as_slice(), &["--json"]].concat());
    assert_eq!(counted[0]["n"], 6);
    let ops = json_lines(&["ops", "--json", "--module", "std.numeric"]);
    assert!(ops.len() > 3, "{ops:?}");
    assert!(
        ops.iter()
            .all(|op| op["module"] == "std.numeric" && op["sql"].is_string())
    );
    let log = json_lines(&["ops", "log", "--json"]);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["inputs"][0]["type"], "numeric");

    // One format at a time.
    let out = flow()
        .args(["runs", &results, "--json", "--format", "csv"])
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// `flow check --json` gives each problem as data: its code, message, help and where it
/// is, line and column included.
#[test]
fn check_json_gives_each_diagnostic_with_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "houses.csv", CSV);
    let text = pipeline("price").replace("\"decision-tree\"", "\"decision-treee\"");
    write(dir.path(), "p.kdl", &text);
    let out = flow()
        .current_dir(dir.path())
        .args(["check", "--json", "p.kdl"])
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(line["pipeline"], "p.kdl");
    assert_eq!(line["valid"], false);
    let diagnostic = &line["diagnostic"];
    let code = diagnostic["code"].as_str().unwrap_or_default();
    assert!(code.starts_with("flow::"), "{diagnostic}");
    assert!(diagnostic["message"].is_string(), "{diagnostic}");
    // The label points at the misspelt model, wherever the diagnostic is nested.
    let mut spans = Vec::new();
    let mut pending = vec![diagnostic.clone()];
    while let Some(d) = pending.pop() {
        for label in d["labels"].as_array().into_iter().flatten() {
            spans.push(label["span"].clone());
        }
        pending.extend(d["related"].as_array().into_iter().flatten().cloned());
    }
    let wanted_line = text
        .lines()
        .position(|l| l.contains("decision-treee"))
        .expect("there")
        + 1;
    assert!(
        spans
            .iter()
            .any(|s| s["line"] == wanted_line && s["column"].as_u64() > Some(1)),
        "no label on line {wanted_line}: {diagnostic}"
    );
}

#[test]
fn explain_shows_the_feature_search_inside_the_datafusion_plan() {
    let out = flow()
        .arg("explain")
        .arg(repo().join("examples/diabetes.kdl"))
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repo = repo().display().to_string();
    let text = String::from_utf8_lossy(&out.stdout)
        .replace(&repo, "[REPO]")
        .replace(repo.trim_start_matches('/'), "[REPO]");
    insta::assert_snapshot!("explain_diabetes", text);
}

#[test]
fn every_shipped_example_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    for example in examples() {
        let name = example
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let output = dir.path().join(&name);
        let out = flow()
            .arg("run")
            .arg(&example)
            .args(["--quiet", "-S", "search.iterations=6", "-S"])
            .arg(format!("output={}", output.display()))
            .output()
            .expect("flow runs");
        assert!(
            out.status.success(),
            "{name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.is_empty(),
            "--quiet printed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(output.join("evaluations").is_dir(), "{name} wrote no log");
    }
}

#[test]
fn a_dataset_over_the_memory_limit_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = flow()
        .arg("run")
        .arg(repo().join("examples/bikeshare.kdl"))
        .args(["--memory-limit", "64KiB", "-S"])
        .arg(format!("output={}", dir.path().display()))
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // miette wraps long messages, so look for pieces that fit on one line.
    assert!(stderr.contains("does not fit in the"), "{stderr}");
    assert!(stderr.contains("`--memory-limit`"), "{stderr}");

    let out = flow()
        .arg("run")
        .arg(repo().join("examples/bikeshare.kdl"))
        .args(["--memory-limit", "lots"])
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a size"));
}

#[test]
fn check_validates_module_files_too() {
    let out = flow()
        .arg("check")
        .arg(repo().join("examples/ops/cyclical.kdl"))
        .output()
        .expect("flow runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("is a valid module: 2 operations (cycle-cos, cycle-sin)"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = write(
        dir.path(),
        "bad_ops.kdl",
        "op \"half\" {\n    input \"x\" type=\"numeric\"\n    sql \"{y} / 2\"\n    output \"numeric\"\n}\n",
    );
    let out = flow().arg("check").arg(&bad).output().expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("flow::undeclared-placeholder"), "{stderr}");
    assert!(stderr.contains("bad_ops.kdl:3:"), "{stderr}");
}
