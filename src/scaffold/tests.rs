//! Scaffolds for hand-made profiles: the choices, and text that flow accepts as a pipeline.

use std::path::PathBuf;

use flow_dsl::Task;
use flow_runtime::features::ColumnKind;
use flow_runtime::profile::{ColumnProfile, ColumnType, DataProfile, TargetProfile};

use super::*;

fn column(name: &str, ty: ColumnType, distinct: u64) -> ColumnProfile {
    let kind = match ty {
        ColumnType::Integer | ColumnType::Float => Some(ColumnKind::Numeric),
        ColumnType::Boolean => Some(ColumnKind::Boolean),
        ColumnType::Date | ColumnType::Timestamp => Some(ColumnKind::Temporal),
        ColumnType::String if distinct <= 100 => Some(ColumnKind::Categorical),
        ColumnType::Nested => None,
        _ => Some(ColumnKind::Text),
    };
    ColumnProfile {
        name: name.to_owned(),
        column_type: ty,
        kind,
        distinct,
        nulls: 0,
        mean_length: (ty == ColumnType::String).then_some(12.0),
    }
}

fn profile(rows: u64, columns: Vec<ColumnProfile>) -> DataProfile {
    DataProfile {
        path: PathBuf::from("/data/sales.csv"),
        format: flow_dsl::DataFormat::Csv,
        csv: flow_dsl::CsvOptions::default(),
        rows,
        profiled_rows: rows.min(flow_runtime::profile::PROFILED_ROWS),
        columns,
    }
}

fn target(profile: &DataProfile, name: &str, classes: &[(&str, u64)]) -> TargetProfile {
    let column = profile.column(name).expect("the target is a column");
    TargetProfile {
        name: name.to_owned(),
        column_type: column.column_type,
        distinct: column.distinct,
        nulls: 0,
        classes: classes.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect(),
        correlations: Vec::new(),
    }
}

fn options() -> ScaffoldOptions {
    ScaffoldOptions {
        name: "sales".to_owned(),
        source: "../data/sales.csv".to_owned(),
        pipeline_file: "pipeline.kdl".to_owned(),
    }
}

/// The scaffold's text, loaded as flow loads a pipeline (modules resolved, every setting
/// validated; the data is not read).
fn load(scaffold: &Scaffold) -> flow_dsl::ResolvedPipeline {
    match flow_runtime::load_pipeline_text("pipeline.kdl", &scaffold.text, &[]) {
        Ok(loaded) => loaded.resolved,
        Err(e) => panic!("{:?}\n{}", miette::Report::new(e), scaffold.text),
    }
}

fn module_names(scaffold: &Scaffold) -> Vec<&str> {
    scaffold.modules.iter().map(|m| m.module).collect()
}

#[test]
fn two_classes_get_gradient_boosting_scored_by_auc_on_stratified_folds() {
    let data = profile(
        500,
        vec![
            column("radius", ColumnType::Float, 400),
            column("area", ColumnType::Float, 450),
            column("benign", ColumnType::Integer, 2),
        ],
    );
    let target = target(&data, "benign", &[("1", 300), ("0", 200)]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    let spec = load(&scaffold).spec;
    assert_eq!(
        spec.dataset.task.as_ref().map(|t| t.value),
        Some(Task::Classification)
    );
    assert_eq!(spec.evaluator.model.kind.value.name(), "gradient-boosting");
    let final_model = spec.evaluator.final_model.as_ref().expect("a final model");
    assert_eq!(final_model.kind.value.name(), "gradient-boosting");
    assert_eq!(
        spec.evaluator.metric.as_ref().map(|m| m.value.name()),
        Some("auc")
    );
    assert_eq!(scaffold.evaluation.cv, ("stratified", 5));
    assert_eq!(module_names(&scaffold), ["std.numeric", "std.arithmetic"]);
    assert_eq!(spec.search.iterations, ITERATIONS);
    // Two input columns: the least patience.
    assert_eq!(spec.search.patience, Some(MIN_PATIENCE));
    // Trees as deep as a shipped model's, in the loop and in the final model.
    for line in [
        "model \"gradient-boosting\"",
        "final-model \"gradient-boosting\"",
    ] {
        let written = scaffold
            .text
            .lines()
            .find(|l| l.trim_start().starts_with(line))
            .unwrap_or_default();
        assert!(
            written.ends_with("max-depth=6 min-samples-leaf=20"),
            "{written}"
        );
    }
    assert_eq!(spec.output.location.value, "results");
    assert_eq!(spec.name.value, "sales");
    assert!(
        scaffold.text.contains("source \"../data/sales.csv\"\n"),
        "{}",
        scaffold.text
    );
    assert!(
        scaffold.text.contains("(1: 300 rows, 0: 200 rows)"),
        "{}",
        scaffold.text
    );
}

#[test]
fn several_labels_get_boosting_and_macro_f1_with_folds_the_rarest_class_allows() {
    let data = profile(
        120,
        vec![
            column("wind", ColumnType::Float, 80),
            column("weather", ColumnType::String, 3),
        ],
    );
    let target = target(&data, "weather", &[("sun", 80), ("rain", 37), ("snow", 3)]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    let spec = load(&scaffold).spec;
    assert_eq!(
        spec.dataset.task.as_ref().map(|t| t.value),
        Some(Task::Classification)
    );
    assert_eq!(spec.evaluator.model.kind.value.name(), "gradient-boosting");
    assert_eq!(
        spec.evaluator.metric.as_ref().map(|m| m.value.name()),
        Some("auc")
    );
    assert_eq!(scaffold.evaluation.cv, ("stratified", 3));
    let reason = &scaffold.evaluation.metric_reason;
    assert!(reason.contains("`snow`, has 3 rows"), "{reason}");
    assert_eq!(
        module_names(&scaffold),
        ["std.numeric"],
        "one number: nothing to combine"
    );
}

#[test]
fn many_classes_on_many_rows_search_with_a_forest_and_confirm_with_boosting() {
    let data = profile(
        80_000,
        vec![
            column("x", ColumnType::Float, 5000),
            column("label", ColumnType::String, 3),
        ],
    );
    let classes = [("a", 40_000), ("b", 30_000), ("c", 10_000)];
    let three = target(&data, "label", &classes);
    let written = scaffold(&data, &three, &options()).expect("scaffolds");
    let spec = load(&written).spec;
    // 50,000 sampled rows × 3 classes is past what boosting searches quickly.
    assert_eq!(spec.evaluator.model.kind.value.name(), "random-forest");
    let final_model = spec.evaluator.final_model.as_ref().expect("a final model");
    assert_eq!(final_model.kind.value.name(), "gradient-boosting");
    assert!(
        written.text.contains("3 classes on 50000 rows"),
        "{}",
        written.text
    );
    // Two classes on as many rows still search with boosting.
    let data = profile(
        80_000,
        vec![
            column("x", ColumnType::Float, 5000),
            column("label", ColumnType::String, 2),
        ],
    );
    let two = target(&data, "label", &[("a", 40_000), ("b", 40_000)]);
    let written = scaffold(&data, &two, &options()).expect("scaffolds");
    assert_eq!(
        load(&written).spec.evaluator.model.kind.value.name(),
        "gradient-boosting"
    );
}

#[test]
fn a_class_with_a_single_row_falls_back_to_plain_k_fold() {
    let data = profile(
        50,
        vec![
            column("x", ColumnType::Float, 50),
            column("y", ColumnType::String, 3),
        ],
    );
    let target = target(&data, "y", &[("a", 30), ("b", 19), ("c", 1)]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    assert_eq!(scaffold.evaluation.cv, ("k-fold", 5));
    load(&scaffold);
}

#[test]
fn numbers_with_many_values_are_a_regression_with_boosting_and_rmse() {
    let data = profile(
        442,
        vec![
            column("age", ColumnType::Float, 58),
            column("bmi", ColumnType::Float, 163),
            column("progression", ColumnType::Float, 214),
        ],
    );
    let target = target(&data, "progression", &[]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    let spec = load(&scaffold).spec;
    assert_eq!(
        spec.dataset.task.as_ref().map(|t| t.value),
        Some(Task::Regression)
    );
    assert_eq!(spec.evaluator.model.kind.value.name(), "gradient-boosting");
    assert_eq!(
        spec.evaluator.metric.as_ref().map(|m| m.value.name()),
        Some("rmse")
    );
    assert_eq!(scaffold.evaluation.cv, ("k-fold", 5));
    assert!(
        scaffold
            .text
            .contains("442 rows searched: few enough to search with gradient boosting"),
        "the model choice is explained"
    );
}

#[test]
fn few_whole_numbers_are_classes_and_many_are_amounts() {
    let few = profile(
        200,
        vec![
            column("x", ColumnType::Float, 150),
            column("stars", ColumnType::Integer, 5),
        ],
    );
    let stars = target(
        &few,
        "stars",
        &[("5", 80), ("4", 50), ("3", 30), ("2", 20), ("1", 20)],
    );
    let classes = scaffold(&few, &stars, &options()).expect("scaffolds");
    assert_eq!(classes.evaluation.task, Task::Classification);
    assert!(
        classes.text.contains("if they are amounts"),
        "{}",
        classes.text
    );

    let many = profile(
        9000,
        vec![
            column("x", ColumnType::Float, 150),
            column("riders", ColumnType::Integer, 600),
        ],
    );
    let riders = target(&many, "riders", &[]);
    let amounts = scaffold(&many, &riders, &options()).expect("scaffolds");
    assert_eq!(amounts.evaluation.task, Task::Regression);
}

#[test]
fn columns_get_roles_and_modules_from_their_kinds() {
    let mut notes = column("notes", ColumnType::String, 950);
    notes.mean_length = Some(84.0);
    let mut discount = column("discount", ColumnType::Float, 30);
    discount.nulls = 400;
    let data = profile(
        1000,
        vec![
            column("order_id", ColumnType::Integer, 1000),
            column("day", ColumnType::Date, 100),
            column("store_id", ColumnType::Integer, 10),
            column("city", ColumnType::String, 12),
            notes,
            column("units", ColumnType::Integer, 300),
            discount,
            column("country", ColumnType::String, 1),
            column("tags", ColumnType::Nested, 0),
            column("revenue_copy", ColumnType::Float, 700),
            column("revenue", ColumnType::Float, 700),
        ],
    );
    let mut target = target(&data, "revenue", &[]);
    target.correlations = vec![
        ("units".to_owned(), 0.6),
        ("revenue_copy".to_owned(), 0.9995),
    ];
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    let roles = &scaffold.roles;
    assert_eq!(roles.id.as_ref().map(|(c, _)| c.as_str()), Some("order_id"));
    assert_eq!(roles.time.as_ref().map(|(c, _)| c.as_str()), Some("day"));
    assert_eq!(
        roles.group.as_ref().map(|(c, _)| c.as_str()),
        Some("store_id")
    );
    let dropped: Vec<&str> = roles.dropped.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(dropped, ["country", "tags", "revenue_copy"]);
    assert!(roles.dropped[2].1.contains("leaks"), "{:?}", roles.dropped);
    assert_eq!(roles.notes.len(), 1, "{:?}", roles.notes);
    assert!(roles.notes[0].contains("`discount` is missing in 40% of rows"));
    assert_eq!(
        module_names(&scaffold),
        [
            "std.numeric",
            "std.arithmetic",
            "std.categorical",
            "std.text",
            "std.temporal"
        ]
    );
    let spec = load(&scaffold).spec;
    let dataset = &spec.dataset;
    assert_eq!(
        dataset.id.as_ref().map(|c| c.value.as_str()),
        Some("order_id")
    );
    assert_eq!(dataset.time.as_ref().map(|c| c.value.as_str()), Some("day"));
    assert_eq!(
        dataset.group.as_ref().map(|c| c.value.as_str()),
        Some("store_id")
    );
    let drop: Vec<&str> = dataset.drop.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(drop, dropped);
    let text = &scaffold.modules[3].reason;
    assert!(
        text.contains("`notes` (950 values, 84 characters on average)"),
        "{text}"
    );
}

#[test]
fn a_key_with_as_many_values_as_rows_per_time_is_the_group() {
    let data = profile(
        7300,
        vec![
            column("date", ColumnType::Date, 730),
            column("store", ColumnType::String, 10),
            column("region", ColumnType::String, 4),
            column("sales", ColumnType::Integer, 600),
        ],
    );
    let target = target(&data, "sales", &[]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    assert_eq!(
        scaffold.roles.group.as_ref().map(|(c, _)| c.as_str()),
        Some("store")
    );
    load(&scaffold);
}

#[test]
fn large_data_is_sampled_and_other_delimiters_are_written() {
    let mut data = profile(
        2_000_000,
        vec![
            column("x", ColumnType::Float, 90_000),
            column("y", ColumnType::Float, 80_000),
        ],
    );
    data.csv.delimiter = b';';
    let target = target(&data, "y", &[]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    assert_eq!(scaffold.sample_rows, Some(SAMPLE_ROWS));
    let spec = load(&scaffold).spec;
    assert_eq!(spec.dataset.csv.delimiter, b';');
    assert!(spec.dataset.sample.is_some());
}

#[test]
fn names_that_need_escaping_stay_valid_kdl() {
    let data = profile(
        100,
        vec![
            column("a \"quoted\" \\ name", ColumnType::Float, 90),
            column("line\nbreak", ColumnType::Float, 90),
            column("y \"target\"", ColumnType::Float, 80),
        ],
    );
    let target = target(&data, "y \"target\"", &[]);
    let mut options = options();
    options.name = "it's \"mine\"".to_owned();
    options.source = "my data/\"odd\".csv".to_owned();
    let scaffold = scaffold(&data, &target, &options).expect("scaffolds");
    let spec = load(&scaffold).spec;
    assert_eq!(spec.dataset.target.value, "y \"target\"");
    assert_eq!(spec.name.value, "it's \"mine\"");
}

#[test]
fn targets_that_cannot_be_predicted_say_why() {
    let constant = profile(
        10,
        vec![
            column("x", ColumnType::Float, 9),
            column("y", ColumnType::Integer, 1),
        ],
    );
    let y = target(&constant, "y", &[("7", 10)]);
    let error = scaffold(&constant, &y, &options()).expect_err("one value");
    assert!(
        error.message.contains("same value (7) in every row"),
        "{error:?}"
    );

    let dated = profile(
        10,
        vec![
            column("x", ColumnType::Float, 9),
            column("when", ColumnType::Date, 10),
        ],
    );
    let when = target(&dated, "when", &[]);
    let error = scaffold(&dated, &when, &options()).expect_err("dates");
    assert!(error.message.contains("holds date values"), "{error:?}");
    assert!(error.help.contains("--target"), "{error:?}");

    let bare = profile(
        10,
        vec![
            column("id", ColumnType::Integer, 10),
            column("y", ColumnType::Float, 9),
        ],
    );
    let y = target(&bare, "y", &[]);
    let error = scaffold(&bare, &y, &options()).expect_err("no features");
    assert!(
        error.message.contains("`id` is a row identifier"),
        "{error:?}"
    );
}

#[test]
fn a_wide_table_gets_patience_for_each_input_column() {
    let mut columns: Vec<ColumnProfile> = (0..30)
        .map(|i| column(&format!("x{i}"), ColumnType::Float, 400))
        .collect();
    columns.push(column("benign", ColumnType::Integer, 2));
    let data = profile(500, columns);
    let target = target(&data, "benign", &[("1", 300), ("0", 200)]);
    let scaffold = scaffold(&data, &target, &options()).expect("scaffolds");
    assert_eq!(
        load(&scaffold).spec.search.patience,
        Some(30 * PATIENCE_PER_COLUMN)
    );
}

#[test]
fn many_rows_are_cross_validated_on_three_folds() {
    let columns = || {
        vec![
            column("x", ColumnType::Float, 9_000),
            column("y", ColumnType::Float, 8_000),
        ]
    };
    let few = profile(choose::FEW_FOLDS_ROWS - 1, columns());
    let scaffold_of = |data: &DataProfile, classes: &[(&str, u64)]| {
        let target = target(data, "y", classes);
        let scaffold = scaffold(data, &target, &options()).expect("scaffolds");
        load(&scaffold);
        scaffold
    };
    assert_eq!(
        scaffold_of(&few, &[]).evaluation.cv,
        ("k-fold", choose::FOLDS)
    );
    let many = profile(choose::FEW_FOLDS_ROWS, columns());
    let regression = scaffold_of(&many, &[]);
    assert_eq!(regression.evaluation.cv, ("k-fold", choose::FEW_FOLDS));
    assert!(
        regression.text.contains("costs half what 5 folds would"),
        "the fold count is explained"
    );
    let labelled = profile(
        choose::FEW_FOLDS_ROWS,
        vec![
            column("x", ColumnType::Float, 9_000),
            column("y", ColumnType::String, 2),
        ],
    );
    let classes = scaffold_of(&labelled, &[("a", 12_000), ("b", 8_000)]);
    assert_eq!(classes.evaluation.cv, ("stratified", choose::FEW_FOLDS));
}

#[test]
fn operations_that_would_say_nothing_new_are_turned_off() {
    let mut data = profile(
        1000,
        vec![
            column("units", ColumnType::Integer, 300),
            column("price", ColumnType::Float, 700),
            column("city", ColumnType::String, 12),
            column("revenue", ColumnType::Float, 700),
        ],
    );
    let target_profile = target(&data, "revenue", &[]);
    let scaffold_of = |data: &DataProfile| {
        let scaffold = scaffold(data, &target_profile, &options()).expect("scaffolds");
        load(&scaffold).operations
    };
    // No missing values: a missing-value flag is constant. A category's count is its
    // frequency times the row count.
    let operations = scaffold_of(&data);
    assert!(operations.contains_key("log"), "{:?}", operations.keys());
    assert!(operations.contains_key("frequency-encode"));
    assert!(!operations.contains_key("is-null"));
    assert!(!operations.contains_key("count-encode"));

    // One column with missing values: their flag may say something.
    data.columns[1].nulls = 50;
    let operations = scaffold_of(&data);
    assert!(
        operations.contains_key("is-null"),
        "{:?}",
        operations.keys()
    );
    assert!(!operations.contains_key("count-encode"));
}
