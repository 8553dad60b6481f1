//! Computing candidate features with DataFusion: many candidates in one query over the
//! in-memory dataset, in the original row order.
//!
//! Candidates that read only their own row run over the table split into one partition
//! per core, and come back in partition order: the same rows in the same order, computed in
//! parallel. Candidates with window functions read other rows, so each runs alone over the
//! table as one partition: a window over several partitions would add up their rows in the
//! order the partitions finish, and a window beside other windows in the order their sorts
//! left the rows; either way its results would change in the last bits from run to run.

use std::sync::Arc;

use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{concat, take_record_batch};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::{SessionContext, ident};

use super::render::quote_ident;

/// The column flow adds to every dataset: the row's position, 0-based, stable for a run.
pub const ROW_ID: &str = "__flow_row";

/// The column holding each row's cross-validation fold (`{fold}` in templates).
pub const FOLD_ID: &str = "__flow_fold";

/// The column holding the target as a number (`{target}` in templates).
pub const TARGET_VALUE: &str = "__flow_target";

/// The name the in-memory dataset is registered under, as one partition.
const TABLE: &str = "base";

/// The name the in-memory dataset is registered under, split into contiguous partitions.
const SPLIT_TABLE: &str = "base_split";

/// Rows per batch of the in-memory table: large enough for vectorised kernels, small
/// enough for DataFusion to spread a query across cores.
const BATCH_ROWS: usize = 65_536;

/// The dataset, held in memory and registered in a session, ready to compute features.
pub struct FeatureTable {
    ctx: SessionContext,
    rows: usize,
    /// Whether [`SPLIT_TABLE`] is registered (the data spans several batches and the
    /// session several partitions).
    split: bool,
}

impl FeatureTable {
    /// Registers `data` (which includes [`ROW_ID`]) in `ctx`.
    pub fn new(ctx: SessionContext, data: &RecordBatch) -> Result<Self> {
        let rows = data.num_rows();
        // Compact copies, not slices: a slice reports its whole parent buffer as its memory,
        // and sorts over the table would reserve that once per batch.
        let batches: Vec<RecordBatch> = (0..rows.max(1))
            .step_by(BATCH_ROWS)
            .map(|start| {
                let end = (start + BATCH_ROWS).min(rows) as u64;
                let indices = UInt64Array::from_iter_values(start as u64..end);
                take_record_batch(data, &indices)
            })
            .collect::<std::result::Result<_, _>>()?;
        // The same batches, dealt out in contiguous runs: partition i holds rows before
        // partition i + 1's.
        let partitions = ctx.state().config().target_partitions().min(batches.len());
        let split = partitions > 1;
        if split {
            let per_partition = batches.len().div_ceil(partitions);
            let parts: Vec<Vec<RecordBatch>> =
                batches.chunks(per_partition).map(<[_]>::to_vec).collect();
            ctx.register_table(
                SPLIT_TABLE,
                Arc::new(MemTable::try_new(data.schema(), parts)?),
            )?;
        }
        // Declaring the row order lets DataFusion drop the `ORDER BY` of feature queries
        // without windows: those stream in order, without buffering the whole result.
        let table = MemTable::try_new(data.schema(), vec![batches])?
            .with_sort_order(vec![vec![ident(ROW_ID).sort(true, false)]]);
        ctx.register_table(TABLE, Arc::new(table))?;
        Ok(Self { ctx, rows, split })
    }

    /// Fits `features` (name, SQL) on the table: every statistic frozen (see `fit.rs`).
    pub async fn fit(
        &self,
        features: &[(String, String)],
    ) -> std::result::Result<super::FittedSet, String> {
        super::fit::fit(&self.ctx, TABLE, features).await
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes a sort in this session reserves up front (its feature queries sort by row).
    pub fn sort_reservation(&self) -> usize {
        self.ctx
            .state()
            .config_options()
            .execution
            .sort_spill_reservation_bytes
    }

    /// Computes every SQL expression in `sqls`, in one query when they all plan; a
    /// candidate that fails gets its own error and does not fail the others.
    pub async fn compute(&self, sqls: &[String]) -> Vec<std::result::Result<ArrayRef, String>> {
        match self.try_compute(sqls).await {
            Ok(columns) => columns,
            Err(e) => vec![Err(e.to_string()); sqls.len()],
        }
    }

    /// [`compute`](Self::compute), except that running out of memory fails the whole call:
    /// it says nothing about the candidates, and must not reject them.
    pub async fn try_compute(
        &self,
        sqls: &[String],
    ) -> Result<Vec<std::result::Result<ArrayRef, String>>> {
        let parts = self.try_compute_parts(sqls).await?;
        Ok(parts
            .into_iter()
            .map(|column| {
                let column = column?;
                let refs: Vec<&dyn Array> = column.iter().map(AsRef::as_ref).collect();
                concat(&refs).map_err(|e| e.to_string())
            })
            .collect())
    }

    /// [`try_compute`](Self::try_compute) with each column in the parts the query returned
    /// it in (in row order), so the caller can read it without joining them first.
    pub async fn try_compute_parts(
        &self,
        sqls: &[String],
    ) -> Result<Vec<std::result::Result<Vec<ArrayRef>, String>>> {
        if sqls.is_empty() {
            return Ok(Vec::new());
        }
        match self.query(sqls).await {
            Ok(columns) => Ok(columns.into_iter().map(Ok).collect()),
            Err(e) if out_of_memory(&e) => Err(e),
            Err(_) if sqls.len() > 1 => {
                // Isolate the failure: one query per candidate.
                let mut out = Vec::with_capacity(sqls.len());
                for sql in sqls {
                    match self.query(std::slice::from_ref(sql)).await {
                        Ok(mut c) => out.push(Ok(c.remove(0))),
                        Err(e) if out_of_memory(&e) => return Err(e),
                        Err(e) => out.push(Err(e.to_string())),
                    }
                }
                Ok(out)
            }
            Err(e) => Ok(vec![Err(e.to_string())]),
        }
    }

    /// Computes `sqls`: those reading only their own row in one query (over the split
    /// table when there is one), those reading other rows each in a query of its own over
    /// the whole table; the columns (each in parts) come back in the order of `sqls`.
    ///
    /// A window computed beside other windows reads its rows in the order their sorts left
    /// them, so a sum over them would change in the last bits with the companions a
    /// candidate happens to be computed with (which depend on the cache, the batch, a
    /// resume). Alone, a window's result depends on its own SQL only.
    async fn query(&self, sqls: &[String]) -> Result<Vec<Vec<ArrayRef>>> {
        let (windowed, row_wise): (Vec<usize>, Vec<usize>) =
            (0..sqls.len()).partition(|&i| reads_other_rows(&sqls[i]));
        let mut out: Vec<Option<Vec<ArrayRef>>> = vec![None; sqls.len()];
        if !row_wise.is_empty() {
            let picked: Vec<String> = row_wise.iter().map(|&i| sqls[i].clone()).collect();
            let batches: Vec<RecordBatch> = if self.split {
                let sql = select(&picked, SPLIT_TABLE, false);
                let partitions = self.ctx.sql(&sql).await?.collect_partitioned().await?;
                partitions.into_iter().flatten().collect()
            } else {
                let sql = select(&picked, TABLE, true);
                self.ctx.sql(&sql).await?.collect().await?
            };
            for (i, column) in row_wise.iter().zip(self.columns(&batches, row_wise.len())?) {
                out[*i] = Some(column);
            }
        }
        for i in windowed {
            let sql = select(std::slice::from_ref(&sqls[i]), TABLE, true);
            let batches = self.ctx.sql(&sql).await?.collect().await?;
            out[i] = self.columns(&batches, 1)?.pop();
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The `count` feature columns of a query's result (the row number first), each as its
    /// parts in row order, after checking that the result holds every row, in order.
    fn columns(&self, batches: &[RecordBatch], count: usize) -> Result<Vec<Vec<ArrayRef>>> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let in_order = batches
            .iter()
            .map(|b| b.column(0).as_any().downcast_ref::<UInt64Array>())
            .try_fold(0u64, |next, ids| {
                let ids = ids?;
                ids.values()
                    .iter()
                    .try_fold(next, |n, &id| (id == n).then_some(n + 1))
            });
        if rows != self.rows || in_order.is_none() {
            return Err(datafusion::error::DataFusionError::Execution(format!(
                "the feature query returned {rows} rows for {} input rows, or not in row order",
                self.rows
            )));
        }
        Ok((1..=count)
            .map(|i| batches.iter().map(|b| Arc::clone(b.column(i))).collect())
            .collect())
    }
}

/// Whether `sql` may read rows other than its own: it has a window function (`OVER`), or
/// it does not parse here (then it takes the careful path and fails there, with its error).
fn reads_other_rows(sql: &str) -> bool {
    use datafusion::sql::sqlparser::ast::{Expr, visit_expressions};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use std::ops::ControlFlow;

    let Ok(expr) = Parser::new(&GenericDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
    else {
        return true;
    };
    visit_expressions(&expr, |e| match e {
        Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The query computing `sqls` over `table`, one column `f<i>` each after the row number,
/// sorted by row when `ordered` (a split table's partitions come back in order by
/// themselves).
fn select(sqls: &[String], table: &str, ordered: bool) -> String {
    let row = quote_ident(ROW_ID);
    let mut select = format!("SELECT {row}");
    for (i, sql) in sqls.iter().enumerate() {
        select.push_str(&format!(", ({sql}) AS {}", quote_ident(&format!("f{i}"))));
    }
    select.push_str(&format!(" FROM {}", quote_ident(table)));
    if ordered {
        select.push_str(&format!(" ORDER BY {row}"));
    }
    select
}

/// Whether `e` is the memory pool refusing an allocation.
fn out_of_memory(e: &datafusion::error::DataFusionError) -> bool {
    matches!(
        e.find_root(),
        datafusion::error::DataFusionError::ResourcesExhausted(_)
    )
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, UInt64Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::physical_plan::displayable;

    use super::*;

    fn table(rows: u64) -> FeatureTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new(ROW_ID, DataType::UInt64, false),
            Field::new("x", DataType::Float64, false),
        ]));
        let data = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(UInt64Array::from_iter_values(0..rows)),
                #[allow(clippy::cast_precision_loss)]
                Arc::new(Float64Array::from_iter_values(
                    (0..rows).map(|i| ((i * 7919) % 101) as f64),
                )),
            ],
        )
        .expect("a valid batch");
        let config = crate::plan::search_session_config().with_target_partitions(2);
        FeatureTable::new(SessionContext::new_with_config(config), &data)
            .expect("a registered table")
    }

    async fn plan(table: &FeatureTable, sqls: &[String]) -> String {
        let df = table
            .ctx
            .sql(&select(sqls, TABLE, true))
            .await
            .expect("the query plans");
        let plan = df.create_physical_plan().await.expect("a physical plan");
        displayable(plan.as_ref()).indent(true).to_string()
    }

    #[tokio::test]
    async fn only_queries_with_windows_sort_by_row() {
        let table = table(200_000);
        let plain = plan(&table, &["ln(\"x\" + 1)".to_owned()]).await;
        assert!(!plain.contains("SortExec"), "{plain}");
        let windowed = plan(&table, &["avg(\"x\") OVER (ORDER BY \"x\")".to_owned()]).await;
        assert!(windowed.contains("SortExec"), "{windowed}");
    }

    #[tokio::test]
    async fn results_come_in_row_order_with_and_without_windows() {
        let table = table(200_000);
        let sqls = [
            "\"x\" * 2".to_owned(),
            "lag(\"x\") OVER (ORDER BY \"x\", \"__flow_row\")".to_owned(),
        ];
        let columns = table.try_compute(&sqls).await.expect("no memory trouble");
        let doubled = columns[0].as_ref().expect("computed");
        let lagged = columns[1].as_ref().expect("computed");
        let doubled = doubled
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("floats");
        #[allow(clippy::cast_precision_loss)]
        for (i, v) in doubled.values().iter().enumerate() {
            assert_eq!(*v, 2.0 * ((i as u64 * 7919) % 101) as f64);
        }
        assert_eq!(lagged.len(), 200_000);
    }

    #[test]
    fn window_functions_and_subqueries_read_other_rows() {
        assert!(!reads_other_rows("ln(\"x\" + 1) * CAST(\"y\" AS DOUBLE)"));
        assert!(!reads_other_rows("CASE WHEN \"x\" > 0 THEN 1 ELSE 0 END"));
        assert!(reads_other_rows("\"x\" - avg(\"x\") OVER ()"));
        assert!(reads_other_rows(
            "lag(\"x\") OVER (PARTITION BY \"g\" ORDER BY \"t\")"
        ));
        assert!(reads_other_rows("\"x\" - (SELECT avg(\"x\") FROM base)"));
        assert!(reads_other_rows("this is not sql ((("));
    }

    #[tokio::test]
    async fn the_split_table_computes_what_the_whole_one_does_in_parallel() {
        let table = table(300_000);
        assert!(table.split, "300,000 rows span several batches");
        let sqls = [
            "ln(\"x\" + 1) / (\"x\" + 2)".to_owned(),
            "\"x\" * \"x\"".to_owned(),
        ];
        let plain = plan_of(&table, &select(&sqls, SPLIT_TABLE, false)).await;
        assert!(plain.contains("partitions=2"), "{plain}");
        assert!(!plain.contains("Sort"), "{plain}");
        let split = table.try_compute(&sqls).await.expect("no memory trouble");
        let whole = table
            .ctx
            .sql(&select(&sqls, TABLE, true))
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        for (i, column) in split.iter().enumerate() {
            let column = column.as_ref().expect("computed");
            let parts: Vec<&dyn datafusion::arrow::array::Array> =
                whole.iter().map(|b| b.column(i + 1).as_ref()).collect();
            assert_eq!(column.as_ref(), concat(&parts).expect("same type").as_ref());
        }
    }

    #[tokio::test]
    async fn a_window_gives_the_same_bits_whatever_is_computed_beside_it() {
        // Values of many magnitudes, so that a sum taken in another order differs in its
        // last bits; groups interleaved, so that sorting by them reorders every row.
        let rows = 5_000_u64;
        let schema = Arc::new(Schema::new(vec![
            Field::new(ROW_ID, DataType::UInt64, false),
            Field::new("x", DataType::Float64, false),
            Field::new("g", DataType::UInt64, false),
        ]));
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let x = Float64Array::from_iter_values(
            (0..rows).map(|i| ((i * 7919) % 101) as f64 / 7.0 * 10f64.powi((i % 9) as i32 - 4)),
        );
        let data = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(UInt64Array::from_iter_values(0..rows)),
                Arc::new(x),
                Arc::new(UInt64Array::from_iter_values(
                    (0..rows).map(|i| (i * 31) % 13),
                )),
            ],
        )
        .expect("a valid batch");
        let table = FeatureTable::new(
            SessionContext::new_with_config(crate::plan::search_session_config()),
            &data,
        )
        .expect("a registered table");
        let whole = "\"x\" - avg(\"x\") OVER ()".to_owned();
        let alone = table
            .try_compute(std::slice::from_ref(&whole))
            .await
            .expect("computed");
        let companions = [
            "avg(\"x\") OVER (PARTITION BY \"g\")".to_owned(),
            whole.clone(),
            "sum(\"x\") OVER (PARTITION BY \"g\" ORDER BY \"x\", \"__flow_row\")".to_owned(),
        ];
        let together = table.try_compute(&companions).await.expect("computed");
        let bits = |column: &std::result::Result<ArrayRef, String>| -> Vec<u64> {
            column
                .as_ref()
                .expect("computed")
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("floats")
                .values()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        let (alone, together) = (bits(&alone[0]), bits(&together[1]));
        let differing = alone.iter().zip(&together).filter(|(a, b)| a != b).count();
        assert_eq!(together.len(), alone.len());
        assert_eq!(differing, 0, "{differing} of {} values differ", alone.len());
    }

    async fn plan_of(table: &FeatureTable, sql: &str) -> String {
        let df = table.ctx.sql(sql).await.expect("the query plans");
        let plan = df.create_physical_plan().await.expect("a physical plan");
        displayable(plan.as_ref()).indent(true).to_string()
    }
}
