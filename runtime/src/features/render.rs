//! Rendering features to SQL: the only place flow writes SQL text.

use std::collections::BTreeMap;

use flow_dsl::{ParamValue, ResolvedOperation};

use super::expr::FeatureExpr;

/// What context placeholders (`{time}`, `{group}`, `{target}`, `{row}`, `{fold}`) stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext {
    /// The time column, if the dataset has one.
    pub time: Option<String>,
    /// The group column, if the dataset has one; without one, `{group}` is a constant.
    pub group: Option<String>,
    /// The numeric target column.
    pub target: String,
    /// The stable row-number column.
    pub row: String,
    /// The column of cross-validation folds.
    pub fold: String,
}

/// Quotes an identifier for DataFusion's SQL dialect: `"name"`, with `"` doubled, so any
/// column name (spaces, quotes, unicode, keywords, upper case) round-trips exactly.
///
/// ```
/// assert_eq!(flow_runtime::features::quote_ident(r#"Sale "Price""#), r#""Sale ""Price""""#);
/// ```
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The longest SQL a feature may render to. Templates are bounded at check time, but
/// composing them multiplies: an input used ten times, nested five deep, is 100,000 copies
/// of the column. Larger features are not computed; planning them could exhaust a stack.
pub const MAX_FEATURE_SQL_BYTES: usize = 100_000;

/// A parameter value as a SQL literal.
pub fn sql_literal(value: &ParamValue) -> String {
    match value {
        ParamValue::Int(i) if *i < 0 => format!("({i})"),
        ParamValue::Int(i) => i.to_string(),
        ParamValue::Float(f) => {
            let text = format!("{f:?}");
            if *f < 0.0 { format!("({text})") } else { text }
        }
        ParamValue::String(s) => format!("'{}'", s.replace('\'', "''")),
        ParamValue::Bool(true) => "TRUE".to_owned(),
        ParamValue::Bool(false) => "FALSE".to_owned(),
    }
}

/// Renders `expr` as one SQL expression, or says why it cannot be.
pub fn render(
    expr: &FeatureExpr,
    ops: &BTreeMap<String, ResolvedOperation>,
    ctx: &RenderContext,
) -> Result<String, String> {
    match expr {
        FeatureExpr::Column(name) => Ok(quote_ident(name)),
        FeatureExpr::Apply { op, args, params } => {
            let operation = ops
                .get(op)
                .ok_or_else(|| format!("unknown operation `{op}`"))?;
            let spec = &operation.spec;
            let rendered_args = args
                .iter()
                .map(|a| render(a, ops, ctx).map(|sql| format!("({sql})")))
                .collect::<Result<Vec<_>, _>>()?;
            let mut missing = None;
            let sql = spec.template.value.render(|name| {
                if let Some(i) = spec.inputs.iter().position(|i| i.name.value == name) {
                    return rendered_args.get(i).cloned().unwrap_or_default();
                }
                if let Some(p) = params.iter().find(|p| p.name == name) {
                    return p.sql.clone();
                }
                match name {
                    "time" => ctx.time.as_deref().map(quote_ident).unwrap_or_else(|| {
                        missing = Some("the dataset has no `time` column");
                        String::new()
                    }),
                    "group" => ctx
                        .group
                        .as_deref()
                        .map_or_else(|| "1".to_owned(), quote_ident),
                    "target" => quote_ident(&ctx.target),
                    "row" => quote_ident(&ctx.row),
                    "fold" => quote_ident(&ctx.fold),
                    _ => {
                        missing = Some("a placeholder has no value");
                        String::new()
                    }
                }
            });
            match missing {
                Some(why) => Err(format!("cannot render `{}`: {why}", expr.name())),
                None if sql.len() > MAX_FEATURE_SQL_BYTES => Err(format!(
                    "`{}` renders to {} bytes of SQL, more than {MAX_FEATURE_SQL_BYTES}: its \
                     operations repeat their inputs too often to nest this deep",
                    expr.name(),
                    sql.len()
                )),
                None => Ok(sql),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(quote_ident("price"), "\"price\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("größe m²"), "\"größe m²\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_feature_repeating_its_input_too_often_is_not_rendered() {
        let text = r#"pipeline "p" {
    dataset {
        source "d.csv"
        target "y"
    }
    space {
        op "tenfold" {
            input "x" type="numeric"
            sql "{x}+{x}+{x}+{x}+{x}+{x}+{x}+{x}+{x}+{x}"
            output "numeric"
        }
    }
    evaluator { model "linear-regression" }
}
"#;
        let loaded = crate::load_pipeline_text("p.kdl", text, &[]).expect("a valid pipeline");
        let ops = &loaded.resolved.operations;
        let ctx = RenderContext {
            time: None,
            group: None,
            target: "y".into(),
            row: "row".into(),
            fold: "fold".into(),
        };
        let nested = |depth: usize| {
            (0..depth).fold(FeatureExpr::Column("a".into()), |inner, _| {
                FeatureExpr::Apply {
                    op: "tenfold".into(),
                    args: vec![inner],
                    params: Vec::new(),
                }
            })
        };
        // 10,000 copies of the column fit; 100,000 do not.
        let fits = render(&nested(4), ops, &ctx).expect("renders");
        assert!(fits.len() <= MAX_FEATURE_SQL_BYTES, "{}", fits.len());
        let e = render(&nested(5), ops, &ctx).expect_err("too large");
        assert!(e.contains("bytes of SQL"), "{e}");
    }

    #[test]
    fn literals_are_sql() {
        assert_eq!(sql_literal(&ParamValue::Int(7)), "7");
        assert_eq!(sql_literal(&ParamValue::Int(-7)), "(-7)");
        assert_eq!(sql_literal(&ParamValue::Float(2.0)), "2.0");
        assert_eq!(sql_literal(&ParamValue::Float(1e-9)), "1e-9");
        assert_eq!(sql_literal(&ParamValue::String("it's".into())), "'it''s'");
        assert_eq!(sql_literal(&ParamValue::Bool(true)), "TRUE");
    }
}
