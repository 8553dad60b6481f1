//! Reading a results location: its five tables registered in a DataFusion session, for SQL
//! from `flow query` and for the other commands. Every file is checked first (readable
//! Parquet, the table's columns, in a `run_id=` partition); the ones that are not are
//! reported and left out of the tables, so one bad file never breaks queries over the rest.

use std::collections::HashSet;
use std::path::Path as FsPath;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig};
use datafusion::execution::SessionState;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};
use flow_dsl::S3Options;
use futures::TryStreamExt;
use object_store::ObjectMeta;
use object_store::path::Path;

use super::hidden::HidingStore;
use super::io::get_parquet;
use super::layout::{self, PARTITION, TABLES};
use super::location::StoreLocation;
use super::manifest::{RunManifest, RunStatus, manifest_schema};
use super::tables::{feature_schema, metric_schema, node_schema};
use crate::error::RuntimeError;
use crate::features::{Fitted, lookup_name};
use crate::operator::log::evaluation_schema;

/// A file in a results location that is not part of any table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreProblem {
    /// The file, relative to the location.
    pub path: String,
    /// Why it is left out.
    pub reason: String,
}

/// A results location opened for reading.
pub struct Results {
    /// Where the results are.
    pub location: StoreLocation,
    /// A session with `runs`, `evaluations`, `nodes`, `features` and `metrics` registered.
    pub ctx: SessionContext,
    /// Files left out of the tables, and why.
    pub problems: Vec<StoreProblem>,
}

/// The columns each table's files hold (the partition adds `run_id`).
pub fn file_schema(table: &str) -> SchemaRef {
    match table {
        layout::RUNS => manifest_schema(),
        layout::EVALUATIONS => {
            let schema = evaluation_schema();
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .filter(|f| f.name() != PARTITION)
                .map(|f| f.as_ref().clone())
                .collect();
            Arc::new(Schema::new(fields))
        }
        layout::NODES => node_schema(),
        layout::FEATURES => feature_schema(),
        _ => metric_schema(),
    }
}

impl Results {
    /// Opens the results at `location` (a directory relative to `base_dir`, `s3://…` or
    /// `memory://…`).
    pub async fn open(location: &str, base_dir: &FsPath) -> Result<Self, RuntimeError> {
        let location = StoreLocation::resolve(location, base_dir, &S3Options::default(), false)
            .map_err(|message| results_error(location, message))?;
        Self::open_at(location).await
    }

    /// Opens the results at an already resolved location.
    pub async fn open_at(location: StoreLocation) -> Result<Self, RuntimeError> {
        let objects: Vec<ObjectMeta> = location
            .store
            .list(Some(&location.prefix))
            .try_collect()
            .await
            .map_err(|e| results_error(&location.display, e.to_string()))?;
        let mut problems = Vec::new();
        let mut hidden = HashSet::new();
        let probe = SessionContext::new().state();
        for meta in &objects {
            let relative = relative_path(&location, &meta.location);
            if let Some(reason) = check_object(&location, &probe, meta, &relative).await {
                problems.push(StoreProblem {
                    path: relative,
                    reason,
                });
                hidden.insert(meta.location.clone());
            }
        }
        if !objects.is_empty() && problems.len() == objects.len() {
            return Err(results_error(
                &location.display,
                format!(
                    "it is not a flow results store: none of its {} files belongs to one (a store \
                     holds the `runs`, `evaluations`… tables `flow run` writes to a pipeline's \
                     `output`)",
                    objects.len()
                ),
            ));
        }
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        let config = SessionConfig::new().with_information_schema(true);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build();
        let ctx = SessionContext::new_with_state(state);
        let store: Arc<dyn object_store::ObjectStore> =
            Arc::new(HidingStore::new(Arc::clone(&location.store), hidden));
        ctx.register_object_store(location.root.as_ref(), store);
        for table in TABLES {
            let url = location
                .table_url(table)
                .map_err(|m| results_error(&location.display, m))?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![(PARTITION.to_owned(), DataType::Utf8)]);
            let config = ListingTableConfig::new(url)
                .with_listing_options(options)
                .with_schema(file_schema(table));
            let provider = ListingTable::try_new(config)
                .map_err(|e| results_error(&location.display, e.to_string()))?;
            ctx.register_table(table, Arc::new(provider))
                .map_err(|e| results_error(&location.display, e.to_string()))?;
        }
        Ok(Self {
            location,
            ctx,
            problems,
        })
    }

    /// Plans one read-only SQL statement over the tables.
    pub async fn query(&self, sql: &str) -> Result<DataFrame, RuntimeError> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        self.ctx
            .sql_with_options(sql, options)
            .await
            .map_err(|e| RuntimeError::Query {
                message: e.to_string(),
            })
    }

    /// Runs one read-only SQL statement and collects its result.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, RuntimeError> {
        self.query(sql)
            .await?
            .collect()
            .await
            .map_err(|e| RuntimeError::Query {
                message: e.to_string(),
            })
    }

    /// Every registered table with its columns and their types, for `\d` and completion.
    pub async fn table_columns(&self) -> Vec<(String, Vec<(String, String)>)> {
        let mut out = Vec::new();
        for table in TABLES {
            if let Ok(provider) = self.ctx.table_provider(table).await {
                let columns = provider
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| (f.name().clone(), f.data_type().to_string()))
                    .collect();
                out.push((table.to_owned(), columns));
            }
        }
        out
    }

    /// The runs as `flow runs` lists them, with the status readers should take: a run
    /// whose process died shows as `interrupted` (see [`RunManifest::effective_status`]).
    /// `readable`: rounded values under headers for people (`uplift %`); otherwise the
    /// `runs` table's own column names and unrounded values, for scripts.
    pub async fn listing(
        &self,
        readable: bool,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), RuntimeError> {
        let now = super::manifest::now_micros();
        let runs = self.runs().await?;
        let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        let statuses: Vec<&str> = runs
            .iter()
            .map(|r| r.effective_status(now).as_str())
            .collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("run_id", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(datafusion::arrow::array::StringArray::from(ids)),
                Arc::new(datafusion::arrow::array::StringArray::from(statuses)),
            ],
        )
        .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        let table = datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]])
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        let ctx = self.ctx.clone();
        ctx.register_table("flow_effective_status", Arc::new(table))
            .map_err(|e| RuntimeError::Internal(e.to_string()))?;
        let df = ctx
            .sql(if readable {
                "SELECT r.run_id AS id, r.pipeline, s.status, \
                 date_trunc('second', r.created_at) AS started, \
                 round(r.duration_ms / 1000.0, 1) AS seconds, \
                 r.evaluations, r.iterations AS budget, r.metric, \
                 round(r.baseline, 4) AS baseline, round(r.best_score, 4) AS best, \
                 round(r.uplift * 100.0, 2) AS \"uplift %\", \
                 round(r.confirm_uplift * 100.0, 2) AS \"held-out uplift %\" \
                 FROM runs r JOIN flow_effective_status s USING (run_id) \
                 ORDER BY r.created_at, r.run_id"
            } else {
                "SELECT r.run_id, r.pipeline, s.status, r.created_at, r.duration_ms, \
                 r.evaluations, r.iterations, r.metric, r.baseline, r.best_score, r.uplift, \
                 r.confirm_uplift \
                 FROM runs r JOIN flow_effective_status s USING (run_id) \
                 ORDER BY r.created_at, r.run_id"
            })
            .await
            .map_err(|e| RuntimeError::Internal(format!("the runs listing does not plan: {e}")))?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(|e| RuntimeError::Query {
            message: e.to_string(),
        })?;
        let _ = ctx.deregister_table("flow_effective_status");
        Ok((schema, batches))
    }

    /// Every stored run, oldest first.
    pub async fn runs(&self) -> Result<Vec<RunManifest>, RuntimeError> {
        let batches = self
            .sql("SELECT * FROM runs ORDER BY created_at, run_id")
            .await?;
        let mut runs = Vec::new();
        for batch in &batches {
            runs.extend(
                RunManifest::from_batch(batch)
                    .map_err(|m| results_error(&self.location.display, m))?,
            );
        }
        Ok(runs)
    }

    /// The lookup tables of `run`'s fitted features, in order (none for a run without a
    /// fit).
    pub async fn lookups(&self, run: &RunManifest) -> Result<Vec<RecordBatch>, RuntimeError> {
        let count = run
            .fitted
            .as_deref()
            .and_then(|json| serde_json::from_str::<Fitted>(json).ok())
            .map_or(0, |f| f.lookups.len());
        let mut tables = Vec::with_capacity(count);
        for i in 0..count {
            let relative = layout::lookup(&run.run_id, &lookup_name(i));
            let path = self.location.path(&relative);
            let missing = |message: String| RuntimeError::Export {
                run_id: run.run_id.clone(),
                message,
                help: "re-run the pipeline with `--force` to fit its features again".to_owned(),
            };
            let batches = get_parquet(&self.location.store, &path)
                .await
                .map_err(missing)?
                .ok_or_else(|| missing(format!("its lookup table {relative} is missing")))?;
            let schema = batches.first().map_or_else(
                || Arc::new(datafusion::arrow::datatypes::Schema::empty()),
                RecordBatch::schema,
            );
            tables.push(
                datafusion::arrow::compute::concat_batches(&schema, &batches)
                    .map_err(|e| missing(e.to_string()))?,
            );
        }
        Ok(tables)
    }

    /// The run `id` (a unique prefix will do), or the latest completed run.
    pub async fn run(&self, id: Option<&str>) -> Result<RunManifest, RuntimeError> {
        let runs = self.runs().await?;
        let not_found = |message: String, help: &str| RuntimeError::RunNotFound {
            location: self.location.display.clone(),
            message,
            help: help.to_owned(),
        };
        match id {
            None => runs
                .into_iter()
                .rev()
                .find(|r| r.status == RunStatus::Completed)
                .ok_or_else(|| {
                    not_found(
                        "it holds no completed run".to_owned(),
                        "`flow runs <location>` lists the runs stored there; `flow run` adds one",
                    )
                }),
            Some(id) => {
                let mut matches: Vec<RunManifest> = runs
                    .into_iter()
                    .filter(|r| r.run_id.starts_with(id))
                    .collect();
                match matches.len() {
                    1 => Ok(matches.remove(0)),
                    0 => Err(not_found(
                        format!("there is no run `{id}`"),
                        "`flow runs <location>` lists the run ids stored there",
                    )),
                    n => Err(not_found(
                        format!("`{id}` matches {n} runs"),
                        "give more characters of the run id",
                    )),
                }
            }
        }
    }
}

fn results_error(location: &str, message: impl Into<String>) -> RuntimeError {
    RuntimeError::Results {
        location: location.to_owned(),
        message: message.into(),
    }
}

/// `path` relative to the location's prefix.
fn relative_path(location: &StoreLocation, path: &Path) -> String {
    path.prefix_match(&location.prefix)
        .map(|parts| {
            parts
                .map(|p| p.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_else(|| path.to_string())
}

/// Why an object does not belong in the tables, if it does not.
async fn check_object(
    location: &StoreLocation,
    probe: &SessionState,
    meta: &ObjectMeta,
    relative: &str,
) -> Option<String> {
    let parts: Vec<&str> = relative.split('/').collect();
    match parts.as_slice() {
        [first, ..] if *first == layout::STAGING => None,
        [dir, name] if *dir == layout::BEST_FEATURES && name.ends_with(".sql") => None,
        [dir, id, name]
            if *dir == layout::BEST_FEATURES
                && layout::is_run_id(id)
                && name.starts_with("flow_lookup_")
                && name.ends_with(".parquet") =>
        {
            None
        }
        [table, partition, name] if TABLES.contains(table) => {
            let Some(id) = partition.strip_prefix(&format!("{PARTITION}=")) else {
                return Some(format!(
                    "not in a `{PARTITION}=` partition of the `{table}` table; left out"
                ));
            };
            if !layout::is_run_id(id) {
                return Some(format!("`{id}` is not a run id; left out of `{table}`"));
            }
            if !name.ends_with(".parquet") {
                return Some(format!("not a Parquet file; left out of `{table}`"));
            }
            check_parquet(location, probe, meta, table).await.err()
        }
        _ => Some("not part of a flow results store; left out".to_owned()),
    }
}

/// Checks that a file is readable Parquet holding the columns of `table`.
async fn check_parquet(
    location: &StoreLocation,
    probe: &SessionState,
    meta: &ObjectMeta,
    table: &str,
) -> Result<(), String> {
    let found = ParquetFormat::default()
        .with_force_view_types(false)
        .infer_schema(probe, &location.store, std::slice::from_ref(meta))
        .await
        .map_err(|e| format!("not a readable Parquet file ({e}); left out of `{table}`"))?;
    for field in file_schema(table).fields() {
        match found.field_with_name(field.name()) {
            Ok(f) if same_kind(f.data_type(), field.data_type()) => {}
            Ok(f) => {
                return Err(format!(
                    "column `{}` is {} where `{table}` has {}; left out",
                    field.name(),
                    f.data_type(),
                    field.data_type()
                ));
            }
            // Columns added to a table later are nullable: older files read them as NULL.
            Err(_) if field.is_nullable() => {}
            Err(_) => {
                return Err(format!(
                    "has no column `{}`, which `{table}` files have; left out",
                    field.name()
                ));
            }
        }
    }
    Ok(())
}

/// Whether a file's column type reads as the table's: string and list encodings (views,
/// 64-bit offsets) that another writer may have chosen are the same values.
fn same_kind(found: &DataType, expected: &DataType) -> bool {
    fn normal(t: &DataType) -> DataType {
        match t {
            DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
            DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
                DataType::List(Arc::new(Field::new("item", normal(item.data_type()), true)))
            }
            other => other.clone(),
        }
    }
    normal(found).equals_datatype(&normal(expected))
}
