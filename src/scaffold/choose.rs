//! The decisions `flow init` makes from a data profile: the task and evaluator from the
//! target, the roles of the other columns (id, time, group, dropped) and the standard
//! library modules from their kinds. Each decision carries the reason written next to it.

use flow_dsl::Task;
use flow_runtime::features::ColumnKind;
use flow_runtime::profile::{ColumnProfile, ColumnType, DataProfile, TargetProfile};

use super::SAMPLE_ROWS;

/// Folds of cross-validation, when every class has enough rows for them.
pub const FOLDS: u64 = 5;
/// From this many searched rows on, the search uses [`FEW_FOLDS`] folds instead: each
/// still validates on thousands of rows, so fold scores agree closely, and a feature set
/// costs half as much (3 fits on two thirds of the rows instead of 5 on four fifths).
pub const FEW_FOLDS_ROWS: u64 = 20_000;
/// Folds of cross-validation on tables of [`FEW_FOLDS_ROWS`] or more.
pub const FEW_FOLDS: u64 = 3;
/// Trees of the random forest chosen for many classes on many rows: enough for a stable
/// score, few enough that one evaluation stays fast.
pub const FOREST_TREES: u32 = 50;
/// Up to this many searched rows times boosted outputs (one, or one per class beyond two),
/// the search's own model is gradient boosting: one 5-fold evaluation of 50 rounds of
/// depth-6 trees on the 40,000 searched rows of a 50,000-row sample took 0.94 s on two
/// cores (two at once; docs/init.md), so a one-minute search still scores over a hundred
/// feature sets. Beyond it (many classes on many rows), a random forest runs in the loop
/// and gradient boosting only scores the held-out rows.
pub const BOOSTED_SEARCH_CELLS: u64 = 100_000;
/// Boosting rounds of the model in the loop: a quarter of the final model's, so an
/// evaluation costs about a quarter as much, with twice its step (a learning rate of 0.2).
pub const LOOP_TREES: u32 = 50;
/// Boosting rounds of the final model, which scores the held-out rows twice per run: as
/// many as a model one ships.
pub const FINAL_TREES: u32 = 200;
/// Depth of every boosted tree init writes, in the loop and in the final model: deep
/// enough to model interactions itself, as the boosted models people ship do (LightGBM
/// grows 31 leaves). Shallow trees (the default 3) leave interactions to the features, so
/// a search with them keeps products and ratios a shipped model does not need: on
/// bikeshare, depth 3 scores RMSE 41.8 on held-out rows, depth 6 31.5, LightGBM's
/// defaults 31.5 on the test fold (docs/init.md).
pub const TREE_DEPTH: u32 = 6;
/// Fewest rows in a leaf of those trees (LightGBM's default, 20): with deeper trees, it
/// keeps leaves from fitting a handful of rows on small tables.
pub const LEAF_ROWS: u32 = 20;
/// A numeric column that correlates with a numeric target at least this much (in absolute
/// value) is taken for a leak.
pub const LEAK_CORRELATION: f64 = 0.99;
/// Integers with at most this many distinct values are classes, as the search infers.
const MAX_INTEGER_CLASSES: u64 = 20;
/// A column missing in at least this share of rows is pointed out.
const NOTABLE_MISSING_SHARE: f64 = 0.2;

/// Why a pipeline cannot be scaffolded for this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// The model, metric and cross-validation for the target, with the reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The task.
    pub task: Task,
    /// Why this task: what the target holds.
    pub task_reason: String,
    /// The model line's name and properties (`random-forest`, `trees=50`).
    pub model: (&'static str, String),
    /// Why this model.
    pub model_reason: String,
    /// The final model line's name and properties, which scores the held-out rows.
    pub final_model: (&'static str, String),
    /// Why this final model.
    pub final_model_reason: String,
    /// The metric.
    pub metric: &'static str,
    /// Why this metric.
    pub metric_reason: String,
    /// The CV scheme's name and folds.
    pub cv: (&'static str, u64),
    /// Why this scheme.
    pub cv_reason: String,
}

/// What the columns besides the target become.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roles {
    /// The row identifier, and why.
    pub id: Option<(String, String)>,
    /// The column that orders rows in time, and why.
    pub time: Option<(String, String)>,
    /// The column that partitions rows into entities for temporal operations, and why.
    pub group: Option<(String, String)>,
    /// Columns left out, each with the reason.
    pub dropped: Vec<(String, String)>,
    /// Remarks on columns that stay (missing values).
    pub notes: Vec<String>,
}

impl Roles {
    /// Whether `name` is the id, or dropped.
    pub fn leaves_out(&self, name: &str) -> bool {
        self.id.as_ref().is_some_and(|(c, _)| c == name)
            || self.dropped.iter().any(|(c, _)| c == name)
    }
}

/// One `use` of a standard library module, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleChoice {
    /// The module (`std.numeric`).
    pub module: &'static str,
    /// Why it is imported.
    pub reason: String,
    /// Operations of the module turned off, each with why.
    pub disabled: Vec<(&'static str, String)>,
}

/// Decides the task from what the target holds, and the evaluator that suits it.
pub fn evaluation(target: &TargetProfile, rows: u64) -> Result<Evaluation, Unusable> {
    let name = &target.name;
    let ty = target.column_type;
    let unusable = |message: String| {
        Unusable {
        message,
        help: "name another column with `--target`: one of numbers (for a regression) or of a few labels (for a classification)".to_owned(),
    }
    };
    if !(ty.is_numeric() || is_label_type(ty)) {
        return Err(unusable(format!(
            "the target `{name}` holds {} values, which flow cannot predict",
            ty.name()
        )));
    }
    match target.distinct {
        0 => {
            return Err(unusable(format!(
                "the target `{name}` has no values: it is empty in all {rows} rows"
            )));
        }
        1 => {
            let value = target
                .classes
                .first()
                .map_or("one value", |(v, _)| v.as_str());
            return Err(unusable(format!(
                "the target `{name}` holds the same value ({value}) in every row, so there is nothing to predict"
            )));
        }
        _ => {}
    }
    let classes = describe_classes(&target.classes, target.distinct);
    let distinct = target.distinct;
    let (task, task_reason) = if distinct == 2 {
        (
            Task::Classification,
            format!("`{name}` takes two values ({classes}): a binary classification."),
        )
    } else if is_label_type(ty) {
        (
            Task::Classification,
            format!("`{name}` holds {distinct} labels ({classes}): a classification."),
        )
    } else if ty == ColumnType::Integer && distinct <= MAX_INTEGER_CLASSES {
        (
            Task::Classification,
            format!(
                "`{name}` takes {distinct} whole-number values ({classes}), read as classes; if they are amounts, write `task \"regression\"` with a regression metric (`rmse`)."
            ),
        )
    } else if ty == ColumnType::Integer {
        (
            Task::Regression,
            format!(
                "`{name}` takes {distinct} different whole numbers: amounts to predict, a regression."
            ),
        )
    } else if distinct <= MAX_INTEGER_CLASSES {
        (
            Task::Regression,
            format!(
                "`{name}` holds numbers, but only {distinct} different ones; if they are classes rather than amounts, write `task \"classification\"` with a classification metric (`f1`)."
            ),
        )
    } else {
        (
            Task::Regression,
            format!("`{name}` holds numbers ({distinct} different values): a regression."),
        )
    };
    let searched = rows.min(SAMPLE_ROWS);
    let outputs = if task == Task::Classification && distinct > 2 {
        distinct
    } else {
        1
    };
    let (model, model_reason) = if searched.saturating_mul(outputs) <= BOOSTED_SEARCH_CELLS {
        boosted_search(searched, outputs)
    } else {
        (
            ("random-forest", format!("trees={FOREST_TREES}")),
            format!(
                "{distinct} classes on {searched} rows: boosting fits one model per class, too slow to score many feature sets, so a random forest (one model for all classes; {FOREST_TREES} trees keep each evaluation quick) runs in the search, and the final model below checks the features with boosting."
            ),
        )
    };
    let (metric, metric_reason, (cv, cv_reason)) = match task {
        Task::Classification if distinct == 2 => (
            "auc",
            "AUC scores how well the model ranks the two classes, whatever the threshold and however unbalanced they are.".to_owned(),
            classification_cv(target, searched),
        ),
        Task::Classification => (
            "auc",
            multiclass_metric_reason(target),
            classification_cv(target, searched),
        ),
        Task::Regression => {
            let (folds, why) = fold_count(searched);
            (
                "rmse",
                "RMSE is in the target's own units and penalises large errors; `mae` is less sensitive to outliers, `r2` is unit-free.".to_owned(),
                (
                    ("k-fold", folds),
                    format!("{folds} shuffled folds: every row is scored once by a model that did not see it.{why}"),
                ),
            )
        }
    };
    Ok(Evaluation {
        task,
        task_reason,
        model,
        model_reason,
        final_model: (
            "gradient-boosting",
            format!("trees={FINAL_TREES} max-depth={TREE_DEPTH} min-samples-leaf={LEAF_ROWS}"),
        ),
        final_model_reason: format!(
            "The held-out rows (a fifth, never searched) are scored with gradient boosting of {FINAL_TREES} rounds of trees {TREE_DEPTH} deep, close to the model you would ship: its uplift there is the one to believe, and export and apply give the features only if it is positive."
        ),
        metric,
        metric_reason,
        cv,
        cv_reason,
    })
}

/// Gradient boosting in the search, and why.
fn boosted_search(searched: u64, outputs: u64) -> ((&'static str, String), String) {
    let per_class = if outputs > 1 {
        format!(" ({outputs} classes, one model each)")
    } else {
        String::new()
    };
    (
        (
            "gradient-boosting",
            format!(
                "trees={LOOP_TREES} learning-rate=0.2 max-depth={TREE_DEPTH} min-samples-leaf={LEAF_ROWS}"
            ),
        ),
        format!(
            "{searched} rows searched{per_class}: few enough to search with gradient boosting, the kind of model most tables are shipped with, so the features kept are those that help it rather than a linear model. Its trees are {TREE_DEPTH} deep, as a shipped model's are, so features that only stand in for an interaction the trees find anyway do not look like gains; {LOOP_TREES} rounds at a learning rate of 0.2 keep each evaluation quick, and the final model below takes more."
        ),
    )
}

/// Why macro AUC for several classes.
fn multiclass_metric_reason(target: &TargetProfile) -> String {
    let rarest = target
        .classes
        .last()
        .filter(|_| target.classes.len() as u64 == target.distinct)
        .map(|(class, n)| format!(" (the rarest, `{class}`, has {n} rows)"))
        .unwrap_or_default();
    format!(
        "Macro-averaged AUC (each class against the rest) weighs every class equally, so rare classes{rarest} count as much as common ones; it scores how well the probabilities rank each class, so it moves smoothly with the model where F1 jumps with every row that crosses a decision boundary, and feature gains are less often luck. Use `f1` if hard labels are what you ship, `accuracy` if only the share of correct answers matters."
    )
}

/// How many folds for `searched` rows, and why when fewer than [`FOLDS`].
fn fold_count(searched: u64) -> (u64, String) {
    if searched >= FEW_FOLDS_ROWS {
        (
            FEW_FOLDS,
            format!(
                " With {searched} rows, each of {FEW_FOLDS} folds still validates on thousands, so fold scores agree closely, and a feature set costs half what {FOLDS} folds would."
            ),
        )
    } else {
        (FOLDS, String::new())
    }
}

/// Stratified folds, as many as the rarest class allows (at most [`fold_count`]'s).
fn classification_cv(target: &TargetProfile, searched: u64) -> ((&'static str, u64), String) {
    let complete = !target.classes.is_empty() && target.classes.len() as u64 == target.distinct;
    let rarest = target.classes.last().filter(|_| complete);
    let (folds, why) = fold_count(searched);
    match rarest {
        Some((class, n)) if *n < 2 => (
            ("k-fold", folds),
            format!(
                "Class `{class}` has a single row, so folds cannot keep the classes' shares: plain k-fold. Consider removing classes that rare from the data."
            ),
        ),
        Some((class, n)) if *n < folds => (
            ("stratified", *n),
            format!(
                "Stratified folds keep each class's share in every fold; class `{class}` has only {n} rows, so {n} folds (each class needs a row in every fold)."
            ),
        ),
        _ => (
            ("stratified", folds),
            format!("{folds} stratified folds keep each class's share in every fold.{why}"),
        ),
    }
}

/// Decides what each column besides the target is: the id, the time, the group, a
/// dropped column, or a feature (with remarks on missing values).
pub fn roles(profile: &DataProfile, target: &TargetProfile) -> Roles {
    let rows = profile.profiled_rows;
    let mut roles = Roles::default();
    let others = || profile.columns.iter().filter(|c| c.name != target.name);
    for column in others() {
        let name = &column.name;
        if column.kind.is_none() {
            let reason =
                "holds nested values (lists, structs or maps), which cannot be features".to_owned();
            roles.dropped.push((name.clone(), reason));
        } else if column.nulls >= rows {
            roles
                .dropped
                .push((name.clone(), "is empty in every row".to_owned()));
        } else if column.distinct <= 1 && column.nulls == 0 {
            roles
                .dropped
                .push((name.clone(), "holds the same value in every row".to_owned()));
        } else if is_unique_key(column, rows) && looks_like_id(name) {
            if roles.id.is_none() {
                let reason = format!(
                    "`{name}` is different in every row: a row identifier, never a feature."
                );
                roles.id = Some((name.clone(), reason));
            } else {
                let reason = "is different in every row: another row identifier".to_owned();
                roles.dropped.push((name.clone(), reason));
            }
        } else if let Some(r) = leak(target, name) {
            let reason = format!(
                "follows the target almost exactly (correlation {r:.3}): it probably leaks the answer, which is not known when predicting; take it out of `drop` if it is"
            );
            roles.dropped.push((name.clone(), reason));
        }
    }
    if let Some(column) =
        others().find(|c| c.kind == Some(ColumnKind::Temporal) && !roles.leaves_out(&c.name))
    {
        let reason = format!(
            "`{}` holds {}s: it orders rows in time for the lags, rolling windows and date parts of `std.temporal`.",
            column.name,
            column.column_type.name()
        );
        roles.time = Some((column.name.clone(), reason));
        roles.group = group(others(), column, rows, &roles);
    }
    let sparse: Vec<&ColumnProfile> = others()
        .filter(|c| !roles.leaves_out(&c.name) && c.nulls > 0)
        .collect();
    for column in sparse {
        #[allow(clippy::cast_precision_loss)]
        let share = column.nulls as f64 / rows.max(1) as f64;
        if share >= NOTABLE_MISSING_SHARE {
            roles.notes.push(format!(
                "`{}` is missing in {:.0}% of rows; models see the column's mean there.",
                column.name,
                share * 100.0
            ));
        }
    }
    roles
}

/// The standard library modules the feature columns call for, each with its reason.
pub fn modules(profile: &DataProfile, target: &TargetProfile, roles: &Roles) -> Vec<ModuleChoice> {
    let features: Vec<&ColumnProfile> = profile
        .columns
        .iter()
        .filter(|c| c.name != target.name && !roles.leaves_out(&c.name))
        .collect();
    let of_kind = |kind: ColumnKind| -> Vec<&str> {
        features
            .iter()
            .filter(|c| c.kind == Some(kind))
            .map(|c| c.name.as_str())
            .collect()
    };
    let numeric = of_kind(ColumnKind::Numeric);
    let categorical = of_kind(ColumnKind::Categorical);
    let text = of_kind(ColumnKind::Text);
    let mut chosen = Vec::new();
    if !numeric.is_empty() {
        chosen.push(ModuleChoice {
            module: "std.numeric",
            reason: format!(
                "{} ({}): transformations of one number (log, sqrt, z-score, clipping, …) straighten skewed columns.",
                count(numeric.len(), "numeric column"),
                list_names(&numeric)
            ),
            // A flag of missing values is constant on a column that has none.
            disabled: if features.iter().all(|c| c.nulls == 0) {
                vec![(
                    "is-null",
                    "No column has missing values here, so a missing-value flag would be constant."
                        .to_owned(),
                )]
            } else {
                Vec::new()
            },
        });
    }
    if numeric.len() >= 2 {
        chosen.push(ModuleChoice {
            module: "std.arithmetic",
            reason: "Combinations of two numbers (ratio, product, difference, …) find interactions a model would miss.".to_owned(),
            disabled: Vec::new(),
        });
    }
    if !categorical.is_empty() {
        chosen.push(ModuleChoice {
            module: "std.categorical",
            reason: format!(
                "{} ({}): frequency encodings, statistics of numbers per category and out-of-fold target encoding.",
                count(categorical.len(), "categorical column"),
                list_names(&categorical)
            ),
            disabled: vec![(
                "count-encode",
                "A category's count is its frequency times the row count: `frequency-encode` says the same.".to_owned(),
            )],
        });
    }
    if !text.is_empty() {
        let lengths: Vec<String> = text
            .iter()
            .filter_map(|name| profile.column(name))
            .map(|c| match c.mean_length {
                Some(l) => format!(
                    "`{}` ({} values, {l:.0} characters on average)",
                    c.name, c.distinct
                ),
                None => format!("`{}` ({} values)", c.name, c.distinct),
            })
            .collect();
        chosen.push(ModuleChoice {
            module: "std.text",
            reason: format!(
                "Free text, too varied to be categories: {}. Models cannot read it directly; lengths, word counts and character classes turn it into numbers.",
                lengths.join(", ")
            ),
            disabled: Vec::new(),
        });
    }
    if let Some((time, _)) = &roles.time {
        chosen.push(ModuleChoice {
            module: "std.temporal",
            reason: format!(
                "With `time \"{time}\"`: date parts, lags, differences and rolling windows over earlier rows."
            ),
            disabled: Vec::new(),
        });
    }
    chosen
}

/// The target's classes as `sun: 714, rain: 641, … (3 more)`.
fn describe_classes(classes: &[(String, u64)], distinct: u64) -> String {
    const SHOWN: usize = 5;
    let mut text = classes
        .iter()
        .take(SHOWN)
        .map(|(class, n)| match n {
            1 => format!("{class}: 1 row"),
            n => format!("{class}: {n} rows"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let shown = classes.len().min(SHOWN) as u64;
    if distinct > shown {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(&format!("{} more", distinct - shown));
    }
    text
}

/// Types whose values are labels: strings, booleans, categories.
fn is_label_type(ty: ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::String | ColumnType::Boolean | ColumnType::Dictionary
    )
}

/// A column with a different, present value in every row, of a type that names things.
fn is_unique_key(column: &ColumnProfile, rows: u64) -> bool {
    (column.column_type == ColumnType::Integer
        || matches!(
            column.kind,
            Some(ColumnKind::Text | ColumnKind::Categorical)
        ))
        && column.nulls == 0
        && column.distinct == rows
        && rows > 1
}

/// The column that splits rows into series of one entity each, when rows share the time
/// column's values: a repeating key named like an id (`store_id`), or a categorical or
/// integer column with as many values as rows per time value (10 stores × 730 days).
fn group<'a>(
    others: impl Iterator<Item = &'a ColumnProfile> + Clone,
    time: &ColumnProfile,
    rows: u64,
    roles: &Roles,
) -> Option<(String, String)> {
    let usable = |c: &&ColumnProfile| c.name != time.name && !roles.leaves_out(&c.name);
    if let Some(c) = others
        .clone()
        .filter(usable)
        .find(|c| is_entity_key(c, rows))
    {
        let reason = format!(
            "`{}` repeats ({} values) and is named like a key: rows look like series of several entities, so lags and windows stay within one `{}`.",
            c.name, c.distinct, c.name
        );
        return Some((c.name.clone(), reason));
    }
    if time.distinct == 0 || time.distinct >= rows {
        return None;
    }
    let per_time = rows.div_ceil(time.distinct);
    let keyed = |c: &&ColumnProfile| {
        (c.column_type == ColumnType::Integer || c.kind == Some(ColumnKind::Categorical))
            && c.distinct == per_time
            && c.distinct >= 2
    };
    let c = others.filter(usable).find(keyed)?;
    let reason = format!(
        "Each `{}` value has {per_time} rows, and `{}` has {per_time} values: rows are series of one `{}` each, so lags and windows stay within one `{}`.",
        time.name, c.name, c.name, c.name
    );
    Some((c.name.clone(), reason))
}

/// A repeating integer or categorical key named like an id (`store_id`): the entity a
/// row belongs to.
fn is_entity_key(column: &ColumnProfile, rows: u64) -> bool {
    (column.column_type == ColumnType::Integer || column.kind == Some(ColumnKind::Categorical))
        && looks_like_id(&column.name)
        && column.distinct >= 2
        && column.distinct * 2 <= rows
}

/// `id`, `customer_id`, `customerId`, `ID`, `index`, `Unnamed: 0` (a saved row number).
fn looks_like_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id"
        || lower == "index"
        || lower.is_empty()
        || lower.starts_with("unnamed")
        || ["_id", "-id", " id", ".id"]
            .iter()
            .any(|s| lower.ends_with(s))
        || name.ends_with("Id")
        || name.ends_with("ID")
}

fn leak(target: &TargetProfile, name: &str) -> Option<f64> {
    target
        .correlations
        .iter()
        .find(|(c, r)| c == name && r.abs() >= LEAK_CORRELATION)
        .map(|(_, r)| *r)
}

/// `3 numeric columns`, `1 numeric column`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Column names for a comment: `` `a`, `b`, … `` with at most eight, then how many more.
pub fn list_names(names: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}
