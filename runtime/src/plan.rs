//! Compiling a pipeline into a DataFusion plan: a scan of the dataset, a projection of the
//! usable columns, and the FeatureSearch node above them.

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::{ExecutionPlan, displayable};
use datafusion::prelude::{
    CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};
use flow_dsl::{DataFormat, DataLocation, S3Options};

use crate::error::RuntimeError;
use crate::inspect::{check_data, dataset_url, read_error, skipped_columns};
use crate::load::LoadedPipeline;
use crate::operator::log::EvaluationRow;
use crate::operator::{FeatureSearchNode, FlowQueryPlanner, SearchJob};
use crate::store::{RunIdentity, identify, s3_store};

/// The name the dataset is registered under in the session.
pub const DATASET_TABLE: &str = "dataset";

/// How to run, beyond what the pipeline says.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides `search.memory-limit`.
    pub memory_limit_bytes: Option<u64>,
    /// Overrides the pipeline's `output` location (`memory://name` keeps results in this
    /// process, for tests and embedding).
    pub output: Option<String>,
    /// Runs again even when the store already holds this run.
    pub force: bool,
    /// Continues an interrupted run instead of starting one.
    pub resume: Option<crate::resume::ResumeTarget>,
    /// Stops the search at the next safe point once this holds `true` (Ctrl-C).
    pub interrupt: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A pipeline compiled to a DataFusion logical plan, with the session that plans it.
pub struct CompiledPipeline {
    /// The session (custom query planner, memory pool, object stores, the dataset).
    pub ctx: SessionContext,
    /// `FeatureSearch` over a projection of the dataset scan.
    pub logical: LogicalPlan,
    /// The search settings.
    pub job: Arc<SearchJob>,
    /// What makes this run this run: pipeline, data and seed.
    pub identity: RunIdentity,
    /// The columns the search reads, with their Arrow types.
    pub input_columns: Vec<(String, String)>,
    /// Columns of the data left out because flow cannot use their type, with what they
    /// hold (`a list`, `a struct`, …); `flow check` notes them.
    pub skipped_columns: Vec<(String, String)>,
}

impl CompiledPipeline {
    /// Plans the physical operators.
    pub async fn physical(&self) -> Result<Arc<dyn ExecutionPlan>, RuntimeError> {
        let state = self.ctx.state();
        let optimized = state.optimize(&self.logical).map_err(plan_error)?;
        state
            .create_physical_plan(&optimized)
            .await
            .map_err(plan_error)
    }

    /// The logical and physical plans, as `flow explain` prints them.
    pub async fn explain(&self) -> Result<String, RuntimeError> {
        let physical = self.physical().await?;
        let optimized = self
            .ctx
            .state()
            .optimize(&self.logical)
            .map_err(plan_error)?;
        Ok(format!(
            "Logical plan:\n{}\n\nPhysical plan:\n{}",
            optimized.display_indent(),
            displayable(physical.as_ref()).indent(true)
        ))
    }
}

impl CompiledPipeline {
    /// The same plan, continuing a run from its stored evaluations.
    pub fn with_replay(
        mut self,
        replay: Vec<EvaluationRow>,
        prior_elapsed: std::time::Duration,
    ) -> Result<Self, RuntimeError> {
        let mut job = self.job.as_ref().clone();
        job.replay = Arc::new(replay);
        job.prior_elapsed = prior_elapsed;
        let job = Arc::new(job);
        let LogicalPlan::Extension(extension) = &self.logical else {
            return Err(RuntimeError::Internal(
                "the plan has no FeatureSearch node".to_owned(),
            ));
        };
        let node = extension
            .node
            .as_any()
            .downcast_ref::<FeatureSearchNode>()
            .ok_or_else(|| {
                RuntimeError::Internal("the plan's top is not FeatureSearch".to_owned())
            })?
            .with_job(Arc::clone(&job));
        self.logical = LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        });
        self.job = job;
        Ok(self)
    }
}

fn plan_error(e: datafusion::error::DataFusionError) -> RuntimeError {
    RuntimeError::Internal(format!("planning failed: {e}"))
}

/// The session settings of a search, which make every result independent of thread
/// timing: scans read whole files (never byte ranges of one) and in-memory tables are
/// never split or dealt round-robin to threads. Either would let rows reach an operator in
/// arrival order — a different row order for the search, and different float sums in
/// window aggregates (`avg(x) OVER ()`) on every run.
pub fn search_session_config() -> SessionConfig {
    SessionConfig::new()
        .set_bool("datafusion.optimizer.repartition_file_scans", false)
        .set_bool("datafusion.optimizer.enable_round_robin_repartition", false)
}

/// What the process holds outside DataFusion's memory pool: code, the async runtime,
/// threads, the allocator's working set (about 120–150 MiB measured on Linux x86_64).
const PROCESS_RESERVE: usize = 128 << 20;

/// The memory pool under a limit on the whole process: the limit less what the process
/// holds itself, but at least half the limit.
fn memory_pool_size(limit: usize) -> usize {
    limit.saturating_sub(PROCESS_RESERVE).max(limit / 2)
}

/// Compiles `pipeline` into a plan (registering the dataset; nothing is read yet).
pub async fn compile(
    pipeline: &LoadedPipeline,
    options: &RunOptions,
) -> Result<CompiledPipeline, RuntimeError> {
    let spec = &pipeline.resolved.spec;
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = options
        .memory_limit_bytes
        .or(spec.search.memory_limit_bytes)
        .or_else(crate::machine::default_memory_limit)
    {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        runtime = runtime.with_memory_limit(memory_pool_size(limit), 1.0);
    }
    let runtime = runtime
        .build_arc()
        .map_err(|e| RuntimeError::Internal(format!("cannot set up the runtime: {e}")))?;
    let state = SessionStateBuilder::new()
        .with_config(search_session_config())
        .with_default_features()
        .with_runtime_env(runtime)
        .with_query_planner(Arc::new(FlowQueryPlanner))
        .build();
    let ctx = SessionContext::new_with_state(state);
    register_dataset(&ctx, pipeline).await?;
    let dataset = &spec.dataset;
    let df = ctx
        .table(DATASET_TABLE)
        .await
        .map_err(|e| dataset_error(pipeline, &e))?;
    check_data(pipeline, &dataset_url(pipeline), df.schema().inner())?;
    let skipped_columns = skipped_columns(pipeline, df.schema().as_arrow());
    let dropped: Vec<&str> = dataset
        .drop
        .iter()
        .map(|c| c.value.as_str())
        .chain(dataset.id.as_ref().map(|c| c.value.as_str()))
        // An excluded time or group column is no base feature but still orders and
        // partitions features (and picks the latest rows to hold out).
        .chain(
            spec.space
                .exclude
                .iter()
                .map(|c| c.value.as_str())
                .filter(|c| {
                    dataset.time.as_ref().is_none_or(|t| t.value != *c)
                        && dataset.group.as_ref().is_none_or(|g| g.value != *c)
                }),
        )
        .chain(skipped_columns.iter().map(|(name, _)| name.as_str()))
        .collect();
    let columns: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| !dropped.contains(&name.as_str()))
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let projected = df
        .select_columns(&columns)
        .map_err(|e| dataset_error(pipeline, &e))?;
    let input_columns = projected
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    let identity = identify(pipeline, &ctx).await?;
    let job = Arc::new(SearchJob {
        run_id: identity.run_id.clone(),
        spec_hash: pipeline.resolved.spec_hash(),
        operations: pipeline.resolved.operations.clone(),
        dataset: dataset.clone(),
        max_depth: spec.space.max_depth,
        include: spec.space.include.iter().map(|c| c.value.clone()).collect(),
        exclude: spec.space.exclude.iter().map(|c| c.value.clone()).collect(),
        evaluator: spec.evaluator.clone(),
        search: spec.search.clone(),
        replay: Arc::new(Vec::new()),
        prior_elapsed: std::time::Duration::ZERO,
        final_set: crate::operator::FinalSlot::default(),
    });
    let node = FeatureSearchNode::try_new(projected.into_unoptimized_plan(), Arc::clone(&job))
        .map_err(plan_error)?;
    let logical = LogicalPlan::Extension(Extension {
        node: Arc::new(node),
    });
    Ok(CompiledPipeline {
        ctx,
        logical,
        job,
        identity,
        input_columns,
        skipped_columns,
    })
}

fn dataset_error(pipeline: &LoadedPipeline, e: &dyn std::fmt::Display) -> RuntimeError {
    read_error(pipeline, &e.to_string())
}

async fn register_dataset(
    ctx: &SessionContext,
    pipeline: &LoadedPipeline,
) -> Result<(), RuntimeError> {
    let spec = &pipeline.resolved.spec;
    let dataset = &spec.dataset;
    if let DataLocation::S3 { bucket, .. } = &dataset.source.value {
        register_s3(ctx, bucket, &spec.output.s3).map_err(|message| RuntimeError::Dataset {
            location: dataset.source.value.display(),
            message,
            help: "set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (or `output { region … }`)".to_owned(),
        })?;
    }
    let url = dataset_url(pipeline);
    let file_name = url.rsplit('/').next().unwrap_or(&url).to_owned();
    let is_dir = url.ends_with('/') || std::path::Path::new(&url).is_dir();
    let extension = file_name
        .find('.')
        .map(|i| file_name[i..].to_owned())
        .filter(|_| !is_dir);
    let gzip = file_name.ends_with(".gz");
    let result = match dataset.format.value {
        DataFormat::Csv => {
            let mut options = CsvReadOptions::new()
                .has_header(dataset.csv.header)
                .delimiter(dataset.csv.delimiter);
            if let Some(ext) = &extension {
                options = options.file_extension(ext);
            }
            if gzip {
                options = options.file_compression_type(
                    datafusion::datasource::file_format::file_compression_type::FileCompressionType::GZIP,
                );
            }
            ctx.register_csv(DATASET_TABLE, &url, options).await
        }
        DataFormat::Parquet => {
            let mut options = ParquetReadOptions::default();
            if let Some(ext) = &extension {
                options = options.file_extension(ext);
            }
            ctx.register_parquet(DATASET_TABLE, &url, options).await
        }
        DataFormat::Json => {
            let mut options = JsonReadOptions::default();
            if let Some(ext) = &extension {
                options = options.file_extension(ext);
            }
            ctx.register_json(DATASET_TABLE, &url, options).await
        }
    };
    result.map_err(|e| dataset_error(pipeline, &e))
}

/// Registers an S3 client for `bucket` (see [`s3_store`]).
fn register_s3(ctx: &SessionContext, bucket: &str, options: &S3Options) -> Result<(), String> {
    let store = s3_store(bucket, options)?;
    let url = ObjectStoreUrl::parse(format!("s3://{bucket}")).map_err(|e| e.to_string())?;
    ctx.register_object_store(url.as_ref(), store);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_leaves_the_process_its_share_of_the_limit() {
        assert_eq!(memory_pool_size(600 << 20), 472 << 20);
        assert_eq!(memory_pool_size(4 << 30), (4 << 30) - (128 << 20));
        // Small limits keep half for the pool.
        assert_eq!(memory_pool_size(24 << 20), 12 << 20);
    }
}
