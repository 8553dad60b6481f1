//! Every standard-library operation, run for real: each case in `tests/stdlib/*.test` is
//! an operation call (`ratio(x, y)`, `lag(x, n=2)`) and the value it must give on each row
//! of the table in `tests/stdlib/table.sql`. The runner builds the [`FeatureExpr`], renders
//! it with the runtime's [`render`] against the embedded library, computes it with
//! [`FeatureTable`] in a DataFusion session, and compares (floats within 1e-9, relative).
//! The test fails on any wrong value and on any operation without a case.
//!
//! The file format, sqllogictest-like:
//!
//! ```text
//! # a comment
//! query lag(x, n=2)             an operation call; arguments are columns ("quoted" if
//! ----                          needed) or nested calls; parameters are name=value
//! NULL                          then one expected value per table row, in row order:
//! 3.0                           a number, true, false or NULL
//! …
//!
//! query lag(x) group=none       options after the call: group=<column>|none chooses
//! ----                          what {group} stands for (default: g)
//! …
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, UInt64Array,
};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use flow_dsl::{Origin, ParamType, ParamValue, ResolvedOperation, ValueType};
use flow_runtime::features::{
    FeatureExpr, FeatureTable, ParamLiteral, ROW_ID, RenderContext, render, sql_literal,
};
use flow_stdlib::Catalog;

/// The columns the context placeholders stand for, unless a case says otherwise.
const TIME: &str = "t";
const GROUP: &str = "g";
const TARGET: &str = "target";
const FOLD: &str = "fold";

/// Relative tolerance for floats (absolute below 1).
const TOLERANCE: f64 = 1e-9;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stdlib")
}

// ---------------------------------------------------------------- the fixture format

/// An operation call as written in a case.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Column(String),
    Apply {
        op: String,
        args: Vec<Call>,
        params: Vec<(String, Literal)>,
    },
}

/// A parameter value as written: its type is the operation's parameter type.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Bare(String),
    Quoted(String),
}

/// One expected value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    Null,
    Number(f64),
    Bool(bool),
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("NULL"),
            Self::Number(x) => write!(f, "{x:?}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One `query` block.
#[derive(Debug, Clone)]
struct Case {
    /// `numeric.test:12`.
    at: String,
    text: String,
    call: Call,
    /// The column `{group}` stands for; `None` renders it as the constant 1.
    group: Option<String>,
    expected: Vec<Expected>,
}

fn parse_file(path: &Path) -> Result<Vec<Case>, String> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{name}:{i}");
        let Some(query) = line.strip_prefix("query ") else {
            return Err(format!("{at}: expected `query <call>`, found `{line}`"));
        };
        let (call, options) = parse_call(query).map_err(|e| format!("{at}: {e}"))?;
        let mut group = Some(GROUP.to_owned());
        for option in options.split_whitespace() {
            match option.split_once('=') {
                Some(("group", "none")) => group = None,
                Some(("group", column)) => group = Some(column.to_owned()),
                _ => return Err(format!("{at}: unknown option `{option}`")),
            }
        }
        if lines.get(i).map(|l| l.trim()) != Some("----") {
            return Err(format!("{at}: `----` must follow the query line"));
        }
        i += 1;
        let mut expected = Vec::new();
        while let Some(value) = lines.get(i).map(|l| l.trim()).filter(|l| !l.is_empty()) {
            expected.push(parse_expected(value).map_err(|e| format!("{name}:{}: {e}", i + 1))?);
            i += 1;
        }
        cases.push(Case {
            at,
            text: query.trim().to_owned(),
            call,
            group,
            expected,
        });
    }
    Ok(cases)
}

fn parse_expected(text: &str) -> Result<Expected, String> {
    match text {
        "NULL" => Ok(Expected::Null),
        "true" => Ok(Expected::Bool(true)),
        "false" => Ok(Expected::Bool(false)),
        _ => text
            .parse::<f64>()
            .map(Expected::Number)
            .map_err(|_| format!("`{text}` is not a number, true, false or NULL")),
    }
}

/// Parses `name(arg, …, param=value, …)` and returns it with the rest of the line.
fn parse_call(text: &str) -> Result<(Call, &str), String> {
    let mut p = CallParser { text, pos: 0 };
    let call = p.call()?;
    Ok((call, &text[p.pos..]))
}

struct CallParser<'a> {
    text: &'a str,
    pos: usize,
}

impl CallParser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        self.pos = self.text.len() - self.rest().trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` at `{}`", self.rest()))
        }
    }

    /// A bare word: letters, digits, `-`, `_`, `.`.
    fn word(&mut self) -> Result<String, String> {
        self.skip_space();
        let len = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(format!("expected a name at `{}`", self.rest()));
        }
        let word = self.rest()[..len].to_owned();
        self.pos += len;
        Ok(word)
    }

    /// A string between `quote`s, the quote doubled inside.
    fn quoted(&mut self, quote: char) -> Result<String, String> {
        self.expect(quote)?;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                if chars.peek().map(|(_, n)| *n) == Some(quote) {
                    chars.next();
                    out.push(quote);
                    continue;
                }
                self.pos += i + c.len_utf8();
                return Ok(out);
            }
            out.push(c);
        }
        Err(format!("unclosed {quote}"))
    }

    fn call(&mut self) -> Result<Call, String> {
        self.skip_space();
        if self.rest().starts_with('"') {
            return self.quoted('"').map(Call::Column);
        }
        let name = self.word()?;
        if !self.eat('(') {
            return Ok(Call::Column(name));
        }
        let mut args = Vec::new();
        let mut params = Vec::new();
        if !self.eat(')') {
            loop {
                let start = self.pos;
                let word = self.word().ok();
                if word.is_some() && self.eat('=') {
                    self.skip_space();
                    let value = if self.rest().starts_with('\'') {
                        Literal::Quoted(self.quoted('\'')?)
                    } else {
                        Literal::Bare(self.word()?)
                    };
                    params.push((word.unwrap_or_default(), value));
                } else {
                    self.pos = start;
                    args.push(self.call()?);
                }
                if self.eat(')') {
                    break;
                }
                self.expect(',')?;
            }
        }
        Ok(Call::Apply {
            op: name,
            args,
            params,
        })
    }
}

// ---------------------------------------------------------------- building features

fn library() -> BTreeMap<String, ResolvedOperation> {
    Catalog::load()
        .operations()
        .map(|(module, spec)| {
            let resolved = ResolvedOperation {
                spec: spec.clone(),
                origin: Origin::Std(module.name.to_owned()),
                tuned: false,
                enabled: true,
            };
            (spec.name.value.clone(), resolved)
        })
        .collect()
}

/// The feature a call stands for, with every parameter bound (defaults for the omitted
/// ones), as the search would build it.
fn feature(call: &Call, ops: &BTreeMap<String, ResolvedOperation>) -> Result<FeatureExpr, String> {
    let (op, args, params) = match call {
        Call::Column(name) => return Ok(FeatureExpr::Column(name.clone())),
        Call::Apply { op, args, params } => (op, args, params),
    };
    let spec = &ops
        .get(op)
        .ok_or_else(|| format!("no operation `{op}` in the standard library"))?
        .spec;
    if args.len() != spec.inputs.len() {
        return Err(format!(
            "`{op}` takes {} inputs, the case gives {}",
            spec.inputs.len(),
            args.len()
        ));
    }
    for (name, _) in params {
        if !spec.params.iter().any(|p| &p.name.value == name) {
            return Err(format!("`{op}` has no parameter `{name}`"));
        }
    }
    let bound = spec
        .params
        .iter()
        .map(|p| {
            let value = match params.iter().find(|(n, _)| *n == p.name.value) {
                Some((_, literal)) => param_value(p.ty, literal)?,
                None => p
                    .values
                    .first()
                    .map(|v| v.value.clone())
                    .ok_or("no default")?,
            };
            Ok(ParamLiteral {
                name: p.name.value.clone(),
                sql: sql_literal(&value),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(FeatureExpr::Apply {
        op: op.clone(),
        args: args
            .iter()
            .map(|a| feature(a, ops))
            .collect::<Result<_, _>>()?,
        params: bound,
    })
}

fn param_value(ty: ParamType, literal: &Literal) -> Result<ParamValue, String> {
    let bad = |text: &str| format!("`{text}` is not a {}", ty.name());
    match (ty, literal) {
        (ParamType::String, Literal::Quoted(s)) => Ok(ParamValue::String(s.clone())),
        (ParamType::Int, Literal::Bare(t)) => t.parse().map(ParamValue::Int).map_err(|_| bad(t)),
        (ParamType::Float, Literal::Bare(t)) => {
            t.parse().map(ParamValue::Float).map_err(|_| bad(t))
        }
        (ParamType::Bool, Literal::Bare(t)) => t.parse().map(ParamValue::Bool).map_err(|_| bad(t)),
        (_, Literal::Bare(t) | Literal::Quoted(t)) => Err(bad(t)),
    }
}

/// Every operation used anywhere in `call`.
fn operations_used(call: &Call, into: &mut BTreeSet<String>) {
    if let Call::Apply { op, args, .. } = call {
        into.insert(op.clone());
        for a in args {
            operations_used(a, into);
        }
    }
}

// ---------------------------------------------------------------- the table and values

async fn fixture_table() -> RecordBatch {
    let sql = std::fs::read_to_string(fixtures().join("table.sql")).expect("table.sql is readable");
    let ctx = SessionContext::new();
    let batches = ctx
        .sql(&sql)
        .await
        .expect("table.sql plans")
        .collect()
        .await
        .expect("table.sql runs");
    let schema = batches.first().expect("table.sql has rows").schema();
    let table = concat_batches(&schema, &batches).expect("one schema");
    let rows = u64::try_from(table.num_rows()).expect("a small table");
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(ROW_ID, DataType::UInt64, false));
    let mut columns: Vec<ArrayRef> = table.columns().to_vec();
    columns.push(std::sync::Arc::new(UInt64Array::from_iter_values(0..rows)));
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns).expect("valid batch")
}

/// The computed column as comparable values, or why its type is not the declared one.
fn actual_values(column: &ArrayRef, output: ValueType) -> Result<Vec<Expected>, String> {
    let ty = column.data_type();
    match output {
        ValueType::Boolean => {
            let b = column
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| format!("declared boolean, computed {ty}"))?;
            Ok(b.iter()
                .map(|v| v.map_or(Expected::Null, Expected::Bool))
                .collect())
        }
        ValueType::Numeric if ty.is_numeric() => {
            let floats = cast(column, &DataType::Float64).map_err(|e| e.to_string())?;
            let f = floats
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or("a Float64 cast is a Float64Array")?;
            Ok(f.iter()
                .map(|v| v.map_or(Expected::Null, Expected::Number))
                .collect())
        }
        other => Err(format!("declared {}, computed {ty}", other.name())),
    }
}

fn same(expected: Expected, actual: Expected) -> bool {
    match (expected, actual) {
        (Expected::Number(e), Expected::Number(a)) => {
            (e.is_nan() && a.is_nan()) || (e - a).abs() <= TOLERANCE * e.abs().max(1.0)
        }
        (e, a) => e == a,
    }
}

/// A column name with a space, double quotes, unicode and an SQL keyword.
fn hostile(column: &str) -> String {
    format!("{column} \"Ünï\" select")
}

/// The table with every column but the row id renamed by [`hostile`].
fn rename_columns(table: &RecordBatch) -> RecordBatch {
    let fields: Vec<Field> = table
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let name = if f.name() == ROW_ID {
                f.name().clone()
            } else {
                hostile(f.name())
            };
            f.as_ref().clone().with_name(name)
        })
        .collect();
    RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(fields)),
        table.columns().to_vec(),
    )
    .expect("same columns, new names")
}

/// `expr` with its column names mapped.
fn rename_expr(expr: &FeatureExpr, name: &dyn Fn(&str) -> String) -> FeatureExpr {
    match expr {
        FeatureExpr::Column(c) => FeatureExpr::Column(name(c)),
        FeatureExpr::Apply { op, args, params } => FeatureExpr::Apply {
            op: op.clone(),
            args: args.iter().map(|a| rename_expr(a, name)).collect(),
            params: params.clone(),
        },
    }
}

// ---------------------------------------------------------------- the test

/// Every case of every `tests/stdlib/*.test` file, in file order.
fn all_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/stdlib exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| parse_file(f))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("bad fixture: {e}"))
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stdlib_operation_computes_its_documented_values() {
    let ops = library();
    let cases = all_cases();

    let original = fixture_table().await;
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    // Every case runs twice: on the table as written, and with every column renamed to a
    // hostile name (spaces, quotes, unicode, an SQL keyword), which must change nothing.
    for renamed in [false, true] {
        let name = |column: &str| {
            if renamed {
                hostile(column)
            } else {
                column.to_owned()
            }
        };
        let data = if renamed {
            rename_columns(&original)
        } else {
            original.clone()
        };
        let rows = data.num_rows();
        let table = FeatureTable::new(SessionContext::new(), &data).expect("the table registers");
        let variant = if renamed {
            " (hostile column names)"
        } else {
            ""
        };
        let mut rendered = Vec::new();
        for case in &cases {
            operations_used(&case.call, &mut covered);
            let ctx = RenderContext {
                time: Some(name(TIME)),
                group: case.group.as_deref().map(name),
                target: name(TARGET),
                row: ROW_ID.to_owned(),
                fold: name(FOLD),
            };
            let sql = match &case.call {
                Call::Column(_) => Err("a case must call an operation".to_owned()),
                call => {
                    feature(call, &ops).and_then(|f| render(&rename_expr(&f, &name), &ops, &ctx))
                }
            };
            match sql {
                Ok(sql) if case.expected.len() == rows => rendered.push((case, sql)),
                Ok(_) => failures.push(format!(
                    "{}: `{}` lists {} values for {rows} rows",
                    case.at,
                    case.text,
                    case.expected.len()
                )),
                Err(e) => failures.push(format!("{}{variant}: `{}`: {e}", case.at, case.text)),
            }
        }

        let sqls: Vec<String> = rendered.iter().map(|(_, sql)| sql.clone()).collect();
        let computed = table.compute(&sqls).await;
        for ((case, sql), column) in rendered.iter().zip(computed) {
            let Call::Apply { op, .. } = &case.call else {
                continue;
            };
            let output = ops[op].spec.output;
            let outcome = column.and_then(|c| actual_values(&c, output));
            match outcome {
                Err(e) => failures.push(format!(
                    "{}{variant}: `{}`\n  sql: {sql}\n  {e}",
                    case.at, case.text
                )),
                Ok(actual) => {
                    let mut diff = String::new();
                    for (row, (e, a)) in case.expected.iter().zip(&actual).enumerate() {
                        if !same(*e, *a) {
                            let _ = writeln!(diff, "    row {row}: expected {e}, got {a}");
                        }
                    }
                    if !diff.is_empty() {
                        let got: Vec<String> = actual.iter().map(ToString::to_string).collect();
                        failures.push(format!(
                            "{}{variant}: `{}`\n  sql: {sql}\n{diff}  all computed values: {}",
                            case.at,
                            case.text,
                            got.join(" ")
                        ));
                    }
                }
            }
        }
    }

    let uncovered: Vec<&String> = ops.keys().filter(|name| !covered.contains(*name)).collect();
    if !uncovered.is_empty() {
        failures.push(format!(
            "operations without a case in tests/stdlib/*.test: {}",
            uncovered
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn calls_parse_with_nesting_quoting_and_parameters() {
    let (call, rest) = parse_call(r#"ratio(log("a ""b"""), y) group=none"#).expect("parses");
    assert_eq!(rest.trim(), "group=none");
    assert_eq!(
        call,
        Call::Apply {
            op: "ratio".into(),
            args: vec![
                Call::Apply {
                    op: "log".into(),
                    args: vec![Call::Column("a \"b\"".into())],
                    params: vec![],
                },
                Call::Column("y".into()),
            ],
            params: vec![],
        }
    );
    let (call, _) = parse_call("contains-pattern(s, pattern='it''s')").expect("parses");
    let Call::Apply { params, .. } = call else {
        panic!("a call")
    };
    assert_eq!(params, [("pattern".into(), Literal::Quoted("it's".into()))]);
}

/// Collects a query's single column of output as comparable values.
async fn query_values(
    ctx: &SessionContext,
    sql: &str,
    output: ValueType,
) -> Result<Vec<Expected>, String> {
    let batches = ctx
        .sql(sql)
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let schema = batches.first().ok_or("no batch")?.schema();
    let batch = concat_batches(&schema, &batches).map_err(|e| e.to_string())?;
    actual_values(batch.column(0), output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stdlib_statistic_is_frozen_so_one_row_gets_its_training_value() {
    use flow_runtime::features::{FOLD_ID, TARGET_VALUE, lookup_name, quote_ident};
    let ops = library();
    let fixture = fixture_table().await;
    // The search's table: the target and folds under the names the search gives them.
    let schema = fixture.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = fixture.columns().to_vec();
    let target = fixture.column_by_name(TARGET).expect("a target column");
    let fold = fixture.column_by_name(FOLD).expect("a fold column");
    fields.push(Field::new(TARGET_VALUE, DataType::Float64, true));
    columns.push(cast(target, &DataType::Float64).expect("numeric"));
    fields.push(Field::new(FOLD_ID, DataType::UInt32, true));
    columns.push(cast(fold, &DataType::UInt32).expect("numeric"));
    let training = RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
        .expect("valid batch");
    let table = FeatureTable::new(SessionContext::new(), &training).expect("registers");
    // New data has the dataset's columns only.
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| ![ROW_ID, TARGET, FOLD].contains(&schema.field(i).name().as_str()))
        .collect();
    let input = fixture.project(&keep).expect("a projection");

    let mut failures = Vec::new();
    let mut live_ops = BTreeSet::new();
    for case in all_cases() {
        let Call::Apply { op, .. } = &case.call else {
            continue;
        };
        let ctx = RenderContext {
            time: Some(TIME.to_owned()),
            group: case.group.clone(),
            target: TARGET_VALUE.to_owned(),
            row: ROW_ID.to_owned(),
            fold: FOLD_ID.to_owned(),
        };
        let sql = feature(&case.call, &ops)
            .and_then(|f| render(&f, &ops, &ctx))
            .unwrap_or_else(|e| panic!("{}: {e}", case.at));
        let set = match table.fit(&[("f".to_owned(), sql.clone())]).await {
            Ok(set) => set,
            Err(e) => {
                failures.push(format!(
                    "{}: `{}` cannot be fitted: {e}",
                    case.at, case.text
                ));
                continue;
            }
        };
        let fitted = &set.fitted.features[0];
        if fitted.live {
            live_ops.insert(op.clone());
        }
        let session = SessionContext::new();
        for (i, lookup) in set.tables.iter().enumerate() {
            let mem = datafusion::datasource::MemTable::try_new(
                lookup.schema(),
                vec![vec![lookup.clone()]],
            )
            .expect("a table");
            session
                .register_table(lookup_name(i), std::sync::Arc::new(mem))
                .expect("registers");
        }
        let sources: Vec<String> = (0..set.tables.len())
            .map(|i| quote_ident(&lookup_name(i)))
            .collect();
        let query = set.fitted.query("input", &sources, &[]);
        let output = ops[op].spec.output;
        let register = |rows: RecordBatch| {
            let _ = session.deregister_table("input");
            let mem = datafusion::datasource::MemTable::try_new(rows.schema(), vec![vec![rows]])
                .expect("a table");
            session
                .register_table("input", std::sync::Arc::new(mem))
                .expect("registers");
        };
        register(input.clone());
        let all = match query_values(&session, &query, output).await {
            Ok(values) => values,
            Err(e) => {
                failures.push(format!(
                    "{}: `{}`\n  fitted: {query}\n  {e}",
                    case.at, case.text
                ));
                continue;
            }
        };
        if all.len() != input.num_rows() {
            failures.push(format!(
                "{}: `{}`: {} rows in, {} out\n  fitted: {query}",
                case.at,
                case.text,
                input.num_rows(),
                all.len()
            ));
            continue;
        }
        // Unsupervised statistics without steps give the search's values on its rows.
        let steps = set.fitted.lookups.iter().any(|l| l.steps_over.is_some());
        if !steps && !sql.contains(TARGET_VALUE) {
            for (row, (e, a)) in case.expected.iter().zip(&all).enumerate() {
                if !same(*e, *a) {
                    failures.push(format!(
                        "{}: `{}` row {row}: the search gives {e}, the fitted SQL {a}\n  fitted: {query}",
                        case.at, case.text
                    ));
                }
            }
        }
        if fitted.live {
            continue;
        }
        // Every row alone gets what it gets among all the rows.
        for (row, among_all) in all.iter().enumerate() {
            register(input.slice(row, 1));
            match query_values(&session, &query, output).await {
                Ok(alone) if alone.len() == 1 && same(*among_all, alone[0]) => {}
                other => failures.push(format!(
                    "{}: `{}` row {row}: {among_all} among all rows, {other:?} alone\n  fitted: {query}",
                    case.at, case.text
                )),
            }
        }
    }
    // Only windows ordered by time stay computed over the applied rows.
    let temporal = flow_stdlib::module("std.temporal").expect("the temporal module");
    for op in &live_ops {
        assert!(
            temporal.text.contains(&format!("op \"{op}\"")),
            "`{op}` was left live, but only time-ordered windows may be"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
