//! Commands of the target surface that do not exist yet say so and fail, rather than
//! pretend to work.

use super::Failure;

/// Fails with a message naming the missing capability and the issue that tracks it.
pub fn not_built(verb: &str, capability: &str, issue: u32) -> Result<(), Failure> {
    Err(Failure::internal(miette::miette!(
        code = "flow::not-built",
        help = "`flow check` validates a pipeline today; see README.md for what works",
        "`flow {verb}` is not built yet: it needs {capability} (issue #{issue})"
    )))
}
