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
