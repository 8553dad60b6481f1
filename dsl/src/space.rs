//! The `space` block: which operations the search may use and on which columns.

use crate::diagnostic::ErrorKind;
use crate::operation::{OperationSpec, lower_operation};
use crate::reader::Reader;
use crate::source::{Loc, Spanned};
use crate::tree::{Node, Value};

/// A module named by `use`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleRef {
    /// A standard-library module, `std.numeric`, or `std.all`.
    Std(String),
    /// A KDL file of operations, relative to the file that imports it.
    File(String),
}

impl ModuleRef {
    /// Parses what follows `use`: `std.<name>` or a path.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("std.") || text == "std" {
            Self::Std(text.to_owned())
        } else {
            Self::File(text.to_owned())
        }
    }

    /// The reference as written.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Std(s) | Self::File(s) => s,
        }
    }
}

/// Changes to one imported operation: `<op-name> weight=2.0 enabled=#false { <param> v… }`.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationTuning {
    /// The operation's name.
    pub op: Spanned<String>,
    /// A new weight.
    pub weight: Option<Spanned<f64>>,
    /// `false` removes the operation from the space.
    pub enabled: bool,
    /// New candidate values per parameter, still untyped (the operation gives the type).
    pub params: Vec<(Spanned<String>, Vec<Value>)>,
}

/// One `use` import with its tunings.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSpec {
    /// The module.
    pub module: Spanned<ModuleRef>,
    /// Per-operation changes.
    pub tunings: Vec<OperationTuning>,
}

/// The `space` block.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceSpec {
    /// Imported modules, in order.
    pub imports: Vec<ImportSpec>,
    /// Operations defined inline.
    pub ops: Vec<OperationSpec>,
    /// When not empty, only these columns are used as base features.
    pub include: Vec<Spanned<String>>,
    /// Columns never used as base features.
    pub exclude: Vec<Spanned<String>>,
    /// The deepest composition of operations in one feature (1 = operations on columns).
    pub max_depth: u32,
    /// The block, for diagnostics about the space as a whole.
    pub loc: Loc,
}

/// The default `max-depth`.
pub const DEFAULT_MAX_DEPTH: u32 = 2;

/// Reads the `space` block.
pub fn lower_space(r: &mut Reader<'_>, node: &Node) -> SpaceSpec {
    r.allow_props(node, &[]);
    r.no_args(node, "space { … }");
    r.allow_children(node, &["use", "op", "include", "exclude", "max-depth"]);
    let imports = node
        .children_named("use")
        .flat_map(|n| lower_use(r, n))
        .collect();
    let ops = node
        .children_named("op")
        .filter_map(|n| lower_operation(r, n))
        .collect();
    let mut columns = |name: &str| -> Vec<Spanned<String>> {
        node.children_named(name)
            .flat_map(|n| {
                r.allow_props(n, &[]);
                r.allow_children(n, &[]);
                r.string_args(n, &format!("{name} \"price\" \"area\""))
            })
            .collect()
    };
    let include = columns("include");
    let exclude = columns("exclude");
    let max_depth = r
        .unique_child(node, "max-depth")
        .and_then(|n| {
            r.allow_props(n, &[]);
            let v = r.single_arg(n, "max-depth 2")?;
            r.integer(v, 1, 8, "max-depth 2")
        })
        .map_or(DEFAULT_MAX_DEPTH, |d| {
            u32::try_from(d.value).expect("range checked")
        });
    SpaceSpec {
        imports,
        ops,
        include,
        exclude,
        max_depth,
        loc: node.loc,
    }
}

/// Reads a `use "module"…` node: one import per argument; a block tunes operations and
/// is allowed only when a single module is named.
pub fn lower_use(r: &mut Reader<'_>, node: &Node) -> Vec<ImportSpec> {
    r.allow_props(node, &[]);
    let modules = r.string_args(node, "use \"std.numeric\"");
    let tunings: Vec<OperationTuning> = node
        .children()
        .iter()
        .filter_map(|n| lower_tuning(r, n))
        .collect();
    if node.children.is_some() && modules.len() > 1 {
        r.error(
            ErrorKind::InvalidValue,
            modules[1].loc,
            "a `use` with a block names one module",
            "second module",
            "split it: one `use \"…\" { … }` per module whose operations you tune",
        );
    }
    modules
        .into_iter()
        .map(|m| ImportSpec {
            module: Spanned::new(ModuleRef::parse(&m.value), m.loc),
            tunings: tunings.clone(),
        })
        .collect()
}

fn lower_tuning(r: &mut Reader<'_>, node: &Node) -> Option<OperationTuning> {
    r.allow_props(node, &["weight", "enabled"]);
    r.no_args(node, "lag weight=2.0 { n 1 24 168 }");
    let weight = r.prop(node, "weight", |r, v| {
        r.float_in(v, |w| w > 0.0, "greater than 0", "weight=2.0")
    });
    let enabled = r
        .prop(node, "enabled", |r, v| r.bool(v, "enabled=#false"))
        .is_none_or(|b| b.value);
    let params = node
        .children()
        .iter()
        .filter_map(|p| {
            r.allow_props(p, &[]);
            r.allow_children(p, &[]);
            if p.args.is_empty() {
                r.error(
                    ErrorKind::Missing,
                    p.name.loc,
                    format!("no values for the parameter `{}`", p.name.text),
                    "values missing",
                    format!("list the values to try: `{} 1 7 28`", p.name.text),
                );
                return None;
            }
            Some((
                Spanned::new(p.name.text.clone(), p.name.loc),
                p.args.clone(),
            ))
        })
        .collect();
    Some(OperationTuning {
        op: Spanned::new(node.name.text.clone(), node.name.loc),
        weight,
        enabled,
        params,
    })
}
