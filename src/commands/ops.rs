//! `flow ops`: browse the standard library — every operation by module, or one in full.

use std::io::Write;

use flow_dsl::diagnostic::{did_you_mean_help, suggest};
use flow_dsl::{OperationSpec, ParamValue};
use flow_stdlib::{
    Catalog, CatalogModule, StdModule, candidate_values, dataset_roles, signature, type_signature,
    weight_text,
};

use super::Failure;
use crate::cli::{Format, OpsArgs};

/// Lists the library (optionally one module), or shows the operation named in `args`.
pub fn ops(args: &OpsArgs) -> Result<(), Failure> {
    let catalog = Catalog::load();
    let module = match &args.module {
        Some(name) => Some(find_module(&catalog, name)?),
        None => None,
    };
    let text = match (&args.name, args.format.get()) {
        (Some(name), format) => {
            let (home, op) = find_operation(&catalog, module, name)?;
            match format {
                Format::Text => details(home, op),
                Format::Json => format!("{}\n", json(home, op)),
            }
        }
        (None, Format::Text) => listing(&catalog, module),
        (None, Format::Json) => {
            let modules: Vec<&CatalogModule> = match module {
                Some(m) => vec![m],
                None => catalog.modules.iter().collect(),
            };
            modules
                .iter()
                .flat_map(|m| m.ops.iter().map(|op| format!("{}\n", json(m.module, op))))
                .collect()
        }
    };
    // A closed pipe (`flow ops | head`) is not an error.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(())
}

fn find_module<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c CatalogModule, Failure> {
    catalog.module(name).ok_or_else(|| {
        let names: Vec<&str> = catalog.modules.iter().map(|m| m.module.name).collect();
        Failure::user(miette::miette!(
            code = "flow::unknown-module",
            help = did_you_mean_help(name, &names, "the standard library has"),
            "no standard-library module `{name}`"
        ))
    })
}

fn find_operation<'c>(
    catalog: &'c Catalog,
    module: Option<&'c CatalogModule>,
    name: &str,
) -> Result<(&'static StdModule, &'c OperationSpec), Failure> {
    let found = catalog.operation(name);
    match (found, module) {
        (Some((home, op)), None) => Ok((home, op)),
        (Some((home, op)), Some(m)) if home.name == m.module.name => Ok((home, op)),
        (Some((home, _)), Some(m)) => Err(Failure::user(miette::miette!(
            code = "flow::unknown-operation",
            help = format!(
                "drop `--module`, or run `flow ops {name} --module {}`",
                home.name
            ),
            "`{name}` is in {}, not in {}",
            home.name,
            m.module.name
        ))),
        (None, Some(m)) => {
            let names: Vec<&str> = m.ops.iter().map(|op| op.name.value.as_str()).collect();
            Err(Failure::user(miette::miette!(
                code = "flow::unknown-operation",
                help = did_you_mean_help(name, &names, &format!("{} has", m.module.name)),
                "no operation `{name}` in {}",
                m.module.name
            )))
        }
        (None, None) => {
            let names = catalog.operation_names();
            let list_hint = format!("`flow ops` lists all {} operations", names.len());
            let help = match suggest(name, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`? {list_hint}"),
                None => list_hint,
            };
            Err(Failure::user(miette::miette!(
                code = "flow::unknown-operation",
                help = help,
                "no operation `{name}` in the standard library"
            )))
        }
    }
}

/// One block per module: a heading with its summary, then one aligned row per operation
/// (name, type signature, doc). Widths are shared by all blocks so they read as one table.
fn listing(catalog: &Catalog, only: Option<&CatalogModule>) -> String {
    let modules: Vec<&CatalogModule> = match only {
        Some(m) => vec![m],
        None => catalog.modules.iter().collect(),
    };
    let rows = modules.iter().flat_map(|m| m.ops.iter());
    let name_width = rows.clone().map(|op| width(&op.name.value)).max();
    let sig_width = rows.map(|op| width(&type_signature(op))).max();
    let (name_width, sig_width) = (name_width.unwrap_or(0), sig_width.unwrap_or(0));
    let mut out = String::new();
    for (i, m) in modules.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}  {}\n", m.module.name, m.module.summary));
        for op in &m.ops {
            let name = &op.name.value;
            let sig = type_signature(op);
            let doc = op.doc.as_deref().unwrap_or_default();
            let line = format!(
                "  {name}{}  {sig}{}  {doc}",
                pad(name, name_width),
                pad(&sig, sig_width)
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    let count: usize = modules.iter().map(|m| m.ops.len()).sum();
    out.push_str(&format!(
        "\n{count} operations; `flow ops NAME` shows one in full.\n"
    ));
    out
}

/// Everything about one operation, one labelled line per fact.
fn details(module: &StdModule, op: &OperationSpec) -> String {
    let mut out = format!("{}\n", signature(op));
    if let Some(doc) = &op.doc {
        out.push_str(&format!("  {doc}\n"));
    }
    out.push('\n');
    let mut rows: Vec<(&str, String)> = vec![(
        "module",
        format!("{} (import with `use \"{}\"`)", module.name, module.name),
    )];
    for input in &op.inputs {
        rows.push((
            "input",
            format!("{}: {}", input.name.value, input.ty.name()),
        ));
    }
    for p in &op.params {
        rows.push((
            "parameter",
            format!(
                "{}: {}, candidates {} (the first is the default)",
                p.name.value,
                p.ty.name(),
                candidate_values(p)
            ),
        ));
    }
    rows.push(("output", op.output.name().to_owned()));
    rows.push(("weight", weight_text(op)));
    rows.push((
        "commutative",
        if op.commutative { "yes" } else { "no" }.to_owned(),
    ));
    let roles = dataset_roles(op);
    if !roles.is_empty() {
        let optional = if roles.contains(&"group") {
            "; `group` is optional"
        } else {
            ""
        };
        rows.push((
            "dataset",
            format!(
                "{} (columns named in the `dataset` block{optional})",
                roles.join(", ")
            ),
        ));
    }
    rows.push(("sql", op.template.value.text.clone()));
    for (key, value) in rows {
        out.push_str(&format!("  {key:<13}{value}\n"));
    }
    out
}

/// Everything about one operation as one JSON object, for scripts.
fn json(module: &StdModule, op: &OperationSpec) -> serde_json::Value {
    let value = |v: &ParamValue| match v {
        ParamValue::Int(i) => serde_json::json!(i),
        ParamValue::Float(f) => serde_json::json!(f),
        ParamValue::String(s) => serde_json::json!(s),
        ParamValue::Bool(b) => serde_json::json!(b),
    };
    serde_json::json!({
        "name": op.name.value,
        "module": module.name,
        "doc": op.doc,
        "inputs": op.inputs.iter().map(|i| serde_json::json!({
            "name": i.name.value,
            "type": i.ty.name(),
        })).collect::<Vec<_>>(),
        "parameters": op.params.iter().map(|p| serde_json::json!({
            "name": p.name.value,
            "type": p.ty.name(),
            "candidates": p.values.iter().map(|v| value(&v.value)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "output": op.output.name(),
        "weight": op.weight,
        "commutative": op.commutative,
        "dataset": dataset_roles(op),
        "sql": op.template.value.text,
    })
}

/// Display width in characters (the library's text is single-width).
fn width(text: &str) -> usize {
    text.chars().count()
}

fn pad(text: &str, to: usize) -> String {
    " ".repeat(to.saturating_sub(width(text)))
}
