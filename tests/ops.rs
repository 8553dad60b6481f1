//! `flow ops` end to end: the real binary lists the standard library, filters it by
//! module, shows one operation in full, and turns unknown names into diagnostics with a
//! suggestion and exit code 1.

use assert_cmd::Command;

fn flow() -> Command {
    let mut cmd = Command::cargo_bin("flow").expect("the flow binary is built");
    cmd.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    cmd
}

/// Runs `flow ops ARGS…` and returns (exit code, stdout, stderr).
fn ops(args: &[&str]) -> (Option<i32>, String, String) {
    let out = flow().arg("ops").args(args).output().expect("flow runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The row of the listing that shows `name`.
fn row<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for `{name}` in:\n{listing}"))
}

#[test]
fn ops_lists_every_operation_grouped_by_module() {
    let (code, stdout, stderr) = ops(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    let catalog = flow_stdlib::Catalog::load();
    let mut last_heading = 0;
    for m in &catalog.modules {
        let heading = stdout
            .find(&format!("\n{}  ", m.module.name))
            .or_else(|| stdout.starts_with(m.module.name).then_some(0))
            .unwrap_or_else(|| panic!("no heading for {}:\n{stdout}", m.module.name));
        assert!(heading >= last_heading, "modules out of order:\n{stdout}");
        last_heading = heading;
        for op in &m.ops {
            let line = row(&stdout, &op.name.value);
            assert!(
                line.contains(op.doc.as_deref().unwrap_or_default()),
                "{line}"
            );
        }
    }
    assert!(stdout.contains(&format!("{} operations", catalog.len())));
}

#[test]
fn ops_rows_show_the_signature_and_doc_in_aligned_columns() {
    let (_, stdout, _) = ops(&[]);
    let ratio = row(&stdout, "ratio");
    assert!(
        ratio.contains("(x: numeric, y: numeric) -> numeric"),
        "{ratio}"
    );
    assert!(ratio.ends_with("x / y, NULL where y is 0."), "{ratio}");
    let lag = row(&stdout, "lag");
    assert!(lag.contains("(x: numeric, n: int = 1) -> numeric"), "{lag}");
    // Signatures start in one column, and so do docs.
    let column = |line: &str, needle: &str| {
        line.chars().count() - line[line.find(needle).unwrap_or(0)..].chars().count()
    };
    assert_eq!(column(ratio, "(x"), column(lag, "(x"));
    assert_eq!(column(ratio, "x / y"), column(lag, "The value"));
}

#[test]
fn ops_module_filter_shows_only_that_module() {
    let (code, stdout, stderr) = ops(&["--module", "std.numeric"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("std.numeric  "), "{stdout}");
    row(&stdout, "log");
    row(&stdout, "is-null");
    assert!(!stdout.contains("std.temporal"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.trim_start().starts_with("ratio ")));
    assert!(stdout.contains("10 operations"), "{stdout}");
}

#[test]
fn ops_name_shows_one_operation_in_full() {
    let (code, stdout, stderr) = ops(&["lag"]);
    assert_eq!(code, Some(0), "{stderr}");
    for expected in [
        "lag(x: numeric, n: int = 1) -> numeric",
        "The value n rows earlier in time order",
        "module       std.temporal",
        "parameter    n: int, candidates 1 2 7 (the first is the default)",
        "weight       0.8",
        "commutative  no",
        "dataset      time, group",
        "sql          lag(CAST({x} AS DOUBLE), {n}) OVER (PARTITION BY {group} ORDER BY {time}, {row})",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    let (_, product, _) = ops(&["product"]);
    assert!(product.contains("commutative  yes"), "{product}");
}

#[test]
fn ops_name_and_module_must_agree() {
    let (code, stdout, _) = ops(&["log", "--module", "std.numeric"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("log(x: numeric) -> numeric"), "{stdout}");

    let (code, stdout, stderr) = ops(&["lag", "--module", "std.numeric"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("`lag` is in std.temporal, not in std.numeric"),
        "{stderr}"
    );
}

#[test]
fn unknown_operation_is_a_user_error_with_a_suggestion() {
    let (code, stdout, stderr) = ops(&["rolling_mean"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("flow::unknown-operation"), "{stderr}");
    assert!(stderr.contains("no operation `rolling_mean`"), "{stderr}");
    assert!(stderr.contains("did you mean `rolling-mean`?"), "{stderr}");

    let (code, _, stderr) = ops(&["lgo", "--module", "std.numeric"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("no operation `lgo` in std.numeric"),
        "{stderr}"
    );
    assert!(stderr.contains("`log`"), "{stderr}");
}

#[test]
fn unknown_module_is_a_user_error_with_a_suggestion() {
    let (code, stdout, stderr) = ops(&["--module", "std.numerik"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("flow::unknown-module"), "{stderr}");
    assert!(stderr.contains("did you mean `std.numeric`?"), "{stderr}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // `flow ops | head -1`: the reader goes away; flow still exits 0.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("flow"))
        .arg("ops")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("flow starts");
    drop(child.stdout.take());
    let status = child.wait().expect("flow exits");
    assert_eq!(status.code(), Some(0));
}
