//! The run store through the runtime API: every table after a real run (on local disk and in
//! memory), re-run detection and `--force`, export and apply, and a location holding files
//! that are not the store's.

mod common;

use common::{unwrap, without_timings};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::prelude::{CsvReadOptions, SessionContext};
use flow_runtime::features::{FeatureTable, ROW_ID};
use flow_runtime::operator::log::{EvaluationRow, rows_from_batch};
use flow_runtime::store::{
    self, Results, RunManifest, RunStatus, SetChoice, StoreLocation, export_sql, file_schema,
    layout,
};
use flow_runtime::{RunOptions, RunSummary, RuntimeError, load_pipeline, run_pipeline};
use object_store::ObjectStoreExt;

const SPACE: &str = r#"        use "std.numeric" "std.arithmetic""#;
const SEARCH: &str = "        iterations 40\n        seed 3\n        checkpoint-interval \"1ms\"";

async fn run_with(path: &Path, options: &RunOptions) -> Result<RunSummary, RuntimeError> {
    let pipeline = load_pipeline(path, &[]).unwrap_or_else(|e| panic!("{e:?}"));
    run_pipeline(&pipeline, options, &mut |_| {}).await
}

async fn column_names(results: &Results, table: &str) -> Vec<String> {
    let df = unwrap(results.query(&format!("SELECT * FROM {table}")).await);
    df.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

async fn count(results: &Results, sql: &str) -> u64 {
    let batches = unwrap(results.sql(sql).await);
    let column = cast(batches[0].column(0), &DataType::UInt64).expect("a count");
    column
        .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
        .value(0)
}

/// Checks every table of the store at `location` against what the run returned.
async fn check_tables(results: &Results, summary: &RunSummary) {
    check_tables_with(results, summary, "sha256:").await;
}

/// [`check_tables`], for data fingerprinted with `fingerprint` (`sha256:` or `meta:`).
async fn check_tables_with(results: &Results, summary: &RunSummary, fingerprint: &str) {
    assert!(results.problems.is_empty(), "{:?}", results.problems);
    for table in layout::TABLES {
        let mut expected: Vec<String> = file_schema(table)
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        expected.push("run_id".to_owned());
        assert_eq!(
            column_names(results, table).await,
            expected,
            "columns of `{table}`"
        );
    }

    let runs = unwrap(results.runs().await);
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.run_id, summary.run_id);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.pipeline, "planted");
    assert!(
        run.data_fingerprint.starts_with(fingerprint),
        "{}",
        run.data_fingerprint
    );
    assert_eq!(run.evaluations, summary.scored() as u64);
    assert_eq!(run.rejected, summary.count("rejected") as u64);
    assert_eq!(run.best_score, summary.best.mean);
    assert_eq!(run.baseline, Some(summary.baseline));
    assert_eq!(run.best_features, summary.best.feature_names);
    assert_eq!(run.best_feature_sql, summary.best.feature_sql);
    assert_eq!(run.metric.as_deref(), Some("rmse"));
    assert!(run.finished_at.is_some_and(|f| f >= run.created_at));
    assert!(
        run.chunks >= 2,
        "checkpoints every 1ms write several chunks, got {}",
        run.chunks
    );
    assert_eq!(run.input_columns, ["a", "b", "c", "d", "y"]);

    // The evaluation log, row for row, across its chunks.
    let batches = unwrap(
        results
            .sql("SELECT * FROM evaluations ORDER BY iteration")
            .await,
    );
    let stored: Vec<EvaluationRow> = batches.iter().flat_map(rows_from_batch).collect();
    assert_eq!(stored, summary.evaluations);
    let chunk_files = results
        .location
        .store
        .list(Some(&results.location.path(&layout::partition_dir(
            layout::EVALUATIONS,
            &run.run_id,
        ))))
        .count()
        .await;
    assert_eq!(chunk_files, run.chunks as usize);

    // The tree: one node per evaluation, the root visited by all of them.
    let rows = summary.evaluations.len() as u64;
    assert_eq!(count(results, "SELECT count(*) FROM nodes").await, rows);
    assert_eq!(
        count(results, "SELECT visits FROM nodes WHERE parent_id IS NULL").await,
        rows
    );
    assert_eq!(
        count(
            results,
            "SELECT count(*) FROM nodes n JOIN evaluations e USING (run_id, node_id) WHERE n.score IS NOT DISTINCT FROM e.mean"
        )
        .await,
        rows
    );

    // The catalog: each new feature once, the best set's among them.
    let distinct = summary
        .evaluations
        .iter()
        .filter_map(|r| r.new_feature.clone())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        count(results, "SELECT count(*) FROM features").await,
        distinct.len() as u64
    );
    for name in &summary.best.feature_names {
        let sql = format!(
            "SELECT count(*) FROM features WHERE name = '{}' AND best_score IS NOT NULL",
            name.replace('\'', "''")
        );
        if distinct.contains(name) {
            assert_eq!(count(results, &sql).await, 1, "{name} in the catalog");
        }
    }

    // Progress: one row per streamed batch, ending where the run ended.
    let last = unwrap(
        results
            .sql("SELECT evaluations, best_score FROM metrics ORDER BY iteration DESC LIMIT 1")
            .await,
    );
    assert_eq!(
        last[0]
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
            .value(0),
        summary.scored() as u64
    );
    // The metrics follow the search; the run's best set is that best, pruned.
    let searched = flow_runtime::run::best_row(&summary.evaluations, summary.higher_is_better)
        .expect("a best row");
    assert_eq!(
        last[0].column(1).as_primitive::<Float64Type>().value(0),
        searched.mean.expect("a best score")
    );
    assert_eq!(run.best_node_id, Some(searched.node_id));

    // The best feature set as SQL beside the tables.
    let sql_path = results
        .location
        .path(&layout::best_features_sql(&run.run_id));
    let sql = results
        .location
        .store
        .get(&sql_path)
        .await
        .expect("the SQL file");
    let sql = String::from_utf8(sql.bytes().await.expect("bytes").to_vec()).expect("utf-8");
    let lookups = unwrap(results.lookups(run).await);
    assert_eq!(
        sql,
        export_sql(run, "dataset", &lookups, SetChoice::Best).expect("exportable")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_run_fills_every_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    let summary = unwrap(run_with(&path, &RunOptions::default()).await);
    let results = unwrap(Results::open("results", dir.path()).await);
    check_tables(&results, &summary).await;
    // Any Parquet reader sees Hive partitions: the files are under `run_id=<id>/`.
    let partition = dir
        .path()
        .join("results/evaluations")
        .join(format!("run_id={}", summary.run_id));
    assert!(partition.join("part-00000.parquet").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_memory_run_fills_every_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    let location = common::unique_memory_location("store");
    let options = RunOptions {
        output: Some(location.clone()),
        ..RunOptions::default()
    };
    let summary = unwrap(run_with(&path, &options).await);
    let results = unwrap(Results::open(&location, dir.path()).await);
    check_tables(&results, &summary).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_run_is_refused_unless_forced_and_the_stored_run_stays_whole_meanwhile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    let location = common::unique_memory_location("rerun");
    let options = RunOptions {
        output: Some(location.clone()),
        ..RunOptions::default()
    };
    let first = unwrap(run_with(&path, &options).await);

    // Whitespace and comments do not make another run.
    let text = std::fs::read_to_string(&path).expect("readable");
    std::fs::write(
        &path,
        format!("// reformatted\n{}", text.replace("    ", "  ")),
    )
    .expect("writable");
    match run_with(&path, &options).await {
        Err(RuntimeError::AlreadyRun { run_id, status, .. }) => {
            assert_eq!(run_id, first.run_id);
            assert_eq!(status, "completed");
        }
        other => panic!(
            "expected the run to be refused, got {:?}",
            other.map(|s| s.run_id)
        ),
    }

    // Forced: while it runs, the stored run is the completed earlier one, whole.
    let resolved = StoreLocation::resolve(&location, dir.path(), &Default::default(), false)
        .expect("a memory location");
    let mut seen = Vec::new();
    let forced = RunOptions {
        force: true,
        ..options.clone()
    };
    let pipeline = load_pipeline(&path, &[]).expect("valid");
    let second = unwrap(
        run_pipeline(&pipeline, &forced, &mut |_| {
            let manifest =
                futures::executor::block_on(store::read_manifest(&resolved, &first.run_id))
                    .expect("readable")
                    .expect("still stored");
            seen.push((manifest.status, manifest.evaluations));
        })
        .await,
    );
    assert!(!seen.is_empty());
    for (status, evaluations) in seen {
        assert_eq!(status, RunStatus::Completed);
        assert_eq!(evaluations, first.scored() as u64);
    }
    assert_eq!(second.run_id, first.run_id);
    assert_eq!(
        without_timings(&second.evaluations),
        without_timings(&first.evaluations)
    );
    let results = unwrap(Results::open(&location, dir.path()).await);
    check_tables(&results, &second).await;
    let staged = results
        .location
        .store
        .list(Some(&results.location.path(layout::STAGING)))
        .count()
        .await;
    assert_eq!(staged, 0, "the staging area is cleared on commit");

    // Another seed is another run, stored beside the first.
    let pipeline = load_pipeline(&path, &["search.seed=4".to_owned()]).expect("valid");
    let third = unwrap(run_pipeline(&pipeline, &options, &mut |_| {}).await);
    assert_ne!(third.run_id, first.run_id);
    let results = unwrap(Results::open(&location, dir.path()).await);
    assert_eq!(unwrap(results.runs().await).len(), 2);
}

use futures::StreamExt as _;

/// Reads `file` (a CSV of the planted data) the way the search numbered it.
async fn read_parquet(file: &Path) -> RecordBatch {
    let batches = SessionContext::new()
        .read_parquet(file.display().to_string(), Default::default())
        .await
        .expect("a Parquet file")
        .collect()
        .await
        .expect("readable");
    datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("one batch")
}

async fn training_batch(file: &Path) -> RecordBatch {
    let ctx = SessionContext::new();
    let df = ctx
        .read_csv(file.display().to_string(), CsvReadOptions::new())
        .await
        .expect("readable");
    let batches = df.collect().await.expect("readable");
    let batch = datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches)
        .expect("one batch");
    let rows = batch.num_rows() as u64;
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(ROW_ID, DataType::UInt64, false));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from_iter_values(0..rows)));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("valid")
}

fn assert_same_values(name: &str, exported: &ArrayRef, computed: &ArrayRef) {
    let a = cast(exported, &DataType::Float64).expect("numeric");
    let b = cast(computed, &DataType::Float64).expect("numeric");
    let (a, b) = (
        a.as_primitive::<Float64Type>(),
        b.as_primitive::<Float64Type>(),
    );
    assert_eq!(a.len(), b.len(), "{name}");
    for i in 0..a.len() {
        assert_eq!(a.is_valid(i), b.is_valid(i), "{name} row {i}");
        if a.is_valid(i) {
            let (x, y) = (a.value(i), b.value(i));
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                "{name} row {i}: {x} vs {y}"
            );
        }
    }
}

async fn best_run(location: &str, dir: &Path) -> RunManifest {
    let results = unwrap(Results::open(location, dir).await);
    unwrap(results.run(None).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_sql_computes_the_features_the_run_evaluated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, "        iterations 120\n        seed 1");
    let summary = unwrap(run_with(&path, &RunOptions::default()).await);
    let run = best_run("results", dir.path()).await;
    assert!(
        run.best_features.len() > 5,
        "the search found features: {:?}",
        run.best_features
    );

    let lookups = unwrap(
        unwrap(Results::open("results", dir.path()).await)
            .lookups(&run)
            .await,
    );
    let sql = unwrap(export_sql(&run, "training data", &lookups, SetChoice::Best));
    let ctx = SessionContext::new();
    ctx.register_csv(
        "\"training data\"",
        &dir.path().join("planted.csv").display().to_string(),
        CsvReadOptions::new(),
    )
    .await
    .expect("registered");
    let exported = ctx.sql(&sql).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
    let names: Vec<String> = exported
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, summary.best.feature_names);
    let exported = exported.collect().await.expect("runs");
    let exported = datafusion::arrow::compute::concat_batches(&exported[0].schema(), &exported)
        .expect("one batch");

    // The same SQL through the search's own feature computation.
    let table = FeatureTable::new(
        SessionContext::new(),
        &training_batch(&dir.path().join("planted.csv")).await,
    )
    .expect("registered");
    let computed = table.compute(&run.best_feature_sql).await;
    for (i, (name, column)) in run.best_features.iter().zip(computed).enumerate() {
        let column = column.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_values(name, exported.column(i), &column);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_computes_the_features_on_held_out_rows_and_checks_the_columns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, "        iterations 120\n        seed 1");
    // Train on the first 300 rows; hold out the other 100.
    let all = std::fs::read_to_string(dir.path().join("planted.csv")).expect("readable");
    let lines: Vec<&str> = all.lines().collect();
    let header = lines[0];
    std::fs::write(
        dir.path().join("planted.csv"),
        format!("{}\n", lines[..301].join("\n")),
    )
    .expect("writable");
    let held_out = format!("{header}\n{}\n", lines[301..].join("\n"));
    std::fs::write(dir.path().join("held_out.csv"), &held_out).expect("writable");
    unwrap(run_with(&path, &RunOptions::default()).await);
    let run = best_run("results", dir.path()).await;

    let results = unwrap(Results::open("results", dir.path()).await);
    let lookups = unwrap(results.lookups(&run).await);
    let options = store::ApplyOptions::default();
    let apply = |input: &'static str, output: &'static str| {
        store::apply(&run, &lookups, input, output, dir.path(), &options)
    };
    let applied = unwrap(apply("held_out.csv", "out/features.parquet").await);
    assert_eq!(applied.rows, 100);
    // The target rides along in front of the features.
    let mut expected = vec!["y".to_owned()];
    expected.extend(run.best_features.iter().cloned());
    assert_eq!(applied.columns, expected);
    // The statistics are the training rows': the held-out rows get the values they get
    // when applied together with every training row.
    std::fs::write(dir.path().join("all.csv"), &all).expect("writable");
    unwrap(apply("all.csv", "out/all.parquet").await);
    let written = read_parquet(&dir.path().join("out/features.parquet")).await;
    let together = read_parquet(&dir.path().join("out/all.parquet")).await;
    assert_eq!(together.num_rows(), 400);
    for (i, name) in expected.iter().enumerate() {
        assert_same_values(name, written.column(i), &together.column(i).slice(300, 100));
    }

    // New data without a column the features read.
    let used = run
        .input_columns
        .iter()
        .find(|c| {
            *c != "y"
                && run
                    .best_feature_sql
                    .iter()
                    .any(|s| s.contains(&format!("\"{c}\"")))
        })
        .expect("a column the features read")
        .clone();
    let renamed = held_out.replacen(&used, "renamed", 1);
    std::fs::write(dir.path().join("missing.csv"), renamed).expect("writable");
    match apply("missing.csv", "out/missing.parquet").await {
        Err(RuntimeError::Dataset { message, .. }) => {
            assert!(
                message.contains(&format!("no column `{used}`")),
                "{message}"
            );
        }
        other => panic!(
            "expected a missing-column error, got {:?}",
            other.map(|a| a.rows)
        ),
    }
    // … or with text where numbers were.
    let mut retyped = String::from(header);
    retyped.push('\n');
    for line in &lines[301..] {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        let index = header.split(',').position(|h| h == used).expect("a header");
        cells[index] = format!("x{}", cells[index]);
        retyped.push_str(&cells.join(","));
        retyped.push('\n');
    }
    std::fs::write(dir.path().join("retyped.csv"), retyped).expect("writable");
    match apply("retyped.csv", "out/retyped.parquet").await {
        Err(RuntimeError::Dataset { message, .. }) => {
            assert!(
                message.contains(&format!("column `{used}` is Utf8")),
                "{message}"
            );
        }
        other => panic!("expected a type error, got {:?}", other.map(|a| a.rows)),
    }
    assert!(!dir.path().join("out/missing.parquet").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_and_malformed_files_are_reported_and_left_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    let summary = unwrap(run_with(&path, &RunOptions::default()).await);
    let root = dir.path().join("results");
    let partition = format!("run_id={}", summary.run_id);
    std::fs::write(root.join("notes.txt"), "my notes").expect("writable");
    std::fs::write(
        root.join("evaluations")
            .join(&partition)
            .join("part-99999.parquet"),
        "not parquet",
    )
    .expect("writable");
    // A real Parquet file of another table's columns, in the evaluations table.
    std::fs::copy(
        root.join("nodes").join(&partition).join("nodes.parquet"),
        root.join("evaluations")
            .join(&partition)
            .join("stray.parquet"),
    )
    .expect("copied");
    std::fs::create_dir_all(root.join("features/run_id=zzz")).expect("writable");
    std::fs::write(root.join("features/run_id=zzz/features.parquet"), "x").expect("writable");

    // A file from before a nullable column existed (here: `error`) is read, with NULL there.
    let old_chunk = root
        .join("evaluations")
        .join(&partition)
        .join("part-00000.parquet");
    let ctx = SessionContext::new();
    let old = ctx
        .read_parquet(old_chunk.display().to_string(), Default::default())
        .await
        .expect("readable")
        .drop_columns(&["error"])
        .expect("has the column");
    let old_rows = old.clone().count().await.expect("countable") as u64;
    old.write_parquet(
        &root
            .join("evaluations")
            .join(&partition)
            .join("part-00098.parquet")
            .display()
            .to_string(),
        datafusion::dataframe::DataFrameWriteOptions::new().with_single_file_output(true),
        None,
    )
    .await
    .expect("written");

    let results = unwrap(Results::open("results", dir.path()).await);
    let problems: Vec<(&str, &str)> = results
        .problems
        .iter()
        .map(|p| (p.path.as_str(), p.reason.as_str()))
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let reason = |file: &str| {
        problems
            .iter()
            .find(|(p, _)| p.ends_with(file))
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("{file} not reported: {problems:#?}"))
    };
    assert!(reason("notes.txt").contains("not part of a flow results store"));
    assert!(reason("part-99999.parquet").contains("not a readable Parquet file"));
    assert!(reason("stray.parquet").contains("has no column"));
    assert!(reason("run_id=zzz/features.parquet").contains("not a run id"));
    // Queries over the good files still work and see all of them.
    assert_eq!(
        count(&results, "SELECT count(*) FROM evaluations").await,
        summary.evaluations.len() as u64 + old_rows
    );
    assert!(old_rows > 0);
    assert_eq!(unwrap(results.runs().await).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_are_read_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = common::write_pipeline(dir.path(), SPACE, SEARCH);
    unwrap(run_with(&path, &RunOptions::default()).await);
    let results = unwrap(Results::open("results", dir.path()).await);
    for sql in [
        "CREATE TABLE t AS SELECT 1",
        "DROP TABLE runs",
        "COPY (SELECT * FROM runs) TO '/tmp/flow-leak.csv'",
        "INSERT INTO runs SELECT * FROM runs",
        "SET datafusion.execution.batch_size = 1",
    ] {
        assert!(
            matches!(results.sql(sql).await, Err(RuntimeError::Query { .. })),
            "`{sql}` was allowed"
        );
    }
    assert!(!Path::new("/tmp/flow-leak.csv").exists());
}

/// The loopback S3 server `scripts/test.sh` starts: its endpoint and bucket.
fn s3_server() -> (String, String) {
    let endpoint = std::env::var("FLOW_TEST_S3_ENDPOINT");
    let bucket = std::env::var("FLOW_TEST_S3_BUCKET");
    match (endpoint, bucket) {
        (Ok(endpoint), Ok(bucket)) => (endpoint, bucket),
        _ => panic!(
            "the S3 tests need the loopback S3 server: run them through scripts/test.sh, or \
             start it with `eval \"$(scripts/s3-server.sh start target/s3)\"` first"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_reads_its_data_from_s3_and_stores_its_results_there() {
    let (endpoint, bucket) = s3_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = format!(
        "store-test-{}",
        store::now_micros() // a fresh prefix per test run: the bucket outlives it
    );
    let s3 = flow_dsl::S3Options {
        region: None,
        endpoint: Some(endpoint.clone()),
        allow_http: true,
        retry_timeout: None,
    };
    let client = store::s3_store(&bucket, &s3).expect("an S3 client");
    let data_key = object_store::path::Path::from(format!("{prefix}/data/planted.csv"));
    client
        .put(&data_key, common::planted_csv(400).into_bytes().into())
        .await
        .expect("the dataset uploads");

    let results_url = format!("s3://{bucket}/{prefix}/results");
    let text = common::planted_pipeline(
        &format!("s3://{bucket}/{data_key}"),
        SPACE,
        SEARCH,
        &format!("output \"{results_url}\" {{ endpoint \"{endpoint}\"; allow-http #true; }}"),
    );
    let path = dir.path().join("planted.kdl");
    std::fs::write(&path, text).expect("writable");
    let summary = unwrap(run_with(&path, &RunOptions::default()).await);

    let location =
        StoreLocation::resolve(&results_url, dir.path(), &s3, false).expect("an S3 location");
    let results = unwrap(Results::open_at(location).await);
    // S3 data is fingerprinted by its metadata (size, time, ETag), not read twice.
    let run = unwrap(results.run(None).await);
    assert!(
        run.data_fingerprint.starts_with("meta:"),
        "{}",
        run.data_fingerprint
    );
    check_tables_with(&results, &summary, "meta:").await;

    // Apply reads new data from S3 and writes its features to S3.
    let lookups = unwrap(results.lookups(&run).await);
    let applied = unwrap(
        store::apply(
            &run,
            &lookups,
            &format!("s3://{bucket}/{data_key}"),
            &format!("s3://{bucket}/{prefix}/applied/features.parquet"),
            dir.path(),
            &store::ApplyOptions::default(),
        )
        .await,
    );
    assert_eq!(applied.rows, 400);
    let written = client
        .head(&object_store::path::Path::from(format!(
            "{prefix}/applied/features.parquet"
        )))
        .await
        .expect("the applied features are on S3");
    assert!(written.size > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_stored_as_failed_and_may_simply_be_run_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut csv = String::from("a,b,label\n");
    for i in 0..40 {
        csv.push_str(&format!("{i},{},yes\n", i % 7));
    }
    std::fs::write(dir.path().join("one_class.csv"), csv).expect("writable");
    let path = dir.path().join("one_class.kdl");
    std::fs::write(
        &path,
        r#"pipeline "one-class" {
    dataset {
        source "one_class.csv"
        target "label"
        task "classification"
    }
    space { use "std.numeric" }
    evaluator { model "logistic-regression" }
    output "results"
}
"#,
    )
    .expect("writable");
    for attempt in 0..2 {
        match run_with(&path, &RunOptions::default()).await {
            // A data problem, found while the search read the data: said as one.
            Err(RuntimeError::Dataset { message, .. }) => {
                assert!(
                    message.contains("two classes"),
                    "attempt {attempt}: {message}"
                );
            }
            other => panic!(
                "attempt {attempt}: expected the run to fail, got {:?}",
                other.map(|s| s.run_id)
            ),
        }
        let results = unwrap(Results::open("results", dir.path()).await);
        let runs = unwrap(results.runs().await);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Failed);
        assert!(runs[0].finished_at.is_some());
        assert!(
            runs[0]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("class")),
            "{:?}",
            runs[0].error
        );
    }
}
