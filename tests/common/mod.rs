//! What the end-to-end tests share: the `flow` binary and the repository.

#![allow(dead_code)]

use std::path::PathBuf;

use assert_cmd::Command;

/// The `flow` binary, without colours.
pub fn flow() -> Command {
    let mut cmd = Command::cargo_bin("flow").expect("the flow binary is built");
    cmd.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    cmd
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Bytes a command printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh results location `s3://<bucket>/<name>-<nanos>/results` on the loopback S3
/// server; panics with how to start that server when its bucket is not set.
pub fn s3_location(name: &str) -> String {
    let bucket = std::env::var("FLOW_TEST_S3_BUCKET").unwrap_or_else(|_| {
        panic!(
            "the S3 tests need the loopback S3 server: run them through scripts/test.sh, or \
             start it with `eval \"$(scripts/s3-server.sh start target/s3)\"` and export \
             AWS_ENDPOINT=$FLOW_TEST_S3_ENDPOINT"
        )
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("s3://{bucket}/{name}-{nanos}/results")
}
