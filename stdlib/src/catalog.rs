//! The library as data: every module parsed into its operations, and the one way flow
//! describes an operation to people (its signature, its parameters), shared by
//! `flow ops` and the generated reference so the two never disagree.

use flow_dsl::{OperationSpec, ParamSpec, Sources, template::CONTEXT_PLACEHOLDERS};

use crate::{MODULES, StdModule, parse_all};

/// A standard-library module with its operations, in the order its file defines them.
#[derive(Debug, Clone)]
pub struct CatalogModule {
    /// The module: name, summary, text.
    pub module: &'static StdModule,
    /// Its operations, in file order.
    pub ops: Vec<OperationSpec>,
}

/// The whole standard library, parsed: modules sorted by name, operations in file order.
///
/// ```
/// let catalog = flow_stdlib::Catalog::load();
/// let (module, ratio) = catalog.operation("ratio").expect("the library has `ratio`");
/// assert_eq!(module.name, "std.arithmetic");
/// assert_eq!(flow_stdlib::signature(ratio), "ratio(x: numeric, y: numeric) -> numeric");
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Every module, sorted by name.
    pub modules: Vec<CatalogModule>,
}

impl Catalog {
    /// Parses the embedded library.
    ///
    /// The texts are compiled into the binary and validated by this crate's tests
    /// (`every_module_parses_and_validates`), so a failure here is a bug in flow.
    pub fn load() -> Self {
        let mut sources = Sources::new();
        let parsed = parse_all(&mut sources)
            .expect("the embedded standard library is valid (checked by flow-stdlib's tests)");
        let modules = MODULES
            .iter()
            .zip(parsed)
            .map(|(module, (_, spec))| CatalogModule {
                module,
                ops: spec.ops,
            })
            .collect();
        Self { modules }
    }

    /// The module called `name` (`std.numeric`).
    pub fn module(&self, name: &str) -> Option<&CatalogModule> {
        self.modules.iter().find(|m| m.module.name == name)
    }

    /// Every operation with its module: modules by name, operations in file order.
    pub fn operations(&self) -> impl Iterator<Item = (&'static StdModule, &OperationSpec)> {
        self.modules
            .iter()
            .flat_map(|m| m.ops.iter().map(move |op| (m.module, op)))
    }

    /// The operation called `name` and the module that defines it.
    pub fn operation(&self, name: &str) -> Option<(&'static StdModule, &OperationSpec)> {
        self.operations().find(|(_, op)| op.name.value == name)
    }

    /// Every operation name, in listing order.
    pub fn operation_names(&self) -> Vec<&str> {
        self.operations()
            .map(|(_, op)| op.name.value.as_str())
            .collect()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.modules.iter().map(|m| m.ops.len()).sum()
    }

    /// Whether the library has no operations (never, for the shipped library).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The operation's signature: `lag(x: numeric, n: int = 1) -> numeric`. Inputs come
/// first, then parameters with their default.
pub fn signature(op: &OperationSpec) -> String {
    format!("{}{}", op.name.value, type_signature(op))
}

/// The signature without the name: `(x: numeric, n: int = 1) -> numeric`.
pub fn type_signature(op: &OperationSpec) -> String {
    let inputs = op
        .inputs
        .iter()
        .map(|i| format!("{}: {}", i.name.value, i.ty.name()));
    let params = op.params.iter().map(|p| match p.values.first() {
        Some(default) => format!("{}: {} = {}", p.name.value, p.ty.name(), default.value),
        None => format!("{}: {}", p.name.value, p.ty.name()),
    });
    let all: Vec<String> = inputs.chain(params).collect();
    format!("({}) -> {}", all.join(", "), op.output.name())
}

/// A parameter's candidate values as written in KDL, default first: `1 2 7`.
pub fn candidate_values(param: &ParamSpec) -> String {
    param
        .values
        .iter()
        .map(|v| v.value.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The dataset roles the template reads (`time`, `group`, `target`), in that order. The
/// row number (`{row}`) and the cross-validation fold (`{fold}`) are left out: flow adds
/// those to every dataset.
pub fn dataset_roles(op: &OperationSpec) -> Vec<&'static str> {
    let used = op.template.value.placeholder_names();
    CONTEXT_PLACEHOLDERS
        .iter()
        .copied()
        .filter(|role| !matches!(*role, "row" | "fold") && used.contains(role))
        .collect()
}

/// A weight as written in KDL (`1.0`, `0.8`).
pub fn weight_text(op: &OperationSpec) -> String {
    format!("{:?}", op.weight)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_list_inputs_then_parameters_with_their_default() {
        let catalog = Catalog::load();
        let sig = |name: &str| {
            let (_, op) = catalog.operation(name).expect("operation exists");
            signature(op)
        };
        assert_eq!(sig("ratio"), "ratio(x: numeric, y: numeric) -> numeric");
        assert_eq!(sig("lag"), "lag(x: numeric, n: int = 1) -> numeric");
        assert_eq!(sig("is-null"), "is-null(x: any) -> boolean");
        assert_eq!(
            sig("contains-pattern"),
            r#"contains-pattern(s: text, pattern: string = "[0-9]") -> boolean"#
        );
    }

    #[test]
    fn the_catalog_holds_every_module_in_order() {
        let catalog = Catalog::load();
        let names: Vec<&str> = catalog.modules.iter().map(|m| m.module.name).collect();
        let expected: Vec<&str> = MODULES.iter().map(|m| m.name).collect();
        assert_eq!(names, expected);
        assert_eq!(catalog.len(), catalog.operation_names().len());
        assert!(catalog.module("std.numeric").is_some());
        assert!(catalog.module("numeric").is_none());
    }

    #[test]
    fn dataset_roles_leave_out_the_row_number() {
        let catalog = Catalog::load();
        let (_, lag) = catalog.operation("lag").expect("lag exists");
        assert_eq!(dataset_roles(lag), ["time", "group"]);
        let (_, bin) = catalog.operation("quantile-bin").expect("exists");
        assert!(dataset_roles(bin).is_empty());
    }
}
