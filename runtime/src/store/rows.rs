//! Rows ⇄ Arrow batches through serde, for the store's small tables (manifests, nodes,
//! features, metrics): one struct per table, its schema declared once beside it.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::json::writer::{ArrayWriter, JsonArray, WriterBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A batch of `schema` holding `rows`.
pub fn batch_from_rows<T: Serialize>(
    schema: &SchemaRef,
    rows: &[T],
) -> Result<RecordBatch, String> {
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.serialize(rows).map_err(|e| e.to_string())?;
    Ok(decoder
        .flush()
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| RecordBatch::new_empty(schema.clone())))
}

/// The rows of `batch`; columns the struct does not know are ignored.
pub fn rows_from_batch<T: DeserializeOwned>(batch: &RecordBatch) -> Result<Vec<T>, String> {
    let mut writer: ArrayWriter<Vec<u8>> = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}
