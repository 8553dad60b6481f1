//! The store's derived tables: the search tree (`nodes`), the feature catalog (`features`)
//! and progress over time (`metrics`). Nodes and features are functions of the evaluation
//! log: the search records each node once, when it is scored, and backpropagates that reward
//! to its ancestors, so visits and rewards are sums over subtrees of the log.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::operator::log::EvaluationRow;

/// One node of the search tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    /// The node.
    pub node_id: u64,
    /// Its parent (none for the root).
    pub parent_id: Option<u64>,
    /// Features added to the base set.
    pub depth: u32,
    /// The feature it adds.
    pub feature: Option<String>,
    /// That feature's SQL.
    pub feature_sql: Option<String>,
    /// The operation at the feature's top.
    pub operation: Option<String>,
    /// `ok`, `failed` or `rejected`.
    pub status: String,
    /// The node's own score.
    pub score: Option<f64>,
    /// The node's own reward.
    pub reward: Option<f64>,
    /// The log iteration that scored it.
    pub iteration: u64,
    /// Evaluations in its subtree (itself included): MCTS visit count.
    pub visits: u64,
    /// Mean reward over its subtree.
    pub mean_reward: f64,
    /// Best reward in its subtree.
    pub max_reward: f64,
    /// Children it has.
    pub children: u64,
}

/// One feature the search built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRow {
    /// Its name (`log(price)`).
    pub name: String,
    /// Its SQL expression.
    pub sql: String,
    /// The operation at its top.
    pub operation: Option<String>,
    /// The features the operation was applied to.
    pub inputs: Vec<String>,
    /// Nested operations: 1 for an operation on base columns.
    pub depth: u32,
    /// The log iteration where it first appeared.
    pub first_iteration: u64,
    /// Scored feature sets that contain it.
    pub evaluations: u64,
    /// The best score of a feature set containing it.
    pub best_score: Option<f64>,
    /// The node of that feature set.
    pub best_node_id: Option<u64>,
    /// Its mean importance over the scored sets that contain it.
    pub mean_importance: Option<f64>,
    /// `ok`, or `failed`/`rejected` with the reason in `error`, when it could never be scored.
    pub status: String,
    /// Why it could not be used.
    pub error: Option<String>,
}

/// Progress after one batch of evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// The last log iteration so far.
    pub iteration: u64,
    /// Time since the run started.
    pub elapsed_ms: f64,
    /// Candidates scored so far (the baseline included).
    pub evaluations: u64,
    /// Candidates rejected so far.
    pub rejected: u64,
    /// Failed evaluations so far.
    pub failed: u64,
    /// Evaluations answered from the cache so far.
    pub cache_hits: u64,
    /// The best score so far.
    pub best_score: Option<f64>,
    /// Its relative improvement over the baseline.
    pub uplift: Option<f64>,
    /// Memory held in DataFusion's pool.
    pub memory_reserved_bytes: u64,
    /// The process's resident memory (Linux), if known.
    pub rss_bytes: Option<u64>,
}

fn nullable(name: &str, t: DataType) -> Field {
    Field::new(name, t, true)
}

fn required(name: &str, t: DataType) -> Field {
    Field::new(name, t, false)
}

/// The schema of `nodes` files.
pub fn node_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            required("node_id", DataType::UInt64),
            nullable("parent_id", DataType::UInt64),
            required("depth", DataType::UInt32),
            nullable("feature", DataType::Utf8),
            nullable("feature_sql", DataType::Utf8),
            nullable("operation", DataType::Utf8),
            required("status", DataType::Utf8),
            nullable("score", DataType::Float64),
            nullable("reward", DataType::Float64),
            required("iteration", DataType::UInt64),
            required("visits", DataType::UInt64),
            required("mean_reward", DataType::Float64),
            required("max_reward", DataType::Float64),
            required("children", DataType::UInt64),
        ]))
    });
    SCHEMA.clone()
}

/// The schema of `features` files.
pub fn feature_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            required("name", DataType::Utf8),
            required("sql", DataType::Utf8),
            nullable("operation", DataType::Utf8),
            required(
                "inputs",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            ),
            required("depth", DataType::UInt32),
            required("first_iteration", DataType::UInt64),
            required("evaluations", DataType::UInt64),
            nullable("best_score", DataType::Float64),
            nullable("best_node_id", DataType::UInt64),
            nullable("mean_importance", DataType::Float64),
            required("status", DataType::Utf8),
            nullable("error", DataType::Utf8),
        ]))
    });
    SCHEMA.clone()
}

/// The schema of `metrics` files.
pub fn metric_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            required("iteration", DataType::UInt64),
            required("elapsed_ms", DataType::Float64),
            required("evaluations", DataType::UInt64),
            required("rejected", DataType::UInt64),
            required("failed", DataType::UInt64),
            required("cache_hits", DataType::UInt64),
            nullable("best_score", DataType::Float64),
            nullable("uplift", DataType::Float64),
            required("memory_reserved_bytes", DataType::UInt64),
            nullable("rss_bytes", DataType::UInt64),
        ]))
    });
    SCHEMA.clone()
}

/// The search tree described by the log so far.
pub fn nodes(log: &[EvaluationRow]) -> Vec<NodeRow> {
    let parents: HashMap<u64, Option<u64>> = log.iter().map(|r| (r.node_id, r.parent_id)).collect();
    let mut stats: BTreeMap<u64, (u64, f64, f64, u64)> = BTreeMap::new();
    for row in log {
        let reward = row.reward.unwrap_or(crate::search::FAILURE_REWARD);
        let mut at = Some(row.node_id);
        while let Some(id) = at {
            let entry = stats.entry(id).or_insert((0, 0.0, f64::NEG_INFINITY, 0));
            entry.0 += 1;
            entry.1 += reward;
            entry.2 = entry.2.max(reward);
            at = parents.get(&id).copied().flatten();
        }
        if let Some(parent) = row.parent_id {
            stats
                .entry(parent)
                .or_insert((0, 0.0, f64::NEG_INFINITY, 0))
                .3 += 1;
        }
    }
    let mut out: Vec<NodeRow> = log
        .iter()
        .map(|row| {
            let (visits, total, max, children) = stats[&row.node_id];
            #[allow(clippy::cast_precision_loss)]
            NodeRow {
                node_id: row.node_id,
                parent_id: row.parent_id,
                depth: row.depth,
                feature: row.new_feature.clone(),
                feature_sql: row.new_feature_sql.clone(),
                operation: row.operation.clone(),
                status: row.status.clone(),
                score: row.mean,
                reward: row.reward,
                iteration: row.iteration,
                visits,
                mean_reward: total / visits.max(1) as f64,
                max_reward: max,
                children,
            }
        })
        .collect();
    out.sort_by_key(|n| n.node_id);
    out
}

/// The features the log built, in the order they first appeared.
pub fn features(log: &[EvaluationRow], higher_is_better: bool) -> Vec<FeatureRow> {
    let mut catalog: Vec<FeatureRow> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut importance: Vec<(f64, u64)> = Vec::new();
    for row in log {
        if let (Some(name), Some(sql)) = (&row.new_feature, &row.new_feature_sql)
            && !index.contains_key(name)
        {
            let depth = 1 + row
                .new_feature_inputs
                .iter()
                .map(|i| index.get(i).map_or(0, |&j| catalog[j].depth))
                .max()
                .unwrap_or(0);
            index.insert(name.clone(), catalog.len());
            catalog.push(FeatureRow {
                name: name.clone(),
                sql: sql.clone(),
                operation: row.operation.clone(),
                inputs: row.new_feature_inputs.clone(),
                depth,
                first_iteration: row.iteration,
                evaluations: 0,
                best_score: None,
                best_node_id: None,
                mean_importance: None,
                status: row.status.clone(),
                error: row.error.clone(),
            });
            importance.push((0.0, 0));
        }
        if row.status != "ok" {
            continue;
        }
        for (k, name) in row.feature_names.iter().enumerate() {
            let Some(&j) = index.get(name) else { continue };
            let feature = &mut catalog[j];
            feature.evaluations += 1;
            feature.status = "ok".to_owned();
            feature.error = None;
            if let Some(score) = row.mean {
                let better = feature.best_score.is_none_or(|b| {
                    if higher_is_better {
                        score > b
                    } else {
                        score < b
                    }
                });
                if better {
                    feature.best_score = Some(score);
                    feature.best_node_id = Some(row.node_id);
                }
            }
            if let Some(v) = row.importance.get(k) {
                importance[j].0 += v;
                importance[j].1 += 1;
            }
        }
    }
    for (feature, (sum, n)) in catalog.iter_mut().zip(importance) {
        #[allow(clippy::cast_precision_loss)]
        if n > 0 {
            feature.mean_importance = Some(sum / n as f64);
        }
    }
    catalog
}

/// The resident memory of this process, where the OS tells (Linux).
pub fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node `node` adds `feature` (name, inputs) to a parent set holding `a` and `earlier`.
    fn row(
        iteration: u64,
        node: u64,
        parent: Option<u64>,
        earlier: &[&str],
        feature: Option<(&str, &[&str])>,
        reward: f64,
    ) -> EvaluationRow {
        let mut names = vec!["a".to_owned()];
        names.extend(earlier.iter().map(|s| (*s).to_owned()));
        if let Some((name, _)) = feature {
            names.push(name.to_owned());
        }
        let importance = vec![1.0 / names.len() as f64; names.len()];
        EvaluationRow {
            iteration,
            node_id: node,
            parent_id: parent,
            depth: u32::from(parent.is_some()),
            feature_sql: names.iter().map(|n| format!("sql {n}")).collect(),
            feature_names: names,
            new_feature: feature.map(|f| f.0.to_owned()),
            new_feature_sql: feature.map(|f| format!("sql {}", f.0)),
            operation: feature.map(|_| "op".to_owned()),
            new_feature_inputs: feature
                .map(|f| f.1.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_default(),
            metric: "rmse".into(),
            fold_scores: vec![1.0 - reward],
            importance,
            mean: Some(1.0 - reward),
            std: Some(0.0),
            reward: Some(reward),
            cache_hit: false,
            duration_ms: 1.0,
            feature_ms: None,
            fit_ms: None,
            status: "ok".into(),
            error: None,
        }
    }

    #[test]
    fn visits_and_rewards_are_sums_over_subtrees() {
        let log = vec![
            row(0, 0, None, &[], None, 0.0),
            row(1, 1, Some(0), &[], Some(("f", &["a"])), 0.2),
            row(2, 2, Some(0), &[], Some(("g", &["a"])), -0.1),
            row(3, 3, Some(1), &["f"], Some(("h", &["f"])), 0.4),
        ];
        let nodes = nodes(&log);
        let root = &nodes[0];
        assert_eq!((root.visits, root.children), (4, 2));
        assert!((root.mean_reward - 0.125).abs() < 1e-12);
        assert!((root.max_reward - 0.4).abs() < 1e-12);
        assert_eq!((nodes[1].visits, nodes[1].children), (2, 1));
        assert!((nodes[1].mean_reward - 0.3).abs() < 1e-12);
        assert_eq!(nodes[3].visits, 1);

        let features = features(&log, false);
        let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["f", "g", "h"]);
        assert_eq!(features[2].depth, 2, "h is built on f");
        // `f` is in node 1 (score 0.8) and node 3 (0.6): lower is better for rmse.
        assert_eq!(features[0].evaluations, 2);
        assert!(
            features[0]
                .best_score
                .is_some_and(|s| (s - 0.6).abs() < 1e-12)
        );
        assert_eq!(features[0].best_node_id, Some(3));
    }
}
