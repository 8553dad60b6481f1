//! Every class of mistake a user can make in a pipeline is reported with a stable code, a
//! message, the exact span of the offending KDL and a fix hint. Each test loads a fixture
//! from `tests/fixtures`, checks the kind and the span, and snapshots what the user sees.

mod support;

use flow_dsl::ErrorKind;
use support::{assert_points_at, load_fixture, load_text, render};

/// Loads the fixture, expects failure, checks a diagnostic of `kind` at `at`, snapshots
/// the report, and returns the number of problems.
fn check(name: &str, kind: ErrorKind, at: &str) -> usize {
    let (sources, result) = load_fixture(name, &[]);
    let diagnostics = match result {
        Ok(_) => panic!("the fixture {name}.kdl was accepted"),
        Err(d) => d,
    };
    let found = assert_points_at(&sources, &diagnostics, kind, at);
    assert!(found.help.is_some(), "{name}: no help line");
    assert!(!found.message.is_empty());
    insta::assert_snapshot!(name, render(&diagnostics));
    diagnostics.items.len()
}

#[test]
fn valid_fixture_is_accepted() {
    let (_, result) = load_fixture("valid", &[]);
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(resolved.spec.name.value, "valid");
    assert_eq!(resolved.spec.search.iterations, 500);
    assert_eq!(
        resolved.spec.search.time_limit,
        Some(std::time::Duration::from_secs(900))
    );
    assert_eq!(resolved.spec.search.memory_limit_bytes, Some(2 << 30));
    assert_eq!(resolved.spec.dataset.csv.delimiter, b';');
    let names: Vec<&str> = resolved.operations.keys().map(String::as_str).collect();
    assert_eq!(names, ["clip", "double", "halve", "log", "sqrt"]);
    assert_eq!(resolved.operations["log"].spec.weight, 2.0);
    let clip_values: Vec<String> = resolved.operations["clip"].spec.params[0]
        .values
        .iter()
        .map(|v| v.value.to_string())
        .collect();
    assert_eq!(clip_values, ["2.0", "3.0"]);
    assert!(resolved.spec.output.s3.allow_http);
}

#[test]
fn kdl_syntax_error() {
    let (sources, result) = load_fixture("syntax_error", &[]);
    let diagnostics = result.expect_err("unterminated string");
    assert!(diagnostics.has(ErrorKind::Syntax));
    assert_eq!(
        sources.get(diagnostics.items[0].loc.source).name,
        "syntax_error.kdl"
    );
    insta::assert_snapshot!("syntax_error", render(&diagnostics));
}

#[test]
fn a_flood_of_problems_shows_the_first_twenty_and_counts_the_rest() {
    // What a CSV file given as a pipeline looks like to the KDL parser: every line wrong.
    let mut text = String::from("a,b,y\n");
    for i in 0..60 {
        text.push_str(&format!("{i}.5,{i}.25,{i}\n"));
    }
    let (_, result) = load_text("data.kdl", &text, &[]);
    let diagnostics = result.expect_err("not a pipeline");
    assert!(diagnostics.items.len() > flow_dsl::MAX_SHOWN);
    let shown = render(&diagnostics);
    let more = diagnostics.items.len() - flow_dsl::MAX_SHOWN;
    assert!(shown.contains("(the first 20 shown)"), "{shown}");
    assert!(
        shown.contains(&format!("{more} more are not shown")),
        "{shown}"
    );
    assert_eq!(
        shown.matches("flow::syntax").count(),
        flow_dsl::MAX_SHOWN,
        "{shown}"
    );
}

#[test]
fn unknown_node_suggests_the_closest_name() {
    check("unknown_node", ErrorKind::UnknownNode, "serach");
    let (_, result) = load_fixture("unknown_node", &[]);
    let d = result.expect_err("invalid");
    assert!(
        d.items[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .starts_with("did you mean `search`?")
    );
}

#[test]
fn unknown_property() {
    check("unknown_property", ErrorKind::UnknownProperty, "fold");
}

#[test]
fn missing_target() {
    check("missing_target", ErrorKind::Missing, "dataset");
}

#[test]
fn missing_source() {
    check("missing_source", ErrorKind::Missing, "dataset");
}

#[test]
fn wrong_value_type() {
    check("wrong_type", ErrorKind::WrongType, "\"many\"");
}

#[test]
fn duplicate_setting() {
    check("duplicate_setting", ErrorKind::Duplicate, "seed");
}

#[test]
fn duplicate_operation() {
    check("duplicate_operation", ErrorKind::Duplicate, "\"double\"");
}

#[test]
fn shadowing_a_standard_operation_needs_override() {
    check("shadowed_std_operation", ErrorKind::Duplicate, "\"log\"");
}

#[test]
fn unknown_operation_in_an_import() {
    check("unknown_operation", ErrorKind::UnknownOperation, "logg");
}

#[test]
fn unknown_standard_module() {
    check(
        "unknown_module",
        ErrorKind::UnknownModule,
        "\"std.numerics\"",
    );
}

#[test]
fn module_file_not_found() {
    check(
        "module_not_found",
        ErrorKind::ModuleNotFound,
        "\"modules/nope.kdl\"",
    );
}

#[test]
fn module_cycle() {
    check("module_cycle", ErrorKind::ModuleCycle, "\"cycle_a.kdl\"");
}

#[test]
fn module_that_imports_itself() {
    check(
        "module_imports_itself",
        ErrorKind::ModuleCycle,
        "\"self.kdl\"",
    );
}

#[test]
fn template_with_a_statement() {
    check(
        "template_statement",
        ErrorKind::InvalidTemplate,
        "\"{x}; DROP TABLE t\"",
    );
}

#[test]
fn template_with_a_subquery() {
    check(
        "template_subquery",
        ErrorKind::InvalidTemplate,
        "\"(SELECT max({x}) FROM t)\"",
    );
}

#[test]
fn template_with_ddl() {
    check(
        "template_ddl",
        ErrorKind::InvalidTemplate,
        "\"CREATE TABLE t (a INT)\"",
    );
}

#[test]
fn template_reading_a_column_by_name() {
    check(
        "template_reads_column_by_name",
        ErrorKind::InvalidTemplate,
        "\"progression\"",
    );
}

#[test]
fn template_building_a_value_of_unbounded_size() {
    check(
        "template_unbounded_size",
        ErrorKind::InvalidTemplate,
        "repeat",
    );
}

#[test]
fn template_calling_a_volatile_function() {
    check(
        "template_volatile_function",
        ErrorKind::InvalidTemplate,
        "random",
    );
}

#[test]
fn template_with_an_undeclared_placeholder() {
    check(
        "template_undeclared_placeholder",
        ErrorKind::UndeclaredPlaceholder,
        "{y}",
    );
}

#[test]
fn template_with_an_unused_parameter() {
    check(
        "template_unused_parameter",
        ErrorKind::UnusedPlaceholder,
        "\"k\"",
    );
}

#[test]
fn invalid_duration() {
    check(
        "invalid_duration",
        ErrorKind::InvalidDuration,
        "\"15 minutes\"",
    );
}

#[test]
fn invalid_size() {
    check("invalid_size", ErrorKind::InvalidSize, "\"2 gigs\"");
}

#[test]
fn folds_below_two() {
    check("folds_out_of_range", ErrorKind::OutOfRange, "1");
}

#[test]
fn iterations_beyond_what_a_counter_holds_name_the_upper_bound() {
    check(
        "iterations_too_many",
        ErrorKind::OutOfRange,
        "99999999999999999999999",
    );
}

#[test]
fn confirmation_share_above_a_half() {
    check("confirm_out_of_range", ErrorKind::OutOfRange, "0.8");
}

#[test]
fn confirmation_turned_on_without_a_share() {
    check("confirm_without_share", ErrorKind::InvalidValue, "#true");
}

#[test]
fn a_final_model_needs_held_out_rows() {
    check(
        "final_model_without_confirm",
        ErrorKind::Incompatible,
        "final-model",
    );
}

#[test]
fn a_final_model_does_the_search_model_task() {
    check(
        "final_model_task_mismatch",
        ErrorKind::Incompatible,
        "\"logistic-regression\"",
    );
}

#[test]
fn negative_exploration() {
    check("exploration_out_of_range", ErrorKind::OutOfRange, "-0.5");
}

#[test]
fn model_and_metric_must_fit_the_task() {
    let (sources, result) = load_fixture("model_task_mismatch", &[]);
    let d = result.expect_err("invalid");
    assert_points_at(
        &sources,
        &d,
        ErrorKind::Incompatible,
        "\"logistic-regression\"",
    );
    assert_points_at(&sources, &d, ErrorKind::Incompatible, "\"auc\"");
    insta::assert_snapshot!("model_task_mismatch", render(&d));
}

#[test]
fn secrets_belong_in_the_environment() {
    check(
        "secret_in_file",
        ErrorKind::SecretInFile,
        "secret-access-key \"hunter2\"",
    );
}

#[test]
fn every_problem_is_reported_in_one_pass() {
    let count = check("many_problems", ErrorKind::UnknownNode, "sampel");
    let (sources, result) = load_fixture("many_problems", &[]);
    let d = result.expect_err("invalid");
    assert_points_at(&sources, &d, ErrorKind::Missing, "dataset");
    assert_points_at(&sources, &d, ErrorKind::UnknownProperty, "tress");
    assert_points_at(&sources, &d, ErrorKind::OutOfRange, "1");
    assert_points_at(&sources, &d, ErrorKind::WrongType, "\"many\"");
    assert_points_at(&sources, &d, ErrorKind::InvalidDuration, "\"soon\"");
    assert_eq!(count, 6, "{}", render(&d));
}
