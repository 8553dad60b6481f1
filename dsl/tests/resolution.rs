//! How imports combine into one operation space, and the semantic checks that span blocks.

mod support;

use flow_dsl::ErrorKind;
use support::{assert_points_at, load_text, render};

fn pipeline(space: &str, extra: &str) -> String {
    format!(
        r#"pipeline "p" {{
    dataset {{
        source "train.csv"
        target "y"
    }}
    space {{
{space}
    }}
    evaluator {{
        model "linear-regression"
{extra}
    }}
}}
"#
    )
}

#[test]
fn a_tuning_applies_whichever_import_brings_the_operation_first() {
    for space in [
        "use \"std.all\"\nuse \"std.numeric\" {\n    log weight=3.0\n}",
        "use \"std.numeric\" {\n    log weight=3.0\n}\nuse \"std.all\"",
    ] {
        let (_, result) = load_text("p.kdl", &pipeline(space, ""), &[]);
        let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
        assert_eq!(resolved.operations["log"].spec.weight, 3.0, "{space}");
        assert!(resolved.operations.contains_key("ratio"));
    }
}

#[test]
fn disabling_an_operation_in_any_import_removes_it() {
    let space = "use \"std.all\"\nuse \"std.numeric\" {\n    sqrt enabled=#false\n}";
    let (_, result) = load_text("p.kdl", &pipeline(space, ""), &[]);
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
    assert!(!resolved.operations.contains_key("sqrt"));
    assert!(resolved.operations.contains_key("log"));
}

#[test]
fn tuning_one_operation_differently_twice_is_an_error() {
    let space = "use \"std.numeric\" {\n    log weight=3.0\n}\nuse \"std.numeric\" {\n    log weight=2.0\n}";
    let (_, result) = load_text("p.kdl", &pipeline(space, ""), &[]);
    let d = result.expect_err("conflicting tunings");
    assert!(d.has(ErrorKind::Duplicate), "{}", render(&d));
}

#[test]
fn stratified_folds_need_a_classification_evaluator() {
    let text = pipeline("use \"std.numeric\"", "        cv \"stratified\" folds=3");
    let (sources, result) = load_text("p.kdl", &text, &[]);
    let d = result.expect_err("regression with stratified folds");
    assert_points_at(&sources, &d, ErrorKind::Incompatible, "\"stratified\"");
}

#[test]
fn the_target_cannot_be_dropped_or_listed_as_a_feature() {
    let text = pipeline("use \"std.numeric\"\ninclude \"y\"", "")
        .replace("target \"y\"", "target \"y\"\n        drop \"y\"");
    let (sources, result) = load_text("p.kdl", &text, &[]);
    let d = result.expect_err("target misused");
    assert_eq!(
        d.items
            .iter()
            .filter(|i| i.kind == ErrorKind::Incompatible)
            .count(),
        2,
        "{}",
        render(&d)
    );
    assert_points_at(&sources, &d, ErrorKind::Incompatible, "\"y\"");
}

#[test]
fn tab_separated_files_default_to_a_tab_delimiter() {
    let text = pipeline("use \"std.numeric\"", "").replace("train.csv", "train.tsv");
    let (_, result) = load_text("p.kdl", &text, &[]);
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(resolved.spec.dataset.csv.delimiter, b'\t');
}

#[test]
fn input_names_are_checked_where_they_are_declared() {
    let space = r#"op "bad" {
    input "my-x" type="numeric"
    sql "ln({my_x})"
    output "numeric"
}"#;
    let (sources, result) = load_text("p.kdl", &pipeline(space, ""), &[]);
    let d = result.expect_err("invalid input name");
    assert_points_at(&sources, &d, ErrorKind::InvalidValue, "\"my-x\"");
}

#[test]
fn overrides_of_repeated_or_missing_nodes_are_refused() {
    let space = "use \"std.numeric\"\nuse \"std.arithmetic\"";
    let (sources, result) = load_text("p.kdl", &pipeline(space, ""), &["space.use=std.text"]);
    let d = result.expect_err("two `use` nodes");
    assert_points_at(&sources, &d, ErrorKind::InvalidOverride, "use");

    let (sources, result) = load_text("p.kdl", &pipeline(space, ""), &["evaluator.cv.folds=3"]);
    let d = result.expect_err("no cv node");
    let found = assert_points_at(&sources, &d, ErrorKind::InvalidOverride, "cv");
    assert!(
        found
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("-S evaluator.cv=…"),
        "{}",
        render(&d)
    );

    let (_, result) = load_text(
        "p.kdl",
        &pipeline(space, ""),
        &["evaluator.cv=k-fold", "evaluator.cv.folds=3"],
    );
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(
        resolved.spec.evaluator.cv.scheme,
        flow_dsl::CvScheme::KFold { folds: 3 }
    );
}

#[test]
fn reading_the_target_requires_leaving_the_fold_out() {
    let leaky = r#"op "target-mean" {
    input "c" type="categorical"
    sql "avg({target}) OVER (PARTITION BY {c})"
    output "numeric"
}"#;
    let (sources, result) = load_text("p.kdl", &pipeline(leaky, ""), &[]);
    let d = result.expect_err("target without fold");
    let found = assert_points_at(
        &sources,
        &d,
        ErrorKind::InvalidTemplate,
        "\"avg({target}) OVER (PARTITION BY {c})\"",
    );
    assert!(found.message.contains("without `{fold}`"), "{}", render(&d));
    let safe = leaky.replace("PARTITION BY {c})", "PARTITION BY {c}, {fold})");
    let (_, result) = load_text("p.kdl", &pipeline(&safe, ""), &[]);
    result.unwrap_or_else(|d| panic!("{}", render(&d)));
}
