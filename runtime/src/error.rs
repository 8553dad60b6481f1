//! The runtime's errors, split by who must act: the user (their pipeline, their data, their
//! files) or us (a bug).

use std::path::PathBuf;

use flow_dsl::Diagnostics;
use miette::Diagnostic;

/// Everything that can stop a runtime call.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum RuntimeError {
    /// The pipeline file cannot be read.
    #[error("cannot read the pipeline file {}", path.display())]
    #[diagnostic(
        code("flow::read-pipeline"),
        help("check the path; pipelines are KDL files such as `pipeline.kdl`")
    )]
    ReadPipeline {
        /// The path given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A data file was given where a pipeline belongs.
    #[error("{} is a data file, not a pipeline", path.display())]
    #[diagnostic(
        code("flow::not-a-pipeline"),
        help(
            "a pipeline is a KDL file that names the data; `flow init --dataset {}` writes one for this file, then `flow run` it",
            path.display()
        )
    )]
    NotAPipeline {
        /// The path given.
        path: PathBuf,
    },
    /// The pipeline (or a module, or an override) has problems.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Spec(Diagnostics),
    /// The data cannot be read or does not fit the pipeline.
    #[error("cannot read the dataset {location}: {}", with_root(message, location))]
    #[diagnostic(code(flow::dataset), help("{help}"))]
    Dataset {
        /// The dataset location as resolved.
        location: String,
        /// What went wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// The search could not run to its end.
    #[error("the search failed: {message}")]
    #[diagnostic(
        code(flow::search),
        help(
            "fix the cause and run again; the run is stored as failed, with the evaluations it made before the failure, if any (`flow runs`, `flow query`)"
        )
    )]
    Search {
        /// What went wrong.
        message: String,
    },
    /// Results cannot be written.
    #[error("cannot write results to {location}: {message}")]
    #[diagnostic(
        code(flow::output),
        help("check the `output` location of the pipeline and that it is writable")
    )]
    Output {
        /// The output location.
        location: String,
        /// What went wrong.
        message: String,
    },
    /// The same run (pipeline, data and seed) is already stored.
    #[error("run {run_id} is already stored at {location} ({status})")]
    #[diagnostic(code("flow::already-run"), help("{help}"))]
    AlreadyRun {
        /// The run id.
        run_id: String,
        /// The results location.
        location: String,
        /// The stored run's status.
        status: String,
        /// What to do, for that status.
        help: String,
    },
    /// The run was stopped (Ctrl-C, SIGTERM) and stored as interrupted.
    #[error(
        "run {run_id} was interrupted after {evaluations} evaluations; what it found is stored at {location}"
    )]
    #[diagnostic(code("flow::interrupted"), help("continue it with `{resume}`"))]
    Interrupted {
        /// The run id.
        run_id: String,
        /// The results location.
        location: String,
        /// Evaluations stored.
        evaluations: u64,
        /// The command that continues it.
        resume: String,
    },
    /// `--resume` cannot continue the run asked for.
    #[error("cannot resume: {message}")]
    #[diagnostic(code("flow::cannot-resume"), help("{help}"))]
    CannotResume {
        /// Why.
        message: String,
        /// What to do.
        help: String,
    },
    /// A results location cannot be read.
    #[error("cannot read the results at {location}: {message}")]
    #[diagnostic(
        code(flow::results),
        help("give the `output` directory of a pipeline, or `s3://bucket/prefix`")
    )]
    Results {
        /// The location.
        location: String,
        /// What went wrong.
        message: String,
    },
    /// The run asked for is not in the results.
    #[error("no such run at {location}: {message}")]
    #[diagnostic(code("flow::run-not-found"), help("{help}"))]
    RunNotFound {
        /// The location.
        location: String,
        /// What went wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A SQL statement over results failed.
    #[error("the query failed: {message}")]
    #[diagnostic(
        code(flow::query),
        help(
            "the tables are runs, evaluations, nodes, features and metrics (`\\d` in the shell lists their columns); queries are read-only"
        )
    )]
    Query {
        /// What went wrong.
        message: String,
    },
    /// A run's features cannot be exported or applied.
    #[error("cannot export the features of run {run_id}: {message}")]
    #[diagnostic(code(flow::export), help("{help}"))]
    Export {
        /// The run.
        run_id: String,
        /// What went wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A bug in flow: an invariant did not hold.
    #[error("internal error: {0}")]
    #[diagnostic(
        code(flow::internal),
        help("this is a bug in flow; please report it with the pipeline that triggered it")
    )]
    Internal(String),
}

impl RuntimeError {
    /// Whether the user can fix this (exit code 1) rather than flow failing (exit code 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Self::Internal(_))
    }
}

/// How to fix a data file that is not UTF-8 text, when `message` (a reader's error) says so.
pub(crate) fn utf8_fix(message: &str) -> Option<&'static str> {
    message.to_ascii_lowercase().contains("utf-8").then_some(
        "the file is not UTF-8 text; it is probably Latin-1 or Windows-1252: re-encode it, for example `iconv -f latin1 -t utf-8 data.csv > data.utf8.csv`, and point `source` at the result",
    )
}

/// `message` with `location`, an absolute path, written whole where it lost its leading
/// `/`: DataFusion names files by their object-store path, which has none.
pub(crate) fn with_root(message: &str, location: &str) -> String {
    let Some(relative) = location.strip_prefix('/').filter(|r| !r.is_empty()) else {
        return message.to_owned();
    };
    let mut out = String::with_capacity(message.len() + 1);
    let mut rest = 0;
    for (at, _) in message.match_indices(relative) {
        if at < rest {
            continue;
        }
        out.push_str(&message[rest..at]);
        if !message[..at].ends_with('/') {
            out.push('/');
        }
        out.push_str(relative);
        rest = at + relative.len();
    }
    out.push_str(&message[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::with_root;

    #[test]
    fn absolute_paths_keep_their_root_in_messages() {
        assert_eq!(
            with_root(
                "Error when processing CSV file tmp/abs/bad.csv caused by …",
                "/tmp/abs/bad.csv"
            ),
            "Error when processing CSV file /tmp/abs/bad.csv caused by …"
        );
        // Already whole, relative or remote: unchanged.
        for (message, location) in [
            ("no file /tmp/a.csv", "/tmp/a.csv"),
            ("file data/a.csv", "data/a.csv"),
            ("object a/b.csv", "s3://bucket/a/b.csv"),
        ] {
            assert_eq!(with_root(message, location), message);
        }
    }
}
