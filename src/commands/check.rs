//! `flow check`: validate pipelines, their modules, their overrides and (unless
//! `--no-data`) the columns of their data, reporting every problem at once.

use std::io::Write;
use std::path::Path;

use miette::JSONReportHandler;

use flow_dsl::{CvScheme, ResolvedPipeline};
use flow_runtime::{
    DataCheck, FileKind, LoadedModule, LoadedPipeline, RuntimeError, file_kind, inspect_dataset,
    load_module, load_pipeline, skipped_columns,
};

use super::Failure;
use crate::cli::{CheckArgs, Format};

/// Checks each pipeline; fails if any has a problem, after reporting all of them.
pub fn check(args: &CheckArgs) -> Result<(), Failure> {
    let runtime = super::async_runtime()?;
    let format = args.format.get();
    let mut failures = Vec::new();
    for path in &args.pipelines {
        if file_kind(path) == FileKind::Module {
            match load_module(path) {
                Ok(module) => print_valid_module(&module, format),
                Err(error) => {
                    if format == Format::Json {
                        print_invalid("module", path, &error);
                    }
                    failures.push(error);
                }
            }
            continue;
        }
        let outcome = load_pipeline(path, &args.overrides).and_then(|pipeline| {
            let data = if args.no_data {
                DataCheck::Skipped {
                    reason: "--no-data".to_owned(),
                }
            } else {
                runtime.block_on(inspect_dataset(&pipeline))?
            };
            Ok((pipeline, data))
        });
        match outcome {
            Ok((pipeline, data)) => print_valid(&pipeline, &data, format),
            Err(error) => {
                if format == Format::Json {
                    print_invalid("pipeline", path, &error);
                }
                failures.push(error);
            }
        }
    }
    let Some(last) = failures.pop() else {
        return Ok(());
    };
    let mut internal = !last.is_user_error();
    for earlier in failures {
        internal |= !earlier.is_user_error();
        eprintln!("{:?}", miette::Report::new(earlier));
    }
    let report = miette::Report::new(last);
    Err(if internal {
        Failure::internal(report)
    } else {
        Failure::user(report)
    })
}

fn print_valid(pipeline: &LoadedPipeline, data: &DataCheck, format: Format) {
    let resolved = &pipeline.resolved;
    match format {
        Format::Json => print_json_line(&serde_json::json!({
            "pipeline": pipeline.path.display().to_string(),
            "valid": true,
            "name": resolved.spec.name.value,
            "operations": resolved.operations.len(),
            "spec_hash": resolved.spec_hash(),
            "data": match data {
                DataCheck::Inspected { location, schema, rows } => serde_json::json!({
                    "location": location,
                    "columns": schema.fields().len(),
                    "rows": {
                        "read": rows.read,
                        "without_target": rows.without_target,
                        "searched": rows.searched,
                        "held_out": rows.held_out,
                    },
                    "skipped_columns": skipped_columns(pipeline, schema)
                        .into_iter()
                        .map(|(name, _)| name)
                        .collect::<Vec<_>>(),
                }),
                DataCheck::Skipped { reason } => serde_json::json!({ "skipped": reason }),
            },
        })),
        Format::Text => {
            let text = summary(pipeline, data);
            // A closed pipe (`flow check … | head -1`) is not an error.
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
}

fn print_valid_module(module: &LoadedModule, format: Format) {
    let names: Vec<&str> = module.operations.keys().map(String::as_str).collect();
    match format {
        Format::Json => print_json_line(&serde_json::json!({
            "module": module.path.display().to_string(),
            "valid": true,
            "operations": names,
        })),
        Format::Text => {
            let text = format!(
                "✓ {} is a valid module: {} operations ({})\n",
                module.path.display(),
                names.len(),
                names.join(", ")
            );
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
}

/// One JSON line for a file that is not valid: its error, and every diagnostic as miette's
/// JSON handler writes it (code, message, severity, help, labels), each label's span with
/// the line and column it starts at.
fn print_invalid(kind: &str, path: &Path, error: &RuntimeError) {
    let mut rendered = String::new();
    let diagnostics = match JSONReportHandler::new().render_report(&mut rendered, error) {
        Ok(()) => serde_json::from_str(&rendered).unwrap_or(serde_json::Value::Null),
        Err(_) => serde_json::Value::Null,
    };
    let mut diagnostics = diagnostics;
    add_positions(&mut diagnostics);
    print_json_line(&serde_json::json!({
        kind: path.display().to_string(),
        "valid": false,
        "error": error.to_string(),
        "diagnostic": diagnostics,
    }));
}

/// Adds `line` and `column` (1-based, in characters) to the span of every label in `value`
/// whose diagnostic names a file that can be read.
fn add_positions(value: &mut serde_json::Value) {
    let text = value
        .get("filename")
        .and_then(serde_json::Value::as_str)
        .and_then(|name| std::fs::read_to_string(name).ok());
    if let (Some(text), Some(labels)) = (
        text,
        value
            .get_mut("labels")
            .and_then(serde_json::Value::as_array_mut),
    ) {
        for label in labels {
            let offset = label
                .pointer("/span/offset")
                .and_then(serde_json::Value::as_u64)
                .and_then(|o| usize::try_from(o).ok());
            let (Some(offset), Some(span)) = (offset, label.get_mut("span")) else {
                continue;
            };
            let before = text.get(..offset.min(text.len())).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            span["line"] = serde_json::json!(line);
            span["column"] = serde_json::json!(column);
        }
    }
    if let Some(related) = value
        .get_mut("related")
        .and_then(serde_json::Value::as_array_mut)
    {
        related.iter_mut().for_each(add_positions);
    }
}

fn print_json_line(value: &serde_json::Value) {
    let _ = writeln!(std::io::stdout(), "{value}");
}

fn summary(pipeline: &LoadedPipeline, data: &DataCheck) -> String {
    let resolved = &pipeline.resolved;
    let spec = &resolved.spec;
    let dataset = &spec.dataset;
    let data_line = match data {
        DataCheck::Inspected {
            location, schema, ..
        } => format!(
            "{location} ({}, {} columns)",
            dataset.format.value.name(),
            schema.fields().len()
        ),
        DataCheck::Skipped { reason } => format!(
            "{} ({}; not read: {reason})",
            dataset.source.value.display(),
            dataset.format.value.name()
        ),
    };
    let task = dataset
        .task
        .as_ref()
        .map_or("task inferred at run time", |t| t.value.name());
    let rows = [
        ("pipeline", spec.name.value.clone()),
        ("dataset", data_line),
        ("target", format!("{} ({task})", dataset.target.value)),
        ("rows", rows_line(data)),
        ("operations", operations_line(resolved)),
        ("evaluator", evaluator_line(resolved)),
        (
            "search",
            format!(
                "{} iterations, depth ≤ {}, seed {}{}",
                spec.search.iterations,
                spec.space.max_depth,
                spec.search.seed,
                spec.search.halving.map_or_else(String::new, |h| format!(
                    ", halving (factor {}, {} rung{})",
                    h.factor,
                    h.rungs,
                    if h.rungs == 1 { "" } else { "s" }
                ))
            ),
        ),
        ("output", spec.output.location.value.clone()),
        ("spec hash", resolved.spec_hash()[..16].to_owned()),
    ];
    let mut out = format!("✓ {} is valid\n", pipeline.path.display());
    for (key, value) in rows {
        out.push_str(&format!("  {key:<11} {value}\n"));
    }
    if let DataCheck::Inspected { schema, rows, .. } = data {
        if let Some(warning) = rows.warning(&spec.dataset.target.value) {
            out.push_str(&format!("  warning: {warning}\n"));
        }
        let skipped = skipped_columns(pipeline, schema);
        if !skipped.is_empty() {
            out.push_str(&format!(
                "  note: the search skips {}: nested values cannot be features (`drop` them to silence this)\n",
                super::describe_columns(&skipped)
            ));
        }
    }
    out
}

/// The rows the search gets, as the run would take them.
fn rows_line(data: &DataCheck) -> String {
    let DataCheck::Inspected { rows, .. } = data else {
        return "not read".to_owned();
    };
    super::describe_rows(rows)
}

fn operations_line(resolved: &ResolvedPipeline) -> String {
    let mut origins: Vec<String> = resolved
        .operations
        .values()
        .map(|op| op.origin.describe())
        .collect();
    origins.sort();
    origins.dedup();
    format!("{} from {}", resolved.operations.len(), origins.join(", "))
}

fn evaluator_line(resolved: &ResolvedPipeline) -> String {
    let evaluator = &resolved.spec.evaluator;
    let metric = evaluator
        .metric
        .as_ref()
        .map_or("the task's default metric".to_owned(), |m| match m.value {
            flow_dsl::Metric::MapAtK(k) => format!("map@{k}"),
            other => other.name().to_owned(),
        });
    let cv = match evaluator.cv.scheme {
        CvScheme::KFold { folds } => format!("{folds}-fold CV"),
        CvScheme::Stratified { folds } => format!("stratified {folds}-fold CV"),
        CvScheme::RepeatedKFold { folds, repeats } => format!("{repeats}×{folds}-fold CV"),
        CvScheme::Holdout { fraction } => format!("holdout {:.0}%", fraction * 100.0),
    };
    let held_out = match &evaluator.final_model {
        Some(model) => format!("; held-out rows scored by {}", model.kind.value.name()),
        None => String::new(),
    };
    format!(
        "{}, {metric}, {cv}{held_out}",
        evaluator.model.kind.value.name()
    )
}

impl From<RuntimeError> for Failure {
    fn from(error: RuntimeError) -> Self {
        if matches!(error, RuntimeError::Interrupted { .. }) {
            return Self {
                report: miette::Report::new(error),
                user_error: true,
                interrupted: true,
            };
        }
        let user = error.is_user_error();
        let report = miette::Report::new(error);
        if user {
            Self::user(report)
        } else {
            Self::internal(report)
        }
    }
}
