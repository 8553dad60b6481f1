//! Transient S3 faults: the loopback server is killed in the middle of a run and started
//! again; the run's writes are retried until it is back, and the run completes whole.
//! (Its own test binary, so no other test uses the server while it is down.)

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use flow_runtime::store::{Results, RunStatus, StoreLocation};
use flow_runtime::{RunOptions, load_pipeline, run_pipeline};

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

#[tokio::test(flavor = "multi_thread")]
async fn a_run_outlives_the_s3_server_going_away_and_coming_back() {
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
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("planted.csv"), common::planted_csv(400)).expect("writable");
    let results_url = format!(
        "s3://{bucket}/faults-{}/results",
        flow_runtime::store::now_micros()
    );
    let text = common::planted_pipeline(
        "planted.csv",
        r#"        use "std.numeric" "std.arithmetic""#,
        "        iterations 40\n        seed 9\n        checkpoint-interval \"1ms\"",
        &format!("output \"{results_url}\" {{ endpoint \"{endpoint}\"; allow-http #true; }}"),
    );
    let path = dir.path().join("planted.kdl");
    std::fs::write(&path, text).expect("writable");
    let pipeline = load_pipeline(&path, &[]).expect("valid");

    let mut batches = 0;
    let mut restart = None;
    let summary = run_pipeline(&pipeline, &RunOptions::default(), &mut |_| {
        batches += 1;
        if batches == 2 {
            // Gone at once, back in a few seconds: the next checkpoints meet a dead port.
            server("kill", &state);
            let state = state.clone();
            restart = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(2));
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

    let s3 = flow_dsl::S3Options {
        region: None,
        endpoint: Some(endpoint),
        allow_http: true,
    };
    let location =
        StoreLocation::resolve(&results_url, dir.path(), &s3, false).expect("an S3 location");
    let results = Results::open_at(location).await.expect("readable");
    assert!(results.problems.is_empty(), "{:?}", results.problems);
    let run = results.run(None).await.expect("a completed run");
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.evaluations, summary.scored() as u64);
    let stored = results
        .sql("SELECT count(*) FROM evaluations")
        .await
        .expect("queryable");
    let count = datafusion::arrow::compute::cast(
        stored[0].column(0),
        &datafusion::arrow::datatypes::DataType::UInt64,
    )
    .expect("a count");
    use datafusion::arrow::array::AsArray;
    assert_eq!(
        count
            .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
            .value(0),
        summary.evaluations.len() as u64
    );
}
