//! Looking at the data before anything runs: read the dataset's schema through DataFusion
//! and check that every column the pipeline names exists, pointing at the KDL if not; then
//! (for `flow check`) read and prepare the rows as `flow run` would, so that check accepts
//! exactly the data run accepts.

use std::path::Path;

use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use flow_dsl::diagnostic::did_you_mean_help;
use flow_dsl::{DataFormat, DataLocation, Diagnostics, ErrorKind, Spanned, SpecDiagnostic};

use crate::error::RuntimeError;
use crate::load::LoadedPipeline;
use crate::operator::driver::SearchRows;

/// What `flow check` learnt about the data.
#[derive(Debug, Clone)]
pub enum DataCheck {
    /// The data was read as `flow run` reads it: every named column exists, and the rows
    /// passed the checks the search makes before its first fit.
    Inspected {
        /// The location read.
        location: String,
        /// The columns and their Arrow types.
        schema: SchemaRef,
        /// The rows the search would get.
        rows: SearchRows,
    },
    /// The data was not read, and why.
    Skipped {
        /// Why not.
        reason: String,
    },
}

/// The dataset location as DataFusion should read it: local paths are made relative to
/// the pipeline file's directory.
pub fn dataset_url(pipeline: &LoadedPipeline) -> String {
    match &pipeline.resolved.spec.dataset.source.value {
        DataLocation::Local(path) => {
            let path = Path::new(path);
            if path.is_absolute() {
                path.display().to_string()
            } else {
                pipeline.base_dir().join(path).display().to_string()
            }
        }
        s3 @ DataLocation::S3 { .. } => s3.display(),
    }
}

/// Reads the dataset's schema and checks the columns the pipeline names against it.
pub async fn inspect_dataset(pipeline: &LoadedPipeline) -> Result<DataCheck, RuntimeError> {
    let dataset = &pipeline.resolved.spec.dataset;
    if matches!(dataset.source.value, DataLocation::S3 { .. }) {
        return Ok(DataCheck::Skipped {
            reason: "datasets on S3 are not inspected by `flow check` yet".to_owned(),
        });
    }
    let location = dataset_url(pipeline);
    let schema = read_schema(&location, dataset.format.value, dataset.csv)
        .await
        .map_err(|e| read_error(pipeline, &e.to_string()))?;
    check_data(pipeline, &location, &schema)?;
    let rows = dry_run(pipeline).await?;
    Ok(DataCheck::Inspected {
        location,
        schema,
        rows,
    })
}

/// Reads and prepares the data as `flow run` does, up to its first model fit, without
/// searching or writing anything.
async fn dry_run(pipeline: &LoadedPipeline) -> Result<SearchRows, RuntimeError> {
    let compiled = crate::plan::compile(pipeline, &crate::plan::RunOptions::default()).await?;
    let physical = compiled.physical().await?;
    let Some(search) = physical.downcast_ref::<crate::operator::FeatureSearchExec>() else {
        return Err(RuntimeError::Internal(
            "the compiled plan does not start with the feature search".to_owned(),
        ));
    };
    let context = compiled.ctx.task_ctx();
    let failure =
        |e: datafusion::error::DataFusionError| crate::run::search_failure(search.job(), &e);
    let input = search.input_in_order(&context).map_err(failure)?;
    crate::operator::driver::dry_run(input, &context, search.job())
        .await
        .map_err(failure)
}

/// The error for a dataset DataFusion cannot read, with a fix for the usual causes: a
/// path that does not exist, rows with more or fewer fields than the header.
pub(crate) fn read_error(pipeline: &LoadedPipeline, message: &str) -> RuntimeError {
    let location = dataset_url(pipeline);
    let source = &pipeline.resolved.spec.dataset.source.value;
    let missing = matches!(source, DataLocation::Local(_))
        && !source.is_glob()
        && !Path::new(&location).exists();
    let full = std::path::absolute(&location).unwrap_or_else(|_| location.clone().into());
    // DataFusion names local files by their object-store path, which has no leading `/`.
    let message = &match source {
        DataLocation::Local(_) => crate::error::with_root(message, &full.to_string_lossy()),
        DataLocation::S3 { .. } => message.to_owned(),
    };
    let (message, help) = if missing {
        (
            "no such file or directory".to_owned(),
            format!(
                "check the `source` path; a relative path is relative to the pipeline file's directory, so this one is {}",
                full.display()
            ),
        )
    } else if message.contains("unequal lengths") || message.contains("number of fields") {
        (
            message.to_owned(),
            "every row must have as many fields as the header: fix the row named above, or quote a field that contains the delimiter (`\"a,b\"`); if the file uses another delimiter, write `format \"csv\" delimiter=\";\"`".to_owned(),
        )
    } else if let Some(fix) = crate::error::utf8_fix(message) {
        (message.to_owned(), fix.to_owned())
    } else {
        (
            message.to_owned(),
            "check the `source` path (relative to the pipeline file) and `format`".to_owned(),
        )
    };
    RuntimeError::Dataset {
        location,
        message,
        help,
    }
}

/// Checks the data's schema before anything runs, for `flow check` and `flow run` alike:
/// the file has columns, a CSV header names each column once, every column the pipeline
/// names exists and the target is a column a model can predict.
pub(crate) fn check_data(
    pipeline: &LoadedPipeline,
    location: &str,
    schema: &SchemaRef,
) -> Result<(), RuntimeError> {
    if schema.fields().is_empty() {
        return Err(RuntimeError::Dataset {
            location: location.to_owned(),
            message: "the file is empty: it has no header line and no rows".to_owned(),
            help: "point `source` at the file that holds the data, or write the column names and the rows into this one".to_owned(),
        });
    }
    if let Some(message) = duplicate_header(pipeline, location) {
        return Err(RuntimeError::Dataset {
            location: location.to_owned(),
            message,
            help: "give every column in the header (the first line) a name of its own".to_owned(),
        });
    }
    check_columns(pipeline, location, schema).map_err(RuntimeError::Spec)
}

/// A column name the header of a local CSV file repeats, said as a problem. DataFusion
/// merges columns of the same name into one, so the rows would then have more fields than
/// the table: the header itself has to be read to say what is wrong.
fn duplicate_header(pipeline: &LoadedPipeline, location: &str) -> Option<String> {
    let dataset = &pipeline.resolved.spec.dataset;
    if dataset.format.value != DataFormat::Csv || !dataset.csv.header || location.ends_with(".gz") {
        return None;
    }
    let file = std::fs::File::open(location).ok()?;
    let (header, _) = Format::default()
        .with_header(true)
        .with_delimiter(dataset.csv.delimiter)
        .infer_schema(file, Some(0))
        .ok()?;
    let names: Vec<&String> = header.fields().iter().map(|f| f.name()).collect();
    names.iter().enumerate().find_map(|(second, name)| {
        let first = names[..second].iter().position(|n| n == name)?;
        Some(format!(
            "the header names column `{name}` twice (columns {} and {} of the first line), so its rows cannot be read",
            first + 1,
            second + 1
        ))
    })
}

/// The columns of the data that flow cannot use and the pipeline does not already leave
/// out (`drop`, `id`, `exclude`), with what they hold (`a list`, `a struct`, …): nested
/// values (lists, structs, maps, unions) are neither features nor inputs of operations.
/// `flow run` skips them and `flow check` notes them.
pub fn skipped_columns(pipeline: &LoadedPipeline, schema: &Schema) -> Vec<(String, String)> {
    let spec = &pipeline.resolved.spec;
    let dataset = &spec.dataset;
    let left_out = |name: &str| {
        dataset
            .drop
            .iter()
            .chain(&spec.space.exclude)
            .chain(dataset.id.as_ref())
            .any(|c| c.value == name)
    };
    schema
        .fields()
        .iter()
        .filter(|f| f.data_type().is_nested() && !left_out(f.name()))
        .map(|f| (f.name().clone(), nested_kind(f.data_type()).to_owned()))
        .collect()
}

/// A nested type in a word or two.
fn nested_kind(ty: &DataType) -> &'static str {
    match ty {
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_) => "a list",
        DataType::Struct(_) => "a struct",
        DataType::Map(..) => "a map",
        DataType::Union(..) => "a union",
        _ => "nested values",
    }
}

async fn read_schema(
    location: &str,
    format: DataFormat,
    csv: flow_dsl::CsvOptions,
) -> datafusion::error::Result<SchemaRef> {
    let ctx = SessionContext::new();
    let file_name = location.rsplit('/').next().unwrap_or(location);
    let gzip = file_name.ends_with(".gz");
    // A single file or a glob keeps its own extension; a directory takes the default.
    let extension = file_name
        .find('.')
        .map(|i| &file_name[i..])
        .filter(|_| !location.ends_with('/') && !Path::new(location).is_dir());
    let df = match format {
        DataFormat::Csv => {
            let mut options = CsvReadOptions::new()
                .has_header(csv.header)
                .delimiter(csv.delimiter);
            if let Some(ext) = extension {
                options = options.file_extension(ext);
            }
            if gzip {
                options = options.file_compression_type(FileCompressionType::GZIP);
            }
            ctx.read_csv(location, options).await?
        }
        DataFormat::Parquet => {
            let mut options = ParquetReadOptions::default();
            if let Some(ext) = extension {
                options = options.file_extension(ext);
            }
            ctx.read_parquet(location, options).await?
        }
        DataFormat::Json => {
            let mut options = JsonReadOptions::default();
            if let Some(ext) = extension {
                options = options.file_extension(ext);
            }
            if gzip {
                options = options.file_compression_type(FileCompressionType::GZIP);
            }
            ctx.read_json(location, options).await?
        }
    };
    Ok(df.schema().inner().clone())
}

fn check_columns(
    pipeline: &LoadedPipeline,
    location: &str,
    schema: &SchemaRef,
) -> Result<(), Diagnostics> {
    let spec = &pipeline.resolved.spec;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let d = &spec.dataset;
    let named: Vec<&Spanned<String>> = std::iter::once(&d.target)
        .chain(d.id.as_ref())
        .chain(d.time.as_ref())
        .chain(d.group.as_ref())
        .chain(&d.drop)
        .chain(&spec.space.include)
        .chain(&spec.space.exclude)
        .collect();
    let delimiter = other_delimiter(pipeline, &names);
    let mut items = Vec::new();
    for column in named {
        if !names.contains(&column.value.as_str()) {
            let help = match delimiter {
                Some((header, written)) => format!(
                    "the header was read as the single column `{header}`: the file looks `{}`-separated; write `format \"csv\" delimiter=\"{written}\"` in the `dataset` block",
                    written.replace("\\t", "tab")
                ),
                None => did_you_mean_help(&column.value, &names, "its columns are"),
            };
            items.push(
                SpecDiagnostic::new(
                    &pipeline.sources,
                    ErrorKind::UnknownColumn,
                    column.loc,
                    format!("the data has no column `{}`", column.value),
                    format!("not a column of {location}"),
                )
                .with_help(help),
            );
        }
    }
    if let Ok(field) = schema.field_with_name(&d.target.value)
        && field.data_type().is_nested()
    {
        items.push(
            SpecDiagnostic::new(
                &pipeline.sources,
                ErrorKind::InvalidValue,
                d.target.loc,
                format!(
                    "the target `{}` holds {} values, which cannot be predicted",
                    d.target.value,
                    field.data_type()
                ),
                "a nested column",
            )
            .with_help("name a column of numbers, strings or booleans as the `target`"),
        );
    }
    if let Some(time) = &d.time
        && let Ok(field) = schema.field_with_name(&time.value)
        && !is_orderable_time(field.data_type())
    {
        items.push(
            SpecDiagnostic::new(
                &pipeline.sources,
                ErrorKind::InvalidValue,
                time.loc,
                format!(
                    "the time column `{}` holds {}, which cannot order rows in time",
                    time.value,
                    field.data_type()
                ),
                "not a date, timestamp or number",
            )
            .with_help("name a date/timestamp column (CSV dates like 2024-01-31 are read as dates) or a numeric time index"),
        );
    }
    if items.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics { items })
    }
}

/// When a CSV header was read as one column that contains a common delimiter other than
/// the configured one: that column, and the delimiter as it is written in KDL (`;`, `\t`,
/// `|` or `,`).
fn other_delimiter<'a>(
    pipeline: &LoadedPipeline,
    names: &[&'a str],
) -> Option<(&'a str, &'static str)> {
    let dataset = &pipeline.resolved.spec.dataset;
    let [single] = names else { return None };
    if dataset.format.value != DataFormat::Csv {
        return None;
    }
    [(b';', ";"), (b'\t', "\\t"), (b'|', "|"), (b',', ",")]
        .into_iter()
        .find(|(byte, _)| *byte != dataset.csv.delimiter && single.contains(char::from(*byte)))
        .map(|(_, written)| (*single, written))
}

fn is_orderable_time(ty: &DataType) -> bool {
    ty.is_temporal() || ty.is_numeric()
}
