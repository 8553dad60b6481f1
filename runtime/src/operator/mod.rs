//! The FeatureSearch operator: a user-defined DataFusion logical node ([`FeatureSearchNode`]),
//! the extension planner that plans it ([`FeatureSearchPlanner`]), and its physical
//! operator ([`FeatureSearchExec`]), which loads its input and streams the evaluation log
//! ([`log`]) while the search ([`driver`]) runs.

mod confirm;
pub mod driver;
mod exec;
mod halving;
mod job;
pub mod log;
mod node;
mod planner;
mod prepare;

pub use exec::FeatureSearchExec;
pub use job::{Confirmation, FinalSet, FinalSlot, LeanSet, SearchJob, StopReason};
pub use node::FeatureSearchNode;
pub use planner::{FeatureSearchPlanner, FlowQueryPlanner};

/// The label of errors that are problems of the dataset (a bad cell, an unusable target),
/// which the run reports as `flow::dataset` rather than as a failed search.
pub const DATA_PROBLEM: &str = "a problem of the dataset";

/// An error the user fixes in the data (or the pipeline's `dataset` block).
pub fn data_error(message: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Context(
        DATA_PROBLEM.to_owned(),
        Box::new(datafusion::error::DataFusionError::Execution(message)),
    )
}

/// The message of a dataset problem somewhere in `e`, if it is one.
pub fn data_problem(e: &datafusion::error::DataFusionError) -> Option<String> {
    use datafusion::error::DataFusionError;
    match e {
        DataFusionError::Context(label, inner) if label == DATA_PROBLEM => {
            Some(match inner.as_ref() {
                DataFusionError::Execution(message) => message.clone(),
                other => other.to_string(),
            })
        }
        DataFusionError::Context(_, inner) => data_problem(inner),
        DataFusionError::Shared(inner) => data_problem(inner),
        _ => None,
    }
}
