//! A run's best feature set as plain SQL (`flow export`), and that SQL computed on new data
//! (`flow apply`). The SQL is what the search computed, over a table the user names; it
//! runs unchanged in DataFusion and DuckDB.

use std::path::Path as FsPath;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use flow_dsl::S3Options;

use super::location::s3_store;
use super::manifest::RunManifest;
use crate::error::RuntimeError;
use crate::features::{FOLD_ID, ROW_ID, TARGET_VALUE};

/// `name` as a double-quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The best feature set of `run` as one `SELECT` over `table`: the id column (if the
/// dataset has one), then every feature of the set, named as the search named it.
pub fn export_sql(run: &RunManifest, table: &str) -> Result<String, RuntimeError> {
    let supervised: Vec<&str> = run
        .best_features
        .iter()
        .zip(&run.best_feature_sql)
        .filter(|(_, sql)| sql.contains(&quote(TARGET_VALUE)) || sql.contains(&quote(FOLD_ID)))
        .map(|(name, _)| name.as_str())
        .collect();
    if !supervised.is_empty() {
        return Err(RuntimeError::Export {
            run_id: run.run_id.clone(),
            message: format!(
                "the best feature set has features computed from the target out of fold ({}), which a SELECT over new data cannot reproduce",
                supervised.join(", ")
            ),
            help: "exclude the supervised operations (`space { exclude-ops … }`) to get a portable feature set, or query the features the run computed with `flow query`".to_owned(),
        });
    }
    let mut select: Vec<String> = Vec::new();
    if let Some(id) = &run.id_column
        && !run.best_features.contains(id)
    {
        select.push(quote(id));
    }
    for (name, sql) in run.best_features.iter().zip(&run.best_feature_sql) {
        if *sql == quote(name) {
            select.push(sql.clone());
        } else {
            select.push(format!("{sql} AS {}", quote(name)));
        }
    }
    let uses_row = run
        .best_feature_sql
        .iter()
        .any(|s| s.contains(&quote(ROW_ID)));
    let from = if uses_row {
        // The search numbers rows in input order to break ties in window orderings.
        format!(
            "(SELECT *, ROW_NUMBER() OVER () - 1 AS {} FROM {}) AS flow_input",
            quote(ROW_ID),
            quote(table)
        )
    } else {
        quote(table)
    };
    let comment = |text: &str| text.replace(['\n', '\r'], " ");
    let score = |s: Option<f64>| s.map_or("-".to_owned(), |v| format!("{v:.6}"));
    Ok(format!(
        "-- flow run {} of pipeline \"{}\": the best feature set\n-- {} {} (baseline {}), data {}\nSELECT\n  {}\nFROM {from}\n",
        run.run_id,
        comment(&run.pipeline),
        run.metric.as_deref().unwrap_or("score"),
        score(run.best_score),
        score(run.baseline),
        comment(&run.data_location),
        select.join(",\n  "),
    ))
}

/// What `flow apply` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Rows written.
    pub rows: u64,
    /// Columns written.
    pub columns: Vec<String>,
    /// Where.
    pub output: String,
}

/// Computes the best feature set of `run` on the data at `input` (CSV, Parquet or JSON,
/// local or `s3://`) and writes it as one Parquet file at `output` (local or `s3://`).
pub async fn apply(
    run: &RunManifest,
    input: &str,
    output: &str,
    base_dir: &FsPath,
) -> Result<Applied, RuntimeError> {
    const TABLE: &str = "input";
    let sql = export_sql(run, TABLE)?;
    // The search's settings, so window features come out as the search computed them.
    let ctx = SessionContext::new_with_config(crate::plan::search_session_config());
    let input_url = resolve_file(&ctx, input, base_dir)?;
    let lower = input.to_lowercase();
    let data_error = |message: String, help: &str| RuntimeError::Dataset {
        location: input.to_owned(),
        message,
        help: help.to_owned(),
    };
    let registered = if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        let ext = if lower.ends_with(".pq") {
            ".pq"
        } else {
            ".parquet"
        };
        ctx.register_parquet(
            TABLE,
            &input_url,
            ParquetReadOptions::default().file_extension(ext),
        )
        .await
    } else if lower.ends_with(".json") || lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
        let ext = lower
            .rsplit('.')
            .next()
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        ctx.register_json(
            TABLE,
            &input_url,
            JsonReadOptions::default().file_extension(&ext),
        )
        .await
    } else if lower.ends_with(".csv") || lower.ends_with(".tsv") {
        let (ext, delimiter) = if lower.ends_with(".tsv") {
            (".tsv", b'\t')
        } else {
            (".csv", b',')
        };
        ctx.register_csv(
            TABLE,
            &input_url,
            CsvReadOptions::new()
                .file_extension(ext)
                .delimiter(delimiter),
        )
        .await
    } else {
        return Err(data_error(
            "flow cannot tell its format from the name".to_owned(),
            "name the file `….csv`, `….tsv`, `….parquet` or `….json`",
        ));
    };
    registered.map_err(|e| {
        data_error(
            e.to_string(),
            "check the path and that the file is readable",
        )
    })?;
    let schema = ctx
        .table(TABLE)
        .await
        .map_err(|e| {
            data_error(
                e.to_string(),
                "check the path and that the file is readable",
            )
        })?
        .schema()
        .as_arrow()
        .clone();
    check_columns(run, &sql, &schema).map_err(|(message, help)| data_error(message, &help))?;
    let df = ctx.sql(&sql).await.map_err(|e| RuntimeError::Export {
        run_id: run.run_id.clone(),
        message: format!("the feature SQL does not plan on this data: {e}"),
        help: "check that the new data has the training data's columns and types".to_owned(),
    })?;
    let columns: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let output_url = resolve_output(&ctx, output, base_dir)?;
    let written = df
        .write_parquet(
            &output_url,
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await
        .map_err(|e| RuntimeError::Output {
            location: output.to_owned(),
            message: e.to_string(),
        })?;
    let rows = written
        .first()
        .and_then(|b| {
            b.column_by_name("count").and_then(|c| {
                c.as_any()
                    .downcast_ref::<datafusion::arrow::array::UInt64Array>()
                    .map(|a| a.value(0))
            })
        })
        .unwrap_or(0);
    Ok(Applied {
        rows,
        columns,
        output: output_url,
    })
}

/// Checks the new data has every training column the SQL reads, with a compatible type.
fn check_columns(run: &RunManifest, sql: &str, schema: &Schema) -> Result<(), (String, String)> {
    for (name, trained) in run.input_columns.iter().zip(&run.input_types) {
        let needed = sql.contains(&quote(name));
        if !needed {
            continue;
        }
        let Ok(field) = schema.field_with_name(name) else {
            let close = schema
                .fields()
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(name))
                .map(|f| format!(" (it has `{}`: column names are case-sensitive)", f.name()))
                .unwrap_or_default();
            return Err((
                format!("the new data has no column `{name}`, which the features read{close}"),
                format!(
                    "the run's features need the columns {}",
                    needed_columns(run, sql).join(", ")
                ),
            ));
        };
        // The manifest stores Arrow's own rendering of the type, which Arrow parses back.
        let trained_family = trained.parse::<DataType>().map_or("other", |t| family(&t));
        if family(field.data_type()) != trained_family {
            return Err((
                format!(
                    "column `{name}` is {} in the new data but was {trained} in the training data",
                    field.data_type()
                ),
                format!("convert `{name}` to a {trained_family} type"),
            ));
        }
    }
    Ok(())
}

fn needed_columns(run: &RunManifest, sql: &str) -> Vec<String> {
    run.input_columns
        .iter()
        .filter(|c| sql.contains(&quote(c)))
        .map(|c| format!("`{c}`"))
        .collect()
}

/// Types that are interchangeable in feature SQL.
fn family(t: &DataType) -> &'static str {
    if t.is_numeric() {
        "numeric"
    } else if matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        "string"
    } else if t.is_temporal() {
        "temporal"
    } else if matches!(t, DataType::Boolean) {
        "boolean"
    } else if let DataType::Dictionary(_, value) = t {
        family(value)
    } else {
        "other"
    }
}

/// A local path (relative to `base_dir`) or an `s3://` URL whose store is registered.
fn resolve_file(
    ctx: &SessionContext,
    path: &str,
    base_dir: &FsPath,
) -> Result<String, RuntimeError> {
    if let Some(rest) = path.strip_prefix("s3://") {
        let bucket = rest.split('/').next().unwrap_or_default();
        let store =
            s3_store(bucket, &S3Options::default()).map_err(|message| RuntimeError::Dataset {
                location: path.to_owned(),
                message,
                help: "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION".to_owned(),
            })?;
        let url =
            url::Url::parse(&format!("s3://{bucket}")).map_err(|e| RuntimeError::Dataset {
                location: path.to_owned(),
                message: e.to_string(),
                help: "write S3 locations as `s3://bucket/key`".to_owned(),
            })?;
        ctx.register_object_store(&url, store);
        return Ok(path.to_owned());
    }
    let path = path.strip_prefix("file://").unwrap_or(path);
    Ok(base_dir.join(path).display().to_string())
}

fn resolve_output(
    ctx: &SessionContext,
    path: &str,
    base_dir: &FsPath,
) -> Result<String, RuntimeError> {
    if path.starts_with("s3://") {
        return resolve_file(ctx, path, base_dir).map_err(|e| RuntimeError::Output {
            location: path.to_owned(),
            message: e.to_string(),
        });
    }
    let full = base_dir.join(path.strip_prefix("file://").unwrap_or(path));
    if let Some(parent) = full.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| RuntimeError::Output {
            location: parent.display().to_string(),
            message: e.to_string(),
        })?;
    }
    Ok(full.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_type_names_read_back_into_their_family() {
        for (t, expected) in [
            (DataType::Int64, "numeric"),
            (DataType::Float64, "numeric"),
            (DataType::Utf8View, "string"),
            (
                DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into()),
                ),
                "temporal",
            ),
            (DataType::Date32, "temporal"),
            (DataType::Boolean, "boolean"),
            (
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                "string",
            ),
        ] {
            let stored = t.to_string();
            let parsed: DataType = stored.parse().expect("Arrow parses its own rendering");
            assert_eq!(family(&parsed), expected, "{stored}");
        }
    }
}
