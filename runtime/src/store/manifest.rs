//! The run manifest: one row in the `runs` table, rewritten whole at every transition and
//! checkpoint and written last when a run completes, so `status = 'completed'` means every
//! other file of the run is in place. It also carries the run's lifecycle: which status may
//! follow which, and how a run whose process died is told from one still running.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

use super::rows::{batch_from_rows, rows_from_batch};
use crate::operator::StopReason;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The manifest exists; the search has not started.
    Created,
    /// The search is going on (or the process running it died).
    Running,
    /// Every file of the run is written.
    Completed,
    /// Stopped before its budget was spent.
    Interrupted,
    /// Stopped by an error (see `error`).
    Failed,
    /// Being continued from its last checkpoint (`flow run --resume`).
    Resuming,
}

impl RunStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Interrupted => "interrupted",
            Self::Failed => "failed",
            Self::Resuming => "resuming",
        }
    }

    /// Whether a run in this status may move to `next`. `running` may become `resuming`
    /// only when its process is gone (see [`RunManifest::effective_status`]).
    pub fn can_become(self, next: Self) -> bool {
        use RunStatus::{Completed, Created, Failed, Interrupted, Resuming, Running};
        matches!(
            (self, next),
            (Created, Running | Failed | Interrupted)
                | (Running, Completed | Interrupted | Failed | Resuming)
                | (Interrupted, Resuming)
                | (Resuming, Running | Interrupted | Failed)
        )
    }

    /// Whether the run may be continued with `flow run --resume`.
    pub fn is_resumable(self) -> bool {
        matches!(self, Self::Interrupted)
    }
}

/// Every status, for tests and listings.
pub const STATUSES: [RunStatus; 6] = [
    RunStatus::Created,
    RunStatus::Running,
    RunStatus::Completed,
    RunStatus::Interrupted,
    RunStatus::Failed,
    RunStatus::Resuming,
];

/// One run, as the `runs` table holds it (`run_id` comes from the partition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// The run id (not stored in the file: the partition carries it).
    #[serde(skip_serializing, default)]
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The pipeline file, as given.
    pub pipeline_path: String,
    /// SHA-256 of the canonical pipeline.
    pub spec_hash: String,
    /// The canonical pipeline text (what the hash is of).
    pub canonical_spec: String,
    /// The dataset location.
    pub data_location: String,
    /// The dataset's fingerprint.
    pub data_fingerprint: String,
    /// The search seed.
    pub seed: u64,
    /// Where the run stands.
    pub status: RunStatus,
    /// When the run was created (µs since the Unix epoch, UTC).
    pub created_at: i64,
    /// When the manifest was last written.
    pub updated_at: i64,
    /// When the run completed, failed or was interrupted.
    pub finished_at: Option<i64>,
    /// Wall time of the search so far.
    pub duration_ms: f64,
    /// The iteration budget.
    pub iterations: u64,
    /// Candidates scored so far (the baseline included).
    pub evaluations: u64,
    /// Candidates rejected before scoring.
    pub rejected: u64,
    /// Evaluations that failed.
    pub failed: u64,
    /// Evaluations answered from the cache.
    pub cache_hits: u64,
    /// Evaluation files committed.
    pub chunks: u32,
    /// The metric scores are in.
    pub metric: Option<String>,
    /// Whether larger scores are better.
    pub higher_is_better: bool,
    /// The target column.
    pub target: String,
    /// The model.
    pub model: String,
    /// The score of the base columns alone.
    pub baseline: Option<f64>,
    /// The best score.
    pub best_score: Option<f64>,
    /// The best score's relative improvement over the baseline (positive is better).
    pub uplift: Option<f64>,
    /// The search node of the best feature set.
    pub best_node_id: Option<u64>,
    /// The best feature set's names.
    pub best_features: Vec<String>,
    /// The best feature set's SQL, aligned with the names.
    pub best_feature_sql: Vec<String>,
    /// The engineered features pruning dropped from the search's best set (they did not
    /// improve its score beyond the fold noise), in the order dropped.
    pub pruned_features: Option<Vec<String>>,
    /// The best feature set with its statistics frozen (JSON of
    /// [`Fitted`](crate::features::Fitted)); its lookup tables are Parquet files beside
    /// the run's SQL file.
    pub fitted: Option<String>,
    /// Why the best feature set could not be fitted, when it could not.
    pub fit_error: Option<String>,
    /// Rows held out of the search to confirm the best set on (when scored).
    pub confirm_rows: Option<u64>,
    /// The base columns' score on the held-out rows.
    pub confirm_baseline: Option<f64>,
    /// The best set's score on the held-out rows.
    pub confirm_best: Option<f64>,
    /// The best set's relative improvement over the base columns on the held-out rows
    /// (positive is better).
    pub confirm_uplift: Option<f64>,
    /// The share of bootstrap resamples of the held-out rows on which the best set scored
    /// better than the base columns (ties count half); NULL for runs stored by an older flow.
    pub confirm_support: Option<f64>,
    /// Why the held-out rows gave no score, when the pipeline asked for them.
    pub confirm_note: Option<String>,
    /// The model the held-out rows are scored with when the pipeline names one
    /// (`final-model`); the search's `model` when absent.
    pub confirm_model: Option<String>,
    /// Why the search stopped: `budget`, `time-limit`, `patience` or `exhausted` for a
    /// completed run, `interrupted` for an interrupted one; NULL while it runs, when it
    /// failed (see `error`) and for runs stored by an older flow.
    pub stop_reason: Option<String>,
    /// Rows in the data (NULL until the search finishes, and for runs stored by an older
    /// flow).
    pub rows_read: Option<u64>,
    /// Rows dropped because their target is empty.
    pub rows_without_target: Option<u64>,
    /// Rows the search scored feature sets on (the held-out ones are `confirm_rows`).
    pub rows_searched: Option<u64>,
    /// The dataset's id column, kept beside features by `flow export` and `flow apply`.
    pub id_column: Option<String>,
    /// The columns the search read (after `drop`/`exclude`), with their Arrow types.
    pub input_columns: Vec<String>,
    /// Arrow types of `input_columns`, aligned.
    pub input_types: Vec<String>,
    /// flow's version.
    pub flow_version: String,
    /// DataFusion's version.
    pub datafusion_version: String,
    /// Why the run failed.
    pub error: Option<String>,
    /// The machine whose process writes the run.
    pub host: String,
    /// That process.
    pub pid: u32,
    /// How often the manifest is rewritten while the run goes on (its heartbeat).
    pub checkpoint_interval_ms: u64,
}

const TIMES: [&str; 3] = ["created_at", "updated_at", "finished_at"];

/// The schema of a manifest file.
pub fn manifest_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let time = |name: &str, nullable| {
            Field::new(
                name,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                nullable,
            )
        };
        let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
        let count = |name: &str| Field::new(name, DataType::UInt64, false);
        let score = |name: &str| Field::new(name, DataType::Float64, true);
        let list = |name: &str| {
            Field::new(
                name,
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            )
        };
        Arc::new(Schema::new(vec![
            text("pipeline", false),
            text("pipeline_path", false),
            text("spec_hash", false),
            text("canonical_spec", false),
            text("data_location", false),
            text("data_fingerprint", false),
            count("seed"),
            text("status", false),
            time(TIMES[0], false),
            time(TIMES[1], false),
            time(TIMES[2], true),
            Field::new("duration_ms", DataType::Float64, false),
            count("iterations"),
            count("evaluations"),
            count("rejected"),
            count("failed"),
            count("cache_hits"),
            Field::new("chunks", DataType::UInt32, false),
            text("metric", true),
            Field::new("higher_is_better", DataType::Boolean, false),
            text("target", false),
            text("model", false),
            score("baseline"),
            score("best_score"),
            score("uplift"),
            Field::new("best_node_id", DataType::UInt64, true),
            list("best_features"),
            list("best_feature_sql"),
            Field::new(
                "pruned_features",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
            text("fitted", true),
            text("fit_error", true),
            Field::new("confirm_rows", DataType::UInt64, true),
            score("confirm_baseline"),
            score("confirm_best"),
            score("confirm_uplift"),
            score("confirm_support"),
            text("confirm_note", true),
            text("confirm_model", true),
            text("stop_reason", true),
            Field::new("rows_read", DataType::UInt64, true),
            Field::new("rows_without_target", DataType::UInt64, true),
            Field::new("rows_searched", DataType::UInt64, true),
            text("id_column", true),
            list("input_columns"),
            list("input_types"),
            text("flow_version", false),
            text("datafusion_version", false),
            text("error", true),
            text("host", false),
            Field::new("pid", DataType::UInt32, false),
            count("checkpoint_interval_ms"),
        ]))
    });
    SCHEMA.clone()
}

impl RunManifest {
    /// What the held-out scores measure: the metric, and the model when the pipeline names
    /// a `final-model` ("auc of gradient-boosting").
    pub fn held_out_label(&self) -> String {
        let metric = self.metric.as_deref().unwrap_or("score");
        match &self.confirm_model {
            Some(model) => format!("{metric} of {model}"),
            None => metric.to_owned(),
        }
    }

    /// Why the search stopped, in words ("its time limit passed"), when the run says.
    pub fn stop_description(&self) -> Option<String> {
        let name = self.stop_reason.as_deref()?;
        Some(StopReason::from_name(name).map_or_else(
            || name.to_owned(),
            |reason| reason.describe(self.iterations),
        ))
    }

    /// The manifest as a one-row batch.
    pub fn to_batch(&self) -> Result<RecordBatch, String> {
        batch_from_rows(&manifest_schema(), std::slice::from_ref(self))
    }

    /// The manifests in `batch` (a `runs` table batch, with or without `run_id`).
    pub fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, String> {
        // Timestamps travel through JSON as strings; the struct holds microseconds.
        let mut columns = batch.columns().to_vec();
        let mut fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for (i, field) in fields.iter_mut().enumerate() {
            if TIMES.contains(&field.name().as_str()) {
                columns[i] = cast(&columns[i], &DataType::Int64).map_err(|e| e.to_string())?;
                *field = Field::new(field.name(), DataType::Int64, field.is_nullable());
            }
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| e.to_string())?;
        let run_ids = batch
            .column_by_name("run_id")
            .map(|c| cast(c, &DataType::Utf8))
            .transpose()
            .map_err(|e| e.to_string())?;
        let mut manifests: Vec<Self> = rows_from_batch(&batch)?;
        if let Some(ids) = run_ids {
            use datafusion::arrow::array::AsArray;
            let ids = ids.as_string::<i32>();
            for (i, m) in manifests.iter_mut().enumerate() {
                m.run_id = ids.value(i).to_owned();
            }
        }
        Ok(manifests)
    }
}

/// A run whose manifest is this much older than its checkpoint interval is presumed dead
/// when its process cannot be checked (another machine).
const HEARTBEAT_MISSES: u64 = 3;

/// The least time without a heartbeat before a run on another machine is presumed dead.
const MIN_HEARTBEAT_MS: u64 = 60_000;

impl RunManifest {
    /// The status as readers should take it: a run that says it is going on but whose
    /// process is gone (same machine) or has not written for several checkpoint intervals
    /// (another machine) was interrupted by a crash.
    pub fn effective_status(&self, now_us: i64) -> RunStatus {
        if !matches!(
            self.status,
            RunStatus::Created | RunStatus::Running | RunStatus::Resuming
        ) {
            return self.status;
        }
        let dead = if self.pid == std::process::id() && self.host == this_host() {
            // This process: alive while it still writes the run.
            !writing(&self.run_id)
        } else if !self.host.is_empty() && self.host == this_host() {
            !process_alive(self.pid)
        } else {
            let silent_ms = u64::try_from((now_us - self.updated_at) / 1000).unwrap_or(0);
            silent_ms > (HEARTBEAT_MISSES * self.checkpoint_interval_ms).max(MIN_HEARTBEAT_MS)
        };
        if dead {
            RunStatus::Interrupted
        } else {
            self.status
        }
    }
}

/// This machine's name (empty when unknown).
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Whether process `pid` exists on this machine (Linux; elsewhere, assumed alive).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    // A zombie (killed, not yet reaped) is gone for our purpose.
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The runs this process is writing (a `RunWriter` is alive for them).
static WRITING: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(std::collections::HashSet::new()));

/// Records that this process writes `run_id` (`true`) or has let go of it (`false`).
pub(crate) fn set_writing(run_id: &str, writing: bool) {
    let mut runs = WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if writing {
        runs.insert(run_id.to_owned());
    } else {
        runs.remove(run_id);
    }
}

fn writing(run_id: &str) -> bool {
    WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .contains(run_id)
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_allows_exactly_these_transitions() {
        use RunStatus::{Completed, Created, Failed, Interrupted, Resuming, Running};
        let allowed = [
            (Created, Running),
            (Created, Failed),
            (Created, Interrupted),
            (Running, Completed),
            (Running, Interrupted),
            (Running, Failed),
            (Running, Resuming),
            (Interrupted, Resuming),
            (Resuming, Running),
            (Resuming, Interrupted),
            (Resuming, Failed),
        ];
        for from in STATUSES {
            for to in STATUSES {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{} → {}",
                    from.as_str(),
                    to.as_str()
                );
            }
        }
        assert!(STATUSES.iter().all(|s| !s.can_become(*s)));
        assert!(!Completed.can_become(Running), "a completed run is final");
    }
}
