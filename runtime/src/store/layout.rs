//! Where each object of a run goes under a results location. Every table is a directory of
//! Hive-partitioned Parquet files (`<table>/run_id=<id>/…`), so DataFusion, DuckDB, Spark
//! or polars read the whole store as five tables with a `run_id` column.

/// The run manifests: one row per run.
pub const RUNS: &str = "runs";
/// The evaluation log: one row per evaluated search node.
pub const EVALUATIONS: &str = "evaluations";
/// The search tree.
pub const NODES: &str = "nodes";
/// The feature catalog.
pub const FEATURES: &str = "features";
/// Progress over the run.
pub const METRICS: &str = "metrics";

/// The tables, in the order people meet them.
pub const TABLES: [&str; 5] = [RUNS, EVALUATIONS, NODES, FEATURES, METRICS];

/// The directory of runnable SQL files, one per run (`best_features/<id>.sql`).
pub const BEST_FEATURES: &str = "best_features";

/// Where a forced re-run writes until it commits, so the earlier run stays whole meanwhile.
pub const STAGING: &str = "_staging";

/// The partition column.
pub const PARTITION: &str = "run_id";

/// `<table>/run_id=<id>`.
pub fn partition_dir(table: &str, run_id: &str) -> String {
    format!("{table}/{PARTITION}={run_id}")
}

/// The manifest of a run (rewritten whole at every transition and checkpoint).
pub fn manifest(run_id: &str) -> String {
    format!("{}/manifest.parquet", partition_dir(RUNS, run_id))
}

/// The `chunk`-th file of a run's evaluation log.
pub fn evaluation_chunk(run_id: &str, chunk: u32) -> String {
    format!(
        "{}/part-{chunk:05}.parquet",
        partition_dir(EVALUATIONS, run_id)
    )
}

/// A table a run rewrites whole at every checkpoint (`nodes`, `features`, `metrics`).
pub fn snapshot(table: &str, run_id: &str) -> String {
    format!("{}/{table}.parquet", partition_dir(table, run_id))
}

/// The run's best feature set as a SQL file.
pub fn best_features_sql(run_id: &str) -> String {
    format!("{BEST_FEATURES}/{run_id}.sql")
}

/// A lookup table of the run's fitted features (`best_features/<id>/<name>.parquet`).
pub fn lookup(run_id: &str, name: &str) -> String {
    format!("{BEST_FEATURES}/{run_id}/{name}.parquet")
}

/// Whether a run id is well formed (16 lowercase hex digits): ids reach paths and SQL.
pub fn is_run_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
