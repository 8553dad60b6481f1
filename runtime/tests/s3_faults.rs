//! S3 faults against the loopback server. Killed in the middle of a run and started again:
//! the run's writes are retried until it is back, and the run completes whole. Gone for
//! longer than the retry window: the run stops with a clear error, what it committed stays
//! whole, and it resumes once the server is back. (Its own test binary, so no other test
//! uses the server while it is down; the two tests here take turns.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, UInt64Type};
use flow_runtime::operator::log::EvaluationRow;
use flow_runtime::store::{Results, RunStatus, StoreLocation};
use flow_runtime::{ResumeTarget, RunOptions, RuntimeError, load_pipeline, run_pipeline};

/// One test at a time stops the server.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn server_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/s3-server.sh")
}

fn server(action: &str, state: &str) {
    let out = Command::new(server_script())
        .args([action, state])
        .output()
        .expect("the server script runs");
    assert!(
        out.status.success(),
        "s3-server.sh {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server's endpoint, bucket and state directory, from `scripts/test.sh`.
fn server_env() -> (String, String, String) {
    let (Ok(endpoint), Ok(bucket), Ok(state)) = (
        std::env::var("FLOW_TEST_S3_ENDPOINT"),
        std::env::var("FLOW_TEST_S3_BUCKET"),
        std::env::var("FLOW_TEST_S3_STATE"),
    ) else {
        panic!(
            "this test needs the loopback S3 server and its state directory: run it through \
             scripts/test.sh (FLOW_TEST_S3_ENDPOINT, FLOW_TEST_S3_BUCKET, FLOW_TEST_S3_STATE)"
        );
    };
    (endpoint, bucket, state)
}

/// A pipeline over the planted data storing its results at a fresh S3 prefix, with more
/// `output` settings; returns its path and the results URL.
fn s3_pipeline(dir: &Path, endpoint: &str, bucket: &str, settings: &str) -> (PathBuf, String) {
    std::fs::write(dir.join("planted.csv"), common::planted_csv(400)).expect("writable");
    let results_url = format!(
        "s3://{bucket}/faults-{}/results",
        flow_runtime::store::now_micros()
    );
    let text = common::planted_pipeline(
        "planted.csv",
        r#"        use "std.numeric" "std.arithmetic""#,
        "        iterations 40\n        seed 9\n        checkpoint-interval \"1ms\"",
        &format!(
            "output \"{results_url}\" {{ endpoint \"{endpoint}\"; allow-http #true; {settings} }}"
        ),
    );
    let path = dir.join("planted.kdl");
    std::fs::write(&path, text).expect("writable");
    (path, results_url)
}

async fn open(results_url: &str, dir: &Path, endpoint: &str) -> Results {
    let s3 = flow_dsl::S3Options {
        region: None,
        endpoint: Some(endpoint.to_owned()),
        allow_http: true,
        retry_timeout: None,
    };
    let location = StoreLocation::resolve(results_url, dir, &s3, false).expect("an S3 location");
    let results = Results::open_at(location).await.expect("readable");
    assert!(results.problems.is_empty(), "{:?}", results.problems);
    results
}

/// What identifies a search's evaluations: order, node, feature and score bits.
type Outline = Vec<(u64, u64, Option<String>, Option<u64>)>;

fn outline(rows: &[EvaluationRow]) -> Outline {
    rows.iter()
        .map(|r| {
            (
                r.iteration,
                r.node_id,
                r.new_feature_sql.clone(),
                r.mean.map(f64::to_bits),
            )
        })
        .collect()
}

/// The evaluations of `pipeline` run with nothing in its way (results kept in memory).
async fn uninterrupted(pipeline: &flow_runtime::LoadedPipeline) -> Outline {
    let whole = run_pipeline(
        pipeline,
        &RunOptions {
            output: Some(format!(
                "memory://faults-whole-{}",
                flow_runtime::store::now_micros()
            )),
            ..RunOptions::default()
        },
        &mut |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    outline(&whole.evaluations)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_outlives_the_s3_server_going_away_and_coming_back() {
    let _turn = SERVER.lock().await;
    let (endpoint, bucket, state) = server_env();
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, results_url) = s3_pipeline(dir.path(), &endpoint, &bucket, "");
    let pipeline = load_pipeline(&path, &[]).expect("valid");

    let mut batches = 0;
    let mut restart = None;
    let summary = run_pipeline(&pipeline, &RunOptions::default(), &mut |_| {
        batches += 1;
        if batches == 2 {
            // Gone at once, back in 30 s: the next checkpoints meet a dead port. Retried by
            // count, the writes gave up after 13 s; by the 2-minute window, they wait.
            server("kill", &state);
            let state = state.clone();
            restart = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(30));
                server("start", &state);
            }));
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    restart
        .expect("the server was stopped during the run")
        .join()
        .expect("the server restarted");

    let results = open(&results_url, dir.path(), &endpoint).await;
    let run = results.run(None).await.expect("a completed run");
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.evaluations, summary.scored() as u64);
    let stored = results
        .sql("SELECT count(*) FROM evaluations")
        .await
        .expect("queryable");
    let count =
        datafusion::arrow::compute::cast(stored[0].column(0), &DataType::UInt64).expect("a count");
    assert_eq!(
        count.as_primitive::<UInt64Type>().value(0),
        summary.evaluations.len() as u64
    );
    assert_eq!(
        outline(&summary.evaluations),
        uninterrupted(&pipeline).await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_cut_off_from_s3_beyond_its_retry_window_stops_clearly_and_resumes_later() {
    let _turn = SERVER.lock().await;
    let (endpoint, bucket, state) = server_env();
    let dir = tempfile::tempdir().expect("temp dir");
    let (path, results_url) = s3_pipeline(dir.path(), &endpoint, &bucket, "retry-timeout \"2s\";");
    let pipeline = load_pipeline(&path, &[]).expect("valid");

    let mut batches = 0;
    let outcome = run_pipeline(&pipeline, &RunOptions::default(), &mut |_| {
        batches += 1;
        if batches == 3 {
            // Gone, and not back until the run has given up.
            server("kill", &state);
        }
    })
    .await;
    server("start", &state);
    match outcome {
        Err(RuntimeError::Output { location, message }) => {
            assert!(location.starts_with(&results_url), "{location}");
            assert!(!message.is_empty());
        }
        other => panic!(
            "expected the run to stop on the unreachable store, got {:?}",
            other.map(|s| s.evaluations.len())
        ),
    }

    // What was committed is whole, and the run is resumable: its process let go of it.
    let results = open(&results_url, dir.path(), &endpoint).await;
    let stored = results.runs().await.expect("a manifest");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].status,
        RunStatus::Running,
        "the last manifest that reached the store"
    );
    assert!(stored[0].chunks >= 1);

    let resumed = run_pipeline(
        &pipeline,
        &RunOptions {
            resume: Some(ResumeTarget::Latest),
            ..RunOptions::default()
        },
        &mut |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)));
    assert_eq!(
        outline(&resumed.evaluations),
        uninterrupted(&pipeline).await
    );
}
