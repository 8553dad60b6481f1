//! Everything the report shows, read from the results tables of one run with SQL
//! ([`Results::sql`]) into plain rows: each query's columns fill a serde struct's fields
//! by name ([`rows_from_batch`]).

use std::collections::{BTreeMap, BTreeSet};

use flow_runtime::RuntimeError;
use flow_runtime::store::{Results, RunManifest, SetChoice, export_sql, rows_from_batch};
use flow_stdlib::Catalog;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::spec;

/// How many features the top-features table lists.
pub const TOP_FEATURES: usize = 15;
/// Deepest search-tree level read (the root is depth 0).
pub const TREE_DEPTH: u64 = 3;

/// One row of the evaluation log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Evaluation {
    /// Its position in the log (0 is the baseline).
    pub iteration: u64,
    /// The score (NULL for rejected and failed rows).
    pub mean: Option<f64>,
    /// `ok`, `failed` or `rejected`.
    pub status: String,
    /// The operation at the top of the node's new feature (none for the baseline).
    pub operation: Option<String>,
    /// Time spent on the node.
    #[serde(deserialize_with = "float_or_nan")]
    pub duration_ms: f64,
    /// Time computing its features, when recorded.
    pub feature_ms: Option<f64>,
    /// Time fitting and scoring the model, when recorded.
    pub fit_ms: Option<f64>,
}

/// One node of the search tree.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TreeNode {
    /// The node.
    pub node_id: u64,
    /// Its parent (none for the root).
    pub parent_id: Option<u64>,
    /// Features added to the base columns.
    pub depth: u64,
    /// The feature it adds.
    pub feature: Option<String>,
    /// Evaluations in its subtree.
    pub visits: u64,
    /// Mean reward over its subtree.
    #[serde(deserialize_with = "float_or_nan")]
    pub mean_reward: f64,
}

/// One row of the top-features table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FeatureRow {
    /// The feature's name.
    pub name: String,
    /// Its SQL expression.
    pub sql: String,
    /// The operation at its top.
    pub operation: String,
    /// Scored feature sets containing it.
    pub evaluations: u64,
    /// The best score of a set containing it.
    pub best_score: Option<f64>,
    /// Its mean importance in those sets.
    pub mean_importance: Option<f64>,
}

/// A feature of the best set with its importance there.
#[derive(Debug, Clone, PartialEq)]
pub struct Importance {
    /// The feature.
    pub name: String,
    /// Its share of the model's importance (the set's shares sum to 1).
    pub importance: f64,
    /// Whether the search built it (as opposed to a base column).
    pub engineered: bool,
}

/// Evaluations of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationUse {
    /// The operation.
    pub operation: String,
    /// Its category (`numeric`, …, or `other`).
    pub category: String,
    /// Scored nodes (ok or failed) whose new feature it tops.
    pub evaluated: u64,
    /// Candidates of it that were rejected.
    pub rejected: u64,
}

/// The run and its rows, ready to draw.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The run's manifest.
    pub run: RunManifest,
    /// The evaluation log, in iteration order.
    pub evaluations: Vec<Evaluation>,
    /// Whether the log records the feature/fitting split of its timings.
    pub timing_split: bool,
    /// Search-tree nodes down to [`TREE_DEPTH`], rejected ones left out.
    pub nodes: Vec<TreeNode>,
    /// Nodes in the whole tree (rejected ones left out), at any depth.
    pub nodes_total: u64,
    /// The nodes from the root to the best feature set's.
    pub best_path: BTreeSet<u64>,
    /// The best features by best score.
    pub top_features: Vec<FeatureRow>,
    /// Features the search built, in all.
    pub features_total: u64,
    /// The best set's features and their importance.
    pub best_importance: Vec<Importance>,
    /// The best set as a SELECT, or why it cannot be one.
    pub best_select: Result<String, String>,
    /// Operation usage, by category then by use.
    pub operations: Vec<OperationUse>,
}

impl ReportData {
    /// The run's scored evaluations (status `ok`) with a finite score, as (iteration, score).
    pub fn scores(&self) -> Vec<(u64, f64)> {
        self.evaluations
            .iter()
            .filter(|e| e.status == "ok")
            .filter_map(|e| e.mean.filter(|m| m.is_finite()).map(|m| (e.iteration, m)))
            .collect()
    }
}

/// Reads everything the report shows about `run`.
pub async fn gather(results: &Results, run: RunManifest) -> Result<ReportData, RuntimeError> {
    let id = sql_string(&run.run_id);
    let has_split = has_column(results, "evaluations", "feature_ms").await
        && has_column(results, "evaluations", "fit_ms").await;
    let split_columns = if has_split {
        "feature_ms, fit_ms"
    } else {
        "CAST(NULL AS DOUBLE) AS feature_ms, CAST(NULL AS DOUBLE) AS fit_ms"
    };
    let evaluations: Vec<Evaluation> = query(
        results,
        &format!(
            "SELECT iteration, mean, status, operation, duration_ms, {split_columns} \
             FROM evaluations WHERE run_id = {id} ORDER BY iteration"
        ),
    )
    .await?;
    let timing_split = evaluations.iter().any(|e| e.feature_ms.is_some());

    let nodes = query(
        results,
        &format!(
            "SELECT node_id, parent_id, depth, feature, visits, mean_reward FROM nodes \
             WHERE run_id = {id} AND status <> 'rejected' AND depth <= {TREE_DEPTH} ORDER BY node_id"
        ),
    )
    .await?;
    let nodes_total = count(
        results,
        &format!("SELECT count(*) AS n FROM nodes WHERE run_id = {id} AND status <> 'rejected'"),
    )
    .await?;

    let order = if run.higher_is_better { "DESC" } else { "ASC" };
    let top_features = query(
        results,
        &format!(
            "SELECT name, sql, COALESCE(operation, '') AS operation, evaluations, best_score, \
             mean_importance FROM features WHERE run_id = {id} AND status = 'ok' \
             ORDER BY best_score {order} NULLS LAST, mean_importance DESC NULLS LAST, name \
             LIMIT {TOP_FEATURES}"
        ),
    )
    .await?;
    let features_total = count(
        results,
        &format!("SELECT count(*) AS n FROM features WHERE run_id = {id}"),
    )
    .await?;

    let best_path = match run.best_node_id {
        Some(node) => best_path(results, &id, node).await?,
        None => BTreeSet::new(),
    };
    let best_importance = match run.best_node_id {
        Some(node) => {
            let sets: Vec<FeatureSet> = query(
                results,
                &format!(
                    "SELECT feature_names, feature_sql, importance FROM evaluations \
                     WHERE run_id = {id} AND node_id = {node} AND status = 'ok' \
                     ORDER BY iteration LIMIT 1"
                ),
            )
            .await?;
            sets.into_iter()
                .next()
                .map_or_else(Vec::new, FeatureSet::importance)
        }
        None => Vec::new(),
    };
    let best_select = match results.lookups(&run).await {
        Ok(lookups) => {
            export_sql(&run, "dataset", &lookups, SetChoice::Best).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    let operations = operation_uses(&evaluations, &run.canonical_spec);
    Ok(ReportData {
        run,
        evaluations,
        timing_split,
        nodes,
        nodes_total,
        best_path,
        top_features,
        features_total,
        best_importance,
        best_select,
        operations,
    })
}

/// A node and its parent, for walking up the tree.
#[derive(Deserialize)]
struct Link {
    node_id: u64,
    parent_id: Option<u64>,
}

/// The ids from the root down to `best` (the walk stops at a node the table lacks).
async fn best_path(results: &Results, id: &str, best: u64) -> Result<BTreeSet<u64>, RuntimeError> {
    let links: Vec<Link> = query(
        results,
        &format!("SELECT node_id, parent_id FROM nodes WHERE run_id = {id}"),
    )
    .await?;
    let parents: BTreeMap<u64, Option<u64>> = links
        .into_iter()
        .map(|link| (link.node_id, link.parent_id))
        .collect();
    let mut path = BTreeSet::new();
    let mut at = Some(best);
    // `insert` refusing a repeat also stops a (corrupt) cycle.
    while let Some(node) = at.filter(|n| parents.contains_key(n) && path.insert(*n)) {
        at = parents.get(&node).copied().flatten();
    }
    Ok(path)
}

/// The best set's row of the evaluation log: its features and their importance, in order.
#[derive(Deserialize)]
struct FeatureSet {
    feature_names: Vec<Option<String>>,
    feature_sql: Vec<Option<String>>,
    /// NULL entries (and NaN, which Arrow's JSON writes as null) count as no importance.
    importance: Vec<Option<f64>>,
}

impl FeatureSet {
    /// Each feature with its importance, marked engineered unless it is a base column.
    fn importance(self) -> Vec<Importance> {
        self.feature_names
            .into_iter()
            .zip(self.feature_sql)
            .zip(self.importance)
            .map(|((name, sql), importance)| {
                let name = name.unwrap_or_default();
                // A base column's SQL is just its quoted name.
                let engineered = sql.unwrap_or_default() != flow_runtime::store::quote(&name);
                Importance {
                    name,
                    importance: importance.filter(|v| v.is_finite()).unwrap_or(0.0),
                    engineered,
                }
            })
            .collect()
    }
}

/// Counts evaluated and rejected nodes per operation, sorted by category, then by use.
fn operation_uses(evaluations: &[Evaluation], canonical: &str) -> Vec<OperationUse> {
    let catalog = Catalog::load();
    let mut by_operation: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for e in evaluations {
        let Some(op) = e.operation.as_deref().filter(|op| !op.is_empty()) else {
            continue;
        };
        let counts = by_operation.entry(op).or_default();
        if e.status == "rejected" {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
    }
    let mut uses: Vec<OperationUse> = by_operation
        .into_iter()
        .map(|(op, (evaluated, rejected))| OperationUse {
            operation: op.to_owned(),
            category: spec::operation_category(&catalog, canonical, op),
            evaluated,
            rejected,
        })
        .collect();
    uses.sort_by(|a, b| {
        a.category
            .cmp(&b.category)
            .then(b.evaluated.cmp(&a.evaluated))
            .then(a.operation.cmp(&b.operation))
    });
    uses
}

/// A SQL string literal.
fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Whether `table` has a column called `column` (stores written by older versions may not).
async fn has_column(results: &Results, table: &str, column: &str) -> bool {
    match results.ctx.table_provider(table).await {
        Ok(provider) => provider.schema().column_with_name(column).is_some(),
        Err(_) => false,
    }
}

/// The number a `SELECT count(*) AS n` returns.
async fn count(results: &Results, sql: &str) -> Result<u64, RuntimeError> {
    #[derive(Deserialize)]
    struct Count {
        n: u64,
    }
    let rows: Vec<Count> = query(results, sql).await?;
    Ok(rows.iter().map(|row| row.n).sum())
}

/// The rows `sql` returns, each read into a `T` by column name.
async fn query<T: DeserializeOwned>(results: &Results, sql: &str) -> Result<Vec<T>, RuntimeError> {
    let mut rows = Vec::new();
    for batch in results.sql(sql).await? {
        let read = rows_from_batch(&batch).map_err(|e| {
            RuntimeError::Internal(format!(
                "the report could not read the rows of `{sql}`: {e}"
            ))
        })?;
        rows.extend(read);
    }
    Ok(rows)
}

/// A float column that is never NULL: Arrow's JSON writes NaN and infinities as null, read
/// back as NaN.
fn float_or_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(operation: Option<&str>, status: &str) -> Evaluation {
        Evaluation {
            iteration: 0,
            mean: Some(1.0),
            status: status.to_owned(),
            operation: operation.map(str::to_owned),
            duration_ms: 1.0,
            feature_ms: None,
            fit_ms: None,
        }
    }

    #[test]
    fn operations_are_counted_and_grouped_by_category() {
        let log = [
            evaluation(None, "ok"),
            evaluation(Some("log"), "ok"),
            evaluation(Some("ratio"), "ok"),
            evaluation(Some("ratio"), "failed"),
            evaluation(Some("ratio"), "rejected"),
            evaluation(Some("my-op"), "ok"),
        ];
        let uses = operation_uses(&log, "");
        let summary: Vec<(&str, &str, u64, u64)> = uses
            .iter()
            .map(|u| {
                (
                    u.category.as_str(),
                    u.operation.as_str(),
                    u.evaluated,
                    u.rejected,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("arithmetic", "ratio", 2, 1),
                ("numeric", "log", 1, 0),
                ("other", "my-op", 1, 0),
            ]
        );
    }

    #[test]
    fn rows_keep_every_bit_of_their_numbers_and_nan_survives() {
        use std::sync::Arc;

        use datafusion::arrow::array::{
            ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array,
        };

        // One ULP above 21.847996: parsed inexactly, it would come back as 21.847996.
        let exact = 21.847996000000002;
        let column = |name: &str, array: ArrayRef| (name.to_owned(), array);
        let batch = RecordBatch::try_from_iter([
            column("iteration", Arc::new(UInt64Array::from(vec![0, 1]))),
            column(
                "mean",
                Arc::new(Float64Array::from(vec![Some(f64::NAN), None])),
            ),
            column("status", Arc::new(StringArray::from(vec!["ok", "failed"]))),
            column(
                "operation",
                Arc::new(StringArray::from(vec![None, Some("log")])),
            ),
            column(
                "duration_ms",
                Arc::new(Float64Array::from(vec![exact, f64::NAN])),
            ),
            column(
                "feature_ms",
                Arc::new(Float64Array::from(vec![Some(exact), None])),
            ),
            column(
                "fit_ms",
                Arc::new(Float64Array::from(vec![Some(0.1), None])),
            ),
            column("unused", Arc::new(UInt64Array::from(vec![7, 8]))),
        ])
        .expect("a batch");
        let rows: Vec<Evaluation> = rows_from_batch(&batch).expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].duration_ms.to_bits(), exact.to_bits());
        assert_eq!(rows[0].feature_ms.map(f64::to_bits), Some(exact.to_bits()));
        assert_eq!(rows[0].mean, None, "NaN scores read as no score");
        assert_eq!(rows[1].operation.as_deref(), Some("log"));
        assert!(rows[1].duration_ms.is_nan());
        assert_eq!(rows[1].feature_ms, None);
    }

    #[test]
    fn the_best_sets_base_columns_and_missing_importance_are_told_apart() {
        let set = FeatureSet {
            feature_names: vec![Some("age".to_owned()), Some("log(bmi)".to_owned())],
            feature_sql: vec![
                Some(flow_runtime::store::quote("age")),
                Some("ln(\"bmi\")".to_owned()),
            ],
            importance: vec![None, Some(0.75)],
        };
        assert_eq!(
            set.importance(),
            [
                Importance {
                    name: "age".to_owned(),
                    importance: 0.0,
                    engineered: false,
                },
                Importance {
                    name: "log(bmi)".to_owned(),
                    importance: 0.75,
                    engineered: true,
                },
            ]
        );
    }

    #[test]
    fn run_ids_are_quoted_as_sql_strings() {
        assert_eq!(sql_string("ab'c"), "'ab''c'");
    }
}
