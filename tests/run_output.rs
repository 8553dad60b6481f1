//! What `flow run` prints: the summary table and its next commands (which must work), the
//! `--json` lines, `--quiet`, colours only where they belong, and the live display in a
//! real terminal (a pseudo-terminal made by `script`).

mod common;

use std::path::Path;
use std::process::Output;

use common::{flow, repo, text};

const ITERATIONS: &str = "search.iterations=20";

/// `flow run examples/diabetes.kdl` with a small budget, writing to `output`.
fn run_diabetes(output: &Path, extra: &[&str]) -> Output {
    flow()
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["-S", ITERATIONS, "-S"])
        .arg(format!("output={}", output.display()))
        .args(extra)
        .output()
        .expect("flow runs")
}

/// Whether `text` holds an ANSI colour (SGR) sequence: `ESC [ <digits and ;> m`. Cursor
/// movement and line clearing are other sequences and do not count.
fn has_colour(text: &str) -> bool {
    text.split('\u{1b}').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|params| {
            let end = params
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(params.len());
            params[end..].starts_with('m')
        })
    })
}

/// A command line split into words as a POSIX shell would (quotes, no expansions).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' => words.extend(word.take()),
            '"' | '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    w.push(q);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The `next:` commands at the end of a summary, as argument lists without `flow`.
fn next_commands(summary: &str) -> Vec<Vec<String>> {
    let (_, next) = summary
        .split_once("\nnext:\n")
        .unwrap_or_else(|| panic!("no next commands in:\n{summary}"));
    next.lines()
        .map(|line| {
            let words = shell_words(line.trim());
            assert_eq!(words[0], "flow", "{line}");
            words[1..].to_vec()
        })
        .collect()
}

fn command<'a>(commands: &'a [Vec<String>], verb: &str) -> &'a [String] {
    commands
        .iter()
        .find(|c| c[0] == verb)
        .unwrap_or_else(|| panic!("no `flow {verb}` in {commands:?}"))
}

#[test]
fn the_summary_shows_the_top_features_and_next_commands_that_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("results");
    let out = run_diabetes(&output, &[]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.is_empty(),
        "nothing on stderr off a terminal: {stderr}"
    );
    let summary = text(&out.stdout);
    assert!(!has_colour(&summary), "{summary}");
    for expected in [
        "20 evaluations",
        "rmse: baseline ",
        "top features",
        "best rmse",
        "importance",
        "best feature set",
        "base columns",
        &format!("results: {}", output.display()),
    ] {
        assert!(summary.contains(expected), "{expected:?} in:\n{summary}");
    }
    let run_id = summary
        .strip_prefix("run ")
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the summary starts with the run id")
        .to_owned();
    assert_eq!(run_id.len(), 16, "{summary}");

    let commands = next_commands(&summary);
    let location = output.display().to_string();

    // The query lists the features the table shows, best first.
    let mut query = command(&commands, "query").to_vec();
    assert_eq!(query[1], location);
    query.extend(["--format".to_owned(), "json".to_owned()]);
    let out = flow().args(&query).output().expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let first: serde_json::Value = listed
        .lines()
        .next()
        .map(|line| serde_json::from_str(line).expect("JSON lines"))
        .unwrap_or_else(|| panic!("the query lists features: {listed}"));
    let best_name = first["name"].as_str().expect("a name");
    let best_score = format!("{:.4}", first["best_score"].as_f64().expect("a score"));
    let table: Vec<&str> = summary
        .lines()
        .skip_while(|line| !line.starts_with("top features"))
        .take_while(|line| !line.is_empty())
        .collect();
    assert!(
        table.iter().any(|line| line.contains(best_name)),
        "the query's best feature {best_name} is in the table:\n{}",
        table.join("\n")
    );
    let first_row = table
        .iter()
        .find(|line| {
            line.trim_start_matches('│')
                .split('┆')
                .next()
                .map(str::trim)
                == Some("1")
        })
        .unwrap_or_else(|| panic!("no first row in:\n{summary}"));
    assert!(
        first_row.contains(&best_score),
        "the table starts at the query's best score {best_score}: {first_row}"
    );

    let runs = flow()
        .args(command(&commands, "runs"))
        .output()
        .expect("flow runs");
    assert!(
        text(&runs.stdout).contains(&run_id),
        "{}",
        text(&runs.stdout)
    );

    let export = command(&commands, "export");
    assert_eq!(
        export[1..],
        [location.clone(), "--run".into(), run_id.clone()]
    );
    let out = flow().args(export).output().expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("SELECT"),
        "{}",
        text(&out.stdout)
    );

    // `flow report <location> --run <id> -o report.html`, written into the temp dir.
    let report = command(&commands, "report");
    assert_eq!(
        report[1..],
        [
            location.clone(),
            "--run".into(),
            run_id.clone(),
            "-o".into(),
            "report.html".into()
        ]
    );
    let out = flow()
        .args(report)
        .current_dir(dir.path())
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("written");
    assert!(html.contains(&run_id), "the report is of the run");
}

#[test]
fn output_is_plain_off_a_terminal_unless_colours_are_forced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = flow()
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["-S", ITERATIONS, "-S"])
        .arg(format!("output={}", dir.path().join("plain").display()))
        .output()
        .expect("flow runs");
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    assert!(!has_colour(&text(&plain.stdout)), "{}", text(&plain.stdout));

    let forced = flow()
        .env_remove("NO_COLOR")
        .env("FORCE_COLOR", "1")
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["-S", ITERATIONS, "-S"])
        .arg(format!("output={}", dir.path().join("forced").display()))
        .output()
        .expect("flow runs");
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(
        has_colour(&text(&forced.stdout)),
        "{}",
        text(&forced.stdout)
    );

    // NO_COLOR wins over FORCE_COLOR.
    let out = run_diabetes(&dir.path().join("no-color"), &[]);
    assert!(!has_colour(&text(&out.stdout)), "{}", text(&out.stdout));
}

#[test]
fn json_prints_progress_lines_then_exactly_one_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = flow()
        .env("FORCE_COLOR", "1")
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["--json", "-S", ITERATIONS, "-S"])
        .arg(format!("output={}", dir.path().display()))
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let (summary, progress) = lines.split_last().expect("lines");
    assert!(!progress.is_empty());
    let mut evaluations = 0;
    for line in progress {
        assert_eq!(line["event"], "progress", "{line}");
        for key in [
            "evaluations",
            "rejected",
            "budget",
            "baseline",
            "best",
            "uplift",
            "failed",
            "cache_hits",
            "cache_hit_rate",
            "elapsed_s",
            "remaining_s",
        ] {
            assert!(line.get(key).is_some(), "{key} in {line}");
        }
        let now = line["evaluations"].as_u64().expect("a count");
        assert!(now >= evaluations, "counts only grow: {line}");
        evaluations = now;
    }
    let last = progress.last().expect("a progress line");
    assert_eq!(last["evaluations"], 20);
    assert_eq!(last["remaining_s"], 0.0, "nothing left at the end: {last}");

    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["evaluations"], 20);
    assert_eq!(summary["metric"], "rmse");
    let (baseline, best) = (
        summary["baseline"].as_f64().expect("baseline"),
        summary["best"].as_f64().expect("best"),
    );
    let uplift = summary["uplift"].as_f64().expect("uplift");
    // rmse: lower is better, so a lower best is a positive uplift.
    assert_eq!(uplift > 0.0, best < baseline, "{summary}");
    assert!(summary["cache_hit_rate"].as_f64().is_some(), "{summary}");
    let top = summary["top_features"].as_array().expect("top features");
    assert!(!top.is_empty(), "{summary}");
    for feature in top {
        assert!(
            feature["name"].is_string() && feature["sql"].is_string(),
            "{feature}"
        );
        assert!(feature["best_score"].as_f64().is_some(), "{feature}");
    }
    // The top feature holds the search's best score; the best set is that set pruned,
    // which scores within its fold noise, so no better.
    let search_best = top[0]["best_score"].as_f64().expect("a score");
    assert!(search_best <= best, "{summary}");
    let best_set: Vec<&str> = summary["best_features"]
        .as_array()
        .expect("best features")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    let pruned = summary["pruned_features"].as_array().expect("pruned");
    for feature in top {
        let name = feature["name"].as_str().expect("a name");
        assert_eq!(
            feature["in_best_set"],
            best_set.contains(&name),
            "{feature}"
        );
        if pruned.iter().any(|p| p == name) {
            assert_eq!(feature["in_best_set"], false, "{feature}");
        }
    }
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_diabetes(dir.path(), &["--quiet"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert!(dir.path().join("runs").is_dir(), "the run is stored");
}

/// `flow run` in a pseudo-terminal of 120 columns: everything it wrote, escapes included.
fn run_in_terminal(output: &Path, no_color: bool) -> String {
    let flow = env!("CARGO_BIN_EXE_flow");
    let pipeline = repo().join("examples/diabetes.kdl");
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let line = format!(
        "stty rows 40 cols 120; {} run {} -S {ITERATIONS} -S output={}",
        quote(Path::new(flow)),
        quote(&pipeline),
        quote(output)
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let out = script.output().unwrap_or_else(|e| {
        panic!("this test needs `script` (util-linux) to make a terminal: {e}")
    });
    assert!(out.status.success(), "{}", text(&out.stdout));
    text(&out.stdout)
}

#[test]
fn the_live_display_redraws_progress_and_the_time_left_in_a_terminal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let screen = run_in_terminal(&dir.path().join("colour"), false);
    for expected in [
        "/20 evaluations",
        " elapsed",
        "s left",
        "vs baseline",
        "eval/s",
        "cached",
        "rejected",
    ] {
        assert!(screen.contains(expected), "{expected:?} in:\n{screen}");
    }
    // Redrawn in place (the cursor goes back up over the two lines), not scrolled.
    assert!(screen.contains("\u{1b}[1A"), "{screen}");
    assert!(has_colour(&screen), "colours on a terminal:\n{screen}");
    // The summary follows, after the display is cleared.
    assert!(screen.contains("top features"), "{screen}");

    let screen = run_in_terminal(&dir.path().join("plain"), true);
    assert!(screen.contains("s left"), "{screen}");
    assert!(screen.contains("\u{1b}[1A"), "{screen}");
    assert!(!has_colour(&screen), "NO_COLOR in a terminal:\n{screen}");
}
