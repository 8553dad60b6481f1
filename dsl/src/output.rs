//! The `output` node: where the run store lives, with S3 connection settings.

use crate::diagnostic::ErrorKind;
use crate::reader::Reader;
use crate::source::Spanned;
use crate::tree::Node;

/// Connection settings for an S3-compatible store. Credentials never appear here: they
/// come from the environment (`AWS_ACCESS_KEY_ID`, …) or the AWS config files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    /// The region (`AWS_REGION` when absent).
    pub region: Option<String>,
    /// A custom endpoint for S3-compatible servers.
    pub endpoint: Option<String>,
    /// Whether plain-HTTP endpoints are allowed.
    pub allow_http: bool,
    /// How long one request is retried after transient failures before the run fails
    /// (flow's default when absent).
    pub retry_timeout: Option<std::time::Duration>,
}

/// The `output` node.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    /// A local directory (relative to the pipeline file) or `s3://bucket/prefix`.
    pub location: Spanned<String>,
    /// S3 settings (used when the location or the dataset is on S3).
    pub s3: S3Options,
}

/// Where results go when the pipeline has no `output`.
pub const DEFAULT_OUTPUT: &str = "results";

const SECRETS: [(&str, &str); 3] = [
    ("access-key-id", "AWS_ACCESS_KEY_ID"),
    ("secret-access-key", "AWS_SECRET_ACCESS_KEY"),
    ("session-token", "AWS_SESSION_TOKEN"),
];

/// Reads `output "location" { region …; endpoint …; allow-http #true }`.
pub fn lower_output(r: &mut Reader<'_>, node: &Node) -> Option<OutputSpec> {
    r.allow_props(node, &[]);
    for child in node.children() {
        if let Some((_, var)) = SECRETS.iter().find(|(n, _)| *n == child.name.text) {
            r.error(
                ErrorKind::SecretInFile,
                child.loc,
                format!("`{}` must not be written in the pipeline", child.name.text),
                "secret in a version-controlled file",
                format!("remove it and set the environment variable {var} instead"),
            );
        }
    }
    // Secrets are reported above with their own message, not as unknown nodes.
    r.allow_children(
        node,
        &[
            "region",
            "endpoint",
            "allow-http",
            "retry-timeout",
            "access-key-id",
            "secret-access-key",
            "session-token",
        ],
    );
    let location = r.string_arg(node, "output \"results/\"")?;
    if location.value.trim().is_empty() {
        r.error(
            ErrorKind::InvalidValue,
            location.loc,
            "the output location is empty",
            "empty",
            "write a directory (`results/`) or `s3://bucket/prefix`",
        );
        return None;
    }
    if let Some(rest) = location.value.strip_prefix("s3://")
        && rest.split('/').next().is_none_or(str::is_empty)
    {
        r.error(
            ErrorKind::InvalidValue,
            location.loc,
            "the S3 output location has no bucket",
            "no bucket",
            "write `s3://bucket/prefix`",
        );
    } else if let Some((scheme, _)) = location.value.split_once("://")
        && scheme != "s3"
        && scheme != "file"
    {
        r.error(
            ErrorKind::InvalidValue,
            location.loc,
            format!("the `{scheme}://` scheme is not supported for output"),
            "unsupported scheme",
            "write a local directory or `s3://bucket/prefix`",
        );
    }
    let mut s3 = S3Options::default();
    let mut text = |name: &str, example: &str| {
        let child = r.unique_child(node, name)?;
        r.allow_props(child, &[]);
        r.allow_children(child, &[]);
        r.string_arg(child, example).map(|s| s.value)
    };
    s3.region = text("region", "region \"eu-west-1\"");
    s3.endpoint = text("endpoint", "endpoint \"http://127.0.0.1:9000\"");
    if let Some(child) = r.unique_child(node, "retry-timeout") {
        r.allow_props(child, &[]);
        r.allow_children(child, &[]);
        s3.retry_timeout = crate::search::duration(r, child, "retry-timeout \"2m\"");
    }
    if let Some(child) = r.unique_child(node, "allow-http") {
        r.allow_props(child, &[]);
        r.allow_children(child, &[]);
        if let Some(v) = r.single_arg(child, "allow-http #true") {
            s3.allow_http = r.bool(v, "allow-http #true").is_some_and(|b| b.value);
        }
    }
    Some(OutputSpec { location, s3 })
}
