//! The `search` block: the budget and the knobs of Monte Carlo Tree Search.

use std::time::Duration;

use crate::diagnostic::ErrorKind;
use crate::literal::{parse_duration, parse_size};
use crate::reader::Reader;
use crate::tree::Node;

/// The `search` block, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpec {
    /// Number of MCTS iterations (evaluated search nodes).
    pub iterations: u64,
    /// Wall-time budget.
    pub time_limit: Option<Duration>,
    /// The UCB1 exploration constant `c`.
    pub exploration: f64,
    /// Visits a node needs before it is expanded further (progressive widening).
    pub expansion_threshold: u32,
    /// The most children one search node may have.
    pub max_children: u32,
    /// Stop after this many iterations without a better score.
    pub patience: Option<u64>,
    /// The seed of every random choice in the run.
    pub seed: u64,
    /// Parallel evaluations; all cores when absent. Results do not depend on it.
    pub parallelism: Option<u32>,
    /// Upper bound on the memory the run may use, in bytes.
    pub memory_limit_bytes: Option<u64>,
    /// How often results are written to the store.
    pub checkpoint_interval: Duration,
    /// The most features the search adds to the base columns in one feature set.
    pub max_features: u32,
}

impl Default for SearchSpec {
    fn default() -> Self {
        Self {
            iterations: 200,
            time_limit: None,
            exploration: std::f64::consts::SQRT_2,
            expansion_threshold: 1,
            max_children: 16,
            patience: None,
            seed: 0,
            parallelism: None,
            memory_limit_bytes: None,
            checkpoint_interval: Duration::from_secs(30),
            max_features: 8,
        }
    }
}

const SEARCH_CHILDREN: [&str; 11] = [
    "max-features",
    "iterations",
    "time-limit",
    "exploration",
    "expansion-threshold",
    "max-children",
    "patience",
    "seed",
    "parallelism",
    "memory-limit",
    "checkpoint-interval",
];

/// Reads the `search` block (absent: all defaults).
pub fn lower_search(r: &mut Reader<'_>, node: Option<&Node>) -> SearchSpec {
    let mut spec = SearchSpec::default();
    let Some(node) = node else { return spec };
    r.allow_props(node, &[]);
    r.no_args(node, "search { … }");
    r.allow_children(node, &SEARCH_CHILDREN);
    let mut setting = |name: &str| {
        let child = r.unique_child(node, name)?;
        r.allow_props(child, &[]);
        r.allow_children(child, &[]);
        Some(child)
    };
    let iterations = setting("iterations");
    let time_limit = setting("time-limit");
    let exploration = setting("exploration");
    let expansion = setting("expansion-threshold");
    let max_children = setting("max-children");
    let patience = setting("patience");
    let seed = setting("seed");
    let parallelism = setting("parallelism");
    let memory = setting("memory-limit");
    let checkpoint = setting("checkpoint-interval");
    let max_features = setting("max-features");

    let int = |r: &mut Reader<'_>, node: Option<&Node>, min: i128, max: i128, example: &str| {
        let v = r.single_arg(node?, example)?;
        r.integer(v, min, max, example).map(|i| i.value)
    };
    let u64_max = i128::from(u64::MAX);
    if let Some(i) = int(r, iterations, 1, u64_max, "iterations 500") {
        spec.iterations = u64::try_from(i).expect("range checked");
    }
    if let Some(i) = int(r, expansion, 1, 1_000_000, "expansion-threshold 2") {
        spec.expansion_threshold = u32::try_from(i).expect("range checked");
    }
    if let Some(i) = int(r, max_children, 1, 100_000, "max-children 16") {
        spec.max_children = u32::try_from(i).expect("range checked");
    }
    if let Some(i) = int(r, patience, 1, u64_max, "patience 100") {
        spec.patience = Some(u64::try_from(i).expect("range checked"));
    }
    if let Some(i) = int(r, seed, 0, u64_max, "seed 42") {
        spec.seed = u64::try_from(i).expect("range checked");
    }
    if let Some(i) = int(r, max_features, 1, 100, "max-features 8") {
        spec.max_features = u32::try_from(i).expect("range checked");
    }
    if let Some(i) = int(r, parallelism, 1, 4096, "parallelism 4") {
        spec.parallelism = Some(u32::try_from(i).expect("range checked"));
    }
    if let Some(c) = exploration.and_then(|n| {
        let v = r.single_arg(n, "exploration 1.4")?;
        r.float_in(v, |c| c >= 0.0, "at least 0", "exploration 1.4")
    }) {
        spec.exploration = c.value;
    }
    spec.time_limit = time_limit.and_then(|n| duration(r, n, "time-limit \"15m\""));
    if let Some(d) = checkpoint.and_then(|n| duration(r, n, "checkpoint-interval \"30s\"")) {
        spec.checkpoint_interval = d;
    }
    spec.memory_limit_bytes = memory.and_then(|n| {
        let text = r.string_arg(n, "memory-limit \"4GiB\"")?;
        match parse_size(&text.value) {
            Ok(bytes) if bytes >= 1 << 20 => Some(bytes),
            Ok(bytes) => {
                r.error(
                    ErrorKind::OutOfRange,
                    text.loc,
                    format!("a memory limit of {bytes} bytes is too small to run anything"),
                    "too small",
                    "use at least 1MiB, e.g. `memory-limit \"4GiB\"`",
                );
                None
            }
            Err(why) => {
                r.error(
                    ErrorKind::InvalidSize,
                    text.loc,
                    format!("`{}` is not a size: {why}", text.value),
                    "invalid size",
                    "write a number and a unit: `512MiB`, `4GiB`, `2GB`",
                );
                None
            }
        }
    });
    spec
}

/// A positive duration argument (`"90s"`), with a diagnostic otherwise.
pub(crate) fn duration(r: &mut Reader<'_>, node: &Node, example: &str) -> Option<Duration> {
    let text = r.string_arg(node, example)?;
    match parse_duration(&text.value) {
        Ok(d) if d.is_zero() => {
            r.error(
                ErrorKind::OutOfRange,
                text.loc,
                "the duration is zero",
                "must be longer than 0",
                format!("for example `{example}`"),
            );
            None
        }
        Ok(d) => Some(d),
        Err(why) => {
            r.error(
                ErrorKind::InvalidDuration,
                text.loc,
                format!("`{}` is not a duration: {why}", text.value),
                "invalid duration",
                "write a number and a unit without spaces: `90s`, `15m`, `1h30m` (units: ms, s, m, h, d)",
            );
            None
        }
    }
}
