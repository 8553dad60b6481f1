//! Whole-object Parquet reads and writes: a file is encoded in memory and written with one
//! `put`, which object_store makes atomic on every backend (a temporary file renamed into
//! place locally, a single PUT on S3), so no reader ever sees half a file.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Encodes `batches` (all of `batches[0]`'s schema) as one Parquet file.
pub fn encode(batches: &[RecordBatch]) -> Result<Bytes, String> {
    let schema = batches
        .first()
        .map(RecordBatch::schema)
        .ok_or_else(|| "nothing to write".to_owned())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer =
        ArrowWriter::try_new(Vec::new(), schema, Some(props)).map_err(|e| e.to_string())?;
    for batch in batches {
        writer.write(batch).map_err(|e| e.to_string())?;
    }
    Ok(Bytes::from(writer.into_inner().map_err(|e| e.to_string())?))
}

/// Writes `batches` to `path` as one Parquet object.
pub async fn put_parquet(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    batches: &[RecordBatch],
) -> Result<(), String> {
    let bytes = encode(batches)?;
    store
        .put(path, PutPayload::from(bytes))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Reads a whole Parquet object (`None` when it does not exist).
pub async fn get_parquet(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> Result<Option<Vec<RecordBatch>>, String> {
    let bytes = match store.get(path).await {
        Ok(result) => result.bytes().await.map_err(|e| e.to_string())?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| format!("{path} is not a readable Parquet file: {e}"))?
        .build()
        .map_err(|e| e.to_string())?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path} is not a readable Parquet file: {e}"))?;
    Ok(Some(batches))
}
