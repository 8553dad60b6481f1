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
use crate::operator::driver::SearchRows;
use crate::operator::log::{EvaluationRow, metric_from_name, metric_name, rows_from_batch};
use crate::operator::{Confirmation, FinalSet, StopReason};
use crate::plan::{CompiledPipeline, DATASET_TABLE, RunOptions, compile};
use crate::resume;
use crate::search::improves;
use crate::store::{
    BeginError, MetricRow, RunManifest, RunStatus, RunWriter, SetChoice, StoreLocation, export_sql,
    now_micros, read_metrics, resident_memory, this_host,
};
use tokio::sync::watch;

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
    /// Whether larger scores are better (known from the first evaluation; true until then).
    pub higher_is_better: bool,
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
    /// Columns of the data the search left out (nested values), with what they hold.
    pub skipped_columns: Vec<(String, String)>,
    /// The rows the search read, dropped, searched and held out (unknown when it ended
    /// without settling a best set).
    pub rows: Option<SearchRows>,
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
/// `checkpoint-interval`, the `completed` manifest last. With `options.resume`, continues
/// an interrupted run instead; with `options.interrupt`, stops at the next safe point when
/// it turns true and stores the run as interrupted.
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
    let budget = compiled.job.search.iterations;
    let (compiled, mut writer, mut followed) = match &options.resume {
        None => {
            let writer = start(pipeline, &compiled, &location, options.force).await?;
            (compiled, writer, Followed::new(budget, Duration::ZERO))
        }
        Some(target) => {
            let stored = resume::find(pipeline, &compiled.identity, &location, target).await?;
            let (writer, rows) = RunWriter::resume(location.clone(), stored)
                .await
                .map_err(|message| output_error(&location, message))?;
            let prior = Duration::from_secs_f64(writer.manifest().duration_ms / 1000.0);
            let metrics = read_metrics(&location, &writer.manifest().run_id)
                .await
                .map_err(|message| output_error(&location, message))?;
            let followed = Followed::resumed(budget, rows.clone(), metrics, prior);
            (compiled.with_replay(rows, prior)?, writer, followed)
        }
    };
    let ended = follow(
        &compiled,
        &mut writer,
        &mut followed,
        progress,
        started,
        options.interrupt.clone(),
    )
    .await;
    match ended {
        Err(e) => {
            // Keep what was found before the failure: the last chunk, then the failed
            // manifest.
            let kept = checkpoint(&mut writer, &mut followed).await;
            let failed = writer.fail(&e.to_string()).await;
            if let Err(message) = kept.and(failed) {
                return Err(output_error(
                    &location,
                    format!("{message} (after the search failed: {e})"),
                ));
            }
            return Err(e);
        }
        Ok(Ended::Interrupted) => {
            checkpoint(&mut writer, &mut followed)
                .await
                .map_err(|message| output_error(&location, message))?;
            writer.manifest_mut().stop_reason = Some(StopReason::Interrupted.as_str().to_owned());
            let manifest = writer
                .interrupt()
                .await
                .map_err(|message| output_error(&location, message))?;
            return Err(RuntimeError::Interrupted {
                run_id: manifest.run_id.clone(),
                location: location.display.clone(),
                evaluations: manifest.evaluations,
                resume: pipeline.resume_command(&manifest.run_id),
            });
        }
        Ok(Ended::Finished) => {}
    }
    let baseline = followed
        .state
        .baseline
        .ok_or_else(|| search_error("the search produced no baseline"))?;
    let higher_is_better = followed.higher_is_better.unwrap_or(true);
    let searched = best_row(&followed.rows, higher_is_better)
        .cloned()
        .ok_or_else(|| search_error("the search evaluated nothing"))?;
    checkpoint(&mut writer, &mut followed)
        .await
        .map_err(|message| output_error(&location, message))?;
    let final_set = compiled.job.final_set.take();
    let rows = final_set.as_ref().map(|set| set.rows);
    let (best, lookups) = settle_best(writer.manifest_mut(), searched, final_set)?;
    let best_sql = export_sql(writer.manifest(), DATASET_TABLE, &lookups, SetChoice::Best).ok();
    let manifest = writer
        .commit(best_sql.as_deref(), &lookups)
        .await
        .map_err(|message| output_error(&location, message))?;
    Ok(RunSummary {
        run_id: compiled.job.run_id.clone(),
        metric: followed.metric,
        higher_is_better,
        baseline,
        best,
        evaluations: followed.rows,
        location: location.display.clone(),
        manifest,
        skipped_columns: compiled.skipped_columns.clone(),
        rows,
        elapsed: followed.state.elapsed,
    })
}

/// Records the run's final feature set in its manifest: the search's best set without the
/// features pruning dropped, its score, and its fit for new data. Returns the final set as
/// a log row (for the summary) and the fit's lookup tables.
fn settle_best(
    m: &mut RunManifest,
    searched: EvaluationRow,
    final_set: Option<FinalSet>,
) -> Result<(EvaluationRow, Vec<RecordBatch>), RuntimeError> {
    m.best_node_id = Some(searched.node_id);
    let Some(FinalSet {
        rows,
        stopped,
        lean,
        fit,
        confirmation,
    }) = final_set
    else {
        m.best_features.clone_from(&searched.feature_names);
        m.best_feature_sql.clone_from(&searched.feature_sql);
        m.fit_error = Some("the search ended without settling its best set".to_owned());
        return Ok((searched, Vec::new()));
    };
    if lean.node_id != searched.node_id {
        return Err(RuntimeError::Internal(format!(
            "the search settled node {} as its best set, the log node {}",
            lean.node_id, searched.node_id
        )));
    }
    m.stop_reason = Some(stopped.as_str().to_owned());
    let count = |n: usize| u64::try_from(n).ok();
    m.rows_read = count(rows.read);
    m.rows_without_target = count(rows.without_target);
    m.rows_searched = count(rows.searched);
    let mut best = searched;
    #[allow(clippy::cast_precision_loss)]
    let k = lean.folds.len().max(1) as f64;
    let mean = lean.folds.iter().sum::<f64>() / k;
    best.std = Some((lean.folds.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / k).sqrt());
    best.mean = Some(mean);
    best.fold_scores = lean.folds;
    if let Some(importance) = lean.importance {
        best.importance = importance;
    }
    best.feature_names = lean.names;
    best.feature_sql = lean.sqls;
    m.best_features.clone_from(&best.feature_names);
    m.best_feature_sql.clone_from(&best.feature_sql);
    m.pruned_features = Some(lean.pruned);
    m.best_score = Some(mean);
    m.uplift = m
        .baseline
        .map(|base| crate::search::reward(mean, base, m.higher_is_better));
    match confirmation {
        Confirmation::Off => {}
        Confirmation::NotScored(why) => m.confirm_note = Some(why),
        Confirmation::Scored {
            rows,
            baseline,
            best,
            support,
        } => {
            m.confirm_rows = Some(rows);
            m.confirm_support = Some(support);
            m.confirm_baseline = Some(baseline);
            m.confirm_best = Some(best);
            m.confirm_uplift = Some(crate::search::reward(best, baseline, m.higher_is_better));
        }
    }
    let lookups = match fit {
        Ok(fit) => {
            m.fitted = Some(serde_json::to_string(&fit.fitted).map_err(search_error)?);
            fit.tables
        }
        Err(why) => {
            m.fit_error = Some(why);
            Vec::new()
        }
    };
    Ok((best, lookups))
}

fn output_error(location: &StoreLocation, message: String) -> RuntimeError {
    RuntimeError::Output {
        location: location.display.clone(),
        message,
    }
}

/// Starts a new run, refusing one the store holds already (unless `force`).
async fn start(
    pipeline: &LoadedPipeline,
    compiled: &CompiledPipeline,
    location: &StoreLocation,
    force: bool,
) -> Result<RunWriter, RuntimeError> {
    let manifest = new_manifest(pipeline, compiled);
    match RunWriter::begin(location.clone(), manifest, force).await {
        Ok(writer) => Ok(writer),
        Err(BeginError::AlreadyStored(old)) => {
            let status = old.effective_status(now_micros());
            let resume = pipeline.resume_command(&old.run_id);
            let help = match status {
                RunStatus::Completed => format!(
                    "the same pipeline, data and seed give the same search: see it with `flow runs {}`, or pass `--force` to run it again (the stored run stays intact until the new one completes)",
                    location.display
                ),
                RunStatus::Interrupted => {
                    format!("continue it with `{resume}`, or pass `--force` to start it over")
                }
                RunStatus::Running | RunStatus::Created | RunStatus::Resuming => format!(
                    "process {} on {} is running it now; wait for it, or stop it and continue with `{resume}`",
                    old.pid, old.host
                ),
                RunStatus::Failed => "pass `--force` to start it over".to_owned(),
            };
            Err(RuntimeError::AlreadyRun {
                run_id: old.run_id.clone(),
                location: location.display.clone(),
                status: status.as_str().to_owned(),
                help,
            })
        }
        Err(BeginError::Store(message)) => Err(output_error(location, message)),
    }
}

/// How following the operator's stream ended.
enum Ended {
    /// The search ended by itself.
    Finished,
    /// The caller asked it to stop.
    Interrupted,
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
    /// Search time of the run before this process took over (resume).
    prior: Duration,
}

impl Followed {
    fn new(budget: u64, prior: Duration) -> Self {
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
                higher_is_better: true,
            },
            metric: None,
            higher_is_better: None,
            rows: Vec::new(),
            pending: Vec::new(),
            metrics: Vec::new(),
            prior,
        }
    }

    /// What a resumed run has already stored.
    fn resumed(
        budget: u64,
        rows: Vec<EvaluationRow>,
        metrics: Vec<MetricRow>,
        prior: Duration,
    ) -> Self {
        let mut followed = Self::new(budget, prior);
        followed.take_rows(rows);
        followed.metrics = metrics;
        followed.state.elapsed = prior;
        followed
    }

    /// Takes a streamed batch (to be written at the next checkpoint).
    fn take(&mut self, batch: RecordBatch) {
        self.take_rows(rows_from_batch(&batch));
        self.pending.push(batch);
    }

    fn take_rows(&mut self, rows: Vec<EvaluationRow>) {
        let state = &mut self.state;
        for row in rows {
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
            state.higher_is_better = hib;
            // As `best_row` and the search decide.
            if let Some(mean) = row.mean
                && improves(mean, state.best, hib)
            {
                state.best = Some(mean);
            }
            self.rows.push(row);
        }
    }
}

/// Executes the plan, following its log stream and checkpointing at the spec's interval.
async fn follow(
    compiled: &CompiledPipeline,
    writer: &mut RunWriter,
    followed: &mut Followed,
    progress: &mut dyn FnMut(&Progress),
    started: Instant,
    mut interrupt: Option<watch::Receiver<bool>>,
) -> Result<Ended, RuntimeError> {
    let physical = compiled.physical().await?;
    let mut stream = execute_stream(physical, compiled.ctx.task_ctx()).map_err(search_error)?;
    let interval = compiled.job.search.checkpoint_interval;
    let pool = Arc::clone(&compiled.ctx.runtime_env().memory_pool);
    let mut last_checkpoint = Instant::now();
    loop {
        let next = match interrupt.as_mut() {
            Some(rx) => tokio::select! {
                biased;
                () = interrupted(rx) => return Ok(Ended::Interrupted),
                next = stream.next() => next,
            },
            None => stream.next().await,
        };
        let Some(batch) = next else { break };
        let batch = batch.map_err(|e| search_failure(&compiled.job, &e))?;
        running(writer).await?;
        followed.take(batch);
        followed.state.elapsed = followed.prior + started.elapsed();
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
                .map_err(|message| output_error(writer.location(), message))?;
            last_checkpoint = Instant::now();
        }
    }
    running(writer).await?;
    Ok(Ended::Finished)
}

/// A resumed run is `running` again once its replay is over (the first new evaluations, or
/// the end of a search that had nothing left to do).
async fn running(writer: &mut RunWriter) -> Result<(), RuntimeError> {
    if writer.manifest().status == RunStatus::Resuming {
        writer
            .transition(RunStatus::Running)
            .await
            .map_err(|message| output_error(writer.location(), message))?;
    }
    Ok(())
}

/// Resolves once `rx` holds `true`; never, if its sender is gone without saying so.
async fn interrupted(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
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
        pruned_features: None,
        fitted: None,
        fit_error: None,
        confirm_rows: None,
        confirm_baseline: None,
        confirm_best: None,
        confirm_uplift: None,
        confirm_support: None,
        confirm_note: None,
        confirm_model: spec
            .evaluator
            .final_model
            .as_ref()
            .map(|m| m.kind.value.name().to_owned()),
        stop_reason: None,
        rows_read: None,
        rows_without_target: None,
        rows_searched: None,
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
        host: this_host(),
        pid: std::process::id(),
        checkpoint_interval_ms: u64::try_from(spec.search.checkpoint_interval.as_millis())
            .unwrap_or(u64::MAX),
    }
}

/// The best successful row (ties, to [`settled`](crate::search::settled) precision, go to the
/// earlier one).
pub fn best_row(rows: &[EvaluationRow], higher_is_better: bool) -> Option<&EvaluationRow> {
    let mut best: Option<&EvaluationRow> = None;
    for row in rows.iter().filter(|r| r.status == "ok") {
        let (Some(mean), current) = (row.mean, best.and_then(|b| b.mean)) else {
            continue;
        };
        if improves(mean, current, higher_is_better) {
            best = Some(row);
        }
    }
    best
}

/// What stopped the search operator: a problem of the dataset (`flow::dataset`), or else a
/// failed search.
pub(crate) fn search_failure(
    job: &crate::operator::SearchJob,
    e: &datafusion::error::DataFusionError,
) -> RuntimeError {
    match crate::operator::data_problem(e) {
        Some(message) => {
            let location = job.dataset.source.value.display();
            let prefix = format!("cannot read the dataset {location}: ");
            RuntimeError::Dataset {
                message: message.strip_prefix(&prefix).unwrap_or(&message).to_owned(),
                location,
                help: "fix the data, or the pipeline's `dataset` block, and run again".to_owned(),
            }
        }
        None => search_error(e),
    }
}

fn search_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Search {
        message: e.to_string(),
    }
}
