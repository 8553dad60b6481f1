//! Operation templates: one SQL expression with `{placeholder}`s for inputs, parameters
//! and context columns, checked with the same SQL parser DataFusion uses.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, visit_expressions};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// Placeholders every template may use without declaring them: the columns named in the
/// pipeline's `dataset` block (`time`, `group`, `target` — the target as a number), `row`,
/// the stable row number that breaks ties in orderings (`ORDER BY {time}, {row}`), and
/// `fold`, the row's cross-validation fold, which a template reading `{target}` must use to
/// leave the row's own fold out.
pub const CONTEXT_PLACEHOLDERS: [&str; 5] = ["time", "group", "target", "row", "fold"];

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// SQL text, copied as is (with `{{`/`}}` already unescaped).
    Text(String),
    /// `{name}`, with the byte range of the whole placeholder in the template text.
    Placeholder {
        /// The name between the braces.
        name: String,
        /// Byte offset of `{` in the template.
        offset: usize,
        /// Byte length including the braces.
        len: usize,
    },
}

/// A SQL expression template, split into text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTemplate {
    /// The template as written.
    pub text: String,
    /// The template split at its placeholders.
    pub segments: Vec<Segment>,
}

/// Why a template was rejected, with a byte range inside the template when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// What is wrong.
    pub message: String,
    /// Where in the template text, if it can be narrowed down.
    pub range: Option<(usize, usize)>,
    /// How to fix it.
    pub help: String,
}

impl SqlTemplate {
    /// Splits `text` into text and placeholders; fails on an unclosed `{` or a bad name.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    literal.push('{');
                    i += 2;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    literal.push('}');
                    i += 2;
                }
                b'{' => {
                    let Some(close) = text[i..].find('}') else {
                        return Err(TemplateError {
                            message: "unclosed `{` in the template".to_owned(),
                            range: Some((i, 1)),
                            help:
                                "close the placeholder with `}`, or write `{{` for a literal brace"
                                    .to_owned(),
                        });
                    };
                    let name = &text[i + 1..i + close];
                    if !is_placeholder_name(name) {
                        return Err(TemplateError {
                            message: format!("`{{{name}}}` is not a valid placeholder"),
                            range: Some((i, close + 1)),
                            help: "placeholder names are lower-case letters, digits and `_`, \
                                   starting with a letter; write `{{` for a literal brace"
                                .to_owned(),
                        });
                    }
                    if !literal.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Placeholder {
                        name: name.to_owned(),
                        offset: i,
                        len: close + 1,
                    });
                    i += close + 1;
                }
                b'}' => {
                    return Err(TemplateError {
                        message: "unmatched `}` in the template".to_owned(),
                        range: Some((i, 1)),
                        help: "write `}}` for a literal brace".to_owned(),
                    });
                }
                _ => {
                    let next = text[i..].find(['{', '}']).map_or(text.len(), |n| i + n);
                    literal.push_str(&text[i..next]);
                    i = next;
                }
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Text(literal));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// Placeholder names in order of first use, each once.
    pub fn placeholder_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for segment in &self.segments {
            if let Segment::Placeholder { name, .. } = segment
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// Fills every placeholder with `fill(name)` and joins the pieces.
    pub fn render(&self, mut fill: impl FnMut(&str) -> String) -> String {
        let mut out = String::with_capacity(self.text.len());
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => out.push_str(t),
                Segment::Placeholder { name, .. } => out.push_str(&fill(name)),
            }
        }
        out
    }

    /// Whether the template calls a window function (`… OVER (…)`). SQL cannot nest window
    /// calls, so a windowed operation cannot take another windowed feature as input.
    pub fn is_windowed(&self) -> bool {
        let sql = self.render(|name| format!("\"__{name}\""));
        let dialect = GenericDialect {};
        let Ok(expr) = Parser::new(&dialect)
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_expr())
        else {
            return false;
        };
        visit_expressions(&expr, |e| match e {
            Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    }

    /// Checks the template is exactly one SQL expression without subqueries, with every
    /// placeholder standing for a column.
    pub fn validate_sql(&self) -> Result<(), TemplateError> {
        let sql = self.render(|name| format!("\"__{name}\""));
        let fail = |message: String, help: &str| TemplateError {
            message,
            range: None,
            help: help.to_owned(),
        };
        let first_word = sql
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| !w.is_empty())
            .unwrap_or_default()
            .to_ascii_uppercase();
        if STATEMENT_KEYWORDS.contains(&first_word.as_str())
            && sql
                .trim_start()
                .to_ascii_uppercase()
                .starts_with(&first_word)
        {
            return Err(fail(
                format!("the template is a SQL statement ({first_word}), not an expression"),
                EXPRESSION_HELP,
            ));
        }
        let dialect = GenericDialect {};
        let mut parser = Parser::new(&dialect).try_with_sql(&sql).map_err(|e| {
            fail(
                format!("the template is not valid SQL: {e}"),
                EXPRESSION_HELP,
            )
        })?;
        let expr = parser.parse_expr().map_err(|e| {
            fail(
                format!("the template is not a SQL expression: {e}"),
                EXPRESSION_HELP,
            )
        })?;
        let next = parser.peek_token();
        if next.token != Token::EOF {
            let message = if next.token == Token::SemiColon {
                "the template contains `;`: it must be a single expression".to_owned()
            } else {
                format!(
                    "the template continues after one expression, at `{}`",
                    next.token
                )
            };
            return Err(fail(message, EXPRESSION_HELP));
        }
        let found = visit_expressions(&expr, |e| match e {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                ControlFlow::Break("a subquery")
            }
            _ => ControlFlow::Continue(()),
        });
        if let ControlFlow::Break(what) = found {
            return Err(fail(
                format!("the template contains {what}"),
                "a template computes one value per row from its inputs; use window functions \
                 (`… OVER (PARTITION BY …)`) instead of subqueries",
            ));
        }
        Ok(())
    }
}

/// Words that start a statement and never an expression.
const STATEMENT_KEYWORDS: [&str; 16] = [
    "ALTER", "ATTACH", "COPY", "CREATE", "DELETE", "DROP", "EXPLAIN", "GRANT", "INSERT", "MERGE",
    "PRAGMA", "SELECT", "SET", "TRUNCATE", "UPDATE", "WITH",
];

const EXPRESSION_HELP: &str = "a template is one SQL expression such as `ln(1 + abs({x}))`; \
                               statements (SELECT, DROP, …) and `;` are not allowed";

/// Whether `name` may appear between braces: lower-case letters, digits and `_`, starting
/// with a letter.
pub fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_placeholders() {
        let t = SqlTemplate::parse("ln({x} + {{1}}) * {x}").expect("valid");
        assert_eq!(t.placeholder_names(), vec!["x"]);
        assert_eq!(t.render(|n| format!("<{n}>")), "ln(<x> + {1}) * <x>");
    }

    #[test]
    fn accepts_window_expressions() {
        let t = SqlTemplate::parse("lag({x}, {n}) OVER (PARTITION BY {group} ORDER BY {time})")
            .expect("valid");
        assert_eq!(t.validate_sql(), Ok(()));
    }

    #[test]
    fn window_calls_are_recognised() {
        let windowed = SqlTemplate::parse("{x} - avg({x}) OVER (PARTITION BY {g})").expect("valid");
        let plain = SqlTemplate::parse("ln(1 + abs({x}))").expect("valid");
        assert!(windowed.is_windowed());
        assert!(!plain.is_windowed());
    }

    #[test]
    fn rejects_statements_and_subqueries() {
        for sql in [
            "{x}; DROP TABLE t",
            "SELECT {x}",
            "(SELECT max({x}) FROM t)",
            "{x} IN (SELECT 1)",
            "EXISTS (SELECT 1)",
            "CREATE TABLE t (a INT)",
            "COPY (SELECT {x}) TO '/tmp/leak.csv'",
            "{x} + (SELECT count(*) FROM read_parquet('/etc/passwd'))",
            "{x} {x}",
        ] {
            let t = SqlTemplate::parse(sql).expect("placeholders are fine");
            assert!(t.validate_sql().is_err(), "accepted `{sql}`");
        }
    }

    #[test]
    fn rejects_malformed_placeholders() {
        assert!(SqlTemplate::parse("ln({x)").is_err());
        assert!(SqlTemplate::parse("ln({X})").is_err());
        assert!(SqlTemplate::parse("ln(x})").is_err());
    }
}
