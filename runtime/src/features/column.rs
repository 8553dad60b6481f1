//! From Arrow columns to model inputs: what kind of values a column holds, and the
//! numeric, imputed column a model sees.
//!
//! Imputation is explicit and documented (docs/language.md, "Evaluators"): NULL, NaN and
//! ±∞ become the mean of the column's finite values. Categories become codes in order of
//! first appearance (NULL is a category of its own), marked as categorical so that models
//! which read numbers as quantities one-hot encode them (`eval::one_hot`). Booleans are
//! 0/1, dates and timestamps their number of days or time units since the epoch.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{cast, concat};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use flow_dsl::ValueType;
use ndarray::Array1;

/// A model-ready column: one finite float per row, and whether the floats are category
/// codes (labels, not quantities). Cloning shares the values.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelColumn {
    values: Arc<Array1<f64>>,
    categorical: bool,
}

impl ModelColumn {
    /// A column of quantities.
    pub fn numeric(values: Array1<f64>) -> Self {
        Self {
            values: Arc::new(values),
            categorical: false,
        }
    }

    /// A column of category codes.
    pub fn categorical(codes: Array1<f64>) -> Self {
        Self {
            values: Arc::new(codes),
            categorical: true,
        }
    }

    /// Whether the values are category codes rather than quantities.
    pub fn is_categorical(&self) -> bool {
        self.categorical
    }

    /// The values, one per row.
    pub fn values(&self) -> &Array1<f64> {
        &self.values
    }
}

impl std::ops::Deref for ModelColumn {
    type Target = Array1<f64>;

    fn deref(&self) -> &Array1<f64> {
        &self.values
    }
}

/// What kind of values a column holds, which decides the operations it may feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Numbers.
    Numeric,
    /// Few distinct strings (or a dictionary).
    Categorical,
    /// True/false.
    Boolean,
    /// Dates and timestamps.
    Temporal,
    /// Many distinct strings.
    Text,
}

impl ColumnKind {
    /// The language's type for this kind.
    pub fn value_type(self) -> ValueType {
        match self {
            Self::Numeric => ValueType::Numeric,
            Self::Categorical => ValueType::Categorical,
            Self::Boolean => ValueType::Boolean,
            Self::Temporal => ValueType::Temporal,
            Self::Text => ValueType::Text,
        }
    }
}

/// A string column with at most this many distinct values (and at most half as many as
/// rows) is categorical.
const MAX_CATEGORIES: usize = 100;

/// A string column of short values (codes: airports, stores, product lines) is categorical
/// up to this many distinct values (and at most half as many as rows).
const MAX_CODES: usize = 1000;

/// The longest mean length, in characters, of the values of a column of codes.
const MAX_CODE_LENGTH: f64 = 12.0;

/// The kind of a string column with `distinct` distinct non-NULL values, `rows` rows and
/// values `mean_length` characters long on average: categorical when values repeat (at
/// most half as many distinct values as rows) and are few or short, text otherwise. The
/// one rule for the search's data (`classify_column`) and `flow check`'s profile.
pub fn string_kind(distinct: usize, rows: usize, mean_length: f64) -> ColumnKind {
    let repeats = distinct * 2 <= rows.max(2);
    let few = distinct <= MAX_CATEGORIES;
    let codes = distinct <= MAX_CODES && mean_length <= MAX_CODE_LENGTH;
    if repeats && (few || codes) {
        ColumnKind::Categorical
    } else {
        ColumnKind::Text
    }
}

/// The positions in `columns` of those holding category codes.
pub fn categorical_positions(columns: &[ModelColumn]) -> Vec<usize> {
    (0..columns.len())
        .filter(|&j| columns[j].is_categorical())
        .collect()
}

/// The kind of a column, from its type and, for strings, its number of distinct values.
pub fn classify_column(array: &dyn Array) -> ColumnKind {
    match array.data_type() {
        t if t.is_numeric() => ColumnKind::Numeric,
        DataType::Boolean => ColumnKind::Boolean,
        t if t.is_temporal() => ColumnKind::Temporal,
        DataType::Dictionary(_, _) => ColumnKind::Categorical,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let Ok(strings) = cast(array, &DataType::Utf8) else {
                return ColumnKind::Text;
            };
            let strings = strings.as_string::<i32>();
            let mut distinct = std::collections::HashSet::new();
            let (mut characters, mut present) = (0_usize, 0_usize);
            for value in strings.iter().flatten() {
                if distinct.insert(value) && distinct.len() > MAX_CODES {
                    return ColumnKind::Text;
                }
                characters += value.chars().count();
                present += 1;
            }
            #[allow(clippy::cast_precision_loss)]
            let mean_length = characters as f64 / present.max(1) as f64;
            string_kind(distinct.len(), array.len(), mean_length)
        }
        _ => ColumnKind::Text,
    }
}

/// Turns a computed column into a model column, or says why it is unusable (all NULL,
/// constant, text).
pub fn model_column(array: &ArrayRef) -> Result<ModelColumn, String> {
    let kind = classify_column(array.as_ref());
    let values = match kind {
        ColumnKind::Text => return Err("holds free text, which a model cannot use directly".into()),
        ColumnKind::Categorical => {
            let codes = category_codes(array)?;
            let codes = impute(|| codes.iter().copied(), codes.len())?;
            return Ok(ModelColumn::categorical(Array1::from(codes)));
        }
        ColumnKind::Temporal => {
            let ints = cast(array, &DataType::Int64).map_err(|e| e.to_string())?;
            let ints = ints.as_primitive::<Int64Type>();
            #[allow(clippy::cast_precision_loss)]
            impute(|| ints.iter().map(|v| v.map(|i| i as f64)), ints.len())
        }
        // The search's candidates: read straight from the Arrow array, no copy in between.
        ColumnKind::Numeric | ColumnKind::Boolean => {
            let floats = cast(array, &DataType::Float64).map_err(|e| e.to_string())?;
            let floats = floats.as_primitive::<Float64Type>();
            impute(|| floats.iter(), floats.len())
        }
    };
    values.map(|v| ModelColumn::numeric(Array1::from(v)))
}

/// [`model_column`] of a column that arrives in parts, in row order (a query's batches):
/// numeric and boolean parts are read in place, the others joined first.
pub fn model_column_of_parts(parts: &[ArrayRef]) -> Result<ModelColumn, String> {
    let numeric = parts
        .iter()
        .all(|p| p.data_type().is_numeric() || p.data_type() == &DataType::Boolean);
    if parts.len() == 1 || !numeric {
        let refs: Vec<&dyn Array> = parts.iter().map(AsRef::as_ref).collect();
        let whole = concat(&refs).map_err(|e| e.to_string())?;
        return model_column(&whole);
    }
    let floats: Vec<ArrayRef> = parts
        .iter()
        .map(|p| cast(p, &DataType::Float64).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let values = || {
        floats
            .iter()
            .flat_map(|f| f.as_primitive::<Float64Type>().iter())
    };
    let rows = parts.iter().map(|p| p.len()).sum();
    impute(values, rows).map(|v| ModelColumn::numeric(Array1::from(v)))
}

fn category_codes(array: &ArrayRef) -> Result<Vec<Option<f64>>, String> {
    let strings = cast(array, &DataType::Utf8).map_err(|e| e.to_string())?;
    let strings = strings.as_string::<i32>();
    let mut codes: HashMap<Option<&str>, f64> = HashMap::new();
    #[allow(clippy::cast_precision_loss)]
    Ok(strings
        .iter()
        .map(|v| {
            let next = codes.len() as f64;
            Some(*codes.entry(v).or_insert(next))
        })
        .collect())
}

/// The `rows` values with NULL, NaN and ±∞ replaced by the mean of the finite ones,
/// reading `values()` twice (the mean, then the column) so no intermediate copy is made.
fn impute<I: Iterator<Item = Option<f64>>>(
    values: impl Fn() -> I,
    rows: usize,
) -> Result<Vec<f64>, String> {
    let (mut sum, mut count) = (0.0, 0_usize);
    for v in values().flatten().filter(|v| v.is_finite()) {
        sum += v;
        count += 1;
    }
    if count == 0 {
        return Err("every value is NULL or not finite".into());
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = sum / count as f64;
    // Exactly as long as the column: cached columns are accounted by their length.
    let mut out: Vec<f64> = Vec::with_capacity(rows);
    out.extend(values().map(|v| v.filter(|x| x.is_finite()).unwrap_or(mean)));
    if out.iter().all(|v| *v == out[0]) {
        return Err("every value is the same".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{BooleanArray, Float64Array, Int32Array, StringArray};

    use super::*;

    #[test]
    fn missing_and_non_finite_values_become_the_mean() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            None,
            Some(f64::NAN),
            Some(3.0),
            Some(f64::INFINITY),
        ]));
        let c = model_column(&a).expect("usable");
        assert_eq!(c.to_vec(), vec![1.0, 2.0, 2.0, 3.0, 2.0]);
    }

    #[test]
    fn a_model_column_holds_no_spare_capacity() {
        // The cache accounts a column at 8 bytes per row; it must not hold more.
        let a: ArrayRef = Arc::new(Float64Array::from_iter(
            (0..10_000).map(|i| (i % 7 != 0).then_some(f64::from(i))),
        ));
        let column = Arc::try_unwrap(model_column(&a).expect("usable").values).expect("one owner");
        let (values, _) = column.into_raw_vec_and_offset();
        assert_eq!(values.capacity(), values.len());
    }

    #[test]
    fn a_column_in_parts_is_the_column_joined() {
        let parts: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(vec![Some(1.0), None])),
            Arc::new(Int32Array::from(vec![Some(5), None, Some(3)])),
            Arc::new(Float64Array::from(vec![Some(f64::INFINITY), Some(7.0)])),
        ];
        let floats: Vec<ArrayRef> = parts
            .iter()
            .map(|p| cast(p, &DataType::Float64).expect("numbers"))
            .collect();
        let joined =
            concat(&floats.iter().map(AsRef::as_ref).collect::<Vec<_>>()).expect("same type");
        let in_parts = model_column_of_parts(&parts).expect("usable");
        assert_eq!(in_parts, model_column(&joined).expect("usable"));
        assert_eq!(in_parts.to_vec(), [1.0, 4.0, 5.0, 4.0, 3.0, 4.0, 7.0]);
        let column = Arc::try_unwrap(in_parts.values).expect("one owner");
        let (values, _) = column.into_raw_vec_and_offset();
        assert_eq!(values.capacity(), values.len());
        // Strings are joined first: categories are coded over the whole column.
        let words: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["b", "a"])),
            Arc::new(StringArray::from(vec!["a", "b", "a", "b"])),
        ];
        let codes = model_column_of_parts(&words).expect("categorical");
        assert_eq!(codes.to_vec(), [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]);
        assert!(codes.is_categorical());
    }

    #[test]
    fn constant_and_empty_columns_are_rejected() {
        let constant: ArrayRef = Arc::new(Int32Array::from(vec![4, 4, 4]));
        assert_eq!(
            model_column(&constant).expect_err("constant"),
            "every value is the same"
        );
        let nulls: ArrayRef = Arc::new(Float64Array::from(vec![None, Some(f64::NAN)]));
        assert_eq!(
            model_column(&nulls).expect_err("all null"),
            "every value is NULL or not finite"
        );
    }

    #[test]
    fn categories_become_codes_in_order_of_appearance() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("b"),
            Some("a"),
            None,
            Some("b"),
            Some("a"),
            Some("a"),
        ]));
        assert_eq!(classify_column(a.as_ref()), ColumnKind::Categorical);
        assert_eq!(
            model_column(&a).expect("usable").to_vec(),
            vec![0.0, 1.0, 2.0, 0.0, 1.0, 1.0]
        );
    }

    #[test]
    fn many_distinct_strings_are_text() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "z"]));
        assert_eq!(classify_column(a.as_ref()), ColumnKind::Text);
        assert!(model_column(&a).is_err());
    }

    #[test]
    fn short_codes_are_categories_up_to_a_thousand_and_long_strings_are_text() {
        // 300 airport-like codes, each on four rows: more than 100, but short.
        let codes: Vec<String> = (0..1200).map(|i| format!("A{:02}", i % 300)).collect();
        let a: ArrayRef = Arc::new(StringArray::from(codes));
        assert_eq!(classify_column(a.as_ref()), ColumnKind::Categorical);
        let sentences: Vec<String> = (0..1200)
            .map(|i| format!("a long comment about item number {}", i % 300))
            .collect();
        let a: ArrayRef = Arc::new(StringArray::from(sentences));
        assert_eq!(classify_column(a.as_ref()), ColumnKind::Text);
        assert_eq!(string_kind(1001, 10_000, 3.0), ColumnKind::Text);
        assert_eq!(string_kind(80, 10_000, 40.0), ColumnKind::Categorical);
        assert_eq!(string_kind(80, 100, 3.0), ColumnKind::Text);
    }

    #[test]
    fn booleans_are_zero_and_one() {
        let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
        assert_eq!(
            model_column(&a).expect("usable").to_vec(),
            vec![1.0, 0.0, 1.0]
        );
    }
}
