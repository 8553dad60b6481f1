//! Running a pipeline: compile, execute the plan, follow the evaluation log as it streams,
//! and write the run into the run store as it goes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::execute_stream;
use flow_dsl::Metric;
use futures::StreamExt;

use crate::error::RuntimeError;
use crate::inspect::dataset_url;
use crate::load::LoadedPipeline;
use crate::operator::log::{EvaluationRow, metric_from_name, metric_name, rows_from_batch};
use crate::plan::{CompiledPipeline, DATASET_TABLE, RunOptions, compile};
use crate::store::{
    BeginError, MetricRow, RunManifest, RunStatus, RunWriter, StoreLocation, export_sql,
    now_micros, resident_memory,
};

/// Where a run stands, reported after every batch of evaluations.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Candidates scored so far (the baseline included); the budget counts these.
    pub evaluations: u64,
    /// Candidates rejected before scoring (could not be computed, or constant).
    pub rejected: u64,
    /// The iteration budget.
    pub budget: u64,
    /// The baseline score.
    pub baseline: Option<f64>,
    /// The best score so far.
    pub best: Option<f64>,
    /// Failed evaluations so far.
    pub failed: u64,
    /// Evaluations answered from the cache.
    pub cache_hits: u64,
    /// Time since the run started.
    pub elapsed: Duration,
}

/// What a finished run found.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// The metric scores are in (as the evaluator chose it).
    pub metric: Option<Metric>,
    /// Whether larger scores are better.
    pub higher_is_better: bool,
    /// The score of the base columns alone.
    pub baseline: f64,
    /// The best evaluation.
    pub best: EvaluationRow,
    /// Every row of the evaluation log, in order (rejected candidates included).
    pub evaluations: Vec<EvaluationRow>,
    /// The results location.
    pub location: String,
    /// The run's manifest as committed.
    pub manifest: RunManifest,
    /// Wall time.
    pub elapsed: Duration,
}

impl RunSummary {
    /// Rows with this status.
    pub fn count(&self, status: &str) -> usize {
        self.evaluations
            .iter()
            .filter(|r| r.status == status)
            .count()
    }

    /// Candidates scored by cross-validation (what the iteration budget counts).
    pub fn scored(&self) -> usize {
        self.evaluations.len() - self.count("rejected")
    }

    /// The best score's relative improvement over the baseline (positive is better).
    pub fn uplift(&self) -> f64 {
        let best = self.best.mean.unwrap_or(self.baseline);
        crate::search::reward(best, self.baseline, self.higher_is_better)
    }
}

/// Runs `pipeline`, calling `progress` as evaluations stream in, and writes the run into
/// the results location: the manifest first, evaluation chunks and table snapshots at every
/// `checkpoint-interval`, the `completed` manifest last.
pub async fn run_pipeline(
    pipeline: &LoadedPipeline,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunSummary, RuntimeError> {
    let started = Instant::now();
    let spec = &pipeline.resolved.spec;
    let output = options
        .output
        .clone()
        .unwrap_or_else(|| spec.output.location.value.clone());
    let location = StoreLocation::resolve(&output, pipeline.base_dir(), &spec.output.s3, true)
        .map_err(|message| RuntimeError::Output {
            location: output.clone(),
            message,
        })?;
    let compiled = compile(pipeline, options).await?;
    // One registry: the run writes through the store the session would scan it with.
    compiled
        .ctx
        .register_object_store(location.root.as_ref(), Arc::clone(&location.store));
    let manifest = new_manifest(pipeline, &compiled);
    let mut writer = match RunWriter::begin(location.clone(), manifest, options.force).await {
        Ok(writer) => writer,
        Err(BeginError::AlreadyStored(old)) => {
            let help = match old.status {
                RunStatus::Completed => format!(
                    "the same pipeline, data and seed give the same search: see it with `flow runs {}`, or pass `--force` to run it again (the stored run stays intact until the new one completes)",
                    location.display
                ),
                RunStatus::Running | RunStatus::Created => "another flow process may be running it now, or one was killed while running it: pass `--force` to start it over once no other process is".to_owned(),
                RunStatus::Interrupted | RunStatus::Failed => "pass `--force` to start it over".to_owned(),
            };
            return Err(RuntimeError::AlreadyRun {
                run_id: old.run_id.clone(),
                location: location.display.clone(),
                status: old.status.as_str().to_owned(),
                help,
            });
        }
        Err(BeginError::Store(message)) => {
            return Err(RuntimeError::Output {
                location: location.display.clone(),
                message,
            });
        }
    };
    let mut followed = Followed::new(compiled.job.search.iterations);
    let outcome = follow(&compiled, &mut writer, &mut followed, progress, started).await;
    if let Err(e) = outcome {
        // Keep what was found before the failure: the last chunk, then the failed manifest.
        let kept = checkpoint(&mut writer, &mut followed).await;
        let failed = writer.fail(&e.to_string()).await;
        if let Err(message) = kept.and(failed) {
            return Err(RuntimeError::Output {
                location: location.display.clone(),
                message: format!("{message} (after the search failed: {e})"),
            });
        }
        return Err(e);
    }
    let output_error = |message: String| RuntimeError::Output {
        location: location.display.clone(),
        message,
    };
    let baseline = followed
        .state
        .baseline
        .ok_or_else(|| search_error("the search produced no baseline"))?;
    let higher_is_better = followed.higher_is_better.unwrap_or(true);
    let best = best_row(&followed.rows, higher_is_better)
        .cloned()
        .ok_or_else(|| search_error("the search evaluated nothing"))?;
    let m = writer.manifest_mut();
    m.best_node_id = Some(best.node_id);
    m.best_features.clone_from(&best.feature_names);
    m.best_feature_sql.clone_from(&best.feature_sql);
    checkpoint(&mut writer, &mut followed)
        .await
        .map_err(output_error)?;
    let best_sql = export_sql(writer.manifest(), DATASET_TABLE).ok();
    let manifest = writer
        .commit(best_sql.as_deref())
        .await
        .map_err(output_error)?;
    Ok(RunSummary {
        run_id: compiled.job.run_id.clone(),
        metric: followed.metric,
        higher_is_better,
        baseline,
        best,
        evaluations: followed.rows,
        location: location.display.clone(),
        manifest,
        elapsed: started.elapsed(),
    })
}

/// What the run has seen of the operator's output so far.
struct Followed {
    state: Progress,
    metric: Option<Metric>,
    higher_is_better: Option<bool>,
    rows: Vec<EvaluationRow>,
    /// Log batches not yet written.
    pending: Vec<RecordBatch>,
    metrics: Vec<MetricRow>,
}

impl Followed {
    fn new(budget: u64) -> Self {
        Self {
            state: Progress {
                evaluations: 0,
                rejected: 0,
                budget,
                baseline: None,
                best: None,
                failed: 0,
                cache_hits: 0,
                elapsed: Duration::ZERO,
            },
            metric: None,
            higher_is_better: None,
            rows: Vec::new(),
            pending: Vec::new(),
            metrics: Vec::new(),
        }
    }

    fn take(&mut self, batch: RecordBatch) {
        let state = &mut self.state;
        for row in rows_from_batch(&batch) {
            if row.status == "rejected" {
                state.rejected += 1;
            } else {
                state.evaluations += 1;
            }
            state.failed += u64::from(row.status == "failed");
            state.cache_hits += u64::from(row.cache_hit);
            if state.baseline.is_none() {
                state.baseline = row.mean;
            }
            if self.metric.is_none() {
                self.metric = metric_from_name(&row.metric);
            }
            let metric = self.metric;
            let hib = *self
                .higher_is_better
                .get_or_insert_with(|| metric.is_none_or(Metric::higher_is_better));
            if let Some(mean) = row.mean
                && state
                    .best
                    .is_none_or(|b| if hib { mean > b } else { mean < b })
            {
                state.best = Some(mean);
            }
            self.rows.push(row);
        }
        self.pending.push(batch);
    }
}

/// Executes the plan, following its log stream and checkpointing at the spec's interval.
async fn follow(
    compiled: &CompiledPipeline,
    writer: &mut RunWriter,
    followed: &mut Followed,
    progress: &mut dyn FnMut(&Progress),
    started: Instant,
) -> Result<(), RuntimeError> {
    let physical = compiled.physical().await?;
    let mut stream = execute_stream(physical, compiled.ctx.task_ctx()).map_err(search_error)?;
    let interval = compiled.job.search.checkpoint_interval;
    let pool = Arc::clone(&compiled.ctx.runtime_env().memory_pool);
    let mut last_checkpoint = Instant::now();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(search_error)?;
        followed.take(batch);
        followed.state.elapsed = started.elapsed();
        let state = &followed.state;
        let higher_is_better = followed.higher_is_better.unwrap_or(true);
        followed.metrics.push(MetricRow {
            iteration: followed.rows.last().map_or(0, |r| r.iteration),
            elapsed_ms: state.elapsed.as_secs_f64() * 1000.0,
            evaluations: state.evaluations,
            rejected: state.rejected,
            failed: state.failed,
            cache_hits: state.cache_hits,
            best_score: state.best,
            uplift: state
                .best
                .zip(state.baseline)
                .map(|(b, base)| crate::search::reward(b, base, higher_is_better)),
            memory_reserved_bytes: pool.reserved() as u64,
            rss_bytes: resident_memory(),
        });
        progress(&followed.state);
        if last_checkpoint.elapsed() >= interval {
            checkpoint(writer, followed)
                .await
                .map_err(|message| RuntimeError::Output {
                    location: writer.manifest().data_location.clone(),
                    message,
                })?;
            last_checkpoint = Instant::now();
        }
    }
    Ok(())
}

/// Writes the pending log batches as a chunk, the table snapshots and the manifest.
async fn checkpoint(writer: &mut RunWriter, followed: &mut Followed) -> Result<(), String> {
    let state = &followed.state;
    let m = writer.manifest_mut();
    m.duration_ms = state.elapsed.as_secs_f64() * 1000.0;
    m.evaluations = state.evaluations;
    m.rejected = state.rejected;
    m.failed = state.failed;
    m.cache_hits = state.cache_hits;
    m.metric = followed.metric.map(metric_name);
    m.higher_is_better = followed.higher_is_better.unwrap_or(true);
    m.baseline = state.baseline;
    m.best_score = state.best;
    m.uplift = state
        .best
        .zip(state.baseline)
        .map(|(b, base)| crate::search::reward(b, base, m.higher_is_better));
    writer
        .checkpoint(&followed.pending, &followed.rows, &followed.metrics)
        .await?;
    followed.pending.clear();
    Ok(())
}

/// The manifest of a run about to start.
fn new_manifest(pipeline: &LoadedPipeline, compiled: &CompiledPipeline) -> RunManifest {
    let spec = &pipeline.resolved.spec;
    let now = now_micros();
    RunManifest {
        run_id: compiled.identity.run_id.clone(),
        pipeline: spec.name.value.clone(),
        pipeline_path: pipeline.path.display().to_string(),
        spec_hash: compiled.identity.spec_hash.clone(),
        canonical_spec: pipeline.resolved.canonical_text(),
        data_location: dataset_url(pipeline),
        data_fingerprint: compiled.identity.data_fingerprint.clone(),
        seed: compiled.identity.seed,
        status: RunStatus::Created,
        created_at: now,
        updated_at: now,
        finished_at: None,
        duration_ms: 0.0,
        iterations: spec.search.iterations,
        evaluations: 0,
        rejected: 0,
        failed: 0,
        cache_hits: 0,
        chunks: 0,
        metric: None,
        higher_is_better: true,
        target: spec.dataset.target.value.clone(),
        model: spec.evaluator.model.kind.value.name().to_owned(),
        baseline: None,
        best_score: None,
        uplift: None,
        best_node_id: None,
        best_features: Vec::new(),
        best_feature_sql: Vec::new(),
        id_column: spec.dataset.id.as_ref().map(|c| c.value.clone()),
        input_columns: compiled
            .input_columns
            .iter()
            .map(|(n, _)| n.clone())
            .collect(),
        input_types: compiled
            .input_columns
            .iter()
            .map(|(_, t)| t.clone())
            .collect(),
        flow_version: env!("CARGO_PKG_VERSION").to_owned(),
        datafusion_version: datafusion::DATAFUSION_VERSION.to_owned(),
        error: None,
    }
}

/// The best successful row (ties go to the earlier one).
pub fn best_row(rows: &[EvaluationRow], higher_is_better: bool) -> Option<&EvaluationRow> {
    let mut best: Option<&EvaluationRow> = None;
    for row in rows.iter().filter(|r| r.status == "ok") {
        let (Some(mean), current) = (row.mean, best.and_then(|b| b.mean)) else {
            continue;
        };
        let better = current.is_none_or(|c| if higher_is_better { mean > c } else { mean < c });
        if better {
            best = Some(row);
        }
    }
    best
}

fn search_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Search {
        message: e.to_string(),
    }
}
