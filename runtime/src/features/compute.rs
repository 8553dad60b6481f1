//! Computing candidate features with DataFusion: many candidates in one query over the
//! in-memory dataset, in the original row order.

use std::sync::Arc;

use datafusion::arrow::array::UInt64Array;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

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
        let table = MemTable::try_new(data.schema(), vec![batches])?;
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
        let row = quote_ident(ROW_ID);
        let mut select = format!("SELECT {row}");
        for (i, sql) in sqls.iter().enumerate() {
            select.push_str(&format!(", ({sql}) AS {}", quote_ident(&format!("f{i}"))));
        }
        select.push_str(&format!(" FROM {} ORDER BY {row}", quote_ident(TABLE)));
        let batches = self.ctx.sql(&select).await?.collect().await?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => {
                return Err(datafusion::error::DataFusionError::Execution(
                    "the feature query returned no rows".to_owned(),
                ));
            }
        };
        let all = concat_batches(&schema, &batches)?;
        if all.num_rows() != self.rows {
            return Err(datafusion::error::DataFusionError::Execution(format!(
                "the feature query returned {} rows for {} input rows",
                all.num_rows(),
                self.rows
            )));
        }
        Ok(all.columns()[1..].to_vec())
    }
}

/// Whether `e` is the memory pool refusing an allocation.
fn out_of_memory(e: &datafusion::error::DataFusionError) -> bool {
    matches!(
        e.find_root(),
        datafusion::error::DataFusionError::ResourcesExhausted(_)
    )
}
