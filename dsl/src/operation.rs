//! `op` nodes: feature operations with typed inputs and parameters and a SQL template.

use crate::diagnostic::{ErrorKind, SpecDiagnostic};
use crate::reader::Reader;
use crate::source::{Loc, Spanned};
use crate::template::{CONTEXT_PLACEHOLDERS, Segment, SqlTemplate, TemplateError};
use crate::tree::{Node, Scalar, Value};

/// The type of a feature value, which decides what an operation may be applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueType {
    /// Integers and floats.
    Numeric,
    /// Strings or integers that name a category.
    Categorical,
    /// True/false.
    Boolean,
    /// Dates and timestamps.
    Temporal,
    /// Free text.
    Text,
    /// Any of the above (inputs only).
    Any,
}

impl ValueType {
    /// The name used in KDL.
    pub fn name(self) -> &'static str {
        match self {
            Self::Numeric => "numeric",
            Self::Categorical => "categorical",
            Self::Boolean => "boolean",
            Self::Temporal => "temporal",
            Self::Text => "text",
            Self::Any => "any",
        }
    }

    const INPUT_CHOICES: [(&'static str, Self); 6] = [
        ("numeric", Self::Numeric),
        ("categorical", Self::Categorical),
        ("boolean", Self::Boolean),
        ("temporal", Self::Temporal),
        ("text", Self::Text),
        ("any", Self::Any),
    ];
}

/// The type of an operation parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
    /// A string, rendered as a SQL string literal.
    String,
    /// A boolean, rendered as `TRUE`/`FALSE`.
    Bool,
}

impl ParamType {
    /// The name used in KDL.
    pub fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::String => "string",
            Self::Bool => "bool",
        }
    }
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x:?}"),
            Self::String(s) => write!(f, "{s:?}"),
            Self::Bool(b) => write!(f, "#{b}"),
        }
    }
}

/// A named, typed input of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// The placeholder name.
    pub name: Spanned<String>,
    /// What the input may be bound to.
    pub ty: ValueType,
}

/// A parameter: its type and the values the search may try (the first is the default).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// The placeholder name.
    pub name: Spanned<String>,
    /// Its type.
    pub ty: ParamType,
    /// Candidate values, never empty; the first is the default.
    pub values: Vec<Spanned<ParamValue>>,
}

/// A feature operation: a SQL expression template over typed inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationSpec {
    /// The operation name, unique in a pipeline's operation space.
    pub name: Spanned<String>,
    /// One line of documentation.
    pub doc: Option<String>,
    /// A grouping for listings (`numeric`, `temporal`, …).
    pub category: Option<String>,
    /// Inputs, in order.
    pub inputs: Vec<InputSpec>,
    /// Parameters, in order.
    pub params: Vec<ParamSpec>,
    /// The SQL expression template.
    pub template: Spanned<SqlTemplate>,
    /// The type of the value it produces.
    pub output: ValueType,
    /// Prior weight the search gives the operation (> 0).
    pub weight: f64,
    /// Whether swapping the first two inputs gives the same feature.
    pub commutative: bool,
    /// Whether this definition deliberately replaces a standard-library operation.
    pub replaces_std: bool,
    /// The whole `op` node.
    pub loc: Loc,
}

const OP_CHILDREN: [&str; 8] = [
    "doc",
    "category",
    "input",
    "param",
    "sql",
    "output",
    "weight",
    "commutative",
];

/// Reads an `op "name" { … }` node.
pub fn lower_operation(r: &mut Reader<'_>, node: &Node) -> Option<OperationSpec> {
    r.allow_props(node, &["override"]);
    r.allow_children(node, &OP_CHILDREN);
    let name = r.string_arg(node, "op \"name\" { … }");
    if let Some(name) = &name {
        check_op_name(r, name);
    }
    let replaces_std = r
        .prop(node, "override", |r, v| r.bool(v, "override=#true"))
        .is_some_and(|b| b.value);
    if node.children.is_none() {
        r.error(
            ErrorKind::Missing,
            node.name.loc,
            "`op` has no body",
            "an operation needs a `{ … }` block",
            "add `{ input \"x\" type=\"numeric\"; sql \"…\"; output \"numeric\" }`",
        );
        return None;
    }
    let doc = text_child(r, node, "doc");
    let category = text_child(r, node, "category");
    let inputs = node
        .children_named("input")
        .filter_map(|n| lower_input(r, n))
        .collect::<Vec<_>>();
    if inputs.is_empty() {
        r.error(
            ErrorKind::Missing,
            node.name.loc,
            "the operation has no `input`",
            "an operation needs at least one input",
            "add `input \"x\" type=\"numeric\"`",
        );
    }
    let params = node
        .children_named("param")
        .filter_map(|n| lower_param(r, n))
        .collect::<Vec<_>>();
    check_unique_names(r, &inputs, &params);
    let output = r
        .required_child(node, "output", "output \"numeric\"")
        .and_then(|n| {
            let v = r.single_arg(n, "output \"numeric\"")?;
            r.choice(v, &ValueType::INPUT_CHOICES[..5], "output type")
        })
        .map(|s| s.value);
    let weight = r
        .unique_child(node, "weight")
        .and_then(|n| {
            let v = r.single_arg(n, "weight 1.0")?;
            r.float_in(v, |w| w > 0.0, "greater than 0", "weight 1.0")
        })
        .map_or(1.0, |w| w.value);
    let commutative = r
        .unique_child(node, "commutative")
        .and_then(|n| {
            let v = r.single_arg(n, "commutative #true")?;
            r.bool(v, "commutative #true")
        })
        .is_some_and(|b| b.value);
    let template = r
        .required_child(node, "sql", "sql \"ln(1 + {x})\"")
        .and_then(|n| lower_template(r, n, &inputs, &params));
    Some(OperationSpec {
        name: name?,
        doc,
        category,
        inputs,
        params,
        template: template?,
        output: output?,
        weight,
        commutative,
        replaces_std,
        loc: node.loc,
    })
}

fn check_op_name(r: &mut Reader<'_>, name: &Spanned<String>) {
    let ok = name
        .value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        r.error(
            ErrorKind::InvalidValue,
            name.loc,
            format!("`{}` is not a valid operation name", name.value),
            "invalid name",
            "operation names are lower-case letters, digits, `-` and `_`, starting with a letter",
        );
    }
}

fn text_child(r: &mut Reader<'_>, node: &Node, name: &str) -> Option<String> {
    let child = r.unique_child(node, name)?;
    r.allow_props(child, &[]);
    r.allow_children(child, &[]);
    r.string_arg(child, &format!("{name} \"…\""))
        .map(|s| s.value)
}

fn lower_input(r: &mut Reader<'_>, node: &Node) -> Option<InputSpec> {
    r.allow_props(node, &["type"]);
    r.allow_children(node, &[]);
    let example = "input \"x\" type=\"numeric\"";
    let name = r.string_arg(node, example);
    let ty = match node.prop("type") {
        Some(p) => r
            .choice(&p.value, &ValueType::INPUT_CHOICES, "input type")
            .map(|s| s.value),
        None => {
            r.error(
                ErrorKind::Missing,
                node.name.loc,
                "the input has no `type`",
                "say what this input accepts",
                format!(
                    "write `{example}`; types: numeric, categorical, boolean, temporal, text, any"
                ),
            );
            None
        }
    };
    Some(InputSpec {
        name: name?,
        ty: ty?,
    })
}

fn lower_param(r: &mut Reader<'_>, node: &Node) -> Option<ParamSpec> {
    r.allow_props(node, &["type"]);
    r.allow_children(node, &[]);
    let example = "param \"n\" type=\"int\" 1 7 28";
    let Some((name_value, values)) = node.args.split_first() else {
        r.error(
            ErrorKind::Missing,
            node.name.loc,
            "the parameter has no name",
            "name and values missing",
            format!("write `{example}` (the first value is the default)"),
        );
        return None;
    };
    let name = r.string(name_value, example)?;
    let ty = match node.prop("type") {
        Some(p) => r.choice(
            &p.value,
            &[
                ("int", ParamType::Int),
                ("float", ParamType::Float),
                ("string", ParamType::String),
                ("bool", ParamType::Bool),
            ],
            "parameter type",
        )?,
        None => {
            r.error(
                ErrorKind::Missing,
                node.name.loc,
                format!("the parameter `{}` has no `type`", name.value),
                "say what type this parameter is",
                format!("write `{example}`; types: int, float, string, bool"),
            );
            return None;
        }
    };
    if values.is_empty() {
        r.error(
            ErrorKind::Missing,
            name.loc,
            format!("the parameter `{}` has no value", name.value),
            "no default value",
            format!("write `{example}` (the first value is the default)"),
        );
        return None;
    }
    let values = values
        .iter()
        .map(|v| param_value(r, v, ty.value))
        .collect::<Option<Vec<_>>>()?;
    Some(ParamSpec {
        name,
        ty: ty.value,
        values,
    })
}

/// Reads one value of a parameter of type `ty`.
pub fn param_value(r: &mut Reader<'_>, v: &Value, ty: ParamType) -> Option<Spanned<ParamValue>> {
    let value = match (ty, &v.scalar) {
        (ParamType::Int, Scalar::Integer(_)) => {
            let i = r.integer(v, i128::from(i64::MIN), i128::from(i64::MAX), "7")?;
            ParamValue::Int(i64::try_from(i.value).expect("range checked"))
        }
        (ParamType::Float, Scalar::Float(_) | Scalar::Integer(_)) => {
            ParamValue::Float(r.float_in(v, |_| true, "finite", "0.5")?.value)
        }
        (ParamType::String, Scalar::String(s)) => ParamValue::String(s.clone()),
        (ParamType::Bool, Scalar::Bool(b)) => ParamValue::Bool(*b),
        (ty, found) => {
            r.error(
                ErrorKind::WrongType,
                v.loc,
                format!(
                    "expected a value of type {}, found {}",
                    ty.name(),
                    found.type_name()
                ),
                format!("not a {} value", ty.name()),
                "every value of a parameter has the parameter's type",
            );
            return None;
        }
    };
    Some(Spanned::new(value, v.loc))
}

fn check_unique_names(r: &mut Reader<'_>, inputs: &[InputSpec], params: &[ParamSpec]) {
    let names = inputs
        .iter()
        .map(|i| &i.name)
        .chain(params.iter().map(|p| &p.name));
    let mut seen: Vec<&Spanned<String>> = Vec::new();
    for name in names {
        if !crate::template::is_placeholder_name(&name.value) {
            r.error(
                ErrorKind::InvalidValue,
                name.loc,
                format!("`{}` cannot be used as a placeholder name", name.value),
                "invalid name",
                "input and parameter names are lower-case letters, digits and `_`, starting with a letter",
            );
        }
        if CONTEXT_PLACEHOLDERS.contains(&name.value.as_str()) {
            r.error(
                ErrorKind::InvalidValue,
                name.loc,
                format!(
                    "`{}` is reserved for the dataset's column of that role",
                    name.value
                ),
                "reserved name",
                format!(
                    "rename it; `{{{}}}` can be used in the template without declaring it",
                    name.value
                ),
            );
        }
        if let Some(first) = seen.iter().find(|s| s.value == name.value) {
            let d = SpecDiagnostic::new(
                r.sources,
                ErrorKind::Duplicate,
                name.loc,
                format!("`{}` is declared twice in this operation", name.value),
                "declared again here",
            )
            .with_note(first.loc, "first declared here")
            .with_help("give each input and parameter its own name");
            r.report(d);
        } else {
            seen.push(name);
        }
    }
}

fn lower_template(
    r: &mut Reader<'_>,
    node: &Node,
    inputs: &[InputSpec],
    params: &[ParamSpec],
) -> Option<Spanned<SqlTemplate>> {
    r.allow_props(node, &[]);
    r.allow_children(node, &[]);
    let text = r.string_arg(node, "sql \"ln(1 + {x})\"")?;
    let template = match SqlTemplate::parse(&text.value) {
        Ok(t) => t,
        Err(e) => {
            report_template_error(r, &text, &e);
            return None;
        }
    };
    let mut ok = true;
    for segment in &template.segments {
        if let Segment::Placeholder { name, offset, len } = segment {
            let declared = inputs.iter().any(|i| i.name.value == *name)
                || params.iter().any(|p| p.name.value == *name)
                || CONTEXT_PLACEHOLDERS.contains(&name.as_str());
            if !declared {
                ok = false;
                let mut known: Vec<&str> = inputs.iter().map(|i| i.name.value.as_str()).collect();
                known.extend(params.iter().map(|p| p.name.value.as_str()));
                known.extend(CONTEXT_PLACEHOLDERS);
                r.error(
                    ErrorKind::UndeclaredPlaceholder,
                    inner_loc(r, &text, *offset, *len),
                    format!("the template uses `{{{name}}}`, which is not declared"),
                    "not an input, parameter or context column",
                    format!(
                        "declare it with `input \"{name}\" type=\"numeric\"` or `param \"{name}\" …`; {}",
                        crate::diagnostic::did_you_mean_help(name, &known, "known placeholders")
                    ),
                );
            }
        }
    }
    let used = template.placeholder_names();
    let declared = inputs
        .iter()
        .map(|i| (&i.name, "input"))
        .chain(params.iter().map(|p| (&p.name, "parameter")));
    for (name, what) in declared {
        if !used.contains(&name.value.as_str()) {
            ok = false;
            r.error(
                ErrorKind::UnusedPlaceholder,
                name.loc,
                format!("the {what} `{}` is never used in the template", name.value),
                "declared but unused",
                format!("use `{{{}}}` in `sql`, or remove the {what}", name.value),
            );
        }
    }
    if used.contains(&"target") && !used.contains(&"fold") {
        ok = false;
        r.error(
            ErrorKind::InvalidTemplate,
            text.loc,
            "the template reads `{target}` without `{fold}`, so a row's feature could use its own target",
            "target leak",
            "compute it out of fold, for example `(sum({target}) OVER (PARTITION BY {c}) - sum({target}) \
             OVER (PARTITION BY {c}, {fold})) / NULLIF(count(*) OVER (PARTITION BY {c}) - count(*) \
             OVER (PARTITION BY {c}, {fold}), 0)`",
        );
    }
    if let Err(e) = template.validate_sql() {
        report_template_error(r, &text, &e);
        return None;
    }
    ok.then(|| Spanned::new(template, text.loc))
}

fn report_template_error(r: &mut Reader<'_>, text: &Spanned<String>, e: &TemplateError) {
    let loc = match e.range {
        Some((offset, len)) => inner_loc(r, text, offset, len),
        None => text.loc,
    };
    r.error(
        ErrorKind::InvalidTemplate,
        loc,
        e.message.clone(),
        "invalid template",
        e.help.clone(),
    );
}

/// The location of bytes `offset..offset+len` of a string value, when the string was
/// written without escapes (so text offsets equal source offsets); else the whole value.
fn inner_loc(r: &Reader<'_>, text: &Spanned<String>, offset: usize, len: usize) -> Loc {
    let source = &r.sources.get(text.loc.source).text;
    let start = text.loc.span.offset();
    let Some(written) = source.get(start..start + text.loc.span.len()) else {
        return text.loc;
    };
    let hashes = written.bytes().take_while(|b| *b == b'#').count();
    let open = hashes + 1;
    let body = written
        .get(open..written.len().saturating_sub(open))
        .unwrap_or_default();
    if body == text.value {
        Loc::new(text.loc.source, (start + open + offset, len))
    } else {
        text.loc
    }
}
