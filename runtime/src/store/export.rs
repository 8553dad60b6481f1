//! A run's best feature set as plain SQL (`flow export`), and that SQL computed on new data
//! (`flow apply`). The SQL is what the search computed with every table statistic frozen at
//! its training value (`features/fit.rs`), over a table the user names; it runs unchanged
//! in DataFusion and DuckDB.

use std::path::Path as FsPath;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, Schema, UInt64Type};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use flow_dsl::S3Options;

use super::layout;
use super::location::s3_store;
use super::manifest::RunManifest;
use crate::error::RuntimeError;
use crate::features::{Fitted, Lookup, float_literal, lookup_name};

/// `name` as a double-quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Lookup tables of at most this many rows are written into the exported SQL as `VALUES`;
/// larger ones are referenced by name, and their Parquet file must be registered.
pub const INLINE_ROWS: usize = 1_000;

/// The fitted feature set of `run`, or why it has none.
pub fn fitted_features(run: &RunManifest) -> Result<Fitted, RuntimeError> {
    let export_error = |message: String, help: &str| RuntimeError::Export {
        run_id: run.run_id.clone(),
        message,
        help: help.to_owned(),
    };
    match (&run.fitted, &run.fit_error) {
        (Some(json), _) => serde_json::from_str(json).map_err(|e| {
            export_error(
                format!("its stored feature fit is unreadable: {e}"),
                "re-run the pipeline with `--force` to fit the features again",
            )
        }),
        (None, Some(why)) => Err(export_error(
            format!("its best feature set could not be fitted for new data: {why}"),
            "exclude the operations named there (`space { exclude-ops … }`) and re-run, or \
             query the features the run computed with `flow query`",
        )),
        (None, None) if run.best_features.is_empty() => Err(export_error(
            format!(
                "it has no best feature set (the run is {})",
                run.status.as_str()
            ),
            "export a completed run: `flow runs <location>` lists them",
        )),
        (None, None) => Err(export_error(
            "it was stored without fitted features (by an older flow), so its SQL would \
             recompute every statistic over the data it is applied to"
                .to_owned(),
            "re-run the pipeline with `--force` to fit its features",
        )),
    }
}

/// Which feature set `flow export` and `flow apply` give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetChoice {
    /// The best set, unless the held-out rows found it no better than the base columns:
    /// then the base columns alone, so features that did not transfer are not shipped.
    #[default]
    Confirmed,
    /// The best set, whatever the held-out rows say (`--unconfirmed`).
    Best,
}

/// The least share of bootstrap resamples of the held-out rows on which the best set must
/// beat the base columns for the held-out rows to confirm it: a gain that a different
/// draw of the held-out rows would as likely turn into a loss is noise, not a feature
/// worth shipping.
pub const MIN_SUPPORT: f64 = 0.9;

/// Why the held-out rows do not confirm `run`'s best set: they scored it no better than
/// the base columns (a held-out uplift of 0 or less), or better on fewer than
/// [`MIN_SUPPORT`] of their bootstrap resamples. `None` when they confirm it, no rows were
/// held out, or the best set is the base columns alone.
pub fn unconfirmed(run: &RunManifest) -> Option<String> {
    let uplift = run.confirm_uplift?;
    let engineered = run
        .best_features
        .iter()
        .any(|f| !run.input_columns.contains(f));
    if confirms(uplift, run.confirm_support) || !engineered {
        return None;
    }
    let score = |s: Option<f64>| s.map_or("-".to_owned(), |v| format!("{v:.6}"));
    let mut why = format!(
        "on the {} held-out rows the search never saw, its best set scored {} {} against \
         {} for the base columns alone (held-out uplift {:+.2} %)",
        run.confirm_rows.unwrap_or_default(),
        run.held_out_label(),
        score(run.confirm_best),
        score(run.confirm_baseline),
        uplift * 100.0,
    );
    if let Some(support) = run.confirm_support.filter(|_| uplift > 0.0) {
        why.push_str(&format!(
            ", better on only {:.0} % of resamples of those rows where {:.0} % is asked",
            support * 100.0,
            MIN_SUPPORT * 100.0
        ));
    }
    Some(why)
}

/// Whether a held-out `uplift` with its bootstrap `support` (none for runs stored by an
/// older flow) confirms a best set.
fn confirms(uplift: f64, support: Option<f64>) -> bool {
    uplift > 0.0 && support.is_none_or(|s| s >= MIN_SUPPORT)
}

/// The feature set `flow export` or `flow apply` gives for a run.
#[derive(Debug, Clone)]
pub struct ChosenSet {
    /// The fitted features to compute.
    pub fitted: Fitted,
    /// Why the engineered features were left out (only the base columns are given), when
    /// they were: the held-out rows did not confirm them.
    pub withheld: Option<String>,
}

/// The fitted set of `run` that `choice` gives: the best set, or its base columns alone
/// when [`SetChoice::Confirmed`] and the held-out rows did not confirm it.
pub fn chosen_features(run: &RunManifest, choice: SetChoice) -> Result<ChosenSet, RuntimeError> {
    let fitted = fitted_features(run)?;
    match unconfirmed(run) {
        Some(why) if choice == SetChoice::Confirmed => Ok(ChosenSet {
            fitted: fitted.base_only(),
            withheld: Some(why),
        }),
        _ => Ok(ChosenSet {
            fitted,
            withheld: None,
        }),
    }
}

/// How lookup tables appear in a feature query.
enum LookupForm<'a> {
    /// As `VALUES` where they are small enough ([`INLINE_ROWS`]), else by name.
    Inline(&'a [RecordBatch]),
    /// By name: the caller registers them.
    Named,
}

/// The feature set of `run` that `choice` gives ([`chosen_features`]) as one `SELECT`
/// over `table`: the id column (if the dataset has one), then every feature of the set,
/// named as the search named it, with every statistic frozen at its training value.
/// `lookups` are the run's lookup tables ([`Results::lookups`](super::Results::lookups));
/// small ones are written inline.
pub fn export_sql(
    run: &RunManifest,
    table: &str,
    lookups: &[RecordBatch],
    choice: SetChoice,
) -> Result<String, RuntimeError> {
    let ChosenSet { fitted, withheld } = chosen_features(run, choice)?;
    let carry: Vec<String> = run.id_column.iter().cloned().collect();
    let body = feature_query(&fitted, table, &LookupForm::Inline(lookups), &carry);
    let comment = |text: &str| text.replace(['\n', '\r'], " ");
    let score = |s: Option<f64>| s.map_or("-".to_owned(), |v| format!("{v:.6}"));
    let what = if withheld.is_some() {
        "the base columns alone"
    } else {
        "the best feature set"
    };
    let mut header = format!(
        "-- flow run {} of pipeline \"{}\": {what}\n-- {} {} (baseline {}) \
         cross-validated on the rows searched, data {}\n",
        run.run_id,
        comment(&run.pipeline),
        run.metric.as_deref().unwrap_or("score"),
        score(run.best_score),
        score(run.baseline),
        comment(&run.data_location),
    );
    if let (Some(rows), Some(_)) = (run.confirm_rows, run.confirm_best) {
        header.push_str(&format!(
            "-- {} {} (baseline {}) on {rows} held-out rows the search never saw\n",
            run.held_out_label(),
            score(run.confirm_best),
            score(run.confirm_baseline),
        ));
    }
    match (&withheld, unconfirmed(run)) {
        (Some(_), _) => header.push_str(
            "-- The held-out rows did not confirm the best set's features, so they are left out;\n\
             -- `flow export --unconfirmed` gives them anyway.\n",
        ),
        (None, Some(_)) => header.push_str(
            "-- The held-out rows did not confirm these features: there they did not beat the base\n\
             -- columns alone by more than the luck of which rows were held out.\n",
        ),
        (None, None) => {}
    }
    let frozen = fitted
        .features
        .iter()
        .zip(&run.best_feature_sql)
        .any(|(fitted, searched)| fitted.sql != *searched);
    if frozen {
        header.push_str(
            "-- Statistics (means, deviations, ranks, category counts, target means) are frozen at\n\
             -- their values on the run's training rows; a category the training rows lacked gets 0\n\
             -- for counts and sums and NULL for other statistics.\n",
        );
    }
    for (i, lookup) in fitted.lookups.iter().enumerate() {
        if inline_table(lookups.get(i), lookup).is_none() {
            let name = lookup_name(i);
            let file = layout::lookup(&run.run_id, &name);
            header.push_str(&format!(
                "-- {name} ({} rows) is read by name: register <results>/{file} under that name\n\
                 --   (DuckDB: CREATE VIEW {name} AS SELECT * FROM '<results>/{file}';)\n",
                lookup.rows
            ));
        }
    }
    let live: Vec<&str> = fitted
        .features
        .iter()
        .filter(|f| f.live)
        .map(|f| f.name.as_str())
        .collect();
    if !live.is_empty() {
        header.push_str(&format!(
            "-- Computed over the rows it is applied to (lags, rolling windows; give it the\n\
             -- history they read): {}\n",
            comment(&live.join(", "))
        ));
    }
    Ok(format!("{header}{body}"))
}

/// The `SELECT` computing `fitted` over `table`: the `carry` columns of the input first,
/// then the features, in input row order.
fn feature_query(
    fitted: &Fitted,
    table: &str,
    lookups: &LookupForm<'_>,
    carry: &[String],
) -> String {
    let sources: Vec<String> = fitted
        .lookups
        .iter()
        .enumerate()
        .map(|(i, lookup)| {
            let inline = match lookups {
                LookupForm::Inline(tables) => inline_table(tables.get(i), lookup),
                LookupForm::Named => None,
            };
            inline.map_or_else(|| quote(&lookup_name(i)), |values| format!("({values})"))
        })
        .collect();
    fitted.query(table, &sources, carry)
}

/// A lookup table as a `SELECT … FROM (VALUES …)`, when it is small and of plain types.
fn inline_table(table: Option<&RecordBatch>, lookup: &Lookup) -> Option<String> {
    let table = table?;
    if table.num_rows() > INLINE_ROWS || table.num_rows() != lookup.rows {
        return None;
    }
    let schema = table.schema();
    let types: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| sql_type(f.data_type()))
        .collect::<Option<_>>()?;
    let names: Vec<String> = (1..=types.len()).map(|i| format!("c{i}")).collect();
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .zip(&types)
        .zip(&names)
        .map(|((f, t), n)| format!("CAST({n} AS {t}) AS {}", quote(f.name())))
        .collect();
    let mut rows = Vec::with_capacity(table.num_rows());
    for r in 0..table.num_rows() {
        let values: Vec<String> = table
            .columns()
            .iter()
            .map(|c| sql_value(c.as_ref(), r))
            .collect::<Option<_>>()?;
        rows.push(format!("({})", values.join(", ")));
    }
    if rows.is_empty() {
        // VALUES needs a row: one that matches nothing (every key column NULL, and no
        // NULL partition exists in an empty table).
        return None;
    }
    Some(format!(
        "SELECT {} FROM (VALUES {}) AS flow_values({})",
        columns.join(", "),
        rows.join(", "),
        names.join(", ")
    ))
}

/// The SQL type both DataFusion and DuckDB read `t` back as, for types a lookup inlines.
fn sql_type(t: &DataType) -> Option<&'static str> {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some("VARCHAR"),
        DataType::Boolean => Some("BOOLEAN"),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Some("BIGINT"),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => Some("BIGINT"),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Some("DOUBLE"),
        _ => None,
    }
}

/// Row `r` of `column` as a SQL literal (for the types [`sql_type`] accepts).
fn sql_value(column: &dyn Array, r: usize) -> Option<String> {
    if column.is_null(r) {
        return Some("NULL".to_owned());
    }
    let text = match column.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let as_text = cast(&column.slice(r, 1), &DataType::Utf8).ok()?;
            format!(
                "'{}'",
                as_text.as_string::<i32>().value(0).replace('\'', "''")
            )
        }
        DataType::Boolean => if column.as_boolean().value(r) {
            "TRUE"
        } else {
            "FALSE"
        }
        .to_owned(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let as_float = cast(&column.slice(r, 1), &DataType::Float64).ok()?;
            float_literal(as_float.as_primitive::<Float64Type>().value(0))
        }
        _ => {
            let as_int = cast(&column.slice(r, 1), &DataType::Int64).ok()?;
            let v = as_int.as_primitive::<Int64Type>().value(0);
            if v < 0 {
                format!("({v})")
            } else {
                v.to_string()
            }
        }
    };
    Some(text)
}

/// The output format of `flow apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplyFormat {
    /// One Parquet file (Arrow types kept).
    #[default]
    Parquet,
    /// One CSV file with a header.
    Csv,
}

/// What `flow apply` writes besides the features.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Input columns written before the features (the id and target columns, when the
    /// input has them, always are).
    pub keep: Vec<String>,
    /// The output format.
    pub format: ApplyFormat,
    /// Which feature set to compute.
    pub choice: SetChoice,
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

/// Computes the feature set of `run` that `options.choice` gives on the data at `input` (CSV, Parquet or JSON,
/// local or `s3://`) with its statistics frozen (`lookups` are the run's lookup tables),
/// and writes it in input row order as one file at `output` (local or `s3://`): the id and
/// target columns when the input has them, the `keep` columns, then the features.
pub async fn apply(
    run: &RunManifest,
    lookups: &[RecordBatch],
    input: &str,
    output: &str,
    base_dir: &FsPath,
    options: &ApplyOptions,
) -> Result<Applied, RuntimeError> {
    const TABLE: &str = "input";
    let ChosenSet { fitted, withheld } = chosen_features(run, options.choice)?;
    // The base columns alone read no lookup table.
    let lookups = if withheld.is_some() { &[] } else { lookups };
    // The search's settings, so window features come out as the search computed them.
    let ctx = SessionContext::new_with_config(crate::plan::search_session_config());
    for (i, table) in lookups.iter().enumerate() {
        let mem = MemTable::try_new(table.schema(), vec![vec![table.clone()]])
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        ctx.register_table(lookup_name(i), Arc::new(mem))
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
    }
    if lookups.len() != fitted.lookups.len() {
        return Err(RuntimeError::Export {
            run_id: run.run_id.clone(),
            message: format!(
                "the run's fit has {} lookup tables but {} were found",
                fitted.lookups.len(),
                lookups.len()
            ),
            help: "re-run the pipeline with `--force` to fit its features again".to_owned(),
        });
    }
    let input_url = resolve_file(&ctx, input, base_dir)?;
    let data_error = |message: String, help: &str| RuntimeError::Dataset {
        location: input.to_owned(),
        message,
        help: help.to_owned(),
    };
    register_input(&ctx, TABLE, input, &input_url)
        .await
        .map_err(|(message, help)| data_error(message, help))?;
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
    let all_sql: String = fitted
        .features
        .iter()
        .map(|f| f.sql.as_str())
        .chain(
            fitted
                .lookups
                .iter()
                .flat_map(|l| l.keys.iter().chain(&l.steps_over).map(String::as_str)),
        )
        .collect::<Vec<_>>()
        .join("\n");
    check_columns(run, &all_sql, &schema).map_err(|(message, help)| data_error(message, &help))?;
    for column in &options.keep {
        if schema.field_with_name(column).is_err() {
            return Err(data_error(
                format!("`--keep` names `{column}`, which the new data does not have"),
                "name columns of the input file, separated by commas",
            ));
        }
    }
    // The id and the target ride along when the input has them, then what was asked for.
    let mut carry: Vec<String> = Vec::new();
    for column in run
        .id_column
        .iter()
        .chain([&run.target])
        .chain(&options.keep)
    {
        if schema.field_with_name(column).is_ok() && !carry.contains(column) {
            carry.push(column.clone());
        }
    }
    let sql = feature_query(&fitted, TABLE, &LookupForm::Named, &carry);
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
    let write_options = DataFrameWriteOptions::new().with_single_file_output(true);
    let written = match options.format {
        ApplyFormat::Parquet => df.write_parquet(&output_url, write_options, None).await,
        ApplyFormat::Csv => df.write_csv(&output_url, write_options, None).await,
    }
    .map_err(|e| RuntimeError::Output {
        location: output.to_owned(),
        message: e.to_string(),
    })?;
    let rows = written
        .first()
        .and_then(|b| {
            b.column_by_name("count")
                .and_then(|c| c.as_primitive_opt::<UInt64Type>().map(|a| a.value(0)))
        })
        .unwrap_or(0);
    Ok(Applied {
        rows,
        columns,
        output: output_url,
    })
}

/// Registers the file at `url` (named `input`) as `table`, its format told by its name.
async fn register_input(
    ctx: &SessionContext,
    table: &str,
    input: &str,
    url: &str,
) -> Result<(), (String, &'static str)> {
    let lower = input.to_lowercase();
    let registered = if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        let ext = if lower.ends_with(".pq") {
            ".pq"
        } else {
            ".parquet"
        };
        ctx.register_parquet(
            table,
            url,
            ParquetReadOptions::default().file_extension(ext),
        )
        .await
    } else if lower.ends_with(".json") || lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
        let ext = lower
            .rsplit('.')
            .next()
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        ctx.register_json(table, url, JsonReadOptions::default().file_extension(&ext))
            .await
    } else if lower.ends_with(".csv") || lower.ends_with(".tsv") {
        let (ext, delimiter) = if lower.ends_with(".tsv") {
            (".tsv", b'\t')
        } else {
            (".csv", b',')
        };
        ctx.register_csv(
            table,
            url,
            CsvReadOptions::new()
                .file_extension(ext)
                .delimiter(delimiter),
        )
        .await
    } else {
        return Err((
            "flow cannot tell its format from the name".to_owned(),
            "name the file `….csv`, `….tsv`, `….parquet` or `….json`",
        ));
    };
    registered.map_err(|e| {
        (
            e.to_string(),
            "check the path and that the file is readable",
        )
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
    fn a_held_out_gain_confirms_only_when_most_resamples_agree() {
        assert!(confirms(0.02, Some(0.97)));
        assert!(confirms(0.02, Some(MIN_SUPPORT)));
        assert!(!confirms(0.02, Some(0.75)), "a gain luck could undo");
        assert!(!confirms(0.0, Some(0.5)));
        assert!(!confirms(-0.01, Some(0.95)), "a loss never confirms");
        assert!(confirms(0.02, None), "runs stored before the resamples");
        assert!(!confirms(-0.01, None));
    }

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
