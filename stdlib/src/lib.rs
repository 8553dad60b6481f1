//! flow's standard library of feature operations.
//!
//! Each module is a KDL file under `stdlib/ops/`, written in the same operation syntax
//! users write (see `docs/language.md`), embedded in the binary and imported in a
//! pipeline with `use "std.<module>"` (or `use "std.all"`).
//!
//! [`MODULES`] holds the texts (what the resolver imports); [`Catalog`] is the same library
//! parsed into operations, for browsing (`flow ops`); [`reference_markdown`] renders it as
//! the generated reference `docs/stdlib.md`.

mod catalog;
mod reference;

pub use catalog::{
    Catalog, CatalogModule, candidate_values, dataset_roles, signature, type_signature, weight_text,
};
pub use reference::{REFERENCE_PATH, REGENERATE_COMMAND, reference_markdown};

use flow_dsl::{Diagnostics, ModuleSpec, Sources, parse_module};

/// One standard-library module: its import name and KDL text.
#[derive(Debug, Clone, Copy)]
pub struct StdModule {
    /// The name pipelines import, e.g. `std.numeric`.
    pub name: &'static str,
    /// One line saying what the module holds.
    pub summary: &'static str,
    /// The KDL source.
    pub text: &'static str,
}

/// Every module, sorted by name.
pub const MODULES: [StdModule; 7] = [
    StdModule {
        name: "std.arithmetic",
        summary: "combinations of two numeric features: ratio, product, difference, …",
        text: include_str!("../ops/arithmetic.kdl"),
    },
    StdModule {
        name: "std.binning",
        summary: "equal-width and quantile bins",
        text: include_str!("../ops/binning.kdl"),
    },
    StdModule {
        name: "std.categorical",
        summary: "frequency and count encodings, group statistics",
        text: include_str!("../ops/categorical.kdl"),
    },
    StdModule {
        name: "std.numeric",
        summary: "transformations of one numeric feature: log, sqrt, z-score, clipping, …",
        text: include_str!("../ops/numeric.kdl"),
    },
    StdModule {
        name: "std.ranking",
        summary: "rank, dense rank, percent rank, within a group or overall",
        text: include_str!("../ops/ranking.kdl"),
    },
    StdModule {
        name: "std.temporal",
        summary: "date parts, lags, rolling and expanding windows (need a `time` column)",
        text: include_str!("../ops/temporal.kdl"),
    },
    StdModule {
        name: "std.text",
        summary: "length, word count and character classes of text",
        text: include_str!("../ops/text.kdl"),
    },
];

/// The module called `name` (`std.numeric`), if there is one.
pub fn module(name: &str) -> Option<&'static StdModule> {
    MODULES.iter().find(|m| m.name == name)
}

/// Parses every module, in order; a failure here is a bug in the library itself.
pub fn parse_all(sources: &mut Sources) -> Result<Vec<(&'static str, ModuleSpec)>, Diagnostics> {
    MODULES
        .iter()
        .map(|m| {
            let id = sources.add(m.name, m.text);
            parse_module(sources, id).map(|spec| (m.name, spec))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn every_module_parses_and_validates() {
        let mut sources = Sources::new();
        if let Err(d) = parse_all(&mut sources) {
            let report = d
                .items
                .iter()
                .map(|i| format!("{}: {}", sources.describe(i.loc), i.message))
                .collect::<Vec<_>>()
                .join("\n");
            panic!("the standard library has problems:\n{report}");
        }
    }

    #[test]
    fn operation_names_are_unique_across_modules() {
        let mut sources = Sources::new();
        let modules = parse_all(&mut sources).expect("valid library");
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (module, spec) in &modules {
            for op in &spec.ops {
                if let Some(first) = seen.insert(op.name.value.clone(), module) {
                    panic!("`{}` is defined in {first} and {module}", op.name.value);
                }
            }
        }
        assert!(seen.len() >= 40, "only {} operations", seen.len());
    }

    #[test]
    fn modules_are_sorted_and_categories_match_module_names() {
        let names: Vec<&str> = MODULES.iter().map(|m| m.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        let mut sources = Sources::new();
        for (module, spec) in parse_all(&mut sources).expect("valid library") {
            for op in &spec.ops {
                let category = op.category.as_deref().unwrap_or_default();
                assert_eq!(
                    format!("std.{category}"),
                    module,
                    "category of `{}`",
                    op.name.value
                );
                assert!(op.doc.is_some(), "`{}` has no doc", op.name.value);
            }
        }
    }
}
