//! Query results rendered for people (a table) or for other tools (CSV, JSON lines,
//! Parquet).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches;

use super::io::encode;

/// How query results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row, one per line.
    Json,
    /// A Parquet file.
    Parquet,
}

/// `batches` (of `schema`) in `format`.
pub fn render(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: OutputFormat,
) -> Result<Vec<u8>, String> {
    let empty;
    let batches = if batches.is_empty() {
        empty = [RecordBatch::new_empty(schema.clone())];
        &empty[..]
    } else {
        batches
    };
    match format {
        OutputFormat::Table => {
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let table = pretty_format_batches(batches).map_err(|e| e.to_string())?;
            let plural = if rows == 1 { "" } else { "s" };
            Ok(format!("{table}\n{rows} row{plural}\n").into_bytes())
        }
        OutputFormat::Csv => {
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(Vec::new());
            for batch in batches {
                writer
                    .write(&nested_as_text(batch)?)
                    .map_err(|e| e.to_string())?;
            }
            Ok(writer.into_inner())
        }
        OutputFormat::Json => {
            let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(Vec::new());
            for batch in batches {
                writer.write(batch).map_err(|e| e.to_string())?;
            }
            writer.finish().map_err(|e| e.to_string())?;
            Ok(writer.into_inner())
        }
        OutputFormat::Parquet => encode(batches).map(|b| b.to_vec()),
    }
}

/// `batch` with its nested columns (lists, structs, maps) as text (`[0.5, 0.7]`): CSV has
/// no nested values.
fn nested_as_text(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type().is_nested() {
            let formatter = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())
                .map_err(|e| e.to_string())?;
            let text: StringArray = (0..column.len())
                .map(|i| column.is_valid(i).then(|| formatter.value(i).to_string()))
                .collect();
            fields.push(Field::new(field.name(), DataType::Utf8, true));
            columns.push(Arc::new(text));
        } else {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(column));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Builder, ListBuilder};

    #[test]
    fn csv_writes_lists_as_text() {
        let mut list = ListBuilder::new(Float64Builder::new());
        list.values().append_value(0.5);
        list.values().append_value(0.75);
        list.append(true);
        list.append(false);
        let list = list.finish();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "folds",
            list.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(list)]).expect("valid");
        let csv = render(&schema, &[batch], OutputFormat::Csv).expect("renders");
        assert_eq!(
            String::from_utf8(csv).expect("utf-8"),
            "folds\n\"[0.5, 0.75]\"\n\"\"\n"
        );
    }
}
