//! The FeatureSearch operator: a user-defined DataFusion logical node ([`FeatureSearchNode`]),
//! the extension planner that plans it ([`FeatureSearchPlanner`]), and its physical
//! operator ([`FeatureSearchExec`]), which loads its input and streams the evaluation log
//! ([`log`]) while the search ([`driver`]) runs.

pub mod driver;
mod exec;
mod job;
pub mod log;
mod node;
mod planner;
mod prepare;

pub use exec::FeatureSearchExec;
pub use job::SearchJob;
pub use node::FeatureSearchNode;
pub use planner::{FeatureSearchPlanner, FlowQueryPlanner};
