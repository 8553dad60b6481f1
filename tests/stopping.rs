//! End-to-end tests of why a search stops: each way (its budget, its time limit, its
//! patience, a space with nothing left to try) is said in the summary, `--json` and the
//! `runs` table.

use std::fmt::Write as _;
use std::path::Path;

mod common;

use common::{flow, text};

/// 150 rows: y = a·b + a small wobble, so compositions keep improving for a while.
fn write_data(dir: &Path) {
    let mut csv = String::from("a,b,y\n");
    for i in 0..150u32 {
        let a = f64::from(i % 13) - 6.0;
        let b = f64::from((i * 7) % 11) - 5.0;
        let wobble = f64::from((i * 31) % 17) / 17.0;
        let _ = writeln!(csv, "{a},{b},{}", a * b + wobble);
    }
    std::fs::write(dir.join("data.csv"), csv).expect("writes the data");
}

/// Runs a pipeline with this `space` and `search` block: (the JSON summary, the human
/// summary of the same run, the stored `stop_reason`).
fn stopped(dir: &Path, space: &str, search: &str) -> (serde_json::Value, String, String) {
    let pipeline = format!(
        r#"pipeline "stops" {{
    dataset {{
        source "data.csv"
        target "y"
    }}
    space {{ {space} }}
    evaluator {{
        model "linear-regression"
        confirm #false
    }}
    search {{ {search} }}
    output "results"
}}
"#
    );
    std::fs::write(dir.join("p.kdl"), pipeline).expect("writes the pipeline");
    let run = |extra: &[&str]| {
        let out = flow()
            .current_dir(dir)
            .args(["run", "p.kdl", "--force"])
            .args(extra)
            .output()
            .expect("flow runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let json = run(&["--json"]);
    let summary: serde_json::Value =
        serde_json::from_str(json.lines().last().expect("a summary")).expect("JSON");
    let human = run(&[]);
    let sql = format!(
        "SELECT stop_reason FROM runs WHERE run_id = '{}'",
        summary["run_id"].as_str().expect("a run id")
    );
    let query = flow()
        .current_dir(dir)
        .args(["query", "results", &sql, "--format", "csv"])
        .output()
        .expect("flow queries");
    assert!(query.status.success(), "{}", text(&query.stderr));
    let stored = text(&query.stdout)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (summary, human, stored)
}

#[test]
fn every_way_a_search_stops_is_recorded_and_said() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_data(dir.path());
    let wide = r#"use "std.numeric" "std.arithmetic"; max-depth 2"#;

    let (json, human, stored) = stopped(dir.path(), wide, "iterations 4; seed 1");
    assert_eq!(json["stopped"], "budget", "{json}");
    assert_eq!(stored, "budget");
    assert!(
        human.contains("the search stopped because it scored its budget of 4 feature sets"),
        "{human}"
    );

    let (json, human, stored) = stopped(dir.path(), wide, "iterations 100000; patience 3; seed 1");
    assert_eq!(json["stopped"], "patience", "{json}");
    assert_eq!(stored, "patience");
    assert!(human.contains("its patience ran out"), "{human}");
    assert!(json["evaluations"].as_u64() < Some(100_000), "{json}");

    let (json, human, stored) = stopped(
        dir.path(),
        wide,
        r#"iterations 100000000; time-limit "2s"; seed 1"#,
    );
    assert_eq!(json["stopped"], "time-limit", "{json}");
    assert_eq!(stored, "time-limit");
    assert!(human.contains("its time limit passed"), "{human}");

    // One operation on one column: a single feature to try.
    let tiny = r#"op "double" { input "x" type="numeric"; sql "{x} * 2"; output "numeric"; }
        exclude "b"; max-depth 1"#;
    let (json, human, stored) = stopped(dir.path(), tiny, "iterations 1000; seed 1");
    assert_eq!(json["stopped"], "exhausted", "{json}");
    assert_eq!(stored, "exhausted");
    assert!(
        human.contains("it tried every feature set the space allows"),
        "{human}"
    );
}
