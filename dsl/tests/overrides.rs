//! `-S path=value` overrides change any leaf setting, are validated exactly like the file,
//! and diagnostics about them point at the override, not at the file.

mod support;

use flow_dsl::{ErrorKind, HyperValue};
use support::{assert_points_at, load_fixture, render};

#[test]
fn overrides_replace_values_written_in_the_file() {
    let (_, result) = load_fixture(
        "valid",
        &[
            "search.iterations=20",
            "search.time-limit=90s",
            "evaluator.model.trees=7",
            "evaluator.cv.folds=3",
            "dataset.target=z",
            "output=s3://other/prefix",
        ],
    );
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
    let spec = &resolved.spec;
    assert_eq!(spec.search.iterations, 20);
    assert_eq!(
        spec.search.time_limit,
        Some(std::time::Duration::from_secs(90))
    );
    assert_eq!(
        spec.evaluator.model.hyperparameters["trees"].value,
        HyperValue::Int(7)
    );
    assert_eq!(
        spec.evaluator.model.hyperparameters["max-depth"].value,
        HyperValue::Int(8)
    );
    assert_eq!(
        spec.evaluator.cv.scheme,
        flow_dsl::CvScheme::Stratified { folds: 3 }
    );
    assert_eq!(spec.dataset.target.value, "z");
    assert_eq!(spec.output.location.value, "s3://other/prefix");
}

#[test]
fn overrides_add_settings_the_file_does_not_have() {
    let minimal = r#"pipeline "p" {
    dataset {
        source "train.csv"
        target "y"
    }
    space { use "std.numeric" }
    evaluator { model "linear-regression" }
}
"#;
    let (_, result) = support::load_text(
        "p.kdl",
        minimal,
        &["search.patience=9", "space.max-depth=1"],
    );
    let resolved = result.unwrap_or_else(|d| panic!("{}", render(&d)));
    let spec = &resolved.spec;
    assert_eq!(spec.search.patience, Some(9));
    assert_eq!(spec.space.max_depth, 1);
    // A created setting is validated like a written one.
    let (_, result) = load_fixture(
        "valid",
        &["dataset.sample.fraction=0.5", "dataset.sample.rows=#null"],
    );
    let d = result.expect_err("rows=#null is not an integer");
    assert!(d.has(ErrorKind::WrongType), "{}", render(&d));
}

#[test]
fn an_invalid_override_value_points_at_the_override() {
    let (sources, result) = load_fixture("valid", &["search.iterations=lots"]);
    let d = result.expect_err("not an integer");
    let found = assert_points_at(&sources, &d, ErrorKind::WrongType, "lots");
    assert_eq!(found.source_name(), "-S search.iterations=lots");
    insta::assert_snapshot!("override_wrong_type", render(&d));
}

#[test]
fn an_override_of_an_unknown_setting_suggests_the_right_one() {
    let (sources, result) = load_fixture("valid", &["search.iteratons=5"]);
    let d = result.expect_err("unknown setting");
    let found = assert_points_at(&sources, &d, ErrorKind::UnknownNode, "iteratons");
    assert!(
        found
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("did you mean `iterations`?")
    );
    insta::assert_snapshot!("override_unknown_setting", render(&d));
}

#[test]
fn out_of_range_overrides_are_caught() {
    let (sources, result) =
        load_fixture("valid", &["evaluator.cv.folds=1", "search.exploration=-2"]);
    let d = result.expect_err("out of range");
    assert_points_at(&sources, &d, ErrorKind::OutOfRange, "1");
    assert_points_at(&sources, &d, ErrorKind::OutOfRange, "-2");
}

#[test]
fn malformed_overrides_say_how_to_write_one() {
    for (text, at) in [
        ("search.iterations", "search.iterations"),
        ("search..seed=1", "search..seed"),
        ("=1", ""),
    ] {
        let (sources, result) = load_fixture("valid", &[text]);
        let d = result.expect_err("malformed");
        assert_points_at(&sources, &d, ErrorKind::InvalidOverride, at);
    }
}

#[test]
fn a_block_given_a_value_is_reported_at_the_override() {
    let (sources, result) = load_fixture("valid", &["search=1"]);
    let d = result.expect_err("search takes no value");
    assert_points_at(&sources, &d, ErrorKind::InvalidValue, "1");
}

#[test]
fn repeated_nodes_make_an_override_ambiguous() {
    let (sources, result) = load_fixture("valid", &["space.use.log=1"]);
    let d = result.expect_err("two `use` nodes");
    assert_points_at(&sources, &d, ErrorKind::InvalidOverride, "use");
}

#[test]
fn halving_is_off_unless_written_and_its_settings_are_checked() {
    let text = |search: &str| {
        format!(
            r#"pipeline "p" {{
    dataset {{
        source "train.csv"
        target "y"
    }}
    space {{ use "std.numeric" }}
    evaluator {{ model "random-forest" }}
    search {{ {search} }}
}}
"#
        )
    };
    let spec = |search: &str, overrides: &[&str]| {
        let (_, result) = support::load_text("p.kdl", &text(search), overrides);
        result
    };
    let off = spec("iterations 10", &[]).unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(off.spec.search.halving, None);
    let on = spec("halving", &[]).unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(on.spec.search.halving, Some(flow_dsl::Halving::default()));
    let set = spec("halving factor=4 rungs=2", &["search.halving.rungs=3"])
        .unwrap_or_else(|d| panic!("{}", render(&d)));
    // From the command line: on with its defaults, then changed; or off.
    let cli = spec(
        "iterations 10",
        &["search.halving=true", "search.halving.factor=4"],
    )
    .unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(
        cli.spec.search.halving,
        Some(flow_dsl::Halving {
            factor: 4,
            rungs: 1
        })
    );
    let off = spec("halving factor=4", &["search.halving=false"])
        .unwrap_or_else(|d| panic!("{}", render(&d)));
    assert_eq!(off.spec.search.halving, None);
    let halving = set.spec.search.halving.expect("set");
    assert_eq!((halving.factor, halving.rungs), (4, 3));
    assert_eq!(halving.rows(0), 1.0 / 64.0);
    assert_eq!(halving.rows(2), 0.25);
    assert_eq!(halving.entrants(0), 64);
    assert_eq!(halving.entrants(3), 1);
    // Halving changes what the search computes, so it is part of the spec hash.
    assert_ne!(off.spec_hash(), on.spec_hash());
    assert_ne!(on.spec_hash(), set.spec_hash());

    let (sources, result) = support::load_text("p.kdl", &text("halving factor=1"), &[]);
    let d = result.expect_err("a factor of 1 halves nothing");
    assert_points_at(&sources, &d, ErrorKind::OutOfRange, "1");
    let (sources, result) = support::load_text("p.kdl", &text("halving 3"), &[]);
    let d = result.expect_err("the value is #true or #false");
    assert_points_at(&sources, &d, ErrorKind::WrongType, "3");
    let (_, result) = support::load_text("p.kdl", &text("halving fraction=0.5"), &[]);
    let d = result.expect_err("not a halving setting");
    assert!(d.has(ErrorKind::UnknownProperty), "{}", render(&d));
}
