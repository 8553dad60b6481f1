//! A run's identity: the canonical pipeline, the data's fingerprint and the seed. Running an
//! identical pipeline on identical data with the same seed is the same run.

use datafusion::datasource::listing::ListingTableUrl;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStoreExt};
use sha2::{Digest, Sha256};

use crate::error::RuntimeError;
use crate::inspect::dataset_url;
use crate::load::LoadedPipeline;

/// Local data up to this size is fingerprinted by its content; larger or remote data by
/// size, modification time and ETag (reading it all would cost more than the run start).
pub const CONTENT_HASH_LIMIT: u64 = 256 * 1024 * 1024;

/// What makes two runs the same run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    /// 16 hex digits of the hash of the rest.
    pub run_id: String,
    /// SHA-256 of the canonical pipeline (whitespace, comments and output settings do not
    /// count).
    pub spec_hash: String,
    /// `sha256:<hex>` of the data's bytes, or `meta:<hex>` of its files' sizes, times and
    /// ETags.
    pub data_fingerprint: String,
    /// The search seed.
    pub seed: u64,
}

/// Identifies the run of `pipeline` on the data registered in `ctx`.
pub async fn identify(
    pipeline: &LoadedPipeline,
    ctx: &SessionContext,
) -> Result<RunIdentity, RuntimeError> {
    let spec_hash = pipeline.resolved.spec_hash();
    let seed = pipeline.resolved.spec.search.seed;
    let data_fingerprint = fingerprint(&dataset_url(pipeline), ctx)
        .await
        .map_err(|message| RuntimeError::Dataset {
            location: dataset_url(pipeline),
            message,
            help: "check the `source` path (relative to the pipeline file) and that it is readable"
                .to_owned(),
        })?;
    Ok(RunIdentity {
        run_id: run_id(&spec_hash, &data_fingerprint, seed),
        spec_hash,
        data_fingerprint,
        seed,
    })
}

/// The run id of a spec hash, data fingerprint and seed.
pub fn run_id(spec_hash: &str, data_fingerprint: &str, seed: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"flow-run-v1\0");
    hasher.update(spec_hash.as_bytes());
    hasher.update(b"\0");
    hasher.update(data_fingerprint.as_bytes());
    hasher.update(b"\0");
    hasher.update(seed.to_le_bytes());
    hex(&hasher.finalize()[..8])
}

/// The fingerprint of the files behind `location` (a file, a directory or a glob).
async fn fingerprint(location: &str, ctx: &SessionContext) -> Result<String, String> {
    let url = ListingTableUrl::parse(location).map_err(|e| e.to_string())?;
    let store = ctx
        .runtime_env()
        .object_store(url.object_store())
        .map_err(|e| e.to_string())?;
    let state = ctx.state();
    let mut files: Vec<ObjectMeta> = url
        .list_all_files(&state, store.as_ref(), "")
        .await
        .map_err(|e| e.to_string())?
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Err("no files found".to_owned());
    }
    files.sort_by(|a, b| a.location.cmp(&b.location));
    let total: u64 = files.iter().map(|f| f.size).sum();
    let mut hasher = Sha256::new();
    if url.scheme() == "file" && total <= CONTENT_HASH_LIMIT {
        for file in &files {
            let bytes = store
                .get(&file.location)
                .await
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map_err(|e| e.to_string())?;
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        return Ok(format!("sha256:{}", hex(&hasher.finalize())));
    }
    for file in &files {
        hasher.update(file.location.as_ref().as_bytes());
        hasher.update(file.size.to_le_bytes());
        hasher.update(file.last_modified.timestamp_micros().to_le_bytes());
        hasher.update(file.e_tag.as_deref().unwrap_or("").as_bytes());
        hasher.update(b"\0");
    }
    Ok(format!("meta:{}", hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::run_id;

    #[test]
    fn every_part_changes_the_id() {
        let id = run_id("spec", "sha256:data", 7);
        assert_eq!(id.len(), 16);
        assert_eq!(id, run_id("spec", "sha256:data", 7));
        assert_ne!(id, run_id("spec2", "sha256:data", 7));
        assert_ne!(id, run_id("spec", "sha256:other", 7));
        assert_ne!(id, run_id("spec", "sha256:data", 8));
    }
}
