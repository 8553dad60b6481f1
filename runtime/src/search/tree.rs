//! The search tree: UCB1 selection, progressive widening, seeded weighted expansion and
//! backpropagation.

use std::collections::{BTreeMap, BTreeSet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::features::FeatureExpr;

use super::action::{ActionSpace, TypedFeature};

/// Settings of the tree, from the pipeline's `search` block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeConfig {
    /// The UCB1 exploration constant.
    pub exploration: f64,
    /// Visits a node needs before it gets (more) children.
    pub expansion_threshold: u32,
    /// The most children of one node.
    pub max_children: u32,
    /// The most features added to the base set along one branch.
    pub max_features: u32,
    /// The search seed.
    pub seed: u64,
}

/// Children a node with `visits` visits may have: progressive widening, so the branching
/// factor grows with the evidence that the node is worth it.
fn allowed_children(visits: u64, max_children: u32) -> usize {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let widened = (WIDENING * (visits as f64).sqrt()).ceil() as usize;
    widened.min(max_children as usize)
}

/// Children per √visit. Four keeps every core busy on the first expansions.
const WIDENING: f64 = 4.0;

/// Draws in a row that may only produce features already tried before a node is
/// considered to have no new candidates left.
const MAX_DRAWS: usize = 200;

/// A feature drawn somewhere in the tree, by its index in the tree's list of drawn
/// features. Nodes keep these instead of whole expressions: the same candidates are drawn
/// for many nodes, and a node remembers every one it drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeatureId(u32);

/// Every feature drawn in the tree, once.
#[derive(Debug, Clone, Default)]
struct Drawn {
    features: Vec<TypedFeature>,
    ids: BTreeMap<FeatureExpr, FeatureId>,
}

impl Drawn {
    fn intern(&mut self, feature: TypedFeature) -> FeatureId {
        if let Some(id) = self.ids.get(&feature.expr) {
            return *id;
        }
        let id = FeatureId(u32::try_from(self.features.len()).expect("fewer than 2^32 features"));
        self.ids.insert(feature.expr.clone(), id);
        self.features.push(feature);
        id
    }
}

/// Heap bytes of a feature expression beyond its own struct (names, inputs, parameters):
/// a generous estimate for the compositions of depth two or three the search builds.
const EXPRESSION_BYTES: usize = 256;

/// Bytes a feature id costs in a node's set of drawn ids or its pool (B-tree overhead
/// included).
const ID_BYTES: usize = 16;

/// What became of a node's evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    /// Created, not yet evaluated.
    Pending,
    /// Evaluated.
    Evaluated,
    /// Its feature could not be computed or scored; it is never expanded.
    Failed,
}

/// One feature set in the tree.
#[derive(Debug, Clone)]
pub struct SearchNode {
    /// Index in the tree.
    pub id: usize,
    /// The node it extends.
    pub parent: Option<usize>,
    /// Number of features added to the base set.
    pub depth: u32,
    /// The feature this node adds (none for the root).
    pub feature: Option<TypedFeature>,
    /// Times a reward passed through this node.
    pub visits: u64,
    /// Sum of those rewards.
    pub total_reward: f64,
    /// Best of those rewards.
    pub max_reward: f64,
    /// The node's own reward, once evaluated.
    pub reward: Option<f64>,
    /// Its evaluation status.
    pub status: NodeStatus,
    /// Children, in creation order.
    pub children: Vec<usize>,
    /// The node's own random stream, created at its first expansion.
    rng: Option<ChaCha8Rng>,
    /// Every feature drawn for it, so none is proposed twice.
    tried: BTreeSet<FeatureId>,
    /// Drawn and screened candidates not yet made children, best first.
    pool: Vec<FeatureId>,
    /// The order fingerprints of the candidates pooled, when the model reads only order.
    orders: BTreeSet<u64>,
    /// Drawing found no new candidate: the node gets no more children.
    no_candidates: bool,
    /// No selection can produce new work below this node.
    exhausted: bool,
}

/// Where to grow the tree next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// The node to expand.
    pub node: usize,
    /// How many children it may get now.
    pub room: usize,
}

/// The tree of feature sets.
#[derive(Debug, Clone)]
pub struct SearchTree {
    config: TreeConfig,
    base: Vec<TypedFeature>,
    nodes: Vec<SearchNode>,
    drawn: Drawn,
    /// Drawn ids held by all nodes together.
    tried: usize,
}

impl SearchNode {
    fn new(id: usize, parent: Option<usize>, depth: u32, feature: Option<TypedFeature>) -> Self {
        Self {
            id,
            parent,
            depth,
            feature,
            visits: 0,
            total_reward: 0.0,
            max_reward: f64::NEG_INFINITY,
            reward: None,
            status: NodeStatus::Pending,
            children: Vec::new(),
            rng: None,
            tried: BTreeSet::new(),
            pool: Vec::new(),
            orders: BTreeSet::new(),
            no_candidates: false,
            exhausted: false,
        }
    }
}

impl SearchTree {
    /// A tree whose root is the base feature set (to be evaluated first).
    pub fn new(base: Vec<TypedFeature>, config: TreeConfig) -> Self {
        Self {
            config,
            base,
            nodes: vec![SearchNode::new(0, None, 0, None)],
            drawn: Drawn::default(),
            tried: 0,
        }
    }

    /// A drawn feature.
    pub fn drawn(&self, id: FeatureId) -> &TypedFeature {
        &self.drawn.features[id.0 as usize]
    }

    /// The node with this id.
    pub fn node(&self, id: usize) -> &SearchNode {
        &self.nodes[id]
    }

    /// About how many bytes the tree holds, at most: its nodes, their drawn-feature ids,
    /// leftovers and order fingerprints (at most one of each per drawn id), and
    /// each drawn expression once (its nested names and inputs estimated at
    /// [`EXPRESSION_BYTES`]). Constant time: it runs after every expansion.
    pub fn approximate_bytes(&self) -> usize {
        self.nodes.len() * (std::mem::size_of::<SearchNode>() + EXPRESSION_BYTES)
            + 3 * self.tried * ID_BYTES
            + self.drawn.features.len()
                * (std::mem::size_of::<TypedFeature>() + 2 * EXPRESSION_BYTES)
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> &[SearchNode] {
        &self.nodes
    }

    /// The full feature set of a node: the base columns, then the features added along
    /// the path from the root, in order.
    pub fn features(&self, id: usize) -> Vec<TypedFeature> {
        let mut added = Vec::new();
        let mut at = Some(id);
        while let Some(i) = at {
            if let Some(f) = &self.nodes[i].feature {
                added.push(f.clone());
            }
            at = self.nodes[i].parent;
        }
        added.reverse();
        let mut all = self.base.clone();
        all.extend(added);
        all
    }

    /// Chooses where to grow the tree: the node to give up to `room` new children, or
    /// `None` when the whole tree is exhausted. `room` never exceeds `limit`.
    pub fn select(&mut self, limit: usize) -> Option<Selection> {
        if limit == 0 {
            return None;
        }
        // Each pass either selects, or marks a node exhausted, or re-visits a leaf below the
        // expansion threshold; the bound only guards against bugs.
        for _ in 0..self.nodes.len() * 4 + 16 {
            let mut id = 0;
            loop {
                if self.nodes[0].exhausted {
                    return None;
                }
                if self.can_expand(id) {
                    let node = &self.nodes[id];
                    let allowed = allowed_children(node.visits, self.config.max_children);
                    let room = allowed.saturating_sub(node.children.len()).clamp(1, limit);
                    return Some(Selection { node: id, room });
                }
                match self.best_child(id) {
                    Some(child) => id = child,
                    None if self.below_threshold(id) => {
                        let reward = self.nodes[id].reward.unwrap_or(0.0);
                        self.backpropagate(id, reward);
                        break;
                    }
                    None => {
                        self.nodes[id].exhausted = true;
                        self.propagate_exhaustion(id);
                        break;
                    }
                }
            }
        }
        None
    }

    fn below_threshold(&self, id: usize) -> bool {
        let node = &self.nodes[id];
        node.status == NodeStatus::Evaluated
            && node.visits < u64::from(self.config.expansion_threshold)
            && node.depth < self.config.max_features
    }

    fn can_expand(&self, id: usize) -> bool {
        let node = &self.nodes[id];
        let widened = node.children.len() < allowed_children(node.visits, self.config.max_children);
        // When every child is a dead end, widen now rather than give up on the node.
        let stuck = node.children.len() < self.config.max_children as usize
            && node.children.iter().all(|c| self.nodes[*c].exhausted);
        node.status == NodeStatus::Evaluated
            && !(node.no_candidates && node.pool.is_empty())
            && node.depth < self.config.max_features
            && node.visits >= u64::from(self.config.expansion_threshold)
            && (widened || stuck)
    }

    /// Draws up to `count` candidate features for `id` that are neither in its set nor
    /// drawn for it before nor `rejected` (known to fail), from the node's own seeded
    /// stream. When nothing new can be drawn, the node is marked as having no candidates.
    pub fn draw(
        &mut self,
        id: usize,
        space: &ActionSpace,
        count: usize,
        rejected: &dyn Fn(&FeatureExpr) -> bool,
    ) -> Vec<FeatureId> {
        let set = self.features(id);
        let present: BTreeSet<&FeatureExpr> = set.iter().map(|f| &f.expr).collect();
        let seed = self.config.seed ^ (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let node = &mut self.nodes[id];
        let newest = node.feature.as_ref().map(|f| f.expr.clone());
        let rng = node
            .rng
            .get_or_insert_with(|| ChaCha8Rng::seed_from_u64(seed));
        let mut drawn = Vec::with_capacity(count);
        'draws: for _ in 0..count {
            for _ in 0..MAX_DRAWS {
                // `None` is a draw that went nowhere (no applicable operation, or an
                // input drawn twice); it costs an attempt like a duplicate does.
                let Some(candidate) = space.sample(&set, newest.as_ref(), rng) else {
                    continue;
                };
                if present.contains(&candidate.expr) || rejected(&candidate.expr) {
                    continue;
                }
                let candidate = self.drawn.intern(candidate);
                if node.tried.insert(candidate) {
                    self.tried += 1;
                    drawn.push(candidate);
                    continue 'draws;
                }
            }
            node.no_candidates = true;
            break;
        }
        drawn
    }

    /// The node's screened candidates waiting to become children, best first.
    pub fn pool_mut(&mut self, id: usize) -> &mut Vec<FeatureId> {
        &mut self.nodes[id].pool
    }

    /// The fingerprints of the candidates pooled for the node so far (see
    /// `search/order.rs`).
    pub fn orders_mut(&mut self, id: usize) -> &mut BTreeSet<u64> {
        &mut self.nodes[id].orders
    }

    /// Marks a node as having nothing more to offer, so selection moves on.
    pub fn close(&mut self, id: usize) {
        self.nodes[id].no_candidates = true;
        self.nodes[id].pool.clear();
        self.nodes[id].orders.clear();
        if self.nodes[id]
            .children
            .iter()
            .all(|c| self.nodes[*c].exhausted)
        {
            self.nodes[id].exhausted = true;
            self.propagate_exhaustion(id);
        }
    }

    /// Adds children to `id`, one per feature, and returns their ids.
    pub fn add_children(&mut self, id: usize, features: Vec<TypedFeature>) -> Vec<usize> {
        let depth = self.nodes[id].depth + 1;
        let mut children = Vec::with_capacity(features.len());
        for feature in features {
            let child = self.nodes.len();
            self.nodes
                .push(SearchNode::new(child, Some(id), depth, Some(feature)));
            self.nodes[id].children.push(child);
            children.push(child);
        }
        children
    }

    /// The child with the highest UCB1 value among those that can still yield work;
    /// ties go to the older child.
    fn best_child(&self, id: usize) -> Option<usize> {
        let parent_visits = self.nodes[id].visits.max(1);
        #[allow(clippy::cast_precision_loss)]
        let ln_n = (parent_visits as f64).ln();
        let mut best: Option<(f64, usize)> = None;
        for &child in &self.nodes[id].children {
            let node = &self.nodes[child];
            if node.exhausted || node.visits == 0 {
                continue;
            }
            #[allow(clippy::cast_precision_loss)]
            let visits = node.visits as f64;
            let value =
                node.total_reward / visits + self.config.exploration * (ln_n / visits).sqrt();
            if best.is_none_or(|(v, _)| value > v) {
                best = Some((value, child));
            }
        }
        best.map(|(_, c)| c)
    }

    fn propagate_exhaustion(&mut self, mut id: usize) {
        while let Some(parent) = self.nodes[id].parent {
            let done = self.nodes[parent]
                .children
                .iter()
                .all(|c| self.nodes[*c].exhausted)
                && (self.nodes[parent].depth >= self.config.max_features
                    || (self.nodes[parent].no_candidates && self.nodes[parent].pool.is_empty())
                    || self.nodes[parent].children.len() >= self.config.max_children as usize);
            if !done {
                return;
            }
            self.nodes[parent].exhausted = true;
            id = parent;
        }
    }

    /// Records a node's evaluation: its reward (or failure) travels up to the root.
    pub fn record(&mut self, id: usize, reward: Option<f64>) {
        match reward {
            Some(r) => {
                self.nodes[id].status = NodeStatus::Evaluated;
                self.nodes[id].reward = Some(r);
                self.backpropagate(id, r);
            }
            None => {
                self.nodes[id].status = NodeStatus::Failed;
                self.nodes[id].exhausted = true;
                self.backpropagate(id, FAILURE_REWARD);
                self.propagate_exhaustion(id);
            }
        }
    }

    fn backpropagate(&mut self, id: usize, reward: f64) {
        let mut at = Some(id);
        while let Some(i) = at {
            let node = &mut self.nodes[i];
            node.visits += 1;
            node.total_reward += reward;
            node.max_reward = node.max_reward.max(reward);
            at = node.parent;
        }
    }
}

/// The reward a failed candidate contributes: the worst possible, so the search avoids the
/// branch without being stopped by it.
pub const FAILURE_REWARD: f64 = -1.0;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use flow_dsl::{ResolvedOperation, Sources, ValueType};

    use super::*;
    use crate::features::FeatureExpr;

    fn space() -> ActionSpace {
        let mut sources = Sources::new();
        let id = sources.add(
            "ops.kdl",
            r#"
op "log" { input "x" type="numeric"; sql "ln({x})"; output "numeric" }
op "sqrt" { input "x" type="numeric"; sql "sqrt({x})"; output "numeric" }
op "ratio" { input "x" type="numeric"; input "y" type="numeric"; sql "{x} / {y}"; output "numeric" }
"#,
        );
        let module = flow_dsl::parse_module(&sources, id).expect("valid");
        let ops: BTreeMap<String, ResolvedOperation> = module
            .ops
            .into_iter()
            .map(|spec| {
                (
                    spec.name.value.clone(),
                    ResolvedOperation {
                        spec,
                        origin: flow_dsl::Origin::Pipeline,
                        tuned: false,
                        enabled: true,
                    },
                )
            })
            .collect();
        ActionSpace::new(&ops, 2, |_| true)
    }

    fn tree(seed: u64) -> SearchTree {
        let base = ["a", "b", "c"]
            .iter()
            .map(|c| TypedFeature {
                expr: FeatureExpr::Column((*c).into()),
                ty: ValueType::Numeric,
            })
            .collect();
        SearchTree::new(
            base,
            TreeConfig {
                exploration: 1.4,
                expansion_threshold: 1,
                max_children: 8,
                max_features: 3,
                seed,
            },
        )
    }

    /// One expansion without screening: draw as many candidates as there is room for.
    fn expand(t: &mut SearchTree, space: &ActionSpace, limit: usize) -> Option<Vec<usize>> {
        loop {
            let selection = t.select(limit)?;
            let drawn = t.draw(selection.node, space, selection.room, &|_| false);
            if drawn.is_empty() {
                t.close(selection.node);
                continue;
            }
            let drawn = drawn.into_iter().map(|f| t.drawn(f).clone()).collect();
            return Some(t.add_children(selection.node, drawn));
        }
    }

    /// Runs the tree with a fake evaluator rewarding ratios.
    fn run(seed: u64, steps: usize) -> Vec<String> {
        let space = space();
        let mut t = tree(seed);
        t.record(0, Some(0.0));
        let mut order = Vec::new();
        for _ in 0..steps {
            let Some(children) = expand(&mut t, &space, 64) else {
                break;
            };
            for c in children {
                let name = t
                    .node(c)
                    .feature
                    .as_ref()
                    .map(|f| f.expr.name())
                    .unwrap_or_default();
                let r = if name.contains("ratio") { 0.5 } else { -0.1 };
                order.push(name);
                t.record(c, Some(r));
            }
        }
        order
    }

    #[test]
    fn the_accounted_size_grows_with_the_tree_and_counts_each_expression_once() {
        let space = space();
        let mut t = tree(3);
        t.record(0, Some(0.0));
        let empty = t.approximate_bytes();
        let mut sizes = vec![empty];
        for _ in 0..20 {
            let Some(children) = expand(&mut t, &space, 64) else {
                break;
            };
            for c in children {
                t.record(c, Some(0.1));
            }
            sizes.push(t.approximate_bytes());
        }
        assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
        assert!(*sizes.last().expect("sizes") > empty);
        // Many nodes drew the same expressions; they are held once.
        let ids: usize = t.nodes.iter().map(|n| n.tried.len()).sum();
        let pooled: usize = t.nodes.iter().map(|n| n.pool.len()).sum();
        assert_eq!(t.tried, ids);
        assert!(pooled <= ids);
        assert!(
            t.drawn.features.len() < ids,
            "{} < {ids}",
            t.drawn.features.len()
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_search() {
        assert_eq!(run(7, 30), run(7, 30));
        assert_ne!(run(7, 30), run(8, 30));
    }

    #[test]
    fn the_root_is_widened_progressively() {
        let mut t = tree(1);
        t.record(0, Some(0.0));
        let first = t.select(64).expect("work");
        assert_eq!(
            first,
            Selection { node: 0, room: 4 },
            "ceil(4·√1) children after one visit"
        );
        assert_eq!(
            t.select(2).map(|s| s.room),
            Some(2),
            "never more than the budget left"
        );
    }

    #[test]
    fn rewarding_branches_are_visited_more() {
        let space = space();
        let mut t = tree(3);
        t.record(0, Some(0.0));
        for _ in 0..60 {
            let Some(children) = expand(&mut t, &space, 64) else {
                break;
            };
            for c in children {
                let good = t.features(c).iter().any(|f| f.expr.op() == Some("ratio"));
                t.record(c, Some(if good { 0.5 } else { -0.1 }));
            }
        }
        let root_children = &t.node(0).children;
        let (good, bad): (Vec<&usize>, Vec<&usize>) = root_children.iter().partition(|c| {
            t.node(**c)
                .feature
                .as_ref()
                .is_some_and(|f| f.expr.op() == Some("ratio"))
        });
        let visits = |ids: &[&usize]| ids.iter().map(|c| t.node(**c).visits).max().unwrap_or(0);
        assert!(
            visits(&good) > visits(&bad),
            "good {} vs bad {}",
            visits(&good),
            visits(&bad)
        );
    }

    #[test]
    fn a_failed_node_is_never_expanded_and_the_search_ends_when_exhausted() {
        let space = space();
        let mut t = tree(5);
        t.record(0, Some(0.0));
        let mut evaluated = 0;
        while let Some(children) = expand(&mut t, &space, 64) {
            for c in children {
                evaluated += 1;
                t.record(c, None);
            }
            assert!(evaluated < 10_000, "the search never ends");
        }
        assert!(t.nodes().iter().skip(1).all(|n| n.children.is_empty()));
        assert_eq!(evaluated, t.nodes().len() - 1);
    }
}
