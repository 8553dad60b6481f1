//! The actions of the search: a new feature made by applying an operation to features of
//! the set, drawn at random (seeded) according to the operations' weights.
//!
//! Candidates are sampled, not enumerated: with 200 columns a two-input operation alone has
//! 40,000 bindings, and a node only ever needs its first few dozen children. An input may
//! also be a one-input operation applied to a feature of the set (`ratio(log(a), b)`), so a
//! composition whose intermediate step is useless on its own can still be found in one step.

use std::collections::{BTreeMap, BTreeSet};

use flow_dsl::{ResolvedOperation, ValueType};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::features::{FeatureExpr, ParamLiteral, sql_literal};

/// A feature with the type of its values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypedFeature {
    /// The feature.
    pub expr: FeatureExpr,
    /// What its values are.
    pub ty: ValueType,
}

/// An operation as the search sees it: input types, parameter values, weight.
#[derive(Debug, Clone)]
struct OpShape {
    name: String,
    inputs: Vec<ValueType>,
    params: Vec<(String, Vec<String>)>,
    output: ValueType,
    weight: f64,
    commutative: bool,
    /// Calls a window function, so it cannot take a windowed feature as input.
    windowed: bool,
}

impl OpShape {
    /// One value per parameter, each drawn uniformly from its candidates.
    fn draw_params(&self, rng: &mut ChaCha8Rng) -> Vec<ParamLiteral> {
        self.params
            .iter()
            .map(|(name, values)| ParamLiteral {
                name: name.clone(),
                sql: values[rng.gen_range(0..values.len())].clone(),
            })
            .collect()
    }
}

/// How much more likely the node's newest feature is to be picked as an input.
const LOCALITY: f64 = 8.0;

/// Chance that an input of a multi-input operation is itself a one-input operation applied
/// to a feature (when the depth limit allows).
const NESTING: f64 = 0.35;

/// Every operation the search may apply, and the rules for applying them.
#[derive(Debug, Clone)]
pub struct ActionSpace {
    ops: Vec<OpShape>,
    max_depth: u32,
    /// Names of the operations that call window functions.
    windowed: BTreeSet<String>,
}

impl ActionSpace {
    /// The space of `ops`, composing at most `max_depth` operations in one feature.
    /// `usable` filters operations (e.g. those needing a time column the data lacks).
    pub fn new(
        ops: &BTreeMap<String, ResolvedOperation>,
        max_depth: u32,
        usable: impl Fn(&ResolvedOperation) -> bool,
    ) -> Self {
        let ops: Vec<OpShape> = ops
            .values()
            .filter(|op| usable(op))
            .map(|op| {
                let spec = &op.spec;
                OpShape {
                    name: spec.name.value.clone(),
                    inputs: spec.inputs.iter().map(|i| i.ty).collect(),
                    params: spec
                        .params
                        .iter()
                        .map(|p| {
                            let values = p.values.iter().map(|v| sql_literal(&v.value)).collect();
                            (p.name.value.clone(), values)
                        })
                        .collect(),
                    output: spec.output,
                    weight: spec.weight,
                    commutative: spec.commutative,
                    windowed: spec.template.value.is_windowed(),
                }
            })
            .collect();
        let windowed = ops
            .iter()
            .filter(|o: &&OpShape| o.windowed)
            .map(|o| o.name.clone())
            .collect();
        Self {
            ops,
            max_depth,
            windowed,
        }
    }

    /// Whether `op` may take `input` as an argument: SQL cannot nest window calls.
    fn composable(&self, op: &OpShape, input: &FeatureExpr) -> bool {
        !op.windowed || !self.contains_window(input)
    }

    fn contains_window(&self, expr: &FeatureExpr) -> bool {
        match expr {
            FeatureExpr::Column(_) => false,
            FeatureExpr::Apply { op, args, .. } => {
                self.windowed.contains(op) || args.iter().any(|a| self.contains_window(a))
            }
        }
    }

    /// Number of operations in the space.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the space has no operations.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Draws one candidate feature for `set`, or `None` when the draw went nowhere (no
    /// operation applies, or the same input came out twice).
    /// `newest` (the feature that created the node) is favoured as an input. The result may
    /// already be in the set; the caller rejects duplicates.
    pub fn sample(
        &self,
        set: &[TypedFeature],
        newest: Option<&FeatureExpr>,
        rng: &mut ChaCha8Rng,
    ) -> Option<TypedFeature> {
        let applicable: Vec<(&OpShape, f64)> = self
            .ops
            .iter()
            .filter(|op| self.applicable(op, set))
            .map(|op| (op, op.weight))
            .collect();
        let op = pick(&applicable, rng)?;
        let mut args: Vec<FeatureExpr> = Vec::with_capacity(op.inputs.len());
        for (position, input) in op.inputs.iter().enumerate() {
            let choices: Vec<(&TypedFeature, f64)> = set
                .iter()
                .filter(|f| accepts(*input, f.ty) && f.expr.depth() < self.max_depth)
                .filter(|f| self.composable(op, &f.expr))
                .filter(|f| !args.contains(&f.expr))
                .map(|f| {
                    (
                        f,
                        if newest == Some(&f.expr) {
                            LOCALITY
                        } else {
                            1.0
                        },
                    )
                })
                .collect();
            let chosen = pick(&choices, rng)?;
            let nested = op.inputs.len() > 1 && position > 0
                || op.inputs.len() > 1 && rng.r#gen::<f64>() < 0.5;
            let arg = if nested && rng.r#gen::<f64>() < NESTING {
                self.wrap(op, chosen, *input, rng)
                    .unwrap_or_else(|| chosen.expr.clone())
            } else {
                chosen.expr.clone()
            };
            args.push(arg);
        }
        if op.commutative && args.len() >= 2 && args[0] > args[1] {
            args.swap(0, 1);
        }
        let params = op.draw_params(rng);
        Some(TypedFeature {
            expr: FeatureExpr::Apply {
                op: op.name.clone(),
                args,
                params,
            },
            ty: op.output,
        })
    }

    /// Whether `op` has at least one binding over `set` within the depth limit.
    fn applicable(&self, op: &OpShape, set: &[TypedFeature]) -> bool {
        let usable = |ty: ValueType| {
            set.iter()
                .filter(|f| accepts(ty, f.ty) && f.expr.depth() < self.max_depth)
                .filter(|f| self.composable(op, &f.expr))
                .count()
        };
        // Distinct features per input: the k-th input of a type needs k of them.
        op.inputs.iter().enumerate().all(|(i, ty)| {
            let same_before = op.inputs[..i].iter().filter(|t| *t == ty).count();
            usable(*ty) > same_before
        })
    }

    /// A one-input operation applied to `feature`, producing a value `input` accepts.
    fn wrap(
        &self,
        outer: &OpShape,
        feature: &TypedFeature,
        input: ValueType,
        rng: &mut ChaCha8Rng,
    ) -> Option<FeatureExpr> {
        if feature.expr.depth() + 2 > self.max_depth {
            return None;
        }
        let unary: Vec<(&OpShape, f64)> = self
            .ops
            .iter()
            .filter(|op| {
                op.inputs.len() == 1
                    && accepts(op.inputs[0], feature.ty)
                    && accepts(input, op.output)
            })
            .filter(|op| self.composable(op, &feature.expr) && !(outer.windowed && op.windowed))
            .map(|op| (op, op.weight))
            .collect();
        let op = pick(&unary, rng)?;
        let params = op.draw_params(rng);
        Some(FeatureExpr::Apply {
            op: op.name.clone(),
            args: vec![feature.expr.clone()],
            params,
        })
    }
}

/// A weighted random choice.
fn pick<'a, T>(items: &[(&'a T, f64)], rng: &mut ChaCha8Rng) -> Option<&'a T> {
    let total: f64 = items.iter().map(|(_, w)| w.max(0.0)).sum();
    if items.is_empty() || total <= 0.0 {
        return None;
    }
    let mut point = rng.r#gen::<f64>() * total;
    for (item, w) in items {
        point -= w.max(0.0);
        if point < 0.0 {
            return Some(item);
        }
    }
    items.last().map(|(item, _)| *item)
}

fn accepts(input: ValueType, value: ValueType) -> bool {
    input == ValueType::Any || input == value
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use flow_dsl::Sources;
    use rand::SeedableRng;

    use super::*;

    fn space(max_depth: u32) -> ActionSpace {
        let mut sources = Sources::new();
        let id = sources.add(
            "ops.kdl",
            r#"
op "log" { input "x" type="numeric"; sql "ln({x})"; output "numeric"; weight 2.0 }
op "ratio" { input "x" type="numeric"; input "y" type="numeric"; sql "{x} / {y}"; output "numeric" }
op "sum" { commutative #true; input "x" type="numeric"; input "y" type="numeric"; sql "{x} + {y}"; output "numeric" }
op "lag" { input "x" type="numeric"; param "n" type="int" 1 7; sql "lag({x}, {n}) OVER (ORDER BY {row})"; output "numeric" }
op "freq" { input "c" type="categorical"; sql "count(*) OVER (PARTITION BY {c})"; output "numeric" }
op "zscore" { input "x" type="numeric"; sql "({x} - avg({x}) OVER ()) / stddev({x}) OVER ()"; output "numeric" }
"#,
        );
        let module = flow_dsl::parse_module(&sources, id).expect("valid ops");
        let ops = module
            .ops
            .into_iter()
            .map(|spec| {
                let op = ResolvedOperation {
                    spec,
                    origin: flow_dsl::Origin::Pipeline,
                    tuned: false,
                    enabled: true,
                };
                (op.spec.name.value.clone(), op)
            })
            .collect();
        ActionSpace::new(&ops, max_depth, |_| true)
    }

    fn numeric(name: &str) -> TypedFeature {
        TypedFeature {
            expr: FeatureExpr::Column(name.into()),
            ty: ValueType::Numeric,
        }
    }

    fn draws(space: &ActionSpace, set: &[TypedFeature], seed: u64, n: usize) -> Vec<String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .filter_map(|_| space.sample(set, None, &mut rng))
            .map(|f| f.expr.name())
            .collect()
    }

    #[test]
    fn samples_respect_types_distinct_inputs_and_commutativity() {
        let space = space(2);
        let set = vec![numeric("a"), numeric("b")];
        let names: BTreeSet<String> = draws(&space, &set, 1, 400).into_iter().collect();
        assert!(
            names.contains("log(a)")
                && names.contains("ratio(a, b)")
                && names.contains("lag(b, n=7)"),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n.starts_with("ratio(log(")),
            "no nested input: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n.contains("freq")),
            "categorical op on numbers: {names:?}"
        );
        assert!(
            !names.contains("ratio(a, a)") && !names.contains("sum(b, a)"),
            "{names:?}"
        );
    }

    #[test]
    fn sampling_is_deterministic_for_a_seed() {
        let space = space(2);
        let set = vec![numeric("a"), numeric("b")];
        assert_eq!(draws(&space, &set, 5, 50), draws(&space, &set, 5, 50));
        assert_ne!(draws(&space, &set, 5, 50), draws(&space, &set, 6, 50));
    }

    #[test]
    fn heavier_operations_are_drawn_more_often() {
        let space = space(1);
        let set = vec![numeric("a"), numeric("b")];
        let all = draws(&space, &set, 2, 2000);
        let count = |op: &str| all.iter().filter(|n| n.starts_with(op)).count();
        assert!(
            count("log(") > count("ratio(") * 3 / 2,
            "log {} vs ratio {}",
            count("log("),
            count("ratio(")
        );
    }

    #[test]
    fn window_operations_never_nest() {
        let space = space(2);
        let set = vec![numeric("a"), numeric("b")];
        let names = draws(&space, &set, 4, 3000);
        // The text inside a windowed call must not hold another windowed call.
        let nested = |name: &str| {
            ["lag(", "zscore("].iter().any(|call| {
                name.match_indices(call).any(|(start, _)| {
                    let inner = &name[start + call.len()..];
                    let mut depth = 1;
                    let end = inner
                        .char_indices()
                        .find(|(_, c)| {
                            depth += match c {
                                '(' => 1,
                                ')' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(inner.len(), |(i, _)| i);
                    inner[..end].contains("lag(") || inner[..end].contains("zscore(")
                })
            })
        };
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("sum(zscore(") || n.starts_with("ratio(lag("))
        );
        let bad: Vec<&String> = names.iter().filter(|n| nested(n)).collect();
        assert!(bad.is_empty(), "{bad:?}");
    }

    #[test]
    fn the_depth_limit_holds() {
        let space = space(1);
        let log_a = TypedFeature {
            expr: FeatureExpr::Apply {
                op: "log".into(),
                args: vec![FeatureExpr::Column("a".into())],
                params: vec![],
            },
            ty: ValueType::Numeric,
        };
        let set = vec![numeric("a"), numeric("b"), log_a];
        let names = draws(&space, &set, 3, 300);
        assert!(!names.is_empty());
        assert!(
            names.iter().all(|n| n.matches('(').count() == 1),
            "depth 2 with max 1: {names:?}"
        );
    }
}
