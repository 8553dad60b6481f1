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
    /// Successive halving between the screen and cross-validation, when set.
    pub halving: Option<Halving>,
}

/// Successive halving (`halving factor=3 rungs=1`, off unless written): before a node's new children are
/// cross-validated on all rows, `factor^rungs` times as many of its best-screened candidates
/// race through `rungs` cross-validations on growing row samples (`1/factor^rungs` of the
/// rows first, then `factor` times more each rung); each rung keeps the best `1/factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Halving {
    /// How many times fewer candidates, and more rows, each rung has.
    pub factor: u32,
    /// The sampled rungs before the full cross-validation.
    pub rungs: u32,
}

impl Default for Halving {
    fn default() -> Self {
        Self {
            factor: 3,
            rungs: 1,
        }
    }
}

impl Halving {
    /// The share of the rows rung `rung` (0 first) cross-validates on:
    /// `factor^(rung − rungs)`.
    pub fn rows(self, rung: u32) -> f64 {
        let steps = i32::try_from(self.rungs.saturating_sub(rung)).unwrap_or(i32::MAX);
        f64::from(self.factor).powi(-steps)
    }

    /// How many candidates enter rung `rung` per child to be made: `factor^(rungs − rung)`.
    pub fn entrants(self, rung: u32) -> usize {
        (self.factor as usize).saturating_pow(self.rungs.saturating_sub(rung))
    }
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
            halving: None,
        }
    }
}

const SEARCH_CHILDREN: [&str; 12] = [
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
    "halving",
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
    spec.halving = r.unique_child(node, "halving").and_then(|n| halving(r, n));

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

/// The `halving factor=3 rungs=1` setting (both optional); `halving #false` turns it off,
/// so `-S search.halving=false` can, and `-S search.halving=true` turns it on.
fn halving(r: &mut Reader<'_>, node: &Node) -> Option<Halving> {
    r.allow_props(node, &["factor", "rungs"]);
    r.allow_children(node, &[]);
    const EXAMPLE: &str = "halving factor=3 rungs=1";
    let on = match node.args.as_slice() {
        [] => true,
        [value] => r.bool(value, "halving #true").is_none_or(|b| b.value),
        [_, extra, ..] => {
            r.error(
                ErrorKind::InvalidValue,
                extra.loc,
                "`halving` takes at most one value, #true or #false",
                "unexpected extra value",
                format!("write it as `{EXAMPLE}`"),
            );
            true
        }
    };
    let mut halving = Halving::default();
    if let Some(f) = r.prop(node, "factor", |r, v| r.integer(v, 2, 16, "factor=3")) {
        halving.factor = u32::try_from(f.value).expect("range checked");
    }
    if let Some(k) = r.prop(node, "rungs", |r, v| r.integer(v, 1, 4, "rungs=1")) {
        halving.rungs = u32::try_from(k.value).expect("range checked");
    }
    on.then_some(halving)
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
