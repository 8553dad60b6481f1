//! The evaluation log: one row per evaluated search node. It is the FeatureSearch
//! operator's output schema and what the run store writes.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, ListBuilder, RecordBatch,
    StringBuilder, UInt32Builder, UInt64Builder,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Schema, SchemaRef, UInt32Type, UInt64Type,
};
use datafusion::error::Result;

/// One evaluated search node.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRow {
    /// 0 for the baseline, then one per evaluation, in order.
    pub iteration: u64,
    /// The search node.
    pub node_id: u64,
    /// The node it extends (none for the root).
    pub parent_id: Option<u64>,
    /// Number of features added to the base set.
    pub depth: u32,
    /// Names of every feature in the set.
    pub feature_names: Vec<String>,
    /// SQL of every feature in the set, aligned with the names.
    pub feature_sql: Vec<String>,
    /// The feature this node adds.
    pub new_feature: Option<String>,
    /// Its SQL.
    pub new_feature_sql: Option<String>,
    /// The operation at the top of the new feature.
    pub operation: Option<String>,
    /// The names of the features the operation was applied to.
    pub new_feature_inputs: Vec<String>,
    /// The metric the scores are in (`rmse`, `auc`, `map@5`, …).
    pub metric: String,
    /// One score per CV fold.
    pub fold_scores: Vec<f64>,
    /// Importance of each feature in the set (aligned with `feature_names`, summing to 1):
    /// impurity/gain for tree models, permutation importance otherwise.
    pub importance: Vec<f64>,
    /// Mean of the fold scores.
    pub mean: Option<f64>,
    /// Standard deviation of the fold scores.
    pub std: Option<f64>,
    /// The reward given to the search.
    pub reward: Option<f64>,
    /// Whether the score came from the cache of evaluated feature sets.
    pub cache_hit: bool,
    /// Wall time spent on this node: `feature_ms + fit_ms`.
    pub duration_ms: f64,
    /// Its share of computing the batch of features it came with (none in logs written
    /// before this was recorded).
    pub feature_ms: Option<f64>,
    /// Time fitting and scoring the model on it (0 when the score came from the cache or
    /// it was rejected).
    pub fit_ms: Option<f64>,
    /// `ok`; `failed` when the model could not be scored on the set; `rejected` when the
    /// new feature could not be computed or carries no information (not scored, not
    /// counted against the iteration budget).
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// The name a metric has in the log: its KDL name, with `k` for MAP@K (`map@5`).
pub fn metric_name(metric: flow_dsl::Metric) -> String {
    match metric {
        flow_dsl::Metric::MapAtK(k) => format!("map@{k}"),
        other => other.name().to_owned(),
    }
}

/// The metric a log name stands for.
pub fn metric_from_name(name: &str) -> Option<flow_dsl::Metric> {
    use flow_dsl::Metric;
    Some(match name {
        "auc" => Metric::Auc,
        "accuracy" => Metric::Accuracy,
        "log-loss" => Metric::LogLoss,
        "f1" => Metric::F1,
        "rmse" => Metric::Rmse,
        "mae" => Metric::Mae,
        "r2" => Metric::R2,
        other => Metric::MapAtK(other.strip_prefix("map@")?.parse().ok()?),
    })
}

/// The schema of the evaluation log.
pub fn evaluation_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let list = |name: &str, item: DataType| {
            Field::new(
                name,
                DataType::List(Arc::new(Field::new("item", item, true))),
                false,
            )
        };
        Arc::new(Schema::new(vec![
            Field::new("run_id", DataType::Utf8, false),
            Field::new("iteration", DataType::UInt64, false),
            Field::new("node_id", DataType::UInt64, false),
            Field::new("parent_id", DataType::UInt64, true),
            Field::new("depth", DataType::UInt32, false),
            list("feature_names", DataType::Utf8),
            list("feature_sql", DataType::Utf8),
            Field::new("new_feature", DataType::Utf8, true),
            Field::new("new_feature_sql", DataType::Utf8, true),
            Field::new("operation", DataType::Utf8, true),
            list("new_feature_inputs", DataType::Utf8),
            Field::new("metric", DataType::Utf8, false),
            list("fold_scores", DataType::Float64),
            list("importance", DataType::Float64),
            Field::new("mean", DataType::Float64, true),
            Field::new("std", DataType::Float64, true),
            Field::new("reward", DataType::Float64, true),
            Field::new("cache_hit", DataType::Boolean, false),
            Field::new("duration_ms", DataType::Float64, false),
            Field::new("status", DataType::Utf8, false),
            Field::new("error", DataType::Utf8, true),
            // Added later: nullable, so older files read with NULL here.
            Field::new("feature_ms", DataType::Float64, true),
            Field::new("fit_ms", DataType::Float64, true),
        ]))
    });
    SCHEMA.clone()
}

/// Builds a batch of the log from rows.
pub fn rows_to_batch(run_id: &str, rows: &[EvaluationRow]) -> Result<RecordBatch> {
    let mut run = StringBuilder::new();
    let mut iteration = UInt64Builder::new();
    let mut node = UInt64Builder::new();
    let mut parent = UInt64Builder::new();
    let mut depth = UInt32Builder::new();
    let mut names = ListBuilder::new(StringBuilder::new());
    let mut sqls = ListBuilder::new(StringBuilder::new());
    let mut new_feature = StringBuilder::new();
    let mut new_sql = StringBuilder::new();
    let mut operation = StringBuilder::new();
    let mut inputs = ListBuilder::new(StringBuilder::new());
    let mut metric = StringBuilder::new();
    let mut folds = ListBuilder::new(Float64Builder::new());
    let mut importance = ListBuilder::new(Float64Builder::new());
    let mut mean = Float64Builder::new();
    let mut std = Float64Builder::new();
    let mut reward = Float64Builder::new();
    let mut cache_hit = BooleanBuilder::new();
    let mut duration = Float64Builder::new();
    let mut status = StringBuilder::new();
    let mut error = StringBuilder::new();
    let mut feature_ms = Float64Builder::new();
    let mut fit_ms = Float64Builder::new();
    for row in rows {
        run.append_value(run_id);
        iteration.append_value(row.iteration);
        node.append_value(row.node_id);
        parent.append_option(row.parent_id);
        depth.append_value(row.depth);
        for n in &row.feature_names {
            names.values().append_value(n);
        }
        names.append(true);
        for s in &row.feature_sql {
            sqls.values().append_value(s);
        }
        sqls.append(true);
        new_feature.append_option(row.new_feature.as_deref());
        new_sql.append_option(row.new_feature_sql.as_deref());
        operation.append_option(row.operation.as_deref());
        for input in &row.new_feature_inputs {
            inputs.values().append_value(input);
        }
        inputs.append(true);
        metric.append_value(&row.metric);
        for f in &row.fold_scores {
            folds.values().append_value(*f);
        }
        folds.append(true);
        for v in &row.importance {
            importance.values().append_value(*v);
        }
        importance.append(true);
        mean.append_option(row.mean);
        std.append_option(row.std);
        reward.append_option(row.reward);
        cache_hit.append_value(row.cache_hit);
        duration.append_value(row.duration_ms);
        status.append_value(&row.status);
        error.append_option(row.error.as_deref());
        feature_ms.append_option(row.feature_ms);
        fit_ms.append_option(row.fit_ms);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(run.finish()),
        Arc::new(iteration.finish()),
        Arc::new(node.finish()),
        Arc::new(parent.finish()),
        Arc::new(depth.finish()),
        Arc::new(names.finish()),
        Arc::new(sqls.finish()),
        Arc::new(new_feature.finish()),
        Arc::new(new_sql.finish()),
        Arc::new(operation.finish()),
        Arc::new(inputs.finish()),
        Arc::new(metric.finish()),
        Arc::new(folds.finish()),
        Arc::new(importance.finish()),
        Arc::new(mean.finish()),
        Arc::new(std.finish()),
        Arc::new(reward.finish()),
        Arc::new(cache_hit.finish()),
        Arc::new(duration.finish()),
        Arc::new(status.finish()),
        Arc::new(error.finish()),
        Arc::new(feature_ms.finish()),
        Arc::new(fit_ms.finish()),
    ];
    Ok(RecordBatch::try_new(evaluation_schema(), columns)?)
}

/// Reads rows back from a batch of the log.
pub fn rows_from_batch(batch: &RecordBatch) -> Vec<EvaluationRow> {
    let col = |name: &str| batch.column_by_name(name).expect("evaluation log column");
    let strings = |name: &str, i: usize| {
        let a = col(name).as_string::<i32>();
        a.is_valid(i).then(|| a.value(i).to_owned())
    };
    // Columns added after the first release may be missing from a batch read back.
    let floats = |name: &str, i: usize| {
        let a = batch.column_by_name(name)?.as_primitive::<Float64Type>();
        a.is_valid(i).then(|| a.value(i))
    };
    let string_list = |name: &str, i: usize| -> Vec<String> {
        let list = col(name).as_list::<i32>().value(i);
        list.as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or_default().to_owned())
            .collect()
    };
    (0..batch.num_rows())
        .map(|i| {
            let parent = col("parent_id").as_primitive::<UInt64Type>();
            let folds = col("fold_scores").as_list::<i32>().value(i);
            let importance = col("importance").as_list::<i32>().value(i);
            EvaluationRow {
                iteration: col("iteration").as_primitive::<UInt64Type>().value(i),
                node_id: col("node_id").as_primitive::<UInt64Type>().value(i),
                parent_id: parent.is_valid(i).then(|| parent.value(i)),
                depth: col("depth").as_primitive::<UInt32Type>().value(i),
                feature_names: string_list("feature_names", i),
                feature_sql: string_list("feature_sql", i),
                new_feature: strings("new_feature", i),
                new_feature_sql: strings("new_feature_sql", i),
                operation: strings("operation", i),
                new_feature_inputs: string_list("new_feature_inputs", i),
                metric: strings("metric", i).unwrap_or_default(),
                fold_scores: folds.as_primitive::<Float64Type>().values().to_vec(),
                importance: importance.as_primitive::<Float64Type>().values().to_vec(),
                mean: floats("mean", i),
                std: floats("std", i),
                reward: floats("reward", i),
                cache_hit: col("cache_hit").as_boolean().value(i),
                duration_ms: floats("duration_ms", i).unwrap_or_default(),
                status: strings("status", i).unwrap_or_default(),
                error: strings("error", i),
                feature_ms: floats("feature_ms", i),
                fit_ms: floats("fit_ms", i),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_a_round_trip_through_arrow() {
        let rows = vec![
            EvaluationRow {
                iteration: 0,
                node_id: 0,
                parent_id: None,
                depth: 0,
                feature_names: vec!["a".into(), "b c".into()],
                feature_sql: vec!["\"a\"".into(), "\"b c\"".into()],
                new_feature: None,
                new_feature_sql: None,
                operation: None,
                new_feature_inputs: vec![],
                metric: "auc".into(),
                fold_scores: vec![0.5, 0.7],
                importance: vec![0.25, 0.75],
                mean: Some(0.6),
                std: Some(0.1),
                reward: Some(0.0),
                cache_hit: false,
                duration_ms: 3.5,
                feature_ms: Some(1.5),
                fit_ms: Some(2.0),
                status: "ok".into(),
                error: None,
            },
            EvaluationRow {
                iteration: 1,
                node_id: 1,
                parent_id: Some(0),
                depth: 1,
                feature_names: vec!["a".into()],
                feature_sql: vec!["\"a\"".into()],
                new_feature: Some("log(a)".into()),
                new_feature_sql: Some("ln(\"a\")".into()),
                operation: Some("log".into()),
                new_feature_inputs: vec!["a".into()],
                metric: "auc".into(),
                fold_scores: vec![],
                importance: vec![],
                mean: None,
                std: None,
                reward: Some(-1.0),
                cache_hit: true,
                duration_ms: 1.0,
                feature_ms: None,
                fit_ms: None,
                status: "failed".into(),
                error: Some("every value is the same".into()),
            },
        ];
        let batch = rows_to_batch("run", &rows).expect("valid batch");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(rows_from_batch(&batch), rows);
    }
}
