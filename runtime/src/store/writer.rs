//! Writing one run into a results location: the manifest first (so the run is visible as
//! running), evaluation chunks and table snapshots at every checkpoint, and the manifest
//! again last, so `completed` is only ever read once everything else is in place.
//!
//! A forced re-run of a run that is already stored writes under `_staging/<id>/` and moves
//! its files into place when it commits: the earlier run stays whole until then.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::io::{get_parquet, put_parquet};
use super::layout;
use super::location::StoreLocation;
use super::manifest::{RunManifest, RunStatus, now_micros};
use super::rows::batch_from_rows;
use super::tables::{self, MetricRow};
use crate::features::lookup_name;
use crate::operator::log::EvaluationRow;

/// Writes the files of one run.
pub struct RunWriter {
    location: StoreLocation,
    /// The manifest as last written.
    manifest: RunManifest,
    /// Relative prefix of a forced re-run's staging area.
    staging: Option<String>,
}

/// Why a run cannot start.
#[derive(Debug)]
pub enum BeginError {
    /// The same run is already stored (run again with `force`).
    AlreadyStored(Box<RunManifest>),
    /// The store failed.
    Store(String),
}

impl RunWriter {
    /// Starts writing the run `manifest` describes; refuses when the store already holds
    /// that run, unless `force` or the stored run failed (then the new run replaces it
    /// when it completes, like a forced one).
    pub async fn begin(
        location: StoreLocation,
        mut manifest: RunManifest,
        force: bool,
    ) -> Result<Self, BeginError> {
        let existing = read_manifest(&location, &manifest.run_id)
            .await
            .map_err(BeginError::Store)?;
        let staging = match existing {
            Some(old) if !force && old.status != RunStatus::Failed => {
                return Err(BeginError::AlreadyStored(Box::new(old)));
            }
            Some(_) => Some(format!("{}/{}", layout::STAGING, manifest.run_id)),
            None => None,
        };
        super::manifest::set_writing(&manifest.run_id, true);
        let mut writer = Self {
            location,
            manifest: manifest.clone(),
            staging,
        };
        if let Some(staging) = &writer.staging {
            // Left over from a forced re-run that never committed.
            writer
                .delete_under(staging)
                .await
                .map_err(BeginError::Store)?;
        }
        manifest.status = RunStatus::Created;
        writer.manifest = manifest;
        writer.put_manifest().await.map_err(BeginError::Store)?;
        writer
            .transition(RunStatus::Running)
            .await
            .map_err(BeginError::Store)?;
        Ok(writer)
    }

    /// Continues the stored run `stored` (interrupted, or running with its process gone):
    /// reads its evaluation log back, chunk by chunk, clears what a crash left half-written,
    /// and records `resuming`. Returns the writer and the stored evaluations, in order.
    pub async fn resume(
        location: StoreLocation,
        mut stored: RunManifest,
    ) -> Result<(Self, Vec<EvaluationRow>), String> {
        let run_id = stored.run_id.clone();
        let partition = location.path(&layout::partition_dir(layout::EVALUATIONS, &run_id));
        let mut objects: Vec<Path> = location
            .store
            .list(Some(&partition))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        objects.sort();
        let mut rows: Vec<EvaluationRow> = Vec::new();
        let mut chunks = 0;
        for path in objects {
            if !path.as_ref().ends_with(".parquet") {
                // A temporary file of a write that a crash cut short: never a committed chunk.
                location
                    .store
                    .delete(&path)
                    .await
                    .map_err(|e| e.to_string())?;
                continue;
            }
            let batches = get_parquet(&location.store, &path)
                .await?
                .ok_or_else(|| format!("{path} disappeared while it was read"))?;
            for batch in &batches {
                rows.extend(crate::operator::log::rows_from_batch(batch));
            }
            chunks += 1;
        }
        if let Some((i, row)) = rows
            .iter()
            .enumerate()
            .find(|(i, r)| r.iteration != *i as u64)
        {
            return Err(format!(
                "the stored evaluations of run {run_id} are not a whole log: row {i} is iteration {}",
                row.iteration
            ));
        }
        stored.chunks = chunks;
        stored.error = None;
        stored.stop_reason = None;
        stored.finished_at = None;
        stored.host = super::manifest::this_host();
        stored.pid = std::process::id();
        super::manifest::set_writing(&stored.run_id, true);
        let mut writer = Self {
            location,
            manifest: stored,
            staging: None,
        };
        writer.transition(RunStatus::Resuming).await?;
        Ok((writer, rows))
    }

    /// Where the run is written.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The manifest as last written.
    pub fn manifest(&self) -> &RunManifest {
        &self.manifest
    }

    /// The manifest to update before the next write.
    pub fn manifest_mut(&mut self) -> &mut RunManifest {
        &mut self.manifest
    }

    /// Writes `batches` of the evaluation log as the next chunk, the snapshots of the
    /// tables derived from `log` and `metrics`, then the manifest counting the chunk.
    pub async fn checkpoint(
        &mut self,
        batches: &[RecordBatch],
        log: &[EvaluationRow],
        metrics: &[MetricRow],
    ) -> Result<(), String> {
        let run_id = self.manifest.run_id.clone();
        if !batches.is_empty() {
            let files: Vec<RecordBatch> = batches
                .iter()
                .map(without_run_id)
                .collect::<Result<_, _>>()?;
            let path = self.path(&layout::evaluation_chunk(&run_id, self.manifest.chunks));
            put_parquet(&self.location.store, &path, &files).await?;
            self.manifest.chunks += 1;
        }
        let higher_is_better = self.manifest.higher_is_better;
        let snapshots = [
            (
                layout::NODES,
                batch_from_rows(&tables::node_schema(), &tables::nodes(log))?,
            ),
            (
                layout::FEATURES,
                batch_from_rows(
                    &tables::feature_schema(),
                    &tables::features(log, higher_is_better),
                )?,
            ),
            (
                layout::METRICS,
                batch_from_rows(&tables::metric_schema(), metrics)?,
            ),
        ];
        for (table, batch) in snapshots {
            let path = self.path(&layout::snapshot(table, &run_id));
            put_parquet(&self.location.store, &path, &[batch]).await?;
        }
        self.put_manifest().await
    }

    /// Records a new status (with the manifest's current counts); a transition the
    /// lifecycle does not allow is a bug and is refused.
    pub async fn transition(&mut self, status: RunStatus) -> Result<(), String> {
        if !self.manifest.status.can_become(status) {
            return Err(format!(
                "internal error: run {} cannot go from {} to {}",
                self.manifest.run_id,
                self.manifest.status.as_str(),
                status.as_str()
            ));
        }
        self.manifest.status = status;
        if matches!(
            status,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Interrupted
        ) {
            self.manifest.finished_at = Some(now_micros());
        }
        self.put_manifest().await
    }

    /// Ends the run as failed, keeping every chunk written so far.
    pub async fn fail(mut self, error: &str) -> Result<(), String> {
        self.manifest.error = Some(error.to_owned());
        if self.staging.is_some() {
            // The earlier run is still the stored one; the staged attempt stays for
            // inspection under `_staging/` until the next forced run clears it.
            self.manifest.status = RunStatus::Failed;
            return self.put_manifest().await;
        }
        self.transition(RunStatus::Failed).await
    }

    /// Ends the run as interrupted: everything received is written, and `flow run --resume`
    /// continues it from there.
    pub async fn interrupt(mut self) -> Result<RunManifest, String> {
        self.transition(RunStatus::Interrupted).await?;
        Ok(self.manifest.clone())
    }

    /// Writes the best feature set's SQL (when it has one) and commits the run: moves a
    /// forced re-run's files into place, then writes the `completed` manifest last.
    pub async fn commit(
        mut self,
        best_sql: Option<&str>,
        lookups: &[RecordBatch],
    ) -> Result<RunManifest, String> {
        let run_id = self.manifest.run_id.clone();
        // The lookup tables first: the SQL file and the manifest refer to them.
        for (i, table) in lookups.iter().enumerate() {
            let path = self.path(&layout::lookup(&run_id, &lookup_name(i)));
            put_parquet(&self.location.store, &path, std::slice::from_ref(table)).await?;
        }
        if let Some(sql) = best_sql {
            let path = self.path(&layout::best_features_sql(&run_id));
            self.location
                .store
                .put(&path, PutPayload::from(sql.as_bytes().to_vec()))
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(staging) = self.staging.take() {
            self.replace_stored_run(&staging).await?;
        }
        self.transition(RunStatus::Completed).await?;
        Ok(self.manifest.clone())
    }

    /// Swaps the staged files of a forced re-run in for the stored run's.
    async fn replace_stored_run(&mut self, staging: &str) -> Result<(), String> {
        let run_id = self.manifest.run_id.clone();
        // Readers see the run as running (not completed) while its files change.
        let final_manifest = self.location.path(&layout::manifest(&run_id));
        let mut running = self.manifest.clone();
        running.status = RunStatus::Running;
        running.updated_at = now_micros();
        put_parquet(
            &self.location.store,
            &final_manifest,
            &[running.to_batch()?],
        )
        .await?;
        for table in [
            layout::EVALUATIONS,
            layout::NODES,
            layout::FEATURES,
            layout::METRICS,
        ] {
            self.delete_under(&layout::partition_dir(table, &run_id))
                .await?;
        }
        // The earlier run's lookup tables (the SQL file is replaced by the staged one).
        self.delete_under(&format!("{}/{run_id}", layout::BEST_FEATURES))
            .await?;
        let staged_prefix = self.location.path(staging);
        let staged: Vec<Path> = self
            .location
            .store
            .list(Some(&staged_prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        for from in staged {
            let relative: Vec<String> = from
                .prefix_match(&staged_prefix)
                .map(|parts| parts.map(|p| p.as_ref().to_owned()).collect())
                .unwrap_or_default();
            let relative = relative.join("/");
            if relative == layout::manifest(&run_id) {
                continue;
            }
            let to = self.location.path(&relative);
            self.location
                .store
                .rename(&from, &to)
                .await
                .map_err(|e| e.to_string())?;
        }
        self.delete_under(staging).await
    }

    /// Deletes every object under `relative`.
    async fn delete_under(&self, relative: &str) -> Result<(), String> {
        let prefix = self.location.path(relative);
        let store: &Arc<dyn ObjectStore> = &self.location.store;
        let paths: Vec<Path> = store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        for path in paths {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    async fn put_manifest(&mut self) -> Result<(), String> {
        self.manifest.updated_at = now_micros();
        let path = self.path(&layout::manifest(&self.manifest.run_id));
        put_parquet(&self.location.store, &path, &[self.manifest.to_batch()?]).await
    }

    /// Where `relative` goes while this run writes (its staging area, if forced).
    fn path(&self, relative: &str) -> Path {
        match &self.staging {
            Some(staging) => self.location.path(&format!("{staging}/{relative}")),
            None => self.location.path(relative),
        }
    }
}

impl Drop for RunWriter {
    /// However the writer ends (committed, failed, interrupted, or abandoned on an error),
    /// this process no longer writes the run, which readers then see.
    fn drop(&mut self) {
        super::manifest::set_writing(&self.manifest.run_id, false);
    }
}

/// The manifest of `run_id` at `location`, if that run is stored.
pub async fn read_manifest(
    location: &StoreLocation,
    run_id: &str,
) -> Result<Option<RunManifest>, String> {
    let path = location.path(&layout::manifest(run_id));
    let Some(batches) = get_parquet(&location.store, &path).await? else {
        return Ok(None);
    };
    let mut manifests = Vec::new();
    for batch in &batches {
        manifests.extend(RunManifest::from_batch(batch)?);
    }
    let mut manifest = manifests
        .pop()
        .ok_or_else(|| format!("{path} holds no manifest row"))?;
    manifest.run_id = run_id.to_owned();
    Ok(Some(manifest))
}

/// Every manifest at `location`, read directly (without checking the other tables' files,
/// which `Results` does for queries); a manifest that cannot be read is skipped.
pub async fn read_manifests(location: &StoreLocation) -> Result<Vec<RunManifest>, String> {
    let prefix = location.path(layout::RUNS);
    let paths: Vec<Path> = location
        .store
        .list(Some(&prefix))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    let mut manifests = Vec::new();
    for path in paths {
        let Some(run_id) = path
            .parts()
            .find_map(|p| p.as_ref().strip_prefix("run_id=").map(str::to_owned))
            .filter(|id| layout::is_run_id(id))
        else {
            continue;
        };
        if path.filename() != Some("manifest.parquet") {
            continue;
        }
        if let Ok(Some(manifest)) = read_manifest(location, &run_id).await {
            manifests.push(manifest);
        }
    }
    manifests.sort_by(|a, b| (a.created_at, &a.run_id).cmp(&(b.created_at, &b.run_id)));
    Ok(manifests)
}

/// The `metrics` rows a run has stored (none when it has none yet).
pub async fn read_metrics(
    location: &StoreLocation,
    run_id: &str,
) -> Result<Vec<MetricRow>, String> {
    let path = location.path(&layout::snapshot(layout::METRICS, run_id));
    let Some(batches) = get_parquet(&location.store, &path).await? else {
        return Ok(Vec::new());
    };
    let mut rows = Vec::new();
    for batch in &batches {
        rows.extend(super::rows::rows_from_batch::<MetricRow>(batch)?);
    }
    Ok(rows)
}

/// A log batch without its `run_id` column, which the partition path carries.
fn without_run_id(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| batch.schema().field(i).name() != layout::PARTITION)
        .collect();
    batch.project(&keep).map_err(|e| e.to_string())
}
