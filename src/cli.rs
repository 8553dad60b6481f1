//! The command-line surface: every verb of the product brief, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// flow — automated feature engineering on tabular data.
///
/// Declare a dataset, an operation space and an evaluator in one KDL file; flow searches
/// compositions of operations with Monte Carlo Tree Search inside an Apache DataFusion
/// plan, and stores what it finds as Parquet you can query with SQL.
#[derive(Debug, Parser)]
#[command(name = "flow", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline's feature search and store the results.
    Run(RunArgs),
    /// Validate pipelines (and their data) without running them.
    Check(CheckArgs),
    /// Print the DataFusion plan a pipeline compiles to.
    Explain(PipelineArgs),
    /// Run SQL over a results location (one-shot, or an interactive shell without SQL).
    Query(QueryArgs),
    /// List the runs stored at a results location.
    Runs(LocationArgs),
    /// Export a run's best feature set as a SQL SELECT.
    Export(ExportArgs),
    /// Compute a run's features on new data and write them to Parquet.
    Apply(ApplyArgs),
    /// Write a self-contained HTML report of a run, with plots.
    Report(RunRefArgs),
    /// Browse the standard library of operations.
    Ops(OpsArgs),
    /// Scaffold a pipeline for a dataset.
    Init(InitArgs),
}

/// A pipeline file and its overrides.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The pipeline file (KDL).
    pub pipeline: PathBuf,
    /// Override a setting, e.g. `-S search.iterations=200` (repeatable).
    #[arg(short = 'S', long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

/// `flow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline and overrides.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Continue an interrupted run (the latest one of this pipeline, or the id given).
    #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = "latest")]
    pub resume: Option<String>,
    /// Run again even if an identical run is already stored.
    #[arg(long)]
    pub force: bool,
    /// Upper bound on memory, e.g. `4GiB` (default: `search.memory-limit`, else three
    /// quarters of the machine's memory or its control group's limit).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// `json`: progress and the summary as JSON lines.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// Output format of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts: one JSON object per line.
    Json,
}

/// `--format text|json`, and `--json` for `--format json`, as every command that reports
/// has them.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

impl FormatArgs {
    /// The format asked for.
    pub fn get(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// `flow check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The pipeline files (KDL).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    /// Override a setting, e.g. `-S search.iterations=200` (repeatable).
    #[arg(short = 'S', long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Validate the pipeline only; do not read the dataset's schema.
    #[arg(long)]
    pub no_data: bool,
    /// `json`: one object per file, with the diagnostics of an invalid one.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `flow query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The results location (a directory or `s3://bucket/prefix`).
    pub location: String,
    /// The SQL to run; without it, an interactive shell starts.
    pub sql: Option<String>,
    /// Output format.
    #[command(flatten)]
    pub format: QueryFormatArgs,
    /// Write the result to this file instead of standard output (required for Parquet).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Output format of query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// An aligned table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row and line.
    Json,
    /// A Parquet file (with `-o`).
    Parquet,
}

/// `--format table|csv|json|parquet`, and `--json` for `--format json`.
#[derive(Debug, Args)]
pub struct QueryFormatArgs {
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t = QueryFormat::Table)]
    format: QueryFormat,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

impl QueryFormatArgs {
    /// The format asked for.
    pub fn get(&self) -> QueryFormat {
        if self.json {
            QueryFormat::Json
        } else {
            self.format
        }
    }
}

/// A results location.
#[derive(Debug, Args)]
pub struct LocationArgs {
    /// The results location (a directory or `s3://bucket/prefix`).
    pub location: String,
    /// Output format: `table` rounds for reading; `csv`, `json` and `parquet` give the
    /// `runs` table's own column names and unrounded values.
    #[command(flatten)]
    pub format: QueryFormatArgs,
}

/// A run at a results location.
#[derive(Debug, Args)]
pub struct RunRefArgs {
    /// The results location (a directory or `s3://bucket/prefix`).
    pub location: String,
    /// The run id, or a unique prefix of it (default: the latest completed run).
    #[arg(long)]
    pub run: Option<String>,
    /// Where to write (default: standard output, or a file named after the run).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// `flow export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run to export.
    #[command(flatten)]
    pub run: RunRefArgs,
    /// The table the SELECT reads from.
    #[arg(long, default_value = "dataset")]
    pub table: String,
    /// Export the best set's features even when the held-out rows scored them no better
    /// than the base columns (by default, the base columns alone are exported then).
    #[arg(long)]
    pub unconfirmed: bool,
}

/// `flow apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The results location (a directory or `s3://bucket/prefix`).
    pub location: String,
    /// The run to take features from (an id or a unique prefix; default: the latest
    /// completed run).
    #[arg(long)]
    pub run: Option<String>,
    /// The new data (CSV, TSV, Parquet or JSON; local or `s3://`).
    #[arg(long)]
    pub input: String,
    /// The file to write (local or `s3://`): the id and target columns when the input has
    /// them, the `--keep` columns, then the features, in input row order.
    #[arg(long, short)]
    pub output: String,
    /// More input columns to write before the features (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<String>,
    /// The output format.
    #[arg(long, value_enum, default_value_t = OutputFileFormat::Parquet)]
    pub format: OutputFileFormat,
    /// Compute the best set's features even when the held-out rows scored them no better
    /// than the base columns (by default, the base columns alone are written then).
    #[arg(long)]
    pub unconfirmed: bool,
}

/// The file format `flow apply` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFileFormat {
    /// One Parquet file (Arrow types kept: timestamps stay timestamps).
    Parquet,
    /// One CSV file with a header.
    Csv,
}

/// `flow ops`.
#[derive(Debug, Args)]
pub struct OpsArgs {
    /// Show one operation in full.
    pub name: Option<String>,
    /// Only this module (`std.numeric`).
    #[arg(long)]
    pub module: Option<String>,
    /// `json`: one object per operation.
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `flow init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write the pipeline in (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The data file to build a pipeline for (CSV, TSV, Parquet or JSON); asked for on a
    /// terminal when missing.
    #[arg(long, value_name = "FILE")]
    pub dataset: Option<PathBuf>,
    /// The column to predict; asked for on a terminal when missing.
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// The pipeline's name (default: the data file's name without its extension).
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite the pipeline file if it exists.
    #[arg(long)]
    pub force: bool,
    /// The pipeline file's name inside the directory.
    #[arg(long, short, value_name = "FILE", default_value = "pipeline.kdl")]
    pub output: PathBuf,
}
