//! The part of the search tree the report draws, and where each node goes: the most
//! visited children of every node, level by level, up to a node budget; leaves side by side
//! in depth-first order, each parent centred over its children.

use std::collections::{BTreeMap, BTreeSet};

use super::data::TreeNode;

/// Children drawn per node at most (the most visited).
pub const MAX_CHILDREN: usize = 8;
/// Nodes drawn at most.
pub const MAX_NODES: usize = 160;

/// A node with its place in the drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedNode {
    /// The node.
    pub node: TreeNode,
    /// Horizontal position, in leaf slots (0 is the leftmost leaf).
    pub x: f64,
    /// Index of its parent in [`TreeLayout::nodes`].
    pub parent: Option<usize>,
    /// Whether it is on the path from the root to the best feature set.
    pub on_best_path: bool,
}

/// The drawn part of the tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TreeLayout {
    /// Nodes in drawing order (parents before children).
    pub nodes: Vec<PlacedNode>,
    /// Leaf slots used (the drawing's width).
    pub slots: usize,
}

impl TreeLayout {
    /// The deepest level drawn.
    pub fn depth(&self) -> u64 {
        self.nodes.iter().map(|n| n.node.depth).max().unwrap_or(0)
    }
}

/// Lays out the root of `nodes` and its most visited descendants; `best_path` holds the
/// ids from the root to the best node.
pub fn layout(nodes: &[TreeNode], best_path: &BTreeSet<u64>) -> TreeLayout {
    let Some(root) = nodes.iter().find(|n| n.parent_id.is_none()) else {
        return TreeLayout::default();
    };
    let mut children: BTreeMap<u64, Vec<&TreeNode>> = BTreeMap::new();
    for node in nodes {
        if let Some(parent) = node.parent_id {
            children.entry(parent).or_default().push(node);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| b.visits.cmp(&a.visits).then(a.node_id.cmp(&b.node_id)));
        list.truncate(MAX_CHILDREN);
    }
    // Level by level, so a budget cut drops the deepest nodes first.
    let mut kept: BTreeSet<u64> = BTreeSet::from([root.node_id]);
    let mut level = vec![root];
    while !level.is_empty() && kept.len() < MAX_NODES {
        let mut next = Vec::new();
        for node in &level {
            for child in children.get(&node.node_id).into_iter().flatten() {
                if kept.len() < MAX_NODES {
                    kept.insert(child.node_id);
                    next.push(*child);
                }
            }
        }
        level = next;
    }
    let mut out = TreeLayout::default();
    place(root, None, &children, &kept, best_path, &mut out);
    out
}

/// Places `node` and its kept subtree depth-first; returns its index and x.
fn place(
    node: &TreeNode,
    parent: Option<usize>,
    children: &BTreeMap<u64, Vec<&TreeNode>>,
    kept: &BTreeSet<u64>,
    best_path: &BTreeSet<u64>,
    out: &mut TreeLayout,
) -> f64 {
    let index = out.nodes.len();
    out.nodes.push(PlacedNode {
        node: node.clone(),
        x: 0.0,
        parent,
        on_best_path: best_path.contains(&node.node_id),
    });
    let mut xs = Vec::new();
    for child in children.get(&node.node_id).into_iter().flatten() {
        if kept.contains(&child.node_id) {
            xs.push(place(child, Some(index), children, kept, best_path, out));
        }
    }
    let x = match (xs.first(), xs.last()) {
        (Some(first), Some(last)) => (first + last) / 2.0,
        _ => {
            out.slots += 1;
            (out.slots - 1) as f64
        }
    };
    out.nodes[index].x = x;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, parent: Option<u64>, depth: u64, visits: u64) -> TreeNode {
        TreeNode {
            node_id: id,
            parent_id: parent,
            depth,
            feature: None,
            visits,
            mean_reward: 0.0,
        }
    }

    #[test]
    fn parents_sit_over_their_children_and_leaves_side_by_side() {
        let nodes = [
            node(0, None, 0, 5),
            node(1, Some(0), 1, 3),
            node(2, Some(0), 1, 1),
            node(3, Some(1), 2, 1),
            node(4, Some(1), 2, 1),
        ];
        let layout = layout(&nodes, &BTreeSet::from([0, 1, 4]));
        let x: BTreeMap<u64, f64> = layout.nodes.iter().map(|n| (n.node.node_id, n.x)).collect();
        assert_eq!(layout.slots, 3);
        assert_eq!(x[&3], 0.0);
        assert_eq!(x[&4], 1.0);
        assert_eq!(x[&1], 0.5);
        assert_eq!(x[&2], 2.0);
        assert_eq!(x[&0], 1.25);
        let best: Vec<u64> = layout
            .nodes
            .iter()
            .filter(|n| n.on_best_path)
            .map(|n| n.node.node_id)
            .collect();
        assert_eq!(best, [0, 1, 4]);
        assert_eq!(layout.depth(), 2);
    }

    #[test]
    fn only_the_most_visited_children_and_a_bounded_number_of_nodes_are_drawn() {
        let mut nodes = vec![node(0, None, 0, 1000)];
        for i in 1..=20 {
            nodes.push(node(i, Some(0), 1, i));
        }
        for i in 21..=400 {
            nodes.push(node(i, Some(1 + i % 20), 2, 1));
        }
        let layout = layout(&nodes, &BTreeSet::new());
        let first_level: Vec<u64> = layout
            .nodes
            .iter()
            .filter(|n| n.node.depth == 1)
            .map(|n| n.node.node_id)
            .collect();
        assert_eq!(first_level, [20, 19, 18, 17, 16, 15, 14, 13]);
        assert!(layout.nodes.len() <= MAX_NODES);
        assert_eq!(layout.nodes.len(), 1 + 8 + 8 * 8);
    }

    #[test]
    fn a_tree_without_a_root_draws_nothing() {
        assert_eq!(
            layout(&[node(3, Some(1), 1, 1)], &BTreeSet::new())
                .nodes
                .len(),
            0
        );
    }
}
