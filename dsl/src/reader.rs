//! Reading typed settings out of the located tree, collecting every problem on the way.
//!
//! Lowering functions ask for what they expect ("one string argument", "these
//! properties") and get `None` when it is not there; the reason is recorded as a
//! diagnostic, so one pass reports every mistake in the file.

use crate::diagnostic::{Diagnostics, ErrorKind, SpecDiagnostic, did_you_mean_help};
use crate::source::{Loc, Sources, Spanned};
use crate::tree::{Node, Scalar, Value};

/// The lowering context: the texts being read and the problems found so far.
pub struct Reader<'s> {
    /// The texts, to render diagnostics.
    pub sources: &'s Sources,
    errors: Vec<SpecDiagnostic>,
}

impl<'s> Reader<'s> {
    /// A reader with no problems recorded yet.
    pub fn new(sources: &'s Sources) -> Self {
        Self {
            sources,
            errors: Vec::new(),
        }
    }

    /// Records a problem.
    pub fn report(&mut self, diagnostic: SpecDiagnostic) {
        self.errors.push(diagnostic);
    }

    /// Records a problem built from its parts.
    pub fn error(
        &mut self,
        kind: ErrorKind,
        loc: Loc,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        let d = SpecDiagnostic::new(self.sources, kind, loc, message, label).with_help(help);
        self.report(d);
    }

    /// Whether any problem has been recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `Ok(value)` when nothing went wrong, else every problem, ordered by position.
    pub fn finish<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.errors.is_empty() {
            return Ok(value);
        }
        let mut items = self.errors;
        items.sort_by_key(|d| (d.loc.source, d.loc.span.offset()));
        Err(Diagnostics { items })
    }

    /// Moves problems found elsewhere into this reader.
    pub fn absorb(&mut self, diagnostics: Diagnostics) {
        self.errors.extend(diagnostics.items);
    }

    /// Reports properties of `node` that are not in `allowed`.
    pub fn allow_props(&mut self, node: &Node, allowed: &[&str]) {
        for prop in &node.props {
            if !allowed.contains(&prop.key.text.as_str()) {
                let what = format!("`{}` takes", node.name.text);
                let help = if allowed.is_empty() {
                    format!("`{}` takes no properties; remove it", node.name.text)
                } else {
                    did_you_mean_help(&prop.key.text, allowed, &what)
                };
                self.error(
                    ErrorKind::UnknownProperty,
                    prop.key.loc,
                    format!(
                        "unknown property `{}` on `{}`",
                        prop.key.text, node.name.text
                    ),
                    "not a property of this node",
                    help,
                );
            }
        }
    }

    /// Reports child nodes of `node` that are not in `allowed`, and a `{ }` block on a
    /// node that takes none.
    pub fn allow_children(&mut self, node: &Node, allowed: &[&str]) {
        if allowed.is_empty() {
            if node.children.is_some() {
                self.error(
                    ErrorKind::UnknownNode,
                    node.name.loc,
                    format!("`{}` does not take a block", node.name.text),
                    "remove the `{ … }` after this node",
                    format!("write `{}` with its values on one line", node.name.text),
                );
            }
            return;
        }
        for child in node.children() {
            if !allowed.contains(&child.name.text.as_str()) {
                let what = format!("`{}` may contain", node.name.text);
                self.error(
                    ErrorKind::UnknownNode,
                    child.name.loc,
                    format!("unknown node `{}` in `{}`", child.name.text, node.name.text),
                    "not expected here",
                    did_you_mean_help(&child.name.text, allowed, &what),
                );
            }
        }
    }

    /// Reports nodes named `name` after the first among `node`'s children, returning the
    /// first.
    pub fn unique_child<'n>(&mut self, node: &'n Node, name: &str) -> Option<&'n Node> {
        let mut found = node.children_named(name);
        let first = found.next()?;
        for again in found {
            let d = SpecDiagnostic::new(
                self.sources,
                ErrorKind::Duplicate,
                again.name.loc,
                format!("`{name}` is set twice in `{}`", node.name.text),
                "set again here",
            )
            .with_note(first.name.loc, "first set here")
            .with_help(format!("keep one `{name}`"));
            self.report(d);
        }
        Some(first)
    }

    /// The required child `name` of `node`, or a "missing" diagnostic.
    pub fn required_child<'n>(
        &mut self,
        node: &'n Node,
        name: &str,
        example: &str,
    ) -> Option<&'n Node> {
        let child = self.unique_child(node, name);
        if child.is_none() {
            self.error(
                ErrorKind::Missing,
                node.name.loc,
                format!("`{}` has no `{name}`", node.name.text),
                format!("`{name}` is required here"),
                format!("add `{example}` inside `{}`", node.name.text),
            );
        }
        child
    }

    /// Exactly one positional argument of `node`.
    pub fn single_arg<'n>(&mut self, node: &'n Node, example: &str) -> Option<&'n Value> {
        match node.args.as_slice() {
            [one] => Some(one),
            [] => {
                self.error(
                    ErrorKind::Missing,
                    node.name.loc,
                    format!("`{}` needs a value", node.name.text),
                    "no value given",
                    format!("write it as `{example}`"),
                );
                None
            }
            [_, extra @ ..] => {
                let loc = extra[0].loc;
                self.error(
                    ErrorKind::InvalidValue,
                    loc,
                    format!(
                        "`{}` takes one value, found {}",
                        node.name.text,
                        node.args.len()
                    ),
                    "unexpected extra value",
                    format!("write it as `{example}`"),
                );
                Some(&node.args[0])
            }
        }
    }

    /// Reports positional arguments on a node that takes none.
    pub fn no_args(&mut self, node: &Node, example: &str) {
        if let Some(first) = node.args.first() {
            self.error(
                ErrorKind::InvalidValue,
                first.loc,
                format!("`{}` takes no positional values", node.name.text),
                "unexpected value",
                format!("write it as `{example}`"),
            );
        }
    }

    fn wrong_type(&mut self, value: &Value, expected: &str, example: &str) {
        self.error(
            ErrorKind::WrongType,
            value.loc,
            format!("expected {expected}, found {}", value.scalar.type_name()),
            format!("this should be {expected}"),
            format!("for example `{example}`"),
        );
    }

    /// The value as a string.
    pub fn string(&mut self, value: &Value, example: &str) -> Option<Spanned<String>> {
        match &value.scalar {
            Scalar::String(s) => Some(Spanned::new(s.clone(), value.loc)),
            _ => {
                self.wrong_type(value, "a string", example);
                None
            }
        }
    }

    /// The value as a boolean.
    pub fn bool(&mut self, value: &Value, example: &str) -> Option<Spanned<bool>> {
        match &value.scalar {
            Scalar::Bool(b) => Some(Spanned::new(*b, value.loc)),
            Scalar::String(s) if s == "true" || s == "false" => {
                self.error(
                    ErrorKind::WrongType,
                    value.loc,
                    "expected a boolean, found a string",
                    "KDL booleans are written #true and #false",
                    format!("write `#{s}`"),
                );
                None
            }
            _ => {
                self.wrong_type(value, "a boolean", example);
                None
            }
        }
    }

    /// The value as a float (integers are accepted).
    pub fn float(&mut self, value: &Value, example: &str) -> Option<Spanned<f64>> {
        match &value.scalar {
            Scalar::Float(f) => Some(Spanned::new(*f, value.loc)),
            #[allow(clippy::cast_precision_loss)]
            Scalar::Integer(i) => Some(Spanned::new(*i as f64, value.loc)),
            _ => {
                self.wrong_type(value, "a number", example);
                None
            }
        }
    }

    /// The value as an integer in `min..=max`.
    pub fn integer(
        &mut self,
        value: &Value,
        min: i128,
        max: i128,
        example: &str,
    ) -> Option<Spanned<i128>> {
        let i = match &value.scalar {
            Scalar::Integer(i) => *i,
            Scalar::Float(f) if f.fract() == 0.0 && f.is_finite() => {
                self.error(
                    ErrorKind::WrongType,
                    value.loc,
                    "expected an integer, found a float",
                    "write this without a decimal point",
                    format!("for example `{example}`"),
                );
                return None;
            }
            _ => {
                self.wrong_type(value, "an integer", example);
                return None;
            }
        };
        if i < min || i > max {
            // A bound as wide as the integer type is not worth naming unless it was crossed.
            let unbounded = max == i128::from(u64::MAX) || max == i128::from(u32::MAX);
            let range = if unbounded && i < min {
                format!("at least {min}")
            } else if unbounded {
                format!("at most {max}")
            } else {
                format!("between {min} and {max}")
            };
            self.error(
                ErrorKind::OutOfRange,
                value.loc,
                format!("{i} is out of range: must be {range}"),
                "out of range",
                format!("use a value {range}"),
            );
            return None;
        }
        Some(Spanned::new(i, value.loc))
    }

    /// A float that must satisfy `ok`, described by `range` in the message.
    pub fn float_in(
        &mut self,
        value: &Value,
        ok: impl Fn(f64) -> bool,
        range: &str,
        example: &str,
    ) -> Option<Spanned<f64>> {
        let f = self.float(value, example)?;
        if f.value.is_finite() && ok(f.value) {
            Some(f)
        } else {
            self.error(
                ErrorKind::OutOfRange,
                value.loc,
                format!("{} is out of range: must be {range}", f.value),
                "out of range",
                format!("use a value {range}"),
            );
            None
        }
    }

    /// One of a fixed set of names, with a suggestion when it is misspelt.
    pub fn choice<T: Copy>(
        &mut self,
        value: &Value,
        choices: &[(&str, T)],
        what: &str,
    ) -> Option<Spanned<T>> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let s = self.string(value, &format!("\"{}\"", names[0]))?;
        match choices.iter().find(|(n, _)| *n == s.value) {
            Some((_, t)) => Some(Spanned::new(*t, s.loc)),
            None => {
                self.error(
                    ErrorKind::InvalidValue,
                    s.loc,
                    format!("unknown {what} `{}`", s.value),
                    format!("not a known {what}"),
                    did_you_mean_help(&s.value, &names, &format!("known {what}s")),
                );
                None
            }
        }
    }

    /// The single string argument of `node`.
    pub fn string_arg(&mut self, node: &Node, example: &str) -> Option<Spanned<String>> {
        let v = self.single_arg(node, example)?;
        self.string(v, example)
    }

    /// All positional arguments of `node` as strings (at least one).
    pub fn string_args(&mut self, node: &Node, example: &str) -> Vec<Spanned<String>> {
        if node.args.is_empty() {
            self.error(
                ErrorKind::Missing,
                node.name.loc,
                format!("`{}` needs at least one value", node.name.text),
                "no value given",
                format!("write it as `{example}`"),
            );
        }
        node.args
            .iter()
            .filter_map(|v| self.string(v, example))
            .collect()
    }

    /// The property `key` of `node`, read with `read` when present.
    pub fn prop<'n, T>(
        &mut self,
        node: &'n Node,
        key: &str,
        read: impl FnOnce(&mut Self, &'n Value) -> Option<T>,
    ) -> Option<T> {
        let prop = node.prop(key)?;
        read(self, &prop.value)
    }
}
