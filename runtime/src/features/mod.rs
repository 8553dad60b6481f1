//! Features: expression trees of operations over columns, their SQL, and computing them.
//!
//! [`FeatureExpr`] is the one representation of a feature; [`render`] is the one place
//! SQL text is produced (every identifier quoted by [`quote_ident`]); [`FeatureTable`]
//! computes many candidates in one DataFusion query; [`model_column`] turns a computed
//! Arrow column into a model-ready one; [`ColumnCache`] keeps computed columns within a
//! memory budget.

mod cache;
mod column;
mod compute;
mod expr;
mod fit;
mod render;

pub use cache::{ColumnCache, LIMIT_SHARE, MAX_BUDGET};
pub use column::{
    ColumnKind, ModelColumn, categorical_positions, classify_column, model_column,
    model_column_of_parts, string_kind,
};
pub use compute::{FOLD_ID, FeatureTable, ROW_ID, TARGET_VALUE};
pub use expr::{FeatureExpr, ParamLiteral};
pub use fit::{
    Fitted, FittedFeature, FittedSet, Lookup, MAX_STEPS, STEP_FROM, STEP_TO, float_literal,
    key_column, lookup_name, value_column,
};
pub use render::{RenderContext, quote_ident, render, sql_literal};
