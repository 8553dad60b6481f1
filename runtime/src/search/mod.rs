//! Monte Carlo Tree Search over feature sets.
//!
//! A search node is a feature set: the root holds the base columns, and each child adds one
//! feature built by applying an operation to features of its parent ([`ActionSpace`]).
//! [`SearchTree`] does selection (UCB1), progressive widening, seeded candidate draws and
//! backpropagation; it is plain synchronous bookkeeping, deterministic for a seed. Drawn
//! candidates are computed in one query and ranked by [`Screen`] (how much of what the
//! node's features leave unexplained a candidate explains) before the best become children
//! and get a full cross-validated evaluation; that is the operator's job
//! (`crate::operator`). For a model that reads only the order of a column's values (trees),
//! a candidate ordering the rows as a column of the set or an earlier candidate does is
//! dropped unscreened ([`order_fingerprint`]); for least squares, a scaled or shifted copy
//! ([`affine_fingerprint`]).

mod action;
mod clock;
mod noise;
mod order;
mod reward;
mod screen;
mod tree;

pub use action::{ActionSpace, TypedFeature};
pub use clock::SearchClock;
pub use noise::{PRUNE_STANDARD_ERRORS, within_noise};
pub use order::{affine_fingerprint, order_fingerprint};
pub use reward::{improves, reward, settled};
pub use screen::Screen;
pub use tree::{
    FAILURE_REWARD, FeatureId, NodeStatus, SearchNode, SearchTree, Selection, TreeConfig,
};
