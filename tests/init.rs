//! End-to-end tests of `flow init`: on every example dataset it writes a pipeline that
//! `flow check` accepts and `flow run` completes, with the task, model, metric, modules and
//! column roles the data calls for; bad input fails with a diagnostic and writes nothing;
//! on a terminal (a real pseudo-terminal, through `script`) it asks for what is missing.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{flow, repo, text};

/// What `flow init` should choose for one example dataset.
struct Expected {
    file: &'static str,
    target: &'static str,
    task: &'static str,
    model: &'static str,
    metric: &'static str,
    cv: &'static str,
    modules: &'static [&'static str],
    /// `id`, `time` and `group` nodes with their columns.
    roles: &'static [(&'static str, &'static str)],
}

const EXPECTED: &[Expected] = &[
    Expected {
        file: "bikeshare.csv",
        target: "bikers",
        task: "regression",
        model: "gradient-boosting",
        metric: "rmse",
        cv: "k-fold",
        modules: &["std.numeric", "std.arithmetic", "std.categorical"],
        roles: &[],
    },
    Expected {
        file: "breast_cancer.csv",
        target: "benign",
        task: "classification",
        model: "gradient-boosting",
        metric: "auc",
        cv: "stratified",
        modules: &["std.numeric", "std.arithmetic"],
        roles: &[],
    },
    Expected {
        file: "diabetes.csv",
        target: "progression",
        task: "regression",
        model: "gradient-boosting",
        metric: "rmse",
        cv: "k-fold",
        modules: &["std.numeric", "std.arithmetic"],
        roles: &[],
    },
    Expected {
        file: "seattle_weather.csv",
        target: "weather",
        task: "classification",
        model: "gradient-boosting",
        metric: "auc",
        cv: "stratified",
        modules: &["std.numeric", "std.arithmetic", "std.temporal"],
        roles: &[("time", "date")],
    },
    Expected {
        file: "store_sales.csv",
        target: "sales_tomorrow",
        task: "regression",
        model: "gradient-boosting",
        metric: "rmse",
        cv: "k-fold",
        modules: &[
            "std.numeric",
            "std.arithmetic",
            "std.categorical",
            "std.temporal",
        ],
        roles: &[("time", "date"), ("group", "store")],
    },
    Expected {
        file: "support_tickets.csv",
        target: "escalated",
        task: "classification",
        model: "gradient-boosting",
        metric: "auc",
        cv: "stratified",
        modules: &[
            "std.numeric",
            "std.arithmetic",
            "std.categorical",
            "std.text",
        ],
        roles: &[("id", "ticket_id")],
    },
];

fn example_datasets() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/data"))
        .expect("examples/data exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

/// The values of the nodes called `name` in KDL text: `use "std.numeric"` → `std.numeric`.
fn node_values(kdl: &str, name: &str) -> Vec<String> {
    kdl.lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix(&format!("{name} \"")))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// A rendered diagnostic as one line: miette wraps messages to the width of the terminal.
fn flat(bytes: &[u8]) -> String {
    text(bytes)
        .split_whitespace()
        .filter(|word| *word != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `flow init` in `cwd` with no terminal on standard input.
fn init(cwd: &Path, args: &[&str]) -> std::process::Output {
    flow()
        .current_dir(cwd)
        .arg("init")
        .args(args)
        .output()
        .expect("flow runs")
}

#[test]
fn every_example_dataset_gets_a_pipeline_that_checks_and_runs() {
    let datasets = example_datasets();
    let names: Vec<String> = datasets
        .iter()
        .map(|p| {
            p.file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let known: Vec<&str> = EXPECTED.iter().map(|e| e.file).collect();
    assert_eq!(
        names, known,
        "every dataset in examples/data needs its expected choices in EXPECTED"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for (data, expected) in datasets.iter().zip(EXPECTED) {
        let project = dir.path().join(expected.file.trim_end_matches(".csv"));
        let project_arg = project.to_str().expect("utf-8");
        let data_arg = data.to_str().expect("utf-8");
        let out = init(
            dir.path(),
            &[
                project_arg,
                "--dataset",
                data_arg,
                "--target",
                expected.target,
            ],
        );
        assert!(
            out.status.success(),
            "{}: {}",
            expected.file,
            text(&out.stderr)
        );
        let pipeline = project.join("pipeline.kdl");
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("✓ wrote {}", pipeline.display()))
                && stdout.contains(&format!("flow run {}", pipeline.display())),
            "{stdout}"
        );
        let kdl = std::fs::read_to_string(&pipeline).expect("the pipeline is written");
        let file = expected.file;
        assert_eq!(
            node_values(&kdl, "target"),
            [expected.target],
            "{file}\n{kdl}"
        );
        assert_eq!(node_values(&kdl, "task"), [expected.task], "{file}\n{kdl}");
        assert_eq!(
            node_values(&kdl, "model"),
            [expected.model],
            "{file}\n{kdl}"
        );
        assert_eq!(
            node_values(&kdl, "metric"),
            [expected.metric],
            "{file}\n{kdl}"
        );
        assert_eq!(node_values(&kdl, "cv"), [expected.cv], "{file}\n{kdl}");
        assert_eq!(
            node_values(&kdl, "final-model"),
            ["gradient-boosting"],
            "{file}\n{kdl}"
        );
        assert_eq!(node_values(&kdl, "use"), expected.modules, "{file}\n{kdl}");
        for role in ["id", "time", "group"] {
            let want: Vec<&str> = expected
                .roles
                .iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, c)| *c)
                .collect();
            assert_eq!(node_values(&kdl, role), want, "{file}: `{role}`\n{kdl}");
        }
        assert!(
            kdl.contains("\n// ") || kdl.starts_with("// "),
            "{file}: commented"
        );

        let out = flow()
            .arg("check")
            .arg(&pipeline)
            .output()
            .expect("flow runs");
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        let out = flow()
            .arg("run")
            .arg(&pipeline)
            .args(["-S", "search.iterations=15", "--quiet"])
            .output()
            .expect("flow runs");
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert!(
            project.join("results").is_dir(),
            "{file}: results are written next to the pipeline"
        );
    }
}

#[test]
fn the_source_is_relative_to_the_pipeline_and_names_and_file_names_can_be_chosen() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("data")).expect("writable");
    std::fs::copy(
        repo().join("examples/data/diabetes.csv"),
        dir.path().join("data/diabetes.csv"),
    )
    .expect("copied");
    let out = init(
        dir.path(),
        &[
            "models/first",
            "--dataset",
            "data/diabetes.csv",
            "--target",
            "progression",
            "--name",
            "progression one year on",
            "-o",
            "diabetes.kdl",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pipeline = dir.path().join("models/first/diabetes.kdl");
    let kdl = std::fs::read_to_string(&pipeline).expect("written under the directory");
    assert_eq!(
        node_values(&kdl, "source"),
        ["../../data/diabetes.csv"],
        "{kdl}"
    );
    assert_eq!(
        node_values(&kdl, "pipeline"),
        ["progression one year on"],
        "{kdl}"
    );
    assert!(
        text(&out.stdout).contains("flow check models/first/diabetes.kdl"),
        "{}",
        text(&out.stdout)
    );
    // Checked from elsewhere, the source still resolves: it is relative to the pipeline.
    let out = flow()
        .current_dir(repo())
        .arg("check")
        .arg(&pipeline)
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = init(
        &dir.path().join("data"),
        &["--dataset", "diabetes.csv", "--target", "progression"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kdl = std::fs::read_to_string(dir.path().join("data/pipeline.kdl"))
        .expect("DIR defaults to the current directory");
    assert_eq!(node_values(&kdl, "source"), ["diabetes.csv"], "{kdl}");
    assert_eq!(
        node_values(&kdl, "pipeline"),
        ["diabetes"],
        "named after the file"
    );
}

#[test]
fn an_existing_pipeline_is_kept_unless_forced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pipeline = dir.path().join("pipeline.kdl");
    std::fs::write(&pipeline, "// mine\n").expect("writable");
    let data = repo().join("examples/data/diabetes.csv");
    let data = data.to_str().expect("utf-8");
    let args = [".", "--dataset", data, "--target", "progression"];
    let out = init(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = flat(&out.stderr);
    assert!(stderr.contains("flow::init"), "{stderr}");
    assert!(stderr.contains("pipeline.kdl already exists"), "{stderr}");
    assert!(stderr.contains("--force"), "the fix is named: {stderr}");
    assert_eq!(
        std::fs::read_to_string(&pipeline).expect("kept"),
        "// mine\n"
    );

    let out = init(dir.path(), &[&args[..], &["--force"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kdl = std::fs::read_to_string(&pipeline).expect("written");
    assert_eq!(node_values(&kdl, "target"), ["progression"], "{kdl}");
}

#[test]
fn an_unknown_target_lists_the_columns_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = repo().join("examples/data/diabetes.csv");
    let data = data.to_str().expect("utf-8");
    let out = init(dir.path(), &["--dataset", data, "--target", "progresion"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = flat(&out.stderr);
    assert!(stderr.contains("flow::unknown-column"), "{stderr}");
    assert!(stderr.contains("no column `progresion`"), "{stderr}");
    assert!(stderr.contains("did you mean `progression`?"), "{stderr}");
    assert!(stderr.contains("`bmi`"), "the columns are listed: {stderr}");

    let out = init(dir.path(), &["--dataset", data, "--target", "zzz"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = flat(&out.stderr);
    assert!(
        !stderr.contains("did you mean"),
        "nothing is close: {stderr}"
    );
    assert!(stderr.contains("`age`"), "{stderr}");
    assert!(!dir.path().join("pipeline.kdl").exists());
}

#[test]
fn a_missing_dataset_or_an_unpredictable_target_is_a_diagnostic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = init(dir.path(), &["--dataset", "nope.csv", "--target", "y"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = flat(&out.stderr);
    assert!(stderr.contains("flow::dataset"), "{stderr}");
    assert!(stderr.contains("nope.csv: no such file"), "{stderr}");

    std::fs::write(dir.path().join("flat.csv"), "x,y\n1,5\n2,5\n3,5\n").expect("writable");
    let out = init(dir.path(), &["--dataset", "flat.csv", "--target", "y"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = flat(&out.stderr);
    assert!(stderr.contains("flow::init"), "{stderr}");
    assert!(stderr.contains("same value (5) in every row"), "{stderr}");
    assert!(!dir.path().join("pipeline.kdl").exists());
}

#[test]
fn without_a_terminal_missing_flags_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = init(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = flat(&out.stderr);
    assert!(stderr.contains("flow::init"), "{stderr}");
    assert!(
        stderr.contains("needs `--dataset` and `--target` when standard input is not a terminal"),
        "{stderr}"
    );

    let data = repo().join("examples/data/diabetes.csv");
    let out = init(dir.path(), &["--dataset", data.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = flat(&out.stderr);
    assert!(stderr.contains("needs `--target`"), "{stderr}");
    assert!(
        stderr.contains("`progression` (number)"),
        "the columns are listed: {stderr}"
    );
    assert!(!dir.path().join("pipeline.kdl").exists());
}

/// `flow` on a pseudo-terminal (util-linux `script`), read as it prints and answered when
/// a prompt shows: rustyline discards input typed before it asks.
struct Terminal {
    child: Child,
    input: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
    /// How much of the output earlier waits consumed.
    seen: usize,
}

impl Terminal {
    fn start(cwd: &Path, args: &[&str]) -> Self {
        let command = std::iter::once(env!("CARGO_BIN_EXE_flow"))
            .chain(args.iter().copied())
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = std::process::Command::new("script")
            .args(["-qefc", &command, "/dev/null"])
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the interactive tests need `script` (util-linux) on the PATH");
        let input = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("not poisoned")
                    .extend_from_slice(&buffer[..n]);
            }
        });
        Self {
            child,
            input,
            output,
            seen: 0,
        }
    }

    fn text(&self) -> String {
        text(&self.output.lock().expect("not poisoned"))
    }

    /// Waits until `wanted` is printed after what earlier waits saw.
    fn wait_for(&mut self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let all = self.text();
            if let Some(at) = all[self.seen.min(all.len())..].find(wanted) {
                self.seen += at + wanted.len();
                return;
            }
            assert!(Instant::now() < deadline, "no `{wanted}` in:\n{all}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `line` and Enter.
    fn answer(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\r").as_bytes())
            .expect("the terminal takes input");
        self.input.flush().expect("flushed");
    }

    /// Waits for the program to end; its exit code and everything it printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                // The reader thread drains what is left.
                std::thread::sleep(Duration::from_millis(200));
                return (status.code(), self.text());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("flow did not finish:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[test]
fn on_a_terminal_it_asks_for_the_dataset_and_the_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = repo().join("examples/data/seattle_weather.csv");
    let mut terminal = Terminal::start(dir.path(), &["init", "project"]);
    terminal.wait_for("Dataset file");
    terminal.answer("no/such.csv");
    terminal.wait_for("no such file");
    terminal.wait_for("Dataset file");
    terminal.answer(data.to_str().expect("utf-8"));
    terminal.wait_for("1461 rows, 6 columns");
    terminal.wait_for("weather        string");
    terminal.wait_for("Which column should flow predict? (name or number) [weather]");
    terminal.answer("weathr");
    terminal.wait_for("did you mean `weather`?");
    terminal.wait_for("Which column");
    terminal.answer("6");
    let (code, output) = terminal.finish();
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("✓ wrote project/pipeline.kdl"), "{output}");
    let kdl = std::fs::read_to_string(dir.path().join("project/pipeline.kdl")).expect("written");
    assert_eq!(node_values(&kdl, "target"), ["weather"], "{kdl}");
    assert_eq!(node_values(&kdl, "time"), ["date"], "{kdl}");
}

#[test]
fn on_a_terminal_the_default_target_is_the_last_column_and_ctrl_d_or_ctrl_c_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = repo().join("examples/data/diabetes.csv");
    let data = data.to_str().expect("utf-8");
    let mut terminal = Terminal::start(dir.path(), &["init", "--dataset", data]);
    terminal.wait_for("[progression]");
    terminal.answer("");
    let (code, output) = terminal.finish();
    assert_eq!(code, Some(0), "{output}");
    let kdl = std::fs::read_to_string(dir.path().join("pipeline.kdl")).expect("written");
    assert_eq!(node_values(&kdl, "target"), ["progression"], "{kdl}");

    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("writable");
    let mut terminal = Terminal::start(&elsewhere, &["init"]);
    terminal.wait_for("Dataset file");
    terminal
        .input
        .write_all(b"\x04")
        .expect("the terminal takes input");
    terminal.input.flush().expect("flushed");
    let (code, output) = terminal.finish();
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("stopped before a pipeline was written"),
        "{output}"
    );

    let mut terminal = Terminal::start(&elsewhere, &["init"]);
    terminal.wait_for("Dataset file");
    terminal
        .input
        .write_all(b"\x03")
        .expect("the terminal takes input");
    terminal.input.flush().expect("flushed");
    let (code, output) = terminal.finish();
    assert_eq!(
        code,
        Some(130),
        "Ctrl-C exits as an interrupt does: {output}"
    );
    assert!(!elsewhere.join("pipeline.kdl").exists());
}
