//! `-S path=value` overrides: edits of the located tree, made before lowering so an
//! overridden value is validated exactly like one written in the file, and diagnostics
//! point at the override.

use kdl::KdlDocument;

use crate::diagnostic::{ErrorKind, SpecDiagnostic};
use crate::source::{Loc, SourceId, Sources};
use crate::tree::{Name, Node, Prop, Scalar, Value};

/// Nodes whose children are settings: a path ending below one of them names a child node.
const BLOCKS: [&str; 6] = [
    "pipeline",
    "dataset",
    "space",
    "evaluator",
    "search",
    "output",
];

/// One parsed override: the path segments and the value, all located in its own source.
#[derive(Debug, Clone)]
struct Override {
    path: Vec<Name>,
    value: Value,
}

/// Registers each override text as a source and applies it to the `pipeline` node of
/// `doc`. Returns the problems with malformed or ambiguous overrides.
pub fn apply_overrides(
    sources: &mut Sources,
    doc: &mut [Node],
    overrides: &[String],
) -> Vec<SpecDiagnostic> {
    let mut problems = Vec::new();
    for text in overrides {
        let id = sources.add(format!("-S {text}"), text.as_str());
        match parse_override(sources, id, text) {
            Ok(o) => {
                if let Some(pipeline) = doc.iter_mut().find(|n| n.name.text == "pipeline")
                    && let Err(d) = apply(sources, pipeline, &o)
                {
                    problems.push(d);
                }
            }
            Err(d) => problems.push(d),
        }
    }
    problems
}

#[allow(clippy::result_large_err, reason = "cold path, once per override")]
fn parse_override(sources: &Sources, id: SourceId, text: &str) -> Result<Override, SpecDiagnostic> {
    let whole = Loc::new(id, (0, text.len()));
    let Some(eq) = text.find('=') else {
        return Err(SpecDiagnostic::new(
            sources,
            ErrorKind::InvalidOverride,
            whole,
            "an override is `path=value`",
            "no `=` here",
        )
        .with_help("for example `-S search.iterations=500` or `-S evaluator.model.trees=200`"));
    };
    let mut path = Vec::new();
    let mut offset = 0;
    for segment in text[..eq].split('.') {
        if segment.is_empty() {
            return Err(SpecDiagnostic::new(
                sources,
                ErrorKind::InvalidOverride,
                Loc::new(id, (0, eq)),
                "the override path has an empty segment",
                "path",
            )
            .with_help("separate names with single dots: `search.iterations`"));
        }
        path.push(Name {
            text: segment.to_owned(),
            loc: Loc::new(id, (offset, segment.len())),
        });
        offset += segment.len() + 1;
    }
    let raw = &text[eq + 1..];
    Ok(Override {
        path,
        value: Value {
            scalar: parse_value(raw),
            loc: Loc::new(id, (eq + 1, raw.len())),
        },
    })
}

/// A KDL value when the text is one (`200`, `1.5`, `#true`, `"x"`), `true`/`false` as
/// booleans, and anything else as a string, so `-S search.time-limit=15m` just works.
fn parse_value(raw: &str) -> Scalar {
    match raw {
        "true" => return Scalar::Bool(true),
        "false" => return Scalar::Bool(false),
        _ => {}
    }
    // Only numbers, `#` keywords and quoted strings go through the KDL parser: a bare
    // `s3://b/k` would otherwise lose everything after `//`, which KDL reads as a comment.
    let kdl_like =
        raw.starts_with(['"', '#', '-', '+', '.']) || raw.starts_with(|c: char| c.is_ascii_digit());
    if !kdl_like {
        return Scalar::String(raw.to_owned());
    }
    let parsed = format!("v {raw}")
        .parse::<KdlDocument>()
        .ok()
        .and_then(|doc| {
            let node = doc.nodes().first()?;
            match node.entries() {
                [entry] if entry.name().is_none() && doc.nodes().len() == 1 => {
                    Some(entry.value().clone())
                }
                _ => None,
            }
        });
    match parsed {
        Some(kdl::KdlValue::Integer(i)) => Scalar::Integer(i),
        Some(kdl::KdlValue::Float(f)) => Scalar::Float(f),
        Some(kdl::KdlValue::Bool(b)) => Scalar::Bool(b),
        Some(kdl::KdlValue::Null) => Scalar::Null,
        Some(kdl::KdlValue::String(s)) => Scalar::String(s),
        None => Scalar::String(raw.to_owned()),
    }
}

#[allow(clippy::result_large_err, reason = "cold path, once per override")]
fn apply(sources: &Sources, pipeline: &mut Node, o: &Override) -> Result<(), SpecDiagnostic> {
    let (last, parents) = o.path.split_last().expect("at least one segment");
    let mut node = pipeline;
    for segment in parents {
        let matches = node
            .children()
            .iter()
            .filter(|c| c.name.text == segment.text)
            .count();
        if matches > 1 {
            return Err(SpecDiagnostic::new(
                sources,
                ErrorKind::InvalidOverride,
                segment.loc,
                format!(
                    "`{}` appears {matches} times, so the override is ambiguous",
                    segment.text
                ),
                "ambiguous",
            )
            .with_help("edit the pipeline file for settings that repeat"));
        }
        let children = node.children.get_or_insert_with(Vec::new);
        let index = match children.iter().position(|c| c.name.text == segment.text) {
            Some(i) => i,
            None if !BLOCKS.contains(&segment.text.as_str()) => {
                return Err(SpecDiagnostic::new(
                    sources,
                    ErrorKind::InvalidOverride,
                    segment.loc,
                    format!("the pipeline has no `{}` to change", segment.text),
                    "not in the pipeline",
                )
                .with_help(format!(
                    "set `{}` itself first (for example `-S {}=…`), or add it to the file",
                    segment.text,
                    o.path
                        .iter()
                        .take_while(|s| s.loc != segment.loc)
                        .chain(std::iter::once(segment))
                        .map(|s| s.text.as_str())
                        .collect::<Vec<_>>()
                        .join(".")
                )));
            }
            None => {
                children.push(Node {
                    name: segment.clone(),
                    args: Vec::new(),
                    props: Vec::new(),
                    children: None,
                    loc: segment.loc,
                });
                children.len() - 1
            }
        };
        node = &mut children[index];
    }
    let repeated = node
        .children()
        .iter()
        .filter(|c| c.name.text == last.text)
        .count();
    if repeated > 1 {
        return Err(SpecDiagnostic::new(
            sources,
            ErrorKind::InvalidOverride,
            last.loc,
            format!(
                "`{}` appears {repeated} times, so the override is ambiguous",
                last.text
            ),
            "ambiguous",
        )
        .with_help("edit the pipeline file for settings that repeat"));
    }
    if let Some(child) = node
        .children
        .as_mut()
        .and_then(|c| c.iter_mut().find(|c| c.name.text == last.text))
    {
        child.args = vec![o.value.clone()];
    } else if let Some(prop) = node.props.iter_mut().find(|p| p.key.text == last.text) {
        prop.value = o.value.clone();
    } else if BLOCKS.contains(&node.name.text.as_str()) {
        node.children.get_or_insert_with(Vec::new).push(Node {
            name: last.clone(),
            args: vec![o.value.clone()],
            props: Vec::new(),
            children: None,
            loc: last.loc,
        });
    } else {
        node.props.push(Prop {
            key: last.clone(),
            value: o.value.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_like_kdl_with_friendly_fallbacks() {
        assert_eq!(parse_value("200"), Scalar::Integer(200));
        assert_eq!(parse_value("1.5"), Scalar::Float(1.5));
        assert_eq!(parse_value("#false"), Scalar::Bool(false));
        assert_eq!(parse_value("true"), Scalar::Bool(true));
        assert_eq!(parse_value("15m"), Scalar::String("15m".into()));
        assert_eq!(parse_value("\"a b\""), Scalar::String("a b".into()));
        assert_eq!(
            parse_value("gradient-boosting"),
            Scalar::String("gradient-boosting".into())
        );
        assert_eq!(parse_value("s3://b/k"), Scalar::String("s3://b/k".into()));
    }
}
