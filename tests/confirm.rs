//! End-to-end tests of the confirmation holdout (`evaluator { confirm 0.25 }`): the search
//! never sees the held-out rows, and their scores are what a model fitted on the searched
//! rows makes of them, computed here independently.

use std::fmt::Write as _;
use std::path::Path;

mod common;

use common::{flow, text};

/// Rows of the generated dataset.
const ROWS: usize = 200;

/// Rows with `t` at or past this are the latest quarter: the held-out rows.
const CUTOFF: usize = 150;

/// The jump of the target on the held-out rows, which no feature of `x` can predict.
const SHIFT: f64 = 100.0;

/// A small pseudo-random sequence (xorshift), so the data needs no generator crate.
fn noise(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    #[allow(clippy::cast_precision_loss)]
    let unit = (*state % 10_000) as f64 / 10_000.0;
    unit - 0.5
}

/// (t, x, y) rows: `t` a permutation of 0..ROWS (so the latest rows are spread through
/// the file), y = 2x + 1 + noise, plus [`SHIFT`] on the latest quarter.
fn dataset() -> Vec<(usize, f64, f64)> {
    let mut state = 0x9e37_79b9_7f4a_7c15;
    (0..ROWS)
        .map(|i| {
            let t = (i * 77) % ROWS;
            #[allow(clippy::cast_precision_loss)]
            let x = (i % 37) as f64 + noise(&mut state);
            let shift = if t >= CUTOFF { SHIFT } else { 0.0 };
            (t, x, 2.0 * x + 1.0 + noise(&mut state) + shift)
        })
        .collect()
}

fn write_pipeline(dir: &Path, rows: &[(usize, f64, f64)]) -> std::path::PathBuf {
    let mut csv = String::from("t,x,y\n");
    for (t, x, y) in rows {
        let _ = writeln!(csv, "{t},{x},{y}");
    }
    std::fs::write(dir.join("data.csv"), csv).expect("writes the data");
    let pipeline = dir.join("pipeline.kdl");
    std::fs::write(
        &pipeline,
        r#"pipeline "held-out" {
    dataset {
        source "data.csv"
        target "y"
        time "t"
    }
    space {
        use "std.numeric"
        exclude "t"
    }
    evaluator {
        model "linear-regression"
        metric "rmse"
        confirm 0.25
    }
    search {
        iterations 10
    }
    output "results"
}
"#,
    )
    .expect("writes the pipeline");
    pipeline
}

/// Ordinary least squares of y on x over `rows`: (slope, intercept).
fn least_squares(rows: &[&(usize, f64, f64)]) -> (f64, f64) {
    #[allow(clippy::cast_precision_loss)]
    let n = rows.len() as f64;
    let mean_x = rows.iter().map(|r| r.1).sum::<f64>() / n;
    let mean_y = rows.iter().map(|r| r.2).sum::<f64>() / n;
    let sxy: f64 = rows.iter().map(|r| (r.1 - mean_x) * (r.2 - mean_y)).sum();
    let sxx: f64 = rows.iter().map(|r| (r.1 - mean_x).powi(2)).sum();
    let slope = sxy / sxx;
    (slope, mean_y - slope * mean_x)
}

/// `flow run --json --force` (the same run again replaces the stored one): its summary.
fn summary_json(dir: &Path, pipeline: &Path) -> serde_json::Value {
    summary_json_with(dir, pipeline, &[])
}

/// [`summary_json`] with more arguments (`-S` overrides).
fn summary_json_with(dir: &Path, pipeline: &Path, args: &[&str]) -> serde_json::Value {
    let out = flow()
        .current_dir(dir)
        .arg("run")
        .arg(pipeline)
        .args(["--json", "--force"])
        .args(args)
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().expect("a summary line");
    serde_json::from_str(last).expect("the summary is JSON")
}

#[test]
fn the_latest_rows_are_held_out_and_scored_by_a_model_fitted_on_the_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = dataset();
    let pipeline = write_pipeline(dir.path(), &rows);
    let summary = summary_json(dir.path(), &pipeline);
    let held = &summary["held_out"];
    assert_eq!(held["rows"], ROWS - CUTOFF, "{summary}");

    // The search never saw the shifted rows: its cross-validated error is the noise's.
    let cv_baseline = summary["baseline"].as_f64().expect("a baseline");
    assert!(cv_baseline < 1.0, "{summary}");

    // The base model is y ~ x fitted on the earlier rows, scored on the latest ones.
    let (earlier, latest): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.0 < CUTOFF);
    let (slope, intercept) = least_squares(&earlier);
    #[allow(clippy::cast_precision_loss)]
    let rmse = (latest
        .iter()
        .map(|r| (r.2 - (slope * r.1 + intercept)).powi(2))
        .sum::<f64>()
        / latest.len() as f64)
        .sqrt();
    let baseline = held["baseline"].as_f64().expect("a held-out baseline");
    assert!(
        (baseline - rmse).abs() < 1e-6 * rmse,
        "held-out baseline {baseline}, computed here {rmse}"
    );
    assert!(rmse > SHIFT * 0.9, "the shift shows on the held-out rows");
    let best = held["best"].as_f64().expect("a held-out best score");
    // Confirmed when the best set beats the base columns there (RMSE: lower), or when it
    // is the base column alone (nothing to withhold).
    let engineered = summary["best_features"]
        .as_array()
        .is_some_and(|names| names.iter().any(|n| n != "x"));
    assert_eq!(
        held["confirmed"],
        best < baseline || !engineered,
        "{summary}"
    );

    // The runs table and the export say the same.
    let runs = flow()
        .current_dir(dir.path())
        .args(["runs", "results", "--format", "csv"])
        .output()
        .expect("flow runs");
    assert!(runs.status.success(), "{}", text(&runs.stderr));
    let runs = text(&runs.stdout);
    assert!(
        runs.lines()
            .next()
            .unwrap_or_default()
            .ends_with(",uplift,confirm_uplift"),
        "{runs}"
    );
    let export = flow()
        .current_dir(dir.path())
        .args(["export", "results"])
        .output()
        .expect("flow runs");
    assert!(export.status.success(), "{}", text(&export.stderr));
    let export = text(&export.stdout);
    assert!(
        export.contains(&format!(
            "on {} held-out rows the search never saw",
            ROWS - CUTOFF
        )),
        "{export}"
    );

    // So does the report's summary.
    let report = flow()
        .current_dir(dir.path())
        .args(["report", "results", "-o", "-"])
        .output()
        .expect("flow runs");
    assert!(report.status.success(), "{}", text(&report.stderr));
    let html = text(&report.stdout);
    assert!(html.contains("uplift on held-out rows"), "a card");
    assert!(
        html.contains(&format!(
            "{} rows the search never saw: baseline {}",
            ROWS - CUTOFF,
            // The report prints scores with four decimals.
            format_args!("{baseline:.4}")
        )),
        "the held-out fact"
    );

    // The same pipeline and data hold out the same rows and score them the same.
    let again = summary_json(dir.path(), &pipeline);
    assert_eq!(again["held_out"], summary["held_out"]);
}

#[test]
fn too_few_rows_are_not_held_out_and_the_run_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows: Vec<_> = dataset().into_iter().take(60).collect();
    let pipeline = write_pipeline(dir.path(), &rows);
    let out = flow()
        .current_dir(dir.path())
        .arg("run")
        .arg(&pipeline)
        .arg("--force")
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "held-out rows not scored: 60 rows are too few to hold 0.25 of them out and \
             still search"
        ),
        "{stdout}"
    );
    let summary = summary_json(dir.path(), &pipeline);
    assert!(
        summary["held_out"]["not_scored"]
            .as_str()
            .is_some_and(|why| why.contains("cross-validated only")),
        "{summary}"
    );
}

#[test]
fn a_final_model_scores_the_held_out_rows_instead_of_the_search_model() {
    // y steps from 0 to 10 at x = 18: a line cannot follow it, a depth-2 tree can.
    let mut state = 0x2545_f491_4f6c_dd1d;
    let rows: Vec<(usize, f64, f64)> = dataset()
        .into_iter()
        .map(|(t, x, _)| {
            (
                t,
                x,
                if x > 18.0 { 10.0 } else { 0.0 } + 0.1 * noise(&mut state),
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let pipeline = write_pipeline(dir.path(), &rows);
    let linear = summary_json(dir.path(), &pipeline);
    let tree = summary_json_with(
        dir.path(),
        &pipeline,
        &[
            "-S",
            "evaluator.final-model=decision-tree",
            "-S",
            "evaluator.final-model.max-depth=2",
        ],
    );
    // The search itself is the same: the final model only scores the held-out rows.
    assert_eq!(tree["baseline"], linear["baseline"]);
    assert_eq!(linear["held_out"]["model"], "linear-regression");
    assert_eq!(tree["held_out"]["model"], "decision-tree");
    let held_baseline = |s: &serde_json::Value| s["held_out"]["baseline"].as_f64().expect("scored");
    assert!(held_baseline(&linear) > 2.0, "{linear}");
    assert!(held_baseline(&tree) < 0.5, "{tree}");
    // The summary and the export say which model the held-out figure is of.
    let out = flow()
        .current_dir(dir.path())
        .args(["export", "results"])
        .output()
        .expect("flow exports");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("-- rmse of decision-tree "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn features_the_held_out_rows_do_not_confirm_are_left_out_of_export_and_apply() {
    // y = 2x + 3·x·z on the searched rows, but the interaction is gone from the latest
    // quarter (the held-out rows): the search's product of x and z hurts there.
    let mut state = 0x1234_5678_9abc_def1;
    let mut csv = String::from("t,x,z,y\n");
    for (t, x, _) in dataset() {
        let x = x - 18.0;
        let z = 10.0 * noise(&mut state);
        let interaction = if t < CUTOFF { 3.0 * x * z } else { 0.0 };
        let y = 2.0 * x + interaction + 0.1 * noise(&mut state);
        let _ = writeln!(csv, "{t},{x},{z},{y}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("data.csv"), csv).expect("writes the data");
    let pipeline = dir.path().join("pipeline.kdl");
    std::fs::write(
        &pipeline,
        r#"pipeline "gate" {
    dataset {
        source "data.csv"
        target "y"
        time "t"
    }
    space {
        use "std.arithmetic"
        exclude "t"
        max-depth 1
    }
    evaluator {
        model "linear-regression"
        metric "rmse"
        confirm 0.25
    }
    search {
        iterations 20
    }
    output "results"
}
"#,
    )
    .expect("writes the pipeline");
    let summary = summary_json(dir.path(), &pipeline);
    let best: Vec<&str> = summary["best_features"]
        .as_array()
        .expect("a best set")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let product = best
        .iter()
        .find(|f| f.starts_with("product("))
        .expect("the search finds the interaction")
        .to_string();
    let held = &summary["held_out"];
    assert!(
        held["best"].as_f64() > held["baseline"].as_f64(),
        "the product hurts on the held-out rows: {summary}"
    );
    assert_eq!(held["confirmed"], false, "{summary}");

    // The summary says what export and apply will do.
    let run = flow()
        .current_dir(dir.path())
        .args(["run", "pipeline.kdl", "--force"])
        .output()
        .expect("flow runs");
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("the held-out rows did not confirm the features"),
        "{}",
        text(&run.stdout)
    );

    let export = |extra: &[&str]| {
        let out = flow()
            .current_dir(dir.path())
            .args(["export", "results"])
            .args(extra)
            .output()
            .expect("flow exports");
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (sql, note) = export(&[]);
    assert!(sql.contains(": the base columns alone"), "{sql}");
    assert!(!sql.contains(&product), "{sql}");
    assert!(note.contains("only the base columns are given"), "{note}");
    let (sql, note) = export(&["--unconfirmed"]);
    assert!(sql.contains(&format!("AS \"{product}\"")), "{sql}");
    assert!(note.contains("given anyway"), "{note}");

    let apply = |extra: &[&str]| {
        let out = flow()
            .current_dir(dir.path())
            .args(["apply", "results", "--input", "data.csv", "--format", "csv"])
            .args(["-o", "applied.csv"])
            .args(extra)
            .output()
            .expect("flow applies");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let written = std::fs::read_to_string(dir.path().join("applied.csv")).expect("written");
        written.lines().next().unwrap_or_default().to_owned()
    };
    assert_eq!(apply(&[]), "y,x,z");
    // The report says it too.
    let report = flow()
        .current_dir(dir.path())
        .args(["report", "results", "-o", "-"])
        .output()
        .expect("flow reports");
    assert!(report.status.success(), "{}", text(&report.stderr));
    assert!(
        text(&report.stdout).contains("not confirmed, so <code>flow export</code>"),
        "the held-out fact gives the verdict"
    );
    // CSV quotes the name: it holds a comma.
    assert_eq!(apply(&["--unconfirmed"]), format!("y,x,z,\"{product}\""));
}
