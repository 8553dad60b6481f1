//! Getting the loaded dataset ready for the search: rows without a target dropped, the
//! seeded sample taken, the task settled, the target encoded, the confirmation rows held
//! out, the row id added and the base feature set built.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, UInt32Array, UInt64Array,
};
use datafusion::arrow::compute::{cast, filter_record_batch, is_not_null, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use datafusion::error::{DataFusionError, Result};
use flow_dsl::{ConfirmSpec, SampleSize, Task, ValueType};
use ndarray::Array1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::confirm::{self, HeldOut};
use super::job::SearchJob;
use crate::eval::{Fold, Target};
use crate::features::{
    FOLD_ID, FeatureExpr, ModelColumn, ROW_ID, TARGET_VALUE, classify_column, model_column,
};
use crate::search::TypedFeature;

/// A base column: its feature, and its model column unless it cannot feed a model.
#[derive(Debug, Clone)]
pub struct BaseColumn {
    /// The column as a feature.
    pub feature: TypedFeature,
    /// The model-ready values, or why the column is left out of the model.
    pub model: std::result::Result<ModelColumn, String>,
}

/// The dataset as the search uses it.
#[derive(Debug)]
pub struct Prepared {
    /// The rows (with [`ROW_ID`]), as registered for feature computation.
    pub table: RecordBatch,
    /// The encoded target, aligned with the rows.
    pub target: Target,
    /// The base feature set, in column order.
    pub base: Vec<BaseColumn>,
    /// The rows held out of the search to confirm its best set on.
    pub held_out: HeldOut,
}

fn error(message: String) -> DataFusionError {
    super::data_error(message)
}

/// The operator's input as it was loaded: rows without a target already dropped and, for
/// `sample fraction=…`, already sampled, batch by batch, so only what the search keeps is
/// ever held in memory.
#[derive(Debug)]
pub struct Loaded {
    /// The rows kept.
    pub data: RecordBatch,
    /// Rows read from the dataset.
    pub rows_read: usize,
    /// Rows dropped for an empty target.
    pub without_target: usize,
    /// Whether the sample was taken while loading.
    pub sampled: bool,
}

/// Streams the input's batches through the target filter and a fraction sample: the same
/// rows, in the same order, that filtering and sampling the whole table would keep (one
/// seeded draw per row with a target, in row order).
pub struct Loader<'j> {
    job: &'j SearchJob,
    fraction: Option<(f64, ChaCha8Rng)>,
    rows_read: usize,
    without_target: usize,
}

impl<'j> Loader<'j> {
    /// A loader for `job`'s dataset.
    pub fn new(job: &'j SearchJob) -> Self {
        let fraction = job
            .dataset
            .sample
            .as_ref()
            .and_then(|spec| match spec.size {
                SampleSize::Fraction(f) => Some((
                    f,
                    ChaCha8Rng::seed_from_u64(spec.seed.unwrap_or(job.search.seed)),
                )),
                SampleSize::Rows(_) => None,
            });
        Self {
            job,
            fraction,
            rows_read: 0,
            without_target: 0,
        }
    }

    /// What of `batch` the search keeps.
    pub fn keep(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.rows_read += batch.num_rows();
        // Without the target column the batch is kept whole: `prepare` says what is wrong.
        let Some(target) = batch.column_by_name(&self.job.dataset.target.value) else {
            return Ok(batch.clone());
        };
        let with_target = filter_record_batch(batch, &is_not_null(target.as_ref())?)?;
        self.without_target += batch.num_rows() - with_target.num_rows();
        let Some((fraction, rng)) = self.fraction.as_mut() else {
            return Ok(with_target);
        };
        let keep: Vec<u64> = (0..with_target.num_rows() as u64)
            .filter(|_| rng.r#gen::<f64>() < *fraction)
            .collect();
        Ok(take_record_batch(&with_target, &UInt64Array::from(keep))?)
    }

    /// The loaded input, once every batch went through [`keep`](Self::keep).
    pub fn finish(self, data: RecordBatch) -> Loaded {
        Loaded {
            data,
            rows_read: self.rows_read,
            without_target: self.without_target,
            sampled: self.fraction.is_some(),
        }
    }
}

/// Prepares the operator's whole input for `job`.
pub fn prepare(job: &SearchJob, loaded: Loaded) -> Result<Prepared> {
    let target_name = &job.dataset.target.value;
    let source = job.dataset.source.value.display();
    let data = loaded.data;
    let target_column = data.column_by_name(target_name).ok_or_else(|| {
        error(format!(
            "{source} has no target column `{target_name}`; name one of its columns in `target`"
        ))
    })?;
    let before = loaded.rows_read;
    let data = filter_record_batch(&data, &is_not_null(target_column.as_ref())?)?;
    let dropped_rows = loaded.without_target;
    if before == 0 {
        return Err(error(format!(
            "{source} has no rows (a header at most); a search needs data: add rows, or point `source` at the file that holds them"
        )));
    }
    if dropped_rows == before {
        return Err(error(format!(
            "the target column `{target_name}` is empty (NULL) in all {before} rows of {source}, so there is nothing to learn from; fill it in, or name another column in `target`"
        )));
    }
    let data = if loaded.sampled {
        data
    } else {
        sample(job, data)?
    };
    if data.num_rows() < 2 {
        return Err(error(format!(
            "{source} has {} usable rows ({dropped_rows} dropped for an empty target{}); a search needs at least 2",
            data.num_rows(),
            if job.dataset.sample.is_some() {
                ", then sampled"
            } else {
                ""
            }
        )));
    }
    let target_array = data
        .column_by_name(target_name)
        .expect("the target column survives filtering");
    let task = match &job.dataset.task {
        Some(t) => t.value,
        None => infer_task(target_array.as_ref()),
    };
    let target = encode_target(target_array, task, &format!("`{target_name}` of {source}"))?;
    let (data, target, held_out) = hold_out(job, data, target)?;
    let table = with_row_id(&data)?;
    let base = base_columns(job, &table);
    if base.iter().all(|c| c.model.is_err()) {
        let reasons: Vec<String> = base
            .iter()
            .filter_map(|c| {
                c.model
                    .as_ref()
                    .err()
                    .map(|e| format!("`{}` {e}", c.feature.expr.name()))
            })
            .collect();
        return Err(error(format!(
            "no column can feed the model, so there is no baseline: {}",
            if reasons.is_empty() {
                "no feature columns".to_owned()
            } else {
                reasons.join("; ")
            }
        )));
    }
    Ok(Prepared {
        table,
        target,
        base,
        held_out,
    })
}

/// Takes the `confirm` holdout out of `data` (rows aligned with `target`): the search's
/// rows, their target, and the held-out rows (or why there are none).
fn hold_out(
    job: &SearchJob,
    data: RecordBatch,
    target: Target,
) -> Result<(RecordBatch, Target, HeldOut)> {
    let ConfirmSpec::Holdout { fraction, seed } = job.evaluator.confirm else {
        return Ok((data, target, HeldOut::Off));
    };
    let rows = data.num_rows();
    if rows < confirm::MIN_ROWS {
        let why = format!(
            "{rows} rows are too few to hold {fraction} of them out and still search (it \
             takes {} or more); the scores are cross-validated only",
            confirm::MIN_ROWS
        );
        return Ok((data, target, HeldOut::Skipped(why)));
    }
    let time = job
        .dataset
        .time
        .as_ref()
        .and_then(|t| data.column_by_name(&t.value));
    let held = confirm::held_out_rows(fraction, seed.unwrap_or(job.search.seed), &target, time)?;
    let (search, search_target, rows) = confirm::split(&data, &target, &held)?;
    Ok((search, search_target, HeldOut::Rows(rows)))
}

fn sample(job: &SearchJob, data: RecordBatch) -> Result<RecordBatch> {
    let Some(spec) = &job.dataset.sample else {
        return Ok(data);
    };
    let seed = spec.seed.unwrap_or(job.search.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rows = data.num_rows();
    let keep: Vec<u64> = match spec.size {
        SampleSize::Rows(n) if n as usize >= rows => return Ok(data),
        SampleSize::Rows(n) => {
            // A partial Fisher–Yates shuffle picks n rows; sorting keeps the original order.
            let mut indices: Vec<u64> = (0..rows as u64).collect();
            for i in 0..n as usize {
                let j = rng.gen_range(i..rows);
                indices.swap(i, j);
            }
            let mut chosen = indices[..n as usize].to_vec();
            chosen.sort_unstable();
            chosen
        }
        SampleSize::Fraction(f) => (0..rows as u64)
            .filter(|_| rng.r#gen::<f64>() < f)
            .collect(),
    };
    Ok(take_record_batch(&data, &UInt64Array::from(keep))?)
}

fn with_row_id(data: &RecordBatch) -> Result<RecordBatch> {
    let mut fields: Vec<Arc<Field>> = data.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(ROW_ID, DataType::UInt64, false)));
    let mut columns = data.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from_iter_values(
        0..data.num_rows() as u64,
    )));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Strings and booleans are classes; floats are amounts; integers are classes when they
/// take at most 20 distinct values.
fn infer_task(target: &dyn Array) -> Task {
    let ty = target.data_type();
    if ty.is_floating() || matches!(ty, DataType::Decimal128(_, _) | DataType::Decimal256(_, _)) {
        return Task::Regression;
    }
    if ty.is_integer() {
        let Ok(ints) = cast(target, &DataType::Int64) else {
            return Task::Regression;
        };
        let distinct: std::collections::BTreeSet<i64> = ints
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .iter()
            .flatten()
            .collect();
        return if distinct.len() <= 20 {
            Task::Classification
        } else {
            Task::Regression
        };
    }
    Task::Classification
}

/// The target as the models see it. Every row has a target value (rows without one were
/// dropped); `target` names it in messages (`` `y` of data.csv ``). A target that cannot
/// be learnt (not numbers for a regression, one value in every row) is an error that says
/// what to do.
fn encode_target(array: &ArrayRef, task: Task, target: &str) -> Result<Target> {
    match task {
        Task::Regression => {
            let floats = cast(array, &DataType::Float64).map_err(|_| {
                error(format!(
                    "the target {target} holds {} values, which cannot be regressed; declare `task \"classification\"`",
                    array.data_type()
                ))
            })?;
            // A string that is not a number casts to NULL: name the first one.
            if let Some(row) = (0..array.len()).find(|&i| array.is_valid(i) && floats.is_null(i)) {
                let text = cast(&array.slice(row, 1), &DataType::Utf8)?;
                let value = text.as_string::<i32>().value(0).to_owned();
                return Err(error(format!(
                    "the target {target} holds `{value}`, which is not a number, but a regression needs numbers; declare `task \"classification\"` to predict its values as classes, or correct the column"
                )));
            }
            let values: Vec<f64> = floats
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                return Err(error(format!(
                    "the target {target} holds `{bad}`, which is not a finite number; remove those rows or correct the column"
                )));
            }
            if let Some(first) = values.first()
                && values.iter().all(|v| v == first)
            {
                return Err(error(format!(
                    "the target {target} holds the same value ({first}) in every row, so there is nothing to predict; name another column in `target`"
                )));
            }
            Ok(Target::Regression(Array1::from(values)))
        }
        Task::Classification => {
            let numeric = array.data_type().is_numeric();
            let strings = cast(array, &DataType::Utf8)?;
            let strings = strings.as_string::<i32>();
            let mut classes: Vec<String> = strings.iter().flatten().map(str::to_owned).collect();
            classes.sort_by(|a, b| match (numeric, a.parse::<f64>(), b.parse::<f64>()) {
                (true, Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => a.cmp(b),
            });
            classes.dedup();
            if let [only] = classes.as_slice() {
                return Err(error(format!(
                    "the target {target} holds the same value ({only}) in every row, so there is nothing to predict: classification needs at least two classes; name another column in `target`"
                )));
            }
            if classes.is_empty() {
                return Err(error(format!(
                    "the target {target} has no values that can be classes; name another column in `target`"
                )));
            }
            let labels: Vec<usize> = strings
                .iter()
                .map(|v| {
                    classes
                        .iter()
                        .position(|c| Some(c.as_str()) == v)
                        .unwrap_or(0)
                })
                .collect();
            Ok(Target::Classification {
                labels: Array1::from(labels),
                classes,
            })
        }
    }
}

fn base_columns(job: &SearchJob, table: &RecordBatch) -> Vec<BaseColumn> {
    let dataset = &job.dataset;
    let mut skip: Vec<&str> = vec![dataset.target.value.as_str(), ROW_ID];
    skip.extend(dataset.id.as_ref().map(|c| c.value.as_str()));
    skip.extend(dataset.drop.iter().map(|c| c.value.as_str()));
    skip.extend(job.exclude.iter().map(String::as_str));
    table
        .schema()
        .fields()
        .iter()
        .zip(table.columns())
        .filter(|(field, _)| !skip.contains(&field.name().as_str()))
        .filter(|(field, _)| job.include.is_empty() || job.include.contains(field.name()))
        .map(|(field, array)| {
            let kind = classify_column(array.as_ref());
            let ty: ValueType = kind.value_type();
            BaseColumn {
                feature: TypedFeature {
                    expr: FeatureExpr::Column(field.name().clone()),
                    ty,
                },
                model: model_column(array),
            }
        })
        .collect()
}

/// `table` with the numeric target ([`TARGET_VALUE`]) and each row's validation fold
/// ([`FOLD_ID`]) added, so supervised operations can leave the row's own fold out.
pub fn with_supervision(
    table: &RecordBatch,
    target: &Target,
    folds: &[Fold],
) -> Result<RecordBatch> {
    let values: Vec<f64> = match target {
        Target::Regression(y) => y.to_vec(),
        #[allow(clippy::cast_precision_loss)]
        Target::Classification { labels, classes } if classes.len() == 2 => labels
            .iter()
            .map(|l| if *l == 1 { 1.0 } else { 0.0 })
            .collect(),
        #[allow(clippy::cast_precision_loss)]
        Target::Classification { labels, .. } => labels.iter().map(|l| *l as f64).collect(),
    };
    let mut fold_of: Vec<Option<u32>> = vec![None; table.num_rows()];
    for (k, fold) in folds.iter().enumerate() {
        for &row in &fold.valid {
            if let Some(slot) = fold_of.get_mut(row) {
                slot.get_or_insert(u32::try_from(k).unwrap_or(u32::MAX));
            }
        }
    }
    let mut fields: Vec<Arc<Field>> = table.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(TARGET_VALUE, DataType::Float64, false)));
    fields.push(Arc::new(Field::new(FOLD_ID, DataType::UInt32, true)));
    let mut columns = table.columns().to_vec();
    columns.push(Arc::new(Float64Array::from(values)));
    columns.push(Arc::new(UInt32Array::from(fold_of)));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn the_task_follows_the_target_values() {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5, 2.0]));
        let few_ints: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, 1, 0]));
        let many_ints: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100));
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["rain", "sun"]));
        assert_eq!(infer_task(floats.as_ref()), Task::Regression);
        assert_eq!(infer_task(few_ints.as_ref()), Task::Classification);
        assert_eq!(infer_task(many_ints.as_ref()), Task::Regression);
        assert_eq!(infer_task(strings.as_ref()), Task::Classification);
    }

    #[test]
    fn classes_are_sorted_numerically_when_the_target_is_numeric() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![10, 2, 10, 1]));
        let Target::Classification { labels, classes } =
            encode_target(&ints, Task::Classification, "`y`").expect("valid")
        else {
            panic!("classification expected")
        };
        assert_eq!(classes, ["1", "2", "10"]);
        assert_eq!(labels.to_vec(), vec![2, 1, 2, 0]);
    }
}
