//! A KDL document as a plain tree whose every name and value knows where it was written,
//! in which text. Parsing KDL yields this tree; `-S` overrides edit it; lowering reads it.

use kdl::{KdlDocument, KdlNode, KdlValue};

use crate::diagnostic::{Diagnostics, ErrorKind, SpecDiagnostic};
use crate::source::{Loc, SourceId, Sources};

/// A KDL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string (quoted, raw or a bare identifier).
    String(String),
    /// An integer.
    Integer(i128),
    /// A float.
    Float(f64),
    /// `#true` / `#false`.
    Bool(bool),
    /// `#null`.
    Null,
}

impl Scalar {
    /// The name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "a string",
            Self::Integer(_) => "an integer",
            Self::Float(_) => "a float",
            Self::Bool(_) => "a boolean",
            Self::Null => "#null",
        }
    }

    fn from_kdl(value: &KdlValue) -> Self {
        match value {
            KdlValue::String(s) => Self::String(s.clone()),
            KdlValue::Integer(i) => Self::Integer(*i),
            KdlValue::Float(f) => Self::Float(*f),
            KdlValue::Bool(b) => Self::Bool(*b),
            KdlValue::Null => Self::Null,
        }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The value.
    pub scalar: Scalar,
    /// Its location.
    pub loc: Loc,
}

/// A name (of a node or a property) and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The name.
    pub text: String,
    /// Its location.
    pub loc: Loc,
}

/// `key=value` on a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// The key.
    pub key: Name,
    /// The value.
    pub value: Value,
}

/// One node: `name arg… key=value… { children }`.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node name.
    pub name: Name,
    /// Positional arguments, in order.
    pub args: Vec<Value>,
    /// Properties, in order; a later duplicate key wins, as KDL specifies.
    pub props: Vec<Prop>,
    /// Child nodes, when the node has a `{ }` block.
    pub children: Option<Vec<Node>>,
    /// The whole node.
    pub loc: Loc,
}

impl Node {
    /// The children, or none.
    pub fn children(&self) -> &[Node] {
        self.children.as_deref().unwrap_or(&[])
    }

    /// The last property called `key`.
    pub fn prop(&self, key: &str) -> Option<&Prop> {
        self.props.iter().rev().find(|p| p.key.text == key)
    }

    /// Child nodes called `name`.
    pub fn children_named<'a, 'b>(&'a self, name: &'b str) -> impl Iterator<Item = &'a Node> + 'b
    where
        'a: 'b,
    {
        self.children().iter().filter(move |c| c.name.text == name)
    }
}

/// Parses KDL text into the located tree, turning KDL syntax errors into diagnostics.
pub fn parse_kdl(sources: &Sources, source: SourceId) -> Result<Vec<Node>, Diagnostics> {
    let text = &sources.get(source).text;
    match text.parse::<KdlDocument>() {
        Ok(doc) => Ok(convert_document(&doc, source)),
        Err(err) => Err(syntax_diagnostics(sources, source, &err)),
    }
}

fn syntax_diagnostics(sources: &Sources, source: SourceId, err: &kdl::KdlError) -> Diagnostics {
    let mut items: Vec<SpecDiagnostic> = err
        .diagnostics
        .iter()
        .map(|d| {
            let message = d
                .message
                .clone()
                .unwrap_or_else(|| "invalid KDL".to_owned());
            let diagnostic = SpecDiagnostic::new(
                sources,
                ErrorKind::Syntax,
                Loc::new(source, d.span),
                format!("KDL syntax error: {message}"),
                d.label.clone().unwrap_or_else(|| "here".to_owned()),
            );
            let help = d.help.clone().unwrap_or_else(|| {
                "see docs/language.md for the syntax; strings are quoted, booleans are #true/#false"
                    .to_owned()
            });
            diagnostic.with_help(help)
        })
        .collect();
    if items.is_empty() {
        items.push(
            SpecDiagnostic::new(
                sources,
                ErrorKind::Syntax,
                Loc::new(source, (0, 0)),
                "KDL syntax error",
                "the document does not parse",
            )
            .with_help("see docs/language.md for the syntax"),
        );
    }
    Diagnostics { items }
}

fn convert_document(doc: &KdlDocument, source: SourceId) -> Vec<Node> {
    doc.nodes()
        .iter()
        .map(|n| convert_node(n, source))
        .collect()
}

fn convert_node(node: &KdlNode, source: SourceId) -> Node {
    let mut args = Vec::new();
    let mut props = Vec::new();
    for entry in node.entries() {
        // An entry's span covers `key=value`; the value is the text after `=`.
        let value_span = match entry.name() {
            Some(name) => {
                let end = entry.span().offset() + entry.span().len();
                let name_end = name.span().offset() + name.span().len() + 1;
                (name_end, end.saturating_sub(name_end)).into()
            }
            None => entry.span(),
        };
        let value = Value {
            scalar: Scalar::from_kdl(entry.value()),
            loc: Loc::new(source, value_span),
        };
        match entry.name() {
            Some(name) => props.push(Prop {
                key: Name {
                    text: name.value().to_owned(),
                    loc: Loc::new(source, name.span()),
                },
                value,
            }),
            None => args.push(value),
        }
    }
    Node {
        name: Name {
            text: node.name().value().to_owned(),
            loc: Loc::new(source, node.name().span()),
        },
        args,
        props,
        children: node.children().map(|d| convert_document(d, source)),
        loc: Loc::new(source, node.span()),
    }
}
