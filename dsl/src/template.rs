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

    /// Checks the template is exactly one SQL expression without subqueries, of bounded
    /// size, that reads data only through its placeholders (no column named directly) and
    /// calls no function whose value changes from run to run.
    pub fn validate_sql(&self) -> Result<(), TemplateError> {
        let sql = self.render(|name| format!("\"__{name}\""));
        let fail = |message: String, help: &str| TemplateError {
            message,
            range: None,
            help: help.to_owned(),
        };
        if self.text.len() > MAX_TEMPLATE_BYTES {
            return Err(fail(
                format!(
                    "the template is {} bytes long; at most {MAX_TEMPLATE_BYTES} are allowed",
                    self.text.len()
                ),
                SIZE_HELP,
            ));
        }
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
        self.check_reads(&expr)
    }

    /// Checks what the parsed template `expr` reads and calls: only its placeholders (no
    /// column by name), no volatile function, at most [`MAX_TEMPLATE_TERMS`] terms.
    fn check_reads(&self, expr: &Expr) -> Result<(), TemplateError> {
        let names = self.placeholder_names();
        let placeholders = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Placeholder { .. }))
            .count();
        let mut terms = 0usize;
        let mut placeholders_read = 0usize;
        let found = visit_expressions(expr, |e| {
            terms += 1;
            match e {
                Expr::Identifier(ident) => {
                    let rendered = ident.quote_style == Some('"')
                        && ident
                            .value
                            .strip_prefix("__")
                            .is_some_and(|name| names.contains(&name));
                    placeholders_read += usize::from(rendered);
                    if rendered && placeholders_read <= placeholders {
                        ControlFlow::Continue(())
                    } else {
                        ControlFlow::Break(Read::Column(written(ident)))
                    }
                }
                Expr::CompoundIdentifier(parts) => ControlFlow::Break(Read::Column(
                    parts.iter().map(written).collect::<Vec<_>>().join("."),
                )),
                Expr::Function(f) => {
                    let name = f
                        .name
                        .0
                        .last()
                        .map(|part| part.to_string().trim_matches('"').to_ascii_lowercase())
                        .unwrap_or_default();
                    if VOLATILE_FUNCTIONS.contains(&name.as_str()) {
                        ControlFlow::Break(Read::Volatile(name))
                    } else if unbounded_size(&name, &f.args) {
                        ControlFlow::Break(Read::Unbounded(name))
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                _ => ControlFlow::Continue(()),
            }
        });
        match found {
            ControlFlow::Break(Read::Column(column)) => Err(TemplateError {
                message: format!(
                    "the template reads the column `{column}` by name; a template reaches data \
                     only through its placeholders"
                ),
                range: self.locate(&column),
                help: "declare an input (`input \"x\" type=\"numeric\"`) and write `{x}`, so \
                       the search chooses the column; the target is `{target}`, read only out \
                       of fold (with `{fold}`); quote text in single quotes (`'text'`)"
                    .to_owned(),
            }),
            ControlFlow::Break(Read::Volatile(name)) => Err(TemplateError {
                message: format!(
                    "the template calls `{name}`, whose value changes from run to run (or row \
                     to row)"
                ),
                range: self.locate(&name),
                help: "the same pipeline, data and seed must give the same search, so a \
                       template computes only from its inputs; remove the call"
                    .to_owned(),
            }),
            ControlFlow::Break(Read::Unbounded(name)) => Err(TemplateError {
                message: format!(
                    "the template calls `{name}` with a size that is not a number up to \
                     {MAX_BUILT_SIZE}; the value it builds could exhaust memory"
                ),
                range: self.locate(&name),
                help: format!(
                    "give `{name}` a literal size of at most {MAX_BUILT_SIZE} (`lpad({{c}}, 8, \
                     '0')`); lists built from a count (`range`, `generate_series`, \
                     `array_repeat`) are not features"
                ),
            }),
            ControlFlow::Continue(()) if terms > MAX_TEMPLATE_TERMS => Err(TemplateError {
                message: format!(
                    "the template has {terms} SQL terms; at most {MAX_TEMPLATE_TERMS} are allowed"
                ),
                range: None,
                help: SIZE_HELP.to_owned(),
            }),
            ControlFlow::Continue(()) => Ok(()),
        }
    }

    /// Where `written` first stands in the template text outside a placeholder as a whole
    /// word, case-insensitively: (byte offset, length).
    fn locate(&self, written: &str) -> Option<(usize, usize)> {
        let text = self.text.to_ascii_lowercase();
        let target = written.to_ascii_lowercase();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        text.match_indices(&target)
            .map(|(at, _)| at)
            .find(|&at| {
                let before = text[..at].chars().next_back();
                let after = text[at + target.len()..].chars().next();
                let in_placeholder = self.segments.iter().any(|s| {
                    matches!(s, Segment::Placeholder { offset, len, .. }
                        if at >= *offset && at < offset + len)
                });
                !word(before) && !word(after) && !in_placeholder
            })
            .map(|at| (at, written.len()))
    }
}

/// What a template reads that it may not.
enum Read {
    /// A column named directly (as written).
    Column(String),
    /// A function whose value changes from run to run.
    Volatile(String),
    /// A function that builds a value of a size its arguments choose, without a small
    /// literal size.
    Unbounded(String),
}

/// Whether calling `name` with `args` may build a value of any size: a string padded or
/// repeated to a length that is not a literal up to [`MAX_BUILT_SIZE`], or a list built
/// from a count. A template with one could take all of a machine's memory on one row.
fn unbounded_size(name: &str, args: &sqlparser::ast::FunctionArguments) -> bool {
    use sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Value};
    match name {
        "range" | "generate_series" | "array_repeat" | "list_repeat" => true,
        "repeat" | "lpad" | "rpad" => {
            let FunctionArguments::List(list) = args else {
                return true;
            };
            let size = list.args.get(1).and_then(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                    Value::Number(n, _) => n.parse::<u64>().ok(),
                    _ => None,
                },
                _ => None,
            });
            size.is_none_or(|n| n > MAX_BUILT_SIZE)
        }
        _ => false,
    }
}

/// The longest string a template may pad or repeat to.
pub const MAX_BUILT_SIZE: u64 = 1_000;

/// `ident` as written in SQL: quoted when it was.
fn written(ident: &sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(q) => format!("{q}{}{q}", ident.value),
        None => ident.value.clone(),
    }
}

/// The longest template accepted, in bytes: ten times the standard library's longest, and
/// short enough that no expression it holds nests deep enough to strain a stack.
pub const MAX_TEMPLATE_BYTES: usize = 4_000;

/// The most SQL terms (expressions and their sub-expressions) a template may hold.
pub const MAX_TEMPLATE_TERMS: usize = 500;

/// Functions whose value is not a function of the row: random numbers, identifiers and
/// the clock. They would make two runs of the same pipeline differ.
const VOLATILE_FUNCTIONS: [&str; 11] = [
    "random",
    "rand",
    "uuid",
    "gen_random_uuid",
    "now",
    "today",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
];

const SIZE_HELP: &str = "write smaller operations: the search composes them (`space { max-depth … }`), \
                         so one template needs only one step";

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
    fn rejects_columns_read_by_name_and_points_at_them() {
        for (sql, column) in [
            ("{x} * 0 + \"progression\"", "\"progression\""),
            ("{x} + progression", "progression"),
            ("avg(salary) OVER (PARTITION BY {x})", "salary"),
            ("{x} + t.y", "t.y"),
            ("{x} + \"__x\"", "\"__x\""),
        ] {
            let t = SqlTemplate::parse(sql).expect("placeholders are fine");
            let e = t.validate_sql().expect_err(sql);
            assert!(e.message.contains(&format!("`{column}`")), "{sql}: {e:?}");
            let (at, len) = e.range.expect("located");
            assert_eq!(&sql[at..at + len], column, "{sql}");
        }
    }

    #[test]
    fn rejects_functions_that_change_between_runs() {
        for sql in [
            "{x} + random()",
            "uuid()",
            "{x} * extract(epoch FROM now())",
            "CURRENT_TIMESTAMP",
            "{x} + RANDOM()",
        ] {
            let t = SqlTemplate::parse(sql).expect("placeholders are fine");
            let e = t.validate_sql().expect_err(sql);
            assert!(
                e.message.contains("changes from run to run"),
                "{sql}: {e:?}"
            );
        }
    }

    #[test]
    fn rejects_values_built_to_a_size_no_literal_bounds() {
        for (sql, name) in [
            ("{x} + length(repeat('a', 2000000000))", "repeat"),
            ("length(repeat('a', {x}))", "repeat"),
            ("length(lpad({c}, 1001, '0'))", "lpad"),
            ("cardinality(range(0, {x}))", "range"),
            (
                "cardinality(generate_series(1, 2000000000))",
                "generate_series",
            ),
            ("cardinality(array_repeat({x}, 100))", "array_repeat"),
        ] {
            let t = SqlTemplate::parse(sql).expect("placeholders are fine");
            let e = t.validate_sql().expect_err(sql);
            assert!(e.message.contains(&format!("`{name}`")), "{sql}: {e:?}");
            assert!(e.message.contains("exhaust memory"), "{sql}: {e:?}");
            let (at, len) = e.range.expect("located");
            assert_eq!(&sql[at..at + len], name, "{sql}");
        }
        for sql in [
            "lpad({c}, 8, '0')",
            "length(repeat({c}, 3))",
            "rpad({c}, 1000)",
        ] {
            let t = SqlTemplate::parse(sql).expect("placeholders are fine");
            t.validate_sql().unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
    }

    #[test]
    fn rejects_templates_too_big_to_evaluate_safely() {
        let chain = vec!["{x}"; 5_000].join(" + ");
        let t = SqlTemplate::parse(&chain).expect("placeholders are fine");
        let e = t.validate_sql().expect_err("too long");
        assert!(e.message.contains("bytes long"), "{e:?}");
        let terms = vec!["{x}"; 300].join(" + ");
        let t = SqlTemplate::parse(&terms).expect("placeholders are fine");
        let e = t.validate_sql().expect_err("too many terms");
        assert!(e.message.contains("SQL terms"), "{e:?}");
    }

    #[test]
    fn keywords_literals_and_stars_are_not_columns() {
        for sql in [
            "CASE WHEN {x} IS NULL THEN NULL ELSE {x} END",
            "count(*) OVER (PARTITION BY {x})",
            "avg({x}) OVER (ORDER BY {x} ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)",
            "CAST({x} AS DOUBLE) + 1e0",
            "extract(year FROM {x})",
            "{x} || 'progression'",
            "{x} IS NOT DISTINCT FROM TRUE",
        ] {
            let t = SqlTemplate::parse(sql).expect("placeholders are fine");
            assert_eq!(t.validate_sql(), Ok(()), "{sql}");
        }
    }

    #[test]
    fn rejects_malformed_placeholders() {
        assert!(SqlTemplate::parse("ln({x)").is_err());
        assert!(SqlTemplate::parse("ln({X})").is_err());
        assert!(SqlTemplate::parse("ln(x})").is_err());
    }
}
