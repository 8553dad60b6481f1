//! The generated reference: the whole library as Markdown, written to `docs/stdlib.md`
//! and checked to be current by `stdlib/tests/reference.rs`.

use std::fmt::Write as _;

use flow_dsl::OperationSpec;

use crate::catalog::{
    Catalog, CatalogModule, candidate_values, dataset_roles, signature, type_signature, weight_text,
};

/// The command that rewrites `docs/stdlib.md` from the library.
pub const REGENERATE_COMMAND: &str =
    "UPDATE_REFERENCE=1 cargo test -p flow-stdlib --test reference";

/// Where the reference lives, relative to the repository root.
pub const REFERENCE_PATH: &str = "docs/stdlib.md";

/// Renders every module and operation of `catalog` as one Markdown document: a table of
/// modules, then per module its summary, a table of its operations and one section per
/// operation (signature, doc, parameters, weight, commutativity, SQL template).
pub fn reference_markdown(catalog: &Catalog) -> String {
    let mut out = String::new();
    write_intro(&mut out, catalog);
    for m in &catalog.modules {
        write_module(&mut out, m);
    }
    out
}

fn write_intro(out: &mut String, catalog: &Catalog) {
    let _ = writeln!(
        out,
        "<!-- Generated from stdlib/ops/*.kdl by flow_stdlib::reference_markdown; do not edit. \
         Regenerate with: {REGENERATE_COMMAND} -->"
    );
    out.push_str("\n# Standard library reference\n\n");
    let _ = writeln!(
        out,
        "flow's standard library has {} operations in {} modules. Import a module in a \
         pipeline's `space` block with `use \"std.<module>\"`, or all of them with \
         `use \"std.all\"`; [the language guide](language.md) explains imports, tunings and \
         writing your own operations. `flow ops` browses the same list in a terminal.",
        catalog.len(),
        catalog.modules.len()
    );
    out.push_str(
        "\nIn templates, `{x}` stands for an input (rendered as a quoted column or a \
         parenthesised feature), `{n}` for a parameter (rendered as a SQL literal), and \
         `{time}`, `{group}`, `{target}` for the dataset's columns of those roles, `{row}` \
         for the row number flow adds (it breaks ties in orderings) and `{fold}` for the \
         row's cross-validation fold (a template reading `{target}` must use it to leave the \
         row's own fold out). Without a `group` column, `{group}` is the constant `1`: the \
         whole table is one group. A parameter's first candidate is its default; the search \
         may try the others. Templates are shown as written in the KDL files, where `{{` and \
         `}}` stand for literal braces.\n",
    );
    out.push_str("\n| module | operations | summary |\n|---|---:|---|\n");
    for m in &catalog.modules {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            m.module.name,
            m.ops.len(),
            table_cell(m.module.summary)
        );
    }
}

fn write_module(out: &mut String, m: &CatalogModule) {
    let _ = write!(
        out,
        "\n## {}\n\n{}\n\nImport with `use \"{}\"`.\n\n",
        m.module.name,
        sentence(m.module.summary),
        m.module.name
    );
    out.push_str("| operation | signature | what it computes |\n|---|---|---|\n");
    for op in &m.ops {
        // Operation names are unique lower-case kebab words, so each is its own anchor.
        let name = &op.name.value;
        let _ = writeln!(
            out,
            "| [`{name}`](#{name}) | `{}` | {} |",
            table_cell(&type_signature(op)),
            table_cell(op.doc.as_deref().unwrap_or_default())
        );
    }
    for op in &m.ops {
        write_operation(out, op);
    }
}

fn write_operation(out: &mut String, op: &OperationSpec) {
    let _ = write!(
        out,
        "\n### {}\n\n`{}`\n\n{}\n\n",
        op.name.value,
        signature(op),
        op.doc.as_deref().unwrap_or("(no documentation)")
    );
    if op.params.is_empty() {
        out.push_str("- parameters: none\n");
    } else {
        out.push_str("- parameters:\n");
        for p in &op.params {
            let _ = writeln!(
                out,
                "  - `{}` ({}): candidates `{}`, default `{}`",
                p.name.value,
                p.ty.name(),
                candidate_values(p),
                p.values
                    .first()
                    .map(|v| v.value.to_string())
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(out, "- weight: {}", weight_text(op));
    let _ = writeln!(
        out,
        "- commutative: {}",
        if op.commutative { "yes" } else { "no" }
    );
    let roles = dataset_roles(op);
    if !roles.is_empty() {
        let list = roles
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "- dataset columns: {list}");
    }
    let _ = write!(out, "\n```sql\n{}\n```\n", op.template.value.text);
}

/// Escapes the one character that ends a Markdown table cell.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A summary line as a sentence: capitalised, ending in a full stop (unless it already
/// ends with punctuation such as `…`).
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '…']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_names_its_generator_and_every_operation() {
        let catalog = Catalog::load();
        let text = reference_markdown(&catalog);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with("<!--") && first.contains(REGENERATE_COMMAND));
        for name in catalog.operation_names() {
            assert!(
                text.contains(&format!("\n### {name}\n")),
                "`{name}` missing"
            );
        }
    }

    #[test]
    fn pipes_in_table_cells_are_escaped() {
        assert_eq!(table_cell("|x − y|."), "\\|x − y\\|.");
    }
}
