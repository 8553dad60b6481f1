//! Profiling a dataset before any pipeline exists, for `flow init`: the columns with their
//! types, distinct and missing values, and what the target looks like (its classes, the
//! columns that track it too closely). Every number comes from a DataFusion query over the
//! file.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use flow_dsl::{CsvOptions, DataFormat};

use crate::error::RuntimeError;
use crate::features::{ColumnKind, quote_ident, string_kind};

/// Column statistics are computed over at most this many rows, so profiling a large file
/// stays quick; the row count is always exact.
pub const PROFILED_ROWS: u64 = 100_000;

/// The most classes [`TargetProfile::classes`] lists.
const MAX_CLASSES: u64 = 1000;

/// The name the file is registered under.
const TABLE: &str = "dataset";

/// A local data file opened for profiling.
pub struct OpenDataset {
    ctx: SessionContext,
    path: PathBuf,
    format: DataFormat,
    csv: CsvOptions,
}

/// What the columns of a dataset hold.
#[derive(Debug, Clone, PartialEq)]
pub struct DataProfile {
    /// The file read.
    pub path: PathBuf,
    /// Its format.
    pub format: DataFormat,
    /// How a CSV file was read (the delimiter may differ from the extension's).
    pub csv: CsvOptions,
    /// Rows in the file.
    pub rows: u64,
    /// Rows the column statistics are computed over (the first [`PROFILED_ROWS`]).
    pub profiled_rows: u64,
    /// The columns, in file order.
    pub columns: Vec<ColumnProfile>,
}

impl DataProfile {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// One column of a [`DataProfile`].
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    /// The column's name.
    pub name: String,
    /// Its type.
    pub column_type: ColumnType,
    /// What the search will take it for; `None` for nested values (lists, structs, maps),
    /// which cannot be features.
    pub kind: Option<ColumnKind>,
    /// Distinct non-missing values among the profiled rows.
    pub distinct: u64,
    /// Missing (NULL) values among the profiled rows.
    pub nulls: u64,
    /// The mean length in characters of a string column's values.
    pub mean_length: Option<f64>,
}

/// The storage type of a column, in the terms that decide what it can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Whole numbers.
    Integer,
    /// Floating-point or decimal numbers.
    Float,
    /// True/false.
    Boolean,
    /// Strings.
    String,
    /// Dictionary-encoded values (categories in Parquet).
    Dictionary,
    /// Dates.
    Date,
    /// Timestamps.
    Timestamp,
    /// Times of day, durations and intervals.
    OtherTemporal,
    /// Lists, structs, maps and unions.
    Nested,
    /// Anything else (binary data, NULL-typed columns).
    Other,
}

impl ColumnType {
    /// The type of values of Arrow type `ty`.
    pub fn of(ty: &DataType) -> Self {
        match ty {
            t if t.is_integer() => Self::Integer,
            t if t.is_numeric() => Self::Float,
            DataType::Boolean => Self::Boolean,
            t if is_string(t) => Self::String,
            DataType::Dictionary(..) => Self::Dictionary,
            DataType::Date32 | DataType::Date64 => Self::Date,
            DataType::Timestamp(..) => Self::Timestamp,
            t if t.is_temporal() => Self::OtherTemporal,
            t if t.is_nested() => Self::Nested,
            _ => Self::Other,
        }
    }

    /// The type in a word, for people: `integer`, `number`, `date`, `string`, ….
    pub fn name(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Float => "number",
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Dictionary => "category",
            Self::Date => "date",
            Self::Timestamp => "timestamp",
            Self::OtherTemporal => "time",
            Self::Nested => "nested",
            Self::Other => "other",
        }
    }

    /// Integers and floats.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Integer | Self::Float)
    }
}

/// What the target column holds, over the whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetProfile {
    /// The column's name.
    pub name: String,
    /// Its type.
    pub column_type: ColumnType,
    /// Distinct non-missing values.
    pub distinct: u64,
    /// Rows without a value (the search drops them).
    pub nulls: u64,
    /// Each value with its number of rows, most frequent first (ties by value), when the
    /// column has at most 1,000 distinct values; empty otherwise.
    pub classes: Vec<(String, u64)>,
    /// For a numeric target: the Pearson correlation of each other numeric column with it
    /// (over the profiled rows), in file order; columns without one (constant) are left out.
    pub correlations: Vec<(String, f64)>,
}

impl OpenDataset {
    /// Opens the local file at `path`, its format told by the extension (`.csv`, `.tsv`,
    /// `.parquet`, `.json`, …, optionally `.gz`). A `.csv` file whose header holds no comma
    /// but a `;`, tab or `|` is read with that delimiter.
    pub async fn open(path: &Path) -> Result<Self, RuntimeError> {
        let location = path.display().to_string();
        let error = |message: String, help: &str| RuntimeError::Dataset {
            location: location.clone(),
            message,
            help: help.to_owned(),
        };
        if !path.exists() {
            let full = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
            return Err(error(
                "no such file".to_owned(),
                &format!(
                    "check the path (relative paths are relative to the current directory, so this one is {})",
                    full.display()
                ),
            ));
        }
        if !path.is_file() {
            return Err(error(
                "not a file".to_owned(),
                "give one data file; for a directory of files, scaffold from one of them and change `source` afterwards",
            ));
        }
        let Some(format) = DataFormat::from_extension(&location) else {
            return Err(error(
                "flow cannot tell the file's format from its name".to_owned(),
                "name the file `….csv`, `….tsv`, `….parquet` or `….json` (optionally with `.gz`)",
            ));
        };
        let csv = match format {
            DataFormat::Csv => csv_options(path),
            _ => CsvOptions::default(),
        };
        let ctx = SessionContext::new();
        register(&ctx, &location, format, csv).await.map_err(|e| {
            error(
                e.to_string(),
                "check that the file is readable and in the format its extension says",
            )
        })?;
        Ok(Self {
            ctx,
            path: path.to_owned(),
            format,
            csv,
        })
    }

    /// Profiles every column: type, kind, distinct and missing values.
    pub async fn profile(&self) -> Result<DataProfile, RuntimeError> {
        let schema = self
            .ctx
            .table(TABLE)
            .await
            .map_err(|e| self.read_error(&e))?
            .schema()
            .as_arrow()
            .clone();
        if schema.fields().is_empty() {
            return Err(RuntimeError::Dataset {
                location: self.path.display().to_string(),
                message: "the file is empty: it has no header line and no rows".to_owned(),
                help: "give the file that holds the data".to_owned(),
            });
        }
        let rows = self.count_rows().await?;
        let mut select = vec!["count(*)".to_owned()];
        for field in schema.fields() {
            let column = quote_ident(field.name());
            if field.data_type().is_nested() {
                select.push("0".to_owned());
                select.push(format!("count({column})"));
            } else {
                select.push(format!("count(DISTINCT {column})"));
                select.push(format!("count({column})"));
            }
            if is_string(field.data_type()) {
                select.push(format!("avg(character_length({column}))"));
            }
        }
        let sql = format!(
            "SELECT {} FROM (SELECT * FROM {TABLE} LIMIT {PROFILED_ROWS})",
            aliased(&select)
        );
        let row = self.one_row(&sql).await?;
        let mut values = row.iter();
        let mut next = || values.next().map(scalar_f64);
        let profiled = next().flatten().unwrap_or(0.0) as u64;
        let mut columns = Vec::new();
        for field in schema.fields() {
            let distinct = next().flatten().unwrap_or(0.0) as u64;
            let present = next().flatten().unwrap_or(0.0) as u64;
            let mean_length = if is_string(field.data_type()) {
                next().flatten()
            } else {
                None
            };
            columns.push(ColumnProfile {
                name: field.name().clone(),
                column_type: ColumnType::of(field.data_type()),
                kind: column_kind(field.data_type(), distinct, profiled, mean_length),
                distinct,
                nulls: profiled.saturating_sub(present),
                mean_length,
            });
        }
        Ok(DataProfile {
            path: self.path.clone(),
            format: self.format,
            csv: self.csv,
            rows,
            profiled_rows: profiled,
            columns,
        })
    }

    /// Profiles the target column `name` of `profile` over the whole file: its distinct and
    /// missing values, its classes when there are few, and (when it holds numbers) how
    /// closely each other numeric column tracks it.
    pub async fn profile_target(
        &self,
        profile: &DataProfile,
        name: &str,
    ) -> Result<TargetProfile, RuntimeError> {
        let Some(column) = profile.column(name) else {
            return Err(RuntimeError::Internal(format!(
                "the target `{name}` is not a column of the profile"
            )));
        };
        let target = quote_ident(name);
        let row = self
            .one_row(&format!(
                "SELECT count(DISTINCT {target}), count(*) - count({target}) FROM {TABLE}"
            ))
            .await?;
        let distinct = count_at(&row, 0);
        let nulls = count_at(&row, 1);
        let classes = if distinct <= MAX_CLASSES {
            self.classes(&target).await?
        } else {
            Vec::new()
        };
        let correlations = if column.column_type.is_numeric() {
            self.correlations(profile, name).await?
        } else {
            Vec::new()
        };
        Ok(TargetProfile {
            name: name.to_owned(),
            column_type: column.column_type,
            distinct,
            nulls,
            classes,
            correlations,
        })
    }

    async fn classes(&self, target: &str) -> Result<Vec<(String, u64)>, RuntimeError> {
        let sql = format!(
            "SELECT CAST({target} AS VARCHAR) AS class, count(*) AS n FROM {TABLE} \
             WHERE {target} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {MAX_CLASSES}"
        );
        let batches = self.collect(&sql).await?;
        let mut classes = Vec::new();
        for batch in &batches {
            let names = cast(batch.column(0), &DataType::Utf8).map_err(|e| internal(&e))?;
            let counts = cast(batch.column(1), &DataType::Int64).map_err(|e| internal(&e))?;
            let names = names.as_string::<i32>();
            let counts = counts.as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                classes.push((names.value(i).to_owned(), counts.value(i).max(0) as u64));
            }
        }
        Ok(classes)
    }

    async fn correlations(
        &self,
        profile: &DataProfile,
        target: &str,
    ) -> Result<Vec<(String, f64)>, RuntimeError> {
        let others: Vec<&ColumnProfile> = profile
            .columns
            .iter()
            .filter(|c| c.name != target && c.column_type.is_numeric())
            .collect();
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let y = format!("CAST({} AS DOUBLE)", quote_ident(target));
        let select: Vec<String> = others
            .iter()
            .map(|c| format!("corr(CAST({} AS DOUBLE), {y})", quote_ident(&c.name)))
            .collect();
        let sql = format!(
            "SELECT {} FROM (SELECT * FROM {TABLE} LIMIT {PROFILED_ROWS})",
            aliased(&select)
        );
        let row = self.one_row(&sql).await?;
        Ok(others
            .iter()
            .zip(&row)
            .filter_map(|(c, array)| {
                let r = scalar_f64(array).filter(|r| r.is_finite())?;
                Some((c.name.clone(), r))
            })
            .collect())
    }

    async fn count_rows(&self) -> Result<u64, RuntimeError> {
        let row = self
            .one_row(&format!("SELECT count(*) FROM {TABLE}"))
            .await?;
        Ok(count_at(&row, 0))
    }

    /// The columns of a query's single row.
    async fn one_row(&self, sql: &str) -> Result<Vec<ArrayRef>, RuntimeError> {
        let batches = self.collect(sql).await?;
        let batch = batches
            .into_iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| RuntimeError::Internal(format!("`{sql}` returned no row")))?;
        Ok(batch.columns().to_vec())
    }

    async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>, RuntimeError> {
        let df = self.ctx.sql(sql).await.map_err(|e| self.read_error(&e))?;
        df.collect().await.map_err(|e| self.read_error(&e))
    }

    fn read_error(&self, error: &datafusion::error::DataFusionError) -> RuntimeError {
        let message = error.to_string();
        let help = if message.contains("unequal lengths") || message.contains("number of fields") {
            "every row must have as many fields as the header: fix the row named above, or quote a field that contains the delimiter (`\"a,b\"`)"
        } else {
            "check that the file is readable and in the format its extension says"
        };
        RuntimeError::Dataset {
            location: self.path.display().to_string(),
            message,
            help: help.to_owned(),
        }
    }
}

/// How to read a CSV file: `.tsv` is tab-separated; otherwise a header line without a comma
/// but with a `;`, tab or `|` names that delimiter.
fn csv_options(path: &Path) -> CsvOptions {
    let name = path.display().to_string().to_ascii_lowercase();
    let mut options = CsvOptions::default();
    if name.ends_with(".tsv") || name.ends_with(".tsv.gz") {
        options.delimiter = b'\t';
        return options;
    }
    if name.ends_with(".gz") {
        return options;
    }
    let Ok(text) = std::fs::read(path) else {
        return options;
    };
    let header = text.split(|b| *b == b'\n').next().unwrap_or_default();
    if !header.contains(&b',')
        && let Some(other) = [b';', b'\t', b'|'].into_iter().find(|d| header.contains(d))
    {
        options.delimiter = other;
    }
    options
}

async fn register(
    ctx: &SessionContext,
    location: &str,
    format: DataFormat,
    csv: CsvOptions,
) -> datafusion::error::Result<()> {
    let file_name = location.rsplit('/').next().unwrap_or(location);
    let extension = file_name.find('.').map_or("", |i| &file_name[i..]);
    let gzip = file_name.to_ascii_lowercase().ends_with(".gz");
    match format {
        DataFormat::Csv => {
            let mut options = CsvReadOptions::new()
                .has_header(csv.header)
                .delimiter(csv.delimiter)
                .file_extension(extension);
            if gzip {
                options = options.file_compression_type(FileCompressionType::GZIP);
            }
            ctx.register_csv(TABLE, location, options).await
        }
        DataFormat::Parquet => {
            let options = ParquetReadOptions::default().file_extension(extension);
            ctx.register_parquet(TABLE, location, options).await
        }
        DataFormat::Json => {
            let mut options = JsonReadOptions::default().file_extension(extension);
            if gzip {
                options = options.file_compression_type(FileCompressionType::GZIP);
            }
            ctx.register_json(TABLE, location, options).await
        }
    }
}

/// Expressions for a SELECT list, each named after its position (`… AS v0, … AS v1`):
/// DataFusion refuses two columns of the same name, such as two `0` placeholders.
fn aliased(expressions: &[String]) -> String {
    expressions
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{e} AS v{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_string(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The kind the search will give a column, from its type and, for strings, its number of
/// distinct values and their mean length (`features::string_kind`).
fn column_kind(
    ty: &DataType,
    distinct: u64,
    rows: u64,
    mean_length: Option<f64>,
) -> Option<ColumnKind> {
    Some(match ty {
        t if t.is_nested() => return None,
        t if t.is_numeric() => ColumnKind::Numeric,
        DataType::Boolean => ColumnKind::Boolean,
        t if t.is_temporal() => ColumnKind::Temporal,
        DataType::Dictionary(..) => ColumnKind::Categorical,
        t if is_string(t) => string_kind(
            usize::try_from(distinct).unwrap_or(usize::MAX),
            usize::try_from(rows).unwrap_or(usize::MAX),
            mean_length.unwrap_or(0.0),
        ),
        _ => ColumnKind::Text,
    })
}

/// The first value of a one-row result as a float; `None` when it is NULL.
fn scalar_f64(array: &ArrayRef) -> Option<f64> {
    let floats = cast(array, &DataType::Float64).ok()?;
    let floats = floats.as_primitive::<Float64Type>();
    (!floats.is_empty() && floats.is_valid(0)).then(|| floats.value(0))
}

/// The count in column `i` of a one-row result (0 when it is missing or NULL).
fn count_at(row: &[ArrayRef], i: usize) -> u64 {
    row.get(i).and_then(scalar_f64).unwrap_or(0.0) as u64
}

fn internal(error: &dyn std::fmt::Display) -> RuntimeError {
    RuntimeError::Internal(format!("profiling the dataset: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("writable");
        path
    }

    #[tokio::test]
    async fn columns_are_profiled_with_kinds_distinct_and_missing_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut text = "id;city;note;x;day;y\n".to_owned();
        for i in 0..40 {
            let city = ["oslo", "rome"][i % 2];
            let x = if i % 10 == 0 {
                String::new()
            } else {
                (i * 3).to_string()
            };
            text.push_str(&format!(
                "{i};{city};note number {i} says hello;{x};2024-01-{:02};{}\n",
                i % 28 + 1,
                i % 2
            ));
        }
        let path = write(dir.path(), "d.csv", &text);
        let data = OpenDataset::open(&path).await.expect("opens");
        let profile = data.profile().await.expect("profiles");
        assert_eq!(profile.csv.delimiter, b';');
        assert_eq!((profile.rows, profile.profiled_rows), (40, 40));
        let kinds: Vec<(&str, Option<ColumnKind>, u64, u64)> = profile
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind, c.distinct, c.nulls))
            .collect();
        assert_eq!(
            kinds,
            [
                ("id", Some(ColumnKind::Numeric), 40, 0),
                ("city", Some(ColumnKind::Categorical), 2, 0),
                ("note", Some(ColumnKind::Text), 40, 0),
                ("x", Some(ColumnKind::Numeric), 36, 4),
                ("day", Some(ColumnKind::Temporal), 28, 0),
                ("y", Some(ColumnKind::Numeric), 2, 0),
            ]
        );
        assert_eq!(
            profile.column("day").map(|c| c.column_type),
            Some(ColumnType::Date)
        );
        assert!(
            profile
                .column("note")
                .and_then(|c| c.mean_length)
                .is_some_and(|l| l > 20.0)
        );

        let target = data.profile_target(&profile, "y").await.expect("profiles");
        assert_eq!(target.distinct, 2);
        assert_eq!(target.classes, [("0".to_owned(), 20), ("1".to_owned(), 20)]);
        let id = target
            .correlations
            .iter()
            .find(|(c, _)| c == "id")
            .expect("id correlates");
        assert!(id.1.abs() < 0.2, "{id:?}");
    }

    #[tokio::test]
    async fn nested_columns_are_profiled_without_a_kind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let lines: Vec<String> = (0..6)
            .map(|i| {
                format!(
                    r#"{{"tags": [{i}, 1], "meta": {{"k": {i}}}, "y": {}}}"#,
                    i % 2
                )
            })
            .collect();
        let path = write(dir.path(), "d.json", &lines.join("\n"));
        let data = OpenDataset::open(&path).await.expect("opens");
        let profile = data.profile().await.expect("profiles");
        let kinds: Vec<(&str, ColumnType, Option<ColumnKind>)> = profile
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.column_type, c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("meta", ColumnType::Nested, None),
                ("tags", ColumnType::Nested, None),
                ("y", ColumnType::Integer, Some(ColumnKind::Numeric)),
            ]
        );
        let target = data.profile_target(&profile, "y").await.expect("profiles");
        assert_eq!(target.distinct, 2);
        assert!(target.correlations.is_empty(), "{:?}", target.correlations);
    }

    #[tokio::test]
    async fn unreadable_files_are_dataset_errors_with_a_fix() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = OpenDataset::open(&dir.path().join("nope.csv")).await;
        assert!(
            matches!(&missing, Err(RuntimeError::Dataset { message, .. }) if message == "no such file"),
            "{:?}",
            missing.err()
        );
        let path = write(dir.path(), "d.xlsx", "a,b\n1,2\n");
        let unknown = OpenDataset::open(&path).await;
        assert!(
            matches!(&unknown, Err(RuntimeError::Dataset { help, .. }) if help.contains(".parquet")),
            "{:?}",
            unknown.err()
        );
    }
}
