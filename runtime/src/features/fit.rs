//! Fitting a feature set: every statistic a feature's SQL computes over the whole table
//! (a mean, a standard deviation, a frequency per category, a target mean per category, a
//! rank among the table's values) is computed once on the training rows and frozen, so the
//! exported SQL gives a row the same value whatever else is in the data it is applied to.
//!
//! A window call is frozen according to its shape:
//! - an aggregate over the whole table (`avg(x) OVER ()`) becomes a constant;
//! - an aggregate per partition (`count(*) OVER (PARTITION BY c)`) becomes a column of a
//!   lookup table keyed by the partition values, joined on them (`IS NOT DISTINCT FROM`, so
//!   NULL is a category like any other). A key the training rows never had gets the value
//!   over no rows: 0 for counts and sums, NULL for every other statistic;
//! - a partition by the cross-validation fold stands for "the rows of this row's fold",
//!   which for new data is no training row at all: the aggregate over no rows. So
//!   `target-encode` becomes the smoothed target mean over the whole training set;
//! - a ranking function ordered by a value (`percent_rank() OVER (ORDER BY x)`) becomes a
//!   step lookup: for each training value (at most [`MAX_STEPS`] per partition, evenly
//!   spaced when there are more), the function's value there, applied to every new value
//!   from that training value up to the next one. Values below the smallest training
//!   value take the first step; tied training values take their smallest result;
//! - anything else (a `lag`, a rolling window ordered by time) stays *live*: it is
//!   computed over the rows it is applied to, which must then carry the history it reads.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    Expr, Function, Visit, Visitor, WindowType, visit_expressions, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use serde::{Deserialize, Serialize};

use super::compute::{FOLD_ID, ROW_ID, TARGET_VALUE};
use super::render::quote_ident;

/// The most steps a ranking function's lookup keeps per partition.
pub const MAX_STEPS: usize = 1024;

/// The name of the `i`-th lookup table of a fitted set.
pub fn lookup_name(i: usize) -> String {
    format!("flow_lookup_{i}")
}

/// The `i`-th key column of a lookup table.
pub fn key_column(i: usize) -> String {
    format!("flow_key_{i}")
}

/// The `i`-th value column of a lookup table.
pub fn value_column(i: usize) -> String {
    format!("flow_value_{i}")
}

/// A step lookup's lower bound (inclusive; NULL for the first step).
pub const STEP_FROM: &str = "flow_from";
/// A step lookup's upper bound (exclusive; NULL for the last step).
pub const STEP_TO: &str = "flow_to";

/// A feature set with its table statistics frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    /// The features, in the set's order.
    pub features: Vec<FittedFeature>,
    /// The lookup tables the features read, named by [`lookup_name`] of their index.
    pub lookups: Vec<Lookup>,
}

/// One feature of a fitted set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedFeature {
    /// The feature's name.
    pub name: String,
    /// Its SQL with every statistic frozen: constants, and columns of the lookup tables.
    pub sql: String,
    /// Whether it still holds window calls computed over the rows it is applied to.
    pub live: bool,
}

/// How a lookup table is joined to the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// The partition expressions over the data, in key-column order.
    pub keys: Vec<String>,
    /// For a step lookup, the ordering expression whose value picks the step.
    pub steps_over: Option<String>,
    /// How many value columns the table has.
    pub values: usize,
    /// Rows in the table.
    pub rows: usize,
}

impl Lookup {
    /// The join condition of this lookup (named `alias`) with the data.
    ///
    /// Keys match with `IS NOT DISTINCT FROM` (NULL is a category), except in a step
    /// lookup: DataFusion 55 drops the range conditions of a join whose keys compare with
    /// `IS NOT DISTINCT FROM` (every step matched), so there keys compare with `=` and a
    /// row whose partition value is NULL gets no step (NULL).
    pub fn join_condition(&self, alias: &str) -> String {
        let column = |c: &str| format!("{}.{}", quote_ident(alias), quote_ident(c));
        let equals = if self.steps_over.is_some() {
            "="
        } else {
            "IS NOT DISTINCT FROM"
        };
        let mut terms: Vec<String> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, key)| format!("{} {equals} ({key})", column(&key_column(i))))
            .collect();
        if let Some(at) = &self.steps_over {
            let at = format!("CAST(({at}) AS DOUBLE)");
            terms.push(format!("{at} >= {}", column(STEP_FROM)));
            terms.push(format!("{at} < {}", column(STEP_TO)));
        }
        if terms.is_empty() {
            "TRUE".to_owned()
        } else {
            terms.join(" AND ")
        }
    }
}

impl Fitted {
    /// Whether `feature` is an input column passed through as it is (a base column).
    fn is_plain(feature: &FittedFeature) -> bool {
        feature.sql == quote_ident(&feature.name)
    }

    /// The set without its engineered features: the input columns it passes through,
    /// which read no lookup table.
    #[must_use]
    pub fn base_only(&self) -> Self {
        Self {
            features: self
                .features
                .iter()
                .filter(|f| Self::is_plain(f))
                .cloned()
                .collect(),
            lookups: Vec::new(),
        }
    }

    /// The `SELECT` computing the features over `table`, each lookup read from the
    /// matching `sources` item (a table name or a parenthesised query): the `carry` columns
    /// of the input first, then the features, in input row order.
    pub fn query(&self, table: &str, sources: &[String], carry: &[String]) -> String {
        let names: Vec<&str> = self.features.iter().map(|f| f.name.as_str()).collect();
        let mut select: Vec<String> = carry
            .iter()
            .filter(|c| !names.contains(&c.as_str()))
            .map(|c| quote_ident(c))
            .collect();
        for feature in &self.features {
            if Self::is_plain(feature) {
                select.push(feature.sql.clone());
            } else {
                select.push(format!("{} AS {}", feature.sql, quote_ident(&feature.name)));
            }
        }
        let row = quote_ident(ROW_ID);
        let uses_row = self
            .features
            .iter()
            .map(|f| &f.sql)
            .chain(
                self.lookups
                    .iter()
                    .flat_map(|l| l.keys.iter().chain(&l.steps_over)),
            )
            .any(|sql| sql.contains(&row));
        // Joins and windows do not keep the input's order: number the rows, sort by them.
        let ordered = uses_row || !self.lookups.is_empty() || self.features.iter().any(|f| f.live);
        let mut from = if ordered {
            // The search numbers rows in input order (also to break ties in window orders).
            format!(
                "(SELECT *, ROW_NUMBER() OVER () - 1 AS {row} FROM {}) AS flow_input",
                quote_ident(table)
            )
        } else {
            quote_ident(table)
        };
        for (i, (lookup, source)) in self.lookups.iter().zip(sources).enumerate() {
            let name = lookup_name(i);
            from.push_str(&format!(
                "\n  LEFT JOIN {source} AS {} ON {}",
                quote_ident(&name),
                lookup.join_condition(&name)
            ));
        }
        let order = if ordered {
            format!("\nORDER BY flow_input.{row}")
        } else {
            String::new()
        };
        format!("SELECT\n  {}\nFROM {from}{order}\n", select.join(",\n  "))
    }
}

/// A fitted set and the contents of its lookup tables (in [`Fitted::lookups`] order).
#[derive(Debug, Clone)]
pub struct FittedSet {
    /// What the features compute and how the lookups join.
    pub fitted: Fitted,
    /// The lookup tables.
    pub tables: Vec<RecordBatch>,
}

/// Aggregates whose window over a partition equals the grouped aggregate, and what they
/// give over no rows (`true`: 0; `false`: NULL).
const AGGREGATES: [(&str, bool); 19] = [
    ("avg", false),
    ("mean", false),
    ("sum", true),
    ("count", true),
    ("min", false),
    ("max", false),
    ("stddev", false),
    ("stddev_samp", false),
    ("stddev_pop", false),
    ("var", false),
    ("variance", false),
    ("var_samp", false),
    ("var_pop", false),
    ("median", false),
    ("bool_and", false),
    ("bool_or", false),
    ("corr", false),
    ("covar_samp", false),
    ("covar_pop", false),
];

/// Ranking functions whose value is a step function of the ordering value.
const RANKINGS: [&str; 5] = ["rank", "dense_rank", "percent_rank", "cume_dist", "ntile"];

/// What one window call becomes.
#[derive(Debug, Clone)]
enum Frozen {
    /// An aggregate over the whole table: a constant.
    Scalar { group: usize, value: usize },
    /// An aggregate per partition: a lookup column.
    Keyed {
        group: usize,
        value: usize,
        zero: bool,
    },
    /// An aggregate over the rows of this row's fold: the value over no rows.
    Empty { zero: bool },
    /// A ranking: a step lookup of its own.
    Step { group: usize },
    /// Left to be computed over the data.
    Live,
}

/// Statistics computed by one query: the aggregates sharing a partition, or one ranking.
#[derive(Debug, Default)]
struct Group {
    keys: Vec<Expr>,
    /// The aggregate calls (without `OVER`), or the one ranking call (with it).
    calls: Vec<String>,
    steps_over: Option<Expr>,
}

/// Fits `features` (name, SQL) on the rows of `table` in `ctx`.
pub async fn fit(
    ctx: &SessionContext,
    table: &str,
    features: &[(String, String)],
) -> Result<FittedSet, String> {
    let mut parsed = Vec::with_capacity(features.len());
    for (name, sql) in features {
        let expr = parse(sql).map_err(|e| format!("cannot read the SQL of `{name}`: {e}"))?;
        parsed.push((name.clone(), expr));
    }
    // Every distinct window call, what it becomes, and the queries that compute it.
    let mut frozen: BTreeMap<String, Frozen> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (_, expr) in &parsed {
        for call in window_calls(expr) {
            let text = call.to_string();
            frozen
                .entry(text)
                .or_insert_with(|| classify(&call, &mut groups));
        }
    }
    // Compute each group's statistics.
    let mut results: Vec<RecordBatch> = Vec::with_capacity(groups.len());
    for group in &groups {
        let sql = group_query(group, table);
        let df = ctx
            .sql(&sql)
            .await
            .map_err(|e| format!("cannot fit `{sql}`: {e}"))?;
        let schema = df.schema().as_arrow().clone();
        let batches = df
            .collect()
            .await
            .map_err(|e| format!("cannot fit `{sql}`: {e}"))?;
        results.push(concat_batches(&schema.into(), &batches).map_err(|e| e.to_string())?);
    }
    // Lookups are the keyed groups, numbered in group order.
    let mut lookup_of: Vec<Option<usize>> = vec![None; groups.len()];
    let mut lookups = Vec::new();
    let mut tables = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        if group.keys.is_empty() && group.steps_over.is_none() {
            continue;
        }
        lookup_of[g] = Some(lookups.len());
        lookups.push(Lookup {
            keys: group.keys.iter().map(ToString::to_string).collect(),
            steps_over: group.steps_over.as_ref().map(ToString::to_string),
            values: group.calls.len(),
            rows: results[g].num_rows(),
        });
        tables.push(results[g].clone());
    }
    let mut replacements: BTreeMap<String, String> = BTreeMap::new();
    for (text, how) in &frozen {
        let replacement = match how {
            Frozen::Scalar { group, value } => {
                let column = results[*group].column(*value);
                scalar_literal(column.as_ref())?
            }
            Frozen::Keyed { group, value, zero } => {
                let lookup = lookup_of[*group].expect("keyed groups are lookups");
                let column = format!(
                    "{}.{}",
                    quote_ident(&lookup_name(lookup)),
                    quote_ident(&value_column(*value))
                );
                if *zero {
                    format!("COALESCE({column}, 0)")
                } else {
                    column
                }
            }
            Frozen::Empty { zero: true } => "0".to_owned(),
            Frozen::Empty { zero: false } => "NULL".to_owned(),
            Frozen::Step { group } => {
                let lookup = lookup_of[*group].expect("step groups are lookups");
                format!(
                    "{}.{}",
                    quote_ident(&lookup_name(lookup)),
                    quote_ident(&value_column(0))
                )
            }
            Frozen::Live => continue,
        };
        replacements.insert(text.clone(), replacement);
    }
    let mut fitted_features = Vec::with_capacity(parsed.len());
    for ((name, mut expr), (_, searched)) in parsed.into_iter().zip(features) {
        let (mut live, mut frozen) = (false, false);
        let _ = visit_expressions_mut(&mut expr, |e| {
            if matches!(e, Expr::Function(f) if f.over.is_some()) {
                match replacements.get(&e.to_string()) {
                    Some(text) => {
                        *e = parse(text).expect("replacements are SQL we wrote");
                        frozen = true;
                    }
                    None => live = true,
                }
            }
            ControlFlow::<()>::Continue(())
        });
        for internal in [TARGET_VALUE, FOLD_ID] {
            if references(&expr, internal) {
                return Err(format!(
                    "`{name}` reads the target or the cross-validation folds outside a statistic \
                     flow can freeze ({expr}), so it cannot be computed on new data"
                ));
            }
        }
        fitted_features.push(FittedFeature {
            name,
            // Without a statistic, the SQL is what the search computed, character for
            // character.
            sql: if frozen {
                expr.to_string()
            } else {
                searched.clone()
            },
            live,
        });
    }
    Ok(FittedSet {
        fitted: Fitted {
            features: fitted_features,
            lookups,
        },
        tables,
    })
}

fn parse(sql: &str) -> Result<Expr, String> {
    Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| e.to_string())
}

/// The window calls in `expr`, outermost last.
fn window_calls(expr: &Expr) -> Vec<Expr> {
    let mut calls = Vec::new();
    let _ = visit_expressions(expr, |e| {
        if matches!(e, Expr::Function(f) if f.over.is_some()) {
            calls.push(e.clone());
        }
        ControlFlow::<()>::Continue(())
    });
    calls
}

/// Whether `expr` names the column `name`.
fn references(expr: &Expr, name: &str) -> bool {
    struct Finds<'a>(&'a str);
    impl Visitor for Finds<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            let found = match e {
                Expr::Identifier(id) => id.value == self.0,
                Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| p.value == self.0),
                _ => false,
            };
            if found {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    expr.visit(&mut Finds(name)).is_break()
}

/// Whether `expr` reads any column.
fn reads_columns(expr: &Expr) -> bool {
    let mut found = false;
    let _ = visit_expressions(expr, |e| {
        if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

/// Decides what `call` (a window call) becomes, adding the statistics it needs to `groups`.
fn classify(call: &Expr, groups: &mut Vec<Group>) -> Frozen {
    let Expr::Function(function) = call else {
        return Frozen::Live;
    };
    let Some(WindowType::WindowSpec(spec)) = &function.over else {
        return Frozen::Live;
    };
    let name = function.name.to_string().to_lowercase();
    let by_fold = spec.partition_by.iter().any(|p| references(p, FOLD_ID));
    // Constant partitions (`PARTITION BY 1`, a dataset without a group column) are the table.
    let keys: Vec<Expr> = spec
        .partition_by
        .iter()
        .filter(|p| reads_columns(p))
        .cloned()
        .collect();
    if let Some(&(_, zero)) = AGGREGATES.iter().find(|(n, _)| *n == name) {
        if !spec.order_by.is_empty() || spec.window_frame.is_some() {
            return Frozen::Live;
        }
        if by_fold {
            return Frozen::Empty { zero };
        }
        let aggregate = Expr::Function(Function {
            over: None,
            ..function.clone()
        });
        let key_text: Vec<String> = keys.iter().map(ToString::to_string).collect();
        let existing = groups.iter().position(|g| {
            g.steps_over.is_none()
                && g.keys.iter().map(ToString::to_string).collect::<Vec<_>>() == key_text
        });
        let group = existing.unwrap_or_else(|| {
            groups.push(Group {
                keys: keys.clone(),
                ..Group::default()
            });
            groups.len() - 1
        });
        let calls = &mut groups[group].calls;
        let value = calls.len();
        calls.push(aggregate.to_string());
        return if keys.is_empty() {
            Frozen::Scalar { group, value }
        } else {
            Frozen::Keyed { group, value, zero }
        };
    }
    let ascending = spec
        .order_by
        .first()
        .is_some_and(|o| o.options.asc != Some(false));
    if RANKINGS.contains(&name.as_str()) && !by_fold && ascending {
        let steps_over = spec.order_by[0].expr.clone();
        groups.push(Group {
            keys,
            calls: vec![call.to_string()],
            steps_over: Some(steps_over),
        });
        return Frozen::Step {
            group: groups.len() - 1,
        };
    }
    Frozen::Live
}

/// The query computing one group's statistics over `table`, keys first, ordered by key.
fn group_query(group: &Group, table: &str) -> String {
    let keys: Vec<String> = (0..group.keys.len()).map(key_column).collect();
    let key_defs: String = group
        .keys
        .iter()
        .zip(&keys)
        .map(|(k, name)| format!(", ({k}) AS {name}"))
        .collect();
    let table = quote_ident(table);
    let by = |extra: &str| {
        let mut all = keys.clone();
        if !extra.is_empty() {
            all.push(extra.to_owned());
        }
        all.join(", ")
    };
    let partition = if keys.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {} ", keys.join(", "))
    };
    match &group.steps_over {
        None => {
            let values: Vec<String> = group
                .calls
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} AS {}", value_column(i)))
                .collect();
            if keys.is_empty() {
                format!("SELECT {} FROM {table}", values.join(", "))
            } else {
                format!(
                    "SELECT {}, {} FROM (SELECT *{key_defs} FROM {table}) AS flow_fit \
                     GROUP BY {} ORDER BY {}",
                    keys.join(", "),
                    values.join(", "),
                    by(""),
                    by(""),
                )
            }
        }
        Some(at) => {
            let call = &group.calls[0];
            let key_list = if keys.is_empty() {
                String::new()
            } else {
                format!("{}, ", keys.join(", "))
            };
            format!(
                "WITH flow_fit AS (SELECT *{key_defs}, CAST(({at}) AS DOUBLE) AS flow_at, {call} AS flow_out FROM {table}), \
                 flow_values AS (SELECT {key_list}flow_at, min(flow_out) AS flow_out FROM flow_fit \
                 WHERE flow_at IS NOT NULL GROUP BY {}), \
                 flow_numbered AS (SELECT *, row_number() OVER ({partition}ORDER BY flow_at) - 1 AS flow_step, \
                 count(*) OVER ({partition}) AS flow_steps FROM flow_values), \
                 flow_kept AS (SELECT * FROM flow_numbered \
                 WHERE flow_step % CAST(ceil(flow_steps / {MAX_STEPS}.0) AS BIGINT) = 0) \
                 SELECT {key_list}CASE WHEN flow_step = 0 THEN CAST('-Infinity' AS DOUBLE) ELSE flow_at END AS {STEP_FROM}, \
                 COALESCE(lead(flow_at) OVER ({partition}ORDER BY flow_at), CAST('Infinity' AS DOUBLE)) AS {STEP_TO}, \
                 flow_out AS {} FROM flow_kept ORDER BY {}",
                by("flow_at"),
                value_column(0),
                by("flow_at"),
            )
        }
    }
}

/// The only value of `column` as a SQL literal of the same kind (numbers, text, booleans).
fn scalar_literal(column: &dyn datafusion::arrow::array::Array) -> Result<String, String> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, UInt64Type};
    if column.is_empty() || column.is_null(0) {
        return Ok("NULL".to_owned());
    }
    let literal = match column.data_type() {
        DataType::Float64 => float_literal(column.as_primitive::<Float64Type>().value(0)),
        DataType::Int64 => {
            let v = column.as_primitive::<Int64Type>().value(0);
            if v < 0 {
                format!("({v})")
            } else {
                v.to_string()
            }
        }
        DataType::UInt64 => column.as_primitive::<UInt64Type>().value(0).to_string(),
        DataType::Boolean => {
            if column.as_boolean().value(0) {
                "TRUE".to_owned()
            } else {
                "FALSE".to_owned()
            }
        }
        other => {
            let as_float = datafusion::arrow::compute::cast(column, &DataType::Float64)
                .map_err(|_| format!("cannot freeze a statistic of type {other}"))?;
            float_literal(as_float.as_primitive::<Float64Type>().value(0))
        }
    };
    Ok(literal)
}

/// `value` as a DOUBLE literal that reads back to the same bits in DataFusion and DuckDB.
pub fn float_literal(value: f64) -> String {
    if value.is_nan() {
        "CAST('NaN' AS DOUBLE)".to_owned()
    } else if value.is_infinite() {
        let sign = if value < 0.0 { "-" } else { "" };
        format!("CAST('{sign}Infinity' AS DOUBLE)")
    } else if value < 0.0 || (value == 0.0 && value.is_sign_negative()) {
        format!("({value:e})")
    } else {
        format!("{value:e}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, AsArray, Float64Array, StringArray, UInt32Array, UInt64Array,
    };
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::{DataType, Float64Type};
    use datafusion::datasource::MemTable;

    use super::*;

    const ZSCORE: &str = r#"(CAST("x" AS DOUBLE) - avg(CAST("x" AS DOUBLE)) OVER ()) / NULLIF(stddev(CAST("x" AS DOUBLE)) OVER (), 0.0)"#;
    const COUNT: &str = r#"CAST(count(*) OVER (PARTITION BY "c") AS DOUBLE)"#;
    const TARGET_ENCODE: &str = r#"(sum("__flow_target") OVER (PARTITION BY "c") - sum("__flow_target") OVER (PARTITION BY "c", "__flow_fold") + 1.0 * (sum("__flow_target") OVER () - sum("__flow_target") OVER (PARTITION BY "__flow_fold")) / NULLIF(count(*) OVER () - count(*) OVER (PARTITION BY "__flow_fold"), 0)) / (count(*) OVER (PARTITION BY "c") - count(*) OVER (PARTITION BY "c", "__flow_fold") + 1.0)"#;
    const PERCENT_RANK: &str = r#"CASE WHEN "x" IS NULL THEN NULL ELSE percent_rank() OVER (PARTITION BY "x" IS NULL ORDER BY "x") END"#;
    const LAG: &str = r#"lag(CAST("x" AS DOUBLE), 1) OVER (PARTITION BY 1 ORDER BY "__flow_row")"#;

    fn features() -> Vec<(String, String)> {
        [
            ("z", ZSCORE),
            ("count", COUNT),
            ("te", TARGET_ENCODE),
            ("pr", PERCENT_RANK),
            ("lag", LAG),
        ]
        .iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect()
    }

    /// Six training rows: categories a, a, b, b, b and NULL; two folds.
    fn training() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "c",
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("a"),
                    Some("b"),
                    Some("b"),
                    Some("b"),
                    None,
                ])) as ArrayRef,
            ),
            (
                "x",
                Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
            ),
            (
                TARGET_VALUE,
                Arc::new(Float64Array::from(vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0])),
            ),
            (FOLD_ID, Arc::new(UInt32Array::from(vec![0, 1, 0, 1, 0, 1]))),
            (ROW_ID, Arc::new(UInt64Array::from_iter_values(0..6))),
        ])
        .expect("valid")
    }

    fn register(ctx: &SessionContext, name: &str, batch: RecordBatch) {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).expect("valid");
        ctx.register_table(name, Arc::new(table))
            .expect("registered");
    }

    async fn fitted() -> (SessionContext, FittedSet) {
        let ctx = SessionContext::new();
        register(&ctx, "base", training());
        let set = fit(&ctx, "base", &features()).await.expect("fits");
        for (i, table) in set.tables.iter().enumerate() {
            register(&ctx, &lookup_name(i), table.clone());
        }
        (ctx, set)
    }

    /// The fitted features over `input` (rows of `c` and `x`), one column each.
    async fn apply(ctx: &SessionContext, set: &FittedSet, input: RecordBatch) -> Vec<Vec<f64>> {
        let _ = ctx.deregister_table("input");
        register(ctx, "input", input);
        let sources: Vec<String> = (0..set.fitted.lookups.len())
            .map(|i| quote_ident(&lookup_name(i)))
            .collect();
        let sql = set.fitted.query("input", &sources, &[]);
        let batches = ctx
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{sql}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
        let batch = concat_batches(&batches[0].schema(), &batches).expect("one batch");
        batch
            .columns()
            .iter()
            .map(|c| {
                let c = cast(c, &DataType::Float64).expect("numeric");
                c.as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect()
            })
            .collect()
    }

    fn rows(c: Vec<Option<&str>>, x: Vec<f64>) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("c", Arc::new(StringArray::from(c)) as ArrayRef),
            ("x", Arc::new(Float64Array::from(x))),
        ])
        .expect("valid")
    }

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b
    }

    #[tokio::test]
    async fn statistics_become_constants_and_lookups_and_ordered_windows_stay_live() {
        let (_, set) = fitted().await;
        let [z, count, te, pr, lag] = &set.fitted.features[..] else {
            panic!("five features")
        };
        assert!(!z.sql.contains("OVER"), "{}", z.sql);
        assert!(z.sql.contains("3.5e0"), "the mean is a constant: {}", z.sql);
        assert!(count.sql.contains("flow_lookup_"), "{}", count.sql);
        assert!(
            !te.sql.contains(TARGET_VALUE) && !te.sql.contains(FOLD_ID),
            "{}",
            te.sql
        );
        assert!(pr.sql.contains("flow_lookup_"), "{}", pr.sql);
        assert!([z, count, te, pr].iter().all(|f| !f.live));
        assert!(lag.live && lag.sql.contains("lag("), "{}", lag.sql);
        // One lookup per partition (the count and the target sums by category share one)
        // and one for the ranking.
        assert_eq!(set.fitted.lookups.len(), 2);
        assert_eq!(set.fitted.lookups[0].rows, 3, "a, b and NULL");
    }

    #[tokio::test]
    async fn a_row_gets_the_same_values_alone_as_among_the_training_rows() {
        let (ctx, set) = fitted().await;
        let all = apply(
            &ctx,
            &set,
            rows(
                vec![Some("a"), Some("a"), Some("b"), Some("b"), Some("b"), None],
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            ),
        )
        .await;
        // On the training rows, the unsupervised features are what the search computed.
        let base = ctx.table("base").await.expect("registered");
        let searched = base
            .select_exprs(&[ZSCORE, COUNT, PERCENT_RANK])
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        for (i, f) in [0, 1, 3].into_iter().enumerate() {
            let column = cast(searched[0].column(i), &DataType::Float64).expect("numeric");
            let column = column.as_primitive::<Float64Type>();
            for (r, value) in all[f].iter().enumerate() {
                assert!(same(*value, column.value(r)), "feature {f}, row {r}");
            }
        }
        // Target encoding over the whole training set: (sum + prior) / (count + 1), prior 4/6.
        let prior = 4.0 / 6.0;
        assert_eq!(all[2][0], (1.0 + prior) / 3.0);
        assert_eq!(all[2][2], (2.0 + prior) / 4.0);
        let training = [Some("a"), Some("a"), Some("b"), Some("b"), Some("b"), None];
        for (r, (c, x)) in training.into_iter().zip(1..=6).enumerate() {
            let alone = apply(&ctx, &set, rows(vec![c], vec![f64::from(x)])).await;
            for f in 0..4 {
                assert!(
                    same(alone[f][0], all[f][r]),
                    "feature {f}, row {r}: {alone:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn unknown_categories_and_new_values_get_the_documented_defaults() {
        let (ctx, set) = fitted().await;
        let out = apply(
            &ctx,
            &set,
            rows(vec![Some("zz"), Some("b")], vec![0.5, 4.5]),
        )
        .await;
        assert_eq!(out[1][0], 0.0, "an unknown category was counted 0 times");
        assert_eq!(out[2][0], 4.0 / 6.0, "its target encoding is the prior");
        assert_eq!(out[3][0], 0.0, "below the training values: the first step");
        assert_eq!(out[3][1], 0.6, "between 4 and 5: the step of 4");
        assert!(out[4][0].is_nan(), "the lag of the first applied row");
        assert_eq!(out[4][1], 0.5, "the lag is computed over the applied rows");
    }

    #[test]
    fn float_literals_read_back_exactly() {
        for v in [0.1, -2.5e-300, 1e300, 3.0, -0.0, f64::MIN_POSITIVE] {
            let text = float_literal(v);
            let parsed: f64 = text.trim_matches(['(', ')']).parse().expect("a number");
            assert_eq!(parsed.to_bits(), v.to_bits(), "{text}");
        }
        assert_eq!(float_literal(f64::NAN), "CAST('NaN' AS DOUBLE)");
    }
}
