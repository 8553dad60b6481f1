//! Scaffolding: from a profile of the data to the text of a commented pipeline, with no I/O.
//! [`choose`] decides (task, evaluator, column roles, modules) and says why; this module
//! writes the decisions and their reasons as KDL ([`text`]).

pub mod choose;
mod text;

use flow_dsl::Task;
use flow_runtime::profile::{DataProfile, TargetProfile};

pub use choose::{Evaluation, ModuleChoice, Roles, Unusable};
use text::{KdlText, string, strings};

/// The search's iteration budget in a scaffolded pipeline.
pub const ITERATIONS: u64 = 200;
/// Its wall-time budget: the run ends within about a minute.
pub const TIME_LIMIT: &str = "1m";
/// Its seed.
pub const SEED: u64 = 42;
/// Its patience, per input column: the search stops after this many scored feature sets
/// per column without a better score. Better scores found after a long stall are mostly
/// fold noise the held-out rows do not confirm (in the peer benchmark at c2b17be, 1 of the
/// 11 gains made after a stall of more than 60 sets was confirmed); a wider table has more
/// first steps to try.
pub const PATIENCE_PER_COLUMN: u64 = 5;
/// The least patience written, however few the columns.
pub const MIN_PATIENCE: u64 = 60;
/// Datasets with more rows than this are sampled to this many, so a minute is enough.
pub const SAMPLE_ROWS: u64 = 50_000;

/// What the pipeline is called and where its files are, as written in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldOptions {
    /// The pipeline's name.
    pub name: String,
    /// The dataset `source`, relative to the pipeline file's directory.
    pub source: String,
    /// The pipeline file's name, for the comments that show commands.
    pub pipeline_file: String,
}

/// A scaffolded pipeline: its text and the choices it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaffold {
    /// The KDL text.
    pub text: String,
    /// Task, model, metric and cross-validation.
    pub evaluation: Evaluation,
    /// The roles given to columns.
    pub roles: Roles,
    /// The standard library modules imported.
    pub modules: Vec<ModuleChoice>,
    /// The row sample, when the data is large.
    pub sample_rows: Option<u64>,
}

/// Writes a commented pipeline for predicting `target` from the rest of `profile`'s
/// columns, or says why there is none to write.
pub fn scaffold(
    profile: &DataProfile,
    target: &TargetProfile,
    options: &ScaffoldOptions,
) -> Result<Scaffold, Unusable> {
    let evaluation = choose::evaluation(target, profile.rows)?;
    let roles = choose::roles(profile, target);
    let modules = choose::modules(profile, target, &roles);
    if modules.is_empty() {
        return Err(no_features(profile, target, &roles));
    }
    let sample_rows = (profile.rows > SAMPLE_ROWS).then_some(SAMPLE_ROWS);
    let mut scaffold = Scaffold {
        text: String::new(),
        evaluation,
        roles,
        modules,
        sample_rows,
    };
    scaffold.text = write(&scaffold, profile, target, options);
    Ok(scaffold)
}

fn no_features(profile: &DataProfile, target: &TargetProfile, roles: &Roles) -> Unusable {
    let mut reasons: Vec<String> = roles
        .dropped
        .iter()
        .map(|(c, why)| format!("`{c}` {why}"))
        .collect();
    reasons.extend(
        roles
            .id
            .iter()
            .map(|(c, _)| format!("`{c}` is a row identifier")),
    );
    let others = profile.columns.len().saturating_sub(1);
    let message = if reasons.is_empty() {
        format!(
            "no column besides the target `{}` can become a feature: the {others} other columns hold no numbers, categories, text or dates",
            target.name
        )
    } else {
        format!(
            "no column besides the target `{}` can become a feature: {}",
            target.name,
            reasons.join("; ")
        )
    };
    Unusable {
        message,
        help: "flow builds features from numeric, categorical, text and date columns: add some to the data, or name another `--target`".to_owned(),
    }
}

fn write(
    scaffold: &Scaffold,
    profile: &DataProfile,
    target: &TargetProfile,
    options: &ScaffoldOptions,
) -> String {
    let mut kdl = KdlText::default();
    let file = profile.path.file_name().map_or_else(
        || options.source.clone(),
        |f| f.to_string_lossy().into_owned(),
    );
    kdl.comment(&format!(
        "Written by `flow init` for {file} ({} rows, {} columns). Each setting was chosen from the data; the comment above it says why. Change anything, then:",
        profile.rows,
        profile.columns.len(),
    ));
    let pipeline = &options.pipeline_file;
    kdl.comment_line(&format!(
        "    flow check {pipeline}    validates it, reading the data's columns"
    ));
    kdl.comment_line(&format!(
        "    flow run {pipeline}      searches for features (about a minute)"
    ));
    kdl.open(&format!("pipeline {}", string(&options.name)));
    write_dataset(&mut kdl, scaffold, profile, target, options);
    kdl.blank();
    write_space(&mut kdl, scaffold);
    kdl.blank();
    write_evaluator(&mut kdl, &scaffold.evaluation);
    kdl.blank();
    let inputs = profile
        .columns
        .iter()
        .filter(|c| c.name != target.name && !scaffold.roles.leaves_out(&c.name))
        .count() as u64;
    write_search(&mut kdl, inputs);
    kdl.blank();
    kdl.comment("Results are Parquet tables in `results/` next to this file: `flow runs results` lists the runs, `flow query results \"SELECT …\"` queries them, `flow export results` prints the best feature set as SQL.");
    kdl.node("output \"results\"");
    kdl.close();
    kdl.finish()
}

fn write_dataset(
    kdl: &mut KdlText,
    scaffold: &Scaffold,
    profile: &DataProfile,
    target: &TargetProfile,
    options: &ScaffoldOptions,
) {
    kdl.open("dataset");
    kdl.comment("Relative to this file.");
    kdl.node(&format!("source {}", string(&options.source)));
    let tsv = options.source.to_ascii_lowercase().contains(".tsv");
    let implied = if tsv { b'\t' } else { b',' };
    if profile.csv.delimiter != implied {
        let delimiter = char::from(profile.csv.delimiter).to_string();
        kdl.comment("The header line is separated by this character, not by commas.");
        kdl.node(&format!("format \"csv\" delimiter={}", string(&delimiter)));
    }
    let evaluation = &scaffold.evaluation;
    kdl.comment(&evaluation.task_reason);
    kdl.node(&format!("target {}", string(&target.name)));
    kdl.node(&format!("task {}", string(evaluation.task.name())));
    if target.nulls > 0 {
        kdl.comment(&format!(
            "{} rows have no `{}`; the search leaves them out.",
            target.nulls, target.name
        ));
    }
    let roles = &scaffold.roles;
    for (node, role) in [
        ("id", &roles.id),
        ("time", &roles.time),
        ("group", &roles.group),
    ] {
        if let Some((column, reason)) = role {
            kdl.comment(reason);
            kdl.node(&format!("{node} {}", string(column)));
        }
    }
    if !roles.dropped.is_empty() {
        let reasons: Vec<String> = roles
            .dropped
            .iter()
            .map(|(column, why)| format!("- `{column}` {why}."))
            .collect();
        kdl.comment(&format!("Left out:\n{}", reasons.join("\n")));
        kdl.node(&format!(
            "drop {}",
            strings(roles.dropped.iter().map(|(c, _)| c.as_str()))
        ));
    }
    if let Some(rows) = scaffold.sample_rows {
        kdl.comment(&format!(
            "{} rows are more than a one-minute search needs: a seeded sample of {rows} keeps it quick. Remove this line to search all rows.",
            profile.rows
        ));
        kdl.node(&format!("sample rows={rows}"));
    }
    for note in &roles.notes {
        kdl.comment(note);
    }
    kdl.close();
}

fn write_space(kdl: &mut KdlText, scaffold: &Scaffold) {
    kdl.open("space");
    for choice in &scaffold.modules {
        kdl.comment(&choice.reason);
        let head = format!("use {}", string(choice.module));
        if choice.disabled.is_empty() {
            kdl.node(&head);
            continue;
        }
        kdl.open(&head);
        for (operation, why) in &choice.disabled {
            kdl.comment(why);
            kdl.node(&format!("{operation} enabled=#false"));
        }
        kdl.close();
    }
    let mut next = String::from(
        "Depth 2 lets operations apply to features built by others (`ratio(log(a), b)`); depth 3 searches a far larger space, so raise `iterations` with it.",
    );
    let numeric = scaffold.modules.iter().any(|m| m.module == "std.numeric");
    if numeric {
        next.push_str(" Next to try: `use \"std.ranking\"` (ranks, percentiles) and `use \"std.binning\"` (bins); `exclude` keeps columns out of features; `flow ops` lists every operation.");
    } else {
        next.push_str(" `flow ops` lists every operation.");
    }
    kdl.comment(&next);
    kdl.node("max-depth 2");
    kdl.close();
}

fn write_evaluator(kdl: &mut KdlText, evaluation: &Evaluation) {
    kdl.open("evaluator");
    let (model, properties) = &evaluation.model;
    kdl.comment(&evaluation.model_reason);
    if properties.is_empty() {
        kdl.node(&format!("model {}", string(model)));
    } else {
        kdl.node(&format!("model {} {properties}", string(model)));
    }
    kdl.comment(&evaluation.metric_reason);
    kdl.node(&format!("metric {}", string(evaluation.metric)));
    let (scheme, folds) = evaluation.cv;
    kdl.comment(&evaluation.cv_reason);
    kdl.node(&format!("cv {} folds={folds}", string(scheme)));
    let (model, properties) = &evaluation.final_model;
    kdl.comment(&evaluation.final_model_reason);
    kdl.node(&format!("final-model {} {properties}", string(model)));
    kdl.close();
}

/// The search block, for a table of `inputs` feature columns.
fn write_search(kdl: &mut KdlText, inputs: u64) {
    kdl.open("search");
    kdl.comment(&format!(
        "About a minute: the search stops after {ITERATIONS} evaluated feature sets or after {TIME_LIMIT}, whichever comes first. For a longer search raise both; `-S search.iterations=1000 -S search.time-limit=10m` on `flow run` tries that without editing this file."
    ));
    kdl.node(&format!("iterations {ITERATIONS}"));
    kdl.node(&format!("time-limit {}", string(TIME_LIMIT)));
    let patience = (PATIENCE_PER_COLUMN * inputs).max(MIN_PATIENCE);
    kdl.comment(&format!(
        "It also stops once {patience} feature sets in a row ({PATIENCE_PER_COLUMN} per input column, at least {MIN_PATIENCE}) found no better score: gains found after a long stall are mostly fold noise that the held-out rows do not confirm."
    ));
    kdl.node(&format!("patience {patience}"));
    kdl.comment("The same data and seed give the same search (though a time limit may stop it at another point).");
    kdl.node(&format!("seed {SEED}"));
    kdl.close();
}

impl Scaffold {
    /// The task in words: `classification of `weather` (5 classes)`.
    pub fn task_line(&self, target: &TargetProfile) -> String {
        match self.evaluation.task {
            Task::Classification => format!(
                "classification of `{}` ({} classes)",
                target.name, target.distinct
            ),
            Task::Regression => format!("regression of `{}`", target.name),
        }
    }
}

#[cfg(test)]
mod tests;
