//! Running a pipeline: compile, execute the plan, follow the evaluation log as it streams,
//! and write it out.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::physical_plan::execute_stream;
use flow_dsl::Metric;
use futures::StreamExt;

use crate::error::RuntimeError;
use crate::load::LoadedPipeline;
use crate::operator::log::{EvaluationRow, metric_from_name, rows_from_batch};
use crate::plan::{RunOptions, compile};

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
    /// Where the evaluation log was written.
    pub log_path: PathBuf,
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

/// Runs `pipeline`, calling `progress` as evaluations stream in, and writes the evaluation
/// log to `<output>/evaluations.parquet`.
pub async fn run_pipeline(
    pipeline: &LoadedPipeline,
    options: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunSummary, RuntimeError> {
    let started = Instant::now();
    let log_path = output_file(pipeline)?;
    let compiled = compile(pipeline, options).await?;
    let physical = compiled.physical().await?;
    let mut stream = execute_stream(physical, compiled.ctx.task_ctx()).map_err(search_error)?;
    let job = &compiled.job;
    let mut metric: Option<Metric> = None;
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut rows: Vec<EvaluationRow> = Vec::new();
    let mut state = Progress {
        evaluations: 0,
        rejected: 0,
        budget: job.search.iterations,
        baseline: None,
        best: None,
        failed: 0,
        cache_hits: 0,
        elapsed: Duration::ZERO,
    };
    let mut higher_is_better = None;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(search_error)?;
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
            if metric.is_none() {
                metric = metric_from_name(&row.metric);
            }
            let hib = *higher_is_better
                .get_or_insert_with(|| metric.is_none_or(Metric::higher_is_better));
            if let Some(mean) = row.mean
                && state
                    .best
                    .is_none_or(|b| if hib { mean > b } else { mean < b })
            {
                state.best = Some(mean);
            }
            rows.push(row);
        }
        batches.push(batch);
        state.elapsed = started.elapsed();
        progress(&state);
    }
    let baseline = state
        .baseline
        .ok_or_else(|| search_error("the search produced no baseline"))?;
    let higher_is_better = higher_is_better.unwrap_or(true);
    let best = best_row(&rows, higher_is_better)
        .cloned()
        .ok_or_else(|| search_error("the search evaluated nothing"))?;
    write_log(&compiled.ctx, batches, &log_path).await?;
    Ok(RunSummary {
        run_id: job.run_id.clone(),
        metric,
        higher_is_better,
        baseline,
        best,
        evaluations: rows,
        log_path,
        elapsed: started.elapsed(),
    })
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

/// `<output>/evaluations.parquet`, with the output directory relative to the pipeline file.
fn output_file(pipeline: &LoadedPipeline) -> Result<PathBuf, RuntimeError> {
    let location = &pipeline.resolved.spec.output.location.value;
    if location.starts_with("s3://") {
        return Err(RuntimeError::Output {
            location: location.clone(),
            message:
                "writing results to S3 is not built yet (it comes with the run store, issue #6)"
                    .to_owned(),
        });
    }
    let dir = location.strip_prefix("file://").unwrap_or(location);
    let dir = pipeline.base_dir().join(dir);
    std::fs::create_dir_all(&dir).map_err(|e| RuntimeError::Output {
        location: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    Ok(dir.join("evaluations.parquet"))
}

async fn write_log(
    ctx: &datafusion::prelude::SessionContext,
    batches: Vec<RecordBatch>,
    path: &std::path::Path,
) -> Result<(), RuntimeError> {
    let output_error = |e: datafusion::error::DataFusionError| RuntimeError::Output {
        location: path.display().to_string(),
        message: e.to_string(),
    };
    let df = ctx.read_batches(batches).map_err(output_error)?;
    df.write_parquet(
        &path.display().to_string(),
        DataFrameWriteOptions::new().with_single_file_output(true),
        None,
    )
    .await
    .map_err(output_error)?;
    Ok(())
}
