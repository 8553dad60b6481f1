//! The confirmation holdout: rows drawn before the search and kept from it, on which the
//! pruned best set and the base columns are scored once the search ends.
//!
//! The search's own score is the best of hundreds of cross-validated scores, each with
//! its noise, so it is optimistic; a score on rows that took no part in choosing is not.
//! The held-out rows are the latest when the dataset has a `time` column (the future
//! the features are for), else a seeded draw, per class for classification.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::compute::{
    SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch,
};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use ndarray::Axis;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::driver::assemble;
use crate::eval::{Evaluator, Prediction, Target};
use crate::features::{
    FittedSet, ModelColumn, ROW_ID, categorical_positions, lookup_name, model_column_of_parts,
    quote_ident,
};

/// The fewest rows a confirmation holdout is drawn from: below this, holding a fifth out
/// leaves too little to search on and too little to score, and the run says so.
pub const MIN_ROWS: usize = 100;

/// The rows held out of the search, or why there are none.
#[derive(Debug)]
pub enum HeldOut {
    /// The pipeline holds no rows out.
    Off,
    /// Confirmation was asked for but no rows were held out: why.
    Skipped(String),
    /// The held-out rows.
    Rows(HeldOutRows),
}

/// The rows held out, and their target.
#[derive(Debug)]
pub struct HeldOutRows {
    /// The held-out rows, in input order.
    pub rows: RecordBatch,
    /// Their target, encoded like the search's (same class list).
    pub target: Target,
}

/// The rows to hold out of `rows`, ascending: `fraction` of them (rounded), the latest by
/// `time` when given (ties by row order), else a draw seeded by `seed` — within each class
/// for a classification target, so the held-out rows keep the class shares.
pub fn held_out_rows(
    fraction: f64,
    seed: u64,
    target: &Target,
    time: Option<&ArrayRef>,
) -> Result<Vec<usize>> {
    let rows = target.len();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let share = |n: usize| (n as f64 * fraction).round() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut held: Vec<usize> = if let Some(time) = time {
        let order = lexsort_to_indices(
            &[
                SortColumn {
                    values: Arc::clone(time),
                    options: Some(SortOptions {
                        descending: false,
                        nulls_first: true,
                    }),
                },
                SortColumn {
                    values: Arc::new(UInt64Array::from_iter_values(0..rows as u64)),
                    options: None,
                },
            ],
            None,
        )?;
        let order = order.values();
        order[rows - share(rows)..]
            .iter()
            .map(|&i| i as usize)
            .collect()
    } else if let Target::Classification { labels, classes } = target {
        let mut held = Vec::new();
        for class in 0..classes.len() {
            let mut members: Vec<usize> = (0..rows).filter(|&i| labels[i] == class).collect();
            members.shuffle(&mut rng);
            held.extend_from_slice(&members[..share(members.len())]);
        }
        held
    } else {
        let mut all: Vec<usize> = (0..rows).collect();
        all.shuffle(&mut rng);
        all.truncate(share(rows));
        all
    };
    held.sort_unstable();
    Ok(held)
}

/// Splits `data` (rows aligned with `target`) into the search's rows and the held-out
/// ones: (search rows, their target, the held-out rows).
pub fn split(
    data: &RecordBatch,
    target: &Target,
    held: &[usize],
) -> Result<(RecordBatch, Target, HeldOutRows)> {
    let mut is_held = vec![false; target.len()];
    for &i in held {
        is_held[i] = true;
    }
    let kept: Vec<usize> = (0..target.len()).filter(|&i| !is_held[i]).collect();
    let take = |rows: &[usize]| {
        take_record_batch(
            data,
            &UInt64Array::from_iter_values(rows.iter().map(|&i| i as u64)),
        )
    };
    Ok((
        take(&kept)?,
        target.select(&kept),
        HeldOutRows {
            rows: take(held)?,
            target: target.select(held),
        },
    ))
}

/// Scores of the base columns and of the best set on the held-out rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confirmed {
    /// The base columns' score.
    pub baseline: f64,
    /// The best set's score.
    pub best: f64,
    /// The share of [`RESAMPLES`] bootstrap resamples of the held-out rows on which the best
    /// set scores better than the base columns (ties count half): how sure the held-out
    /// rows are that the features help, beyond the luck of which rows were held out. With
    /// fewer than [`REFIT_BELOW`] held-out rows, the two models compared on each resample
    /// are fitted on a bootstrap resample of the searched rows ([`REFITS`] of them), so
    /// the luck of which rows the models learnt from counts too.
    pub support: f64,
}

/// How many bootstrap resamples of the held-out rows [`Confirmed::support`] counts over.
pub const RESAMPLES: usize = 1000;

/// Below this many held-out rows (tables of fewer than about 2,500 rows), the veto refits
/// both models on resamples of the searched rows. A model fitted on a few hundred rows is
/// itself a draw: on diabetes (`scripts/bench-peers.sh` at `3eacd8d`, fold 2), a set better
/// on 90% of the resamples of its 71 held-out rows (+9.32%) cost LightGBM 6.8% on the test
/// fold. On a table that small, the refits cost seconds.
pub const REFIT_BELOW: usize = 500;

/// Bootstrap resamples of the searched rows both models are refitted on, below
/// [`REFIT_BELOW`] held-out rows; each is compared on `RESAMPLES / REFITS` resamples of the
/// held-out rows.
pub const REFITS: usize = 25;

/// Scores the fitted best set `set` (base columns first, the `usable` ones feeding the
/// model as in the search) on the held-out rows, as a user applying the exported SQL
/// would: the set's SQL computes the features over the `searched` rows (the search's
/// table, its row id left out) and the held-out ones with the statistics fitted on the search's rows, a model is fitted on the
/// search's rows and scored on the held-out ones; the same for the base columns alone.
///
/// Categories are coded and missing values imputed over both parts together, so a
/// category takes the same code on both sides. The two models' predictions are then
/// compared on [`RESAMPLES`] resamples of the held-out rows, drawn with `seed`.
pub async fn confirm(
    searched: &RecordBatch,
    held: &HeldOutRows,
    evaluator: &Evaluator,
    usable: &[bool],
    set: &FittedSet,
    seed: u64,
) -> std::result::Result<Confirmed, String> {
    const TABLE: &str = "flow_confirm";
    let mut searched = searched.clone();
    if let Ok(row_id) = searched.schema().index_of(ROW_ID) {
        searched.remove_column(row_id);
    }
    let both =
        concat_batches(&searched.schema(), [&searched, &held.rows]).map_err(|e| e.to_string())?;
    let ctx = SessionContext::new_with_config(crate::plan::search_session_config());
    let register = |name: String, batch: &RecordBatch| -> std::result::Result<(), String> {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch.clone()]])
            .map_err(|e| e.to_string())?;
        ctx.register_table(name, Arc::new(table))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    register(TABLE.to_owned(), &both)?;
    for (i, table) in set.tables.iter().enumerate() {
        register(lookup_name(i), table)?;
    }
    let sources: Vec<String> = (0..set.tables.len())
        .map(|i| quote_ident(&lookup_name(i)))
        .collect();
    let query = set.fitted.query(TABLE, &sources, &[]);
    let batches = ctx
        .sql(&query)
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| format!("the fitted SQL failed on the held-out rows: {e}"))?;
    let mut columns: Vec<ModelColumn> = Vec::new();
    let mut base_columns = 0;
    for (j, feature) in set.fitted.features.iter().enumerate() {
        let is_base = j < usable.len();
        if is_base && !usable[j] {
            continue;
        }
        let parts: Vec<ArrayRef> = batches.iter().map(|b| Arc::clone(b.column(j))).collect();
        let column = model_column_of_parts(&parts).map_err(|e| {
            format!(
                "`{}` on the search's and the held-out rows {e}",
                feature.name
            )
        })?;
        if column.len() != both.num_rows() {
            return Err(format!(
                "`{}` gave {} values for {} rows",
                feature.name,
                column.len(),
                both.num_rows()
            ));
        }
        columns.push(column);
        if is_base {
            base_columns += 1;
        }
    }
    let x = assemble(&columns)?;
    let categorical = categorical_positions(&columns);
    let n = searched.num_rows();
    // A model fitted on the searched rows (all of them, or the resample `rows`) and its
    // predictions for the held-out ones.
    let predict = |x: ndarray::ArrayView2<f64>, rows: Option<&[usize]>| {
        let (train, test) = x.split_at(Axis(0), n);
        let categorical: Vec<usize> = categorical
            .iter()
            .copied()
            .filter(|&j| j < x.ncols())
            .collect();
        match rows {
            None => evaluator.predict_held_out(train, test, &categorical),
            Some(rows) => evaluator.predict_held_out_on(train, rows, test, &categorical),
        }
        .map_err(|e| e.to_string())
    };
    let base_x = x.slice_axis(Axis(1), (0..base_columns).into());
    let base = predict(base_x, None)?;
    let best = predict(x.view(), None)?;
    let score =
        |p: &Prediction, truth: &Target| evaluator.score(p, truth).map_err(|e| e.to_string());
    // The pairs of predictions the resamples compare: the models fitted on every searched
    // row, or with few held-out rows, on each of `REFITS` resamples of them.
    // (A best set without features predicts as the base columns do, refitted or not.)
    let refit = held.target.len() < REFIT_BELOW && base_columns < x.ncols();
    let pairs: Vec<(Prediction, Prediction)> = if refit {
        let draws: Vec<Vec<usize>> = resamples(evaluator.target(), seed ^ REFIT_STREAM)
            .take(REFITS)
            .collect();
        draws
            .par_iter()
            .map(|rows| Ok((predict(base_x, Some(rows))?, predict(x.view(), Some(rows))?)))
            .collect::<std::result::Result<_, String>>()?
    } else {
        vec![(base.clone(), best.clone())]
    };
    let per_pair = RESAMPLES / pairs.len();
    let higher_is_better = evaluator.metric().higher_is_better();
    let mut wins = 0.0;
    let mut counted = 0_usize;
    let mut draws = resamples(&held.target, seed);
    for (base, best) in &pairs {
        for rows in draws.by_ref().take(per_pair) {
            let truth = held.target.select(&rows);
            // A resample on which the metric is undefined (one class left for AUC) says
            // nothing.
            let (Ok(b), Ok(f)) = (
                score(&base.select(&rows), &truth),
                score(&best.select(&rows), &truth),
            ) else {
                continue;
            };
            counted += 1;
            if f == b {
                wins += 0.5;
            } else if (f > b) == higher_is_better {
                wins += 1.0;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let support = if counted == 0 {
        0.0
    } else {
        wins / counted as f64
    };
    Ok(Confirmed {
        baseline: score(&base, &held.target)?,
        best: score(&best, &held.target)?,
        support,
    })
}

/// Mixed into the seed of the searched rows' resamples, so they are not drawn like the
/// held-out rows' (a different stream of the same seed).
const REFIT_STREAM: u64 = 0x9E37_79B9_7F4A_7C15;

/// [`RESAMPLES`] bootstrap resamples of the rows of `target` (row numbers, drawn with
/// replacement, seeded by `seed`): as many rows as there are, and for a classification
/// target as many of each class, so that every class stays present.
fn resamples(target: &Target, seed: u64) -> impl Iterator<Item = Vec<usize>> + '_ {
    let groups: Vec<Vec<usize>> = match target {
        Target::Classification { labels, classes } => (0..classes.len())
            .map(|class| (0..labels.len()).filter(|&i| labels[i] == class).collect())
            .filter(|members: &Vec<usize>| !members.is_empty())
            .collect(),
        Target::Regression(values) => vec![(0..values.len()).collect()],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..RESAMPLES).map(move |_| {
        let mut rows = Vec::with_capacity(target.len());
        for members in &groups {
            for _ in 0..members.len() {
                rows.push(members[rng.gen_range(0..members.len())]);
            }
        }
        rows
    })
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;
    use datafusion::arrow::array::Int64Array;

    #[test]
    fn a_draw_keeps_each_class_share_and_is_the_same_for_a_seed() {
        let labels: Vec<usize> = (0..200).map(|i| usize::from(i % 4 == 0)).collect();
        let target = Target::Classification {
            labels: labels.clone().into(),
            classes: vec!["no".into(), "yes".into()],
        };
        let held = held_out_rows(0.2, 7, &target, None).expect("rows");
        assert_eq!(held.len(), 40);
        assert_eq!(held.iter().filter(|&&i| labels[i] == 1).count(), 10);
        assert!(held.windows(2).all(|w| w[0] < w[1]), "ascending, distinct");
        assert_eq!(held, held_out_rows(0.2, 7, &target, None).expect("rows"));
        assert_ne!(held, held_out_rows(0.2, 8, &target, None).expect("rows"));
    }

    #[test]
    fn resamples_keep_each_class_count_and_are_the_same_for_a_seed() {
        let labels: Vec<usize> = (0..50).map(|i| usize::from(i % 5 == 0)).collect();
        let target = Target::Classification {
            labels: labels.clone().into(),
            classes: vec!["no".into(), "yes".into(), "never seen".into()],
        };
        let drawn: Vec<Vec<usize>> = resamples(&target, 3).collect();
        assert_eq!(drawn.len(), RESAMPLES);
        for rows in &drawn {
            assert_eq!(rows.len(), 50);
            assert_eq!(rows.iter().filter(|&&r| labels[r] == 1).count(), 10);
        }
        assert!(
            drawn.iter().any(|rows| {
                let mut distinct = rows.clone();
                distinct.sort_unstable();
                distinct.dedup();
                distinct.len() < rows.len()
            }),
            "drawn with replacement"
        );
        assert_eq!(drawn, resamples(&target, 3).collect::<Vec<_>>());
        assert_ne!(drawn, resamples(&target, 4).collect::<Vec<_>>());
        let values = Target::Regression(array![1.0, 2.0, 3.0]);
        assert!(resamples(&values, 1).all(|rows| rows.len() == 3 && rows.iter().all(|&r| r < 3)));
    }

    #[test]
    fn with_a_time_column_the_latest_rows_are_held_out() {
        let target = Target::Regression(array![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let time: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(50),
            None,
            Some(10),
            Some(60),
            Some(60),
            Some(20),
        ]));
        let held = held_out_rows(0.5, 1, &target, Some(&time)).expect("rows");
        // By time: NULL (1), 10 (2), 20 (5), 50 (0), 60 (3), 60 (4).
        assert_eq!(held, vec![0, 3, 4]);
    }

    #[test]
    fn split_parts_are_disjoint_and_complete_in_input_order() {
        let data = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from(vec![10, 11, 12, 13, 14])) as ArrayRef,
        )])
        .expect("a batch");
        let target = Target::Regression(array![0.0, 1.0, 2.0, 3.0, 4.0]);
        let (search, search_target, held) = split(&data, &target, &[1, 3]).expect("split");
        let values = |b: &RecordBatch| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("ints")
                .values()
                .to_vec()
        };
        assert_eq!(values(&search), vec![10, 12, 14]);
        assert_eq!(search_target, Target::Regression(array![0.0, 2.0, 4.0]));
        assert_eq!(values(&held.rows), vec![11, 13]);
        assert_eq!(held.target, Target::Regression(array![1.0, 3.0]));
    }
}
