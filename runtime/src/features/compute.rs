//! Computing candidate features with DataFusion: many candidates in one query over the
//! in-memory dataset, in the original row order.

use std::sync::Arc;

use datafusion::arrow::array::UInt64Array;
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

/// The name the in-memory dataset is registered under.
const TABLE: &str = "base";

/// Rows per batch of the in-memory table: large enough for vectorised kernels, small
/// enough for DataFusion to spread a query across cores.
const BATCH_ROWS: usize = 65_536;

/// The dataset, held in memory and registered in a session, ready to compute features.
pub struct FeatureTable {
    ctx: SessionContext,
    rows: usize,
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
        // Declaring the row order lets DataFusion drop the `ORDER BY` of feature queries
        // without windows: those stream in order, without buffering the whole result.
        let table = MemTable::try_new(data.schema(), vec![batches])?
            .with_sort_order(vec![vec![ident(ROW_ID).sort(true, false)]]);
        ctx.register_table(TABLE, Arc::new(table))?;
        Ok(Self { ctx, rows })
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

    async fn query(&self, sqls: &[String]) -> Result<Vec<ArrayRef>> {
        let batches = self.ctx.sql(&select(sqls)).await?.collect().await?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows != self.rows {
            return Err(datafusion::error::DataFusionError::Execution(format!(
                "the feature query returned {rows} rows for {} input rows",
                self.rows
            )));
        }
        // One column at a time, so the result is held at most twice.
        (1..=sqls.len())
            .map(|i| {
                let parts: Vec<&dyn datafusion::arrow::array::Array> =
                    batches.iter().map(|b| b.column(i).as_ref()).collect();
                Ok(concat(&parts)?)
            })
            .collect()
    }
}

/// The query computing `sqls` in row order, one column `f<i>` each after the row number.
fn select(sqls: &[String]) -> String {
    let row = quote_ident(ROW_ID);
    let mut select = format!("SELECT {row}");
    for (i, sql) in sqls.iter().enumerate() {
        select.push_str(&format!(", ({sql}) AS {}", quote_ident(&format!("f{i}"))));
    }
    select.push_str(&format!(" FROM {} ORDER BY {row}", quote_ident(TABLE)));
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
        let ctx = SessionContext::new_with_config(crate::plan::search_session_config());
        FeatureTable::new(ctx, &data).expect("a registered table")
    }

    async fn plan(table: &FeatureTable, sqls: &[String]) -> String {
        let df = table.ctx.sql(&select(sqls)).await.expect("the query plans");
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
}
