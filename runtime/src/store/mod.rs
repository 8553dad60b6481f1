//! The run store: every run's results as Hive-partitioned Parquet tables (`runs`,
//! `evaluations`, `nodes`, `features`, `metrics`) plus its best feature set as SQL, under a
//! local directory, `s3://bucket/prefix` or an in-process `memory://` store, all through
//! object_store. See `docs/results.md` for the schemas.

mod aws_config;
mod export;
mod format;
mod hidden;
mod identity;
mod io;
pub mod layout;
mod location;
mod manifest;
mod results;
mod rows;
mod tables;
mod writer;

pub use export::{
    Applied, ApplyFormat, ApplyOptions, ChosenSet, INLINE_ROWS, SetChoice, apply, chosen_features,
    export_sql, fitted_features, quote, unconfirmed,
};
pub use format::{OutputFormat, render};
pub use identity::{CONTENT_HASH_LIMIT, RunIdentity, identify, run_id};
pub use location::{StoreLocation, s3_store};
pub use manifest::{RunManifest, RunStatus, STATUSES, manifest_schema, now_micros, this_host};
pub use results::{Results, StoreProblem, file_schema};
pub use rows::rows_from_batch;
pub use tables::{
    FeatureRow, MetricRow, NodeRow, feature_schema, features, metric_schema, node_schema, nodes,
    resident_memory,
};
pub use writer::{BeginError, RunWriter, read_manifest, read_manifests, read_metrics};
