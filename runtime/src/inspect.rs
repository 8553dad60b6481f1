//! Looking at the data before anything runs: read the dataset's schema through DataFusion
//! and check that every column the pipeline names exists, pointing at the KDL if not.

use std::path::Path;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use flow_dsl::diagnostic::did_you_mean_help;
use flow_dsl::{DataFormat, DataLocation, Diagnostics, ErrorKind, Spanned, SpecDiagnostic};

use crate::error::RuntimeError;
use crate::load::LoadedPipeline;

/// What `flow check` learnt about the data.
#[derive(Debug, Clone)]
pub enum DataCheck {
    /// The schema was read and every named column exists.
    Inspected {
        /// The location read.
        location: String,
        /// The columns and their Arrow types.
        schema: SchemaRef,
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
        .map_err(|e| RuntimeError::Dataset {
            location: location.clone(),
            message: e.to_string(),
            help: "check the `source` path (relative to the pipeline file) and `format`".to_owned(),
        })?;
    check_columns(pipeline, &location, &schema).map_err(RuntimeError::Spec)?;
    Ok(DataCheck::Inspected { location, schema })
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
    let mut items = Vec::new();
    for column in named {
        if !names.contains(&column.value.as_str()) {
            items.push(
                SpecDiagnostic::new(
                    &pipeline.sources,
                    ErrorKind::UnknownColumn,
                    column.loc,
                    format!("the data has no column `{}`", column.value),
                    format!("not a column of {location}"),
                )
                .with_help(did_you_mean_help(
                    &column.value,
                    &names,
                    "its columns are",
                )),
            );
        }
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

fn is_orderable_time(ty: &DataType) -> bool {
    ty.is_temporal() || ty.is_numeric()
}
