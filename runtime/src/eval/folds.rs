//! Splitting rows into training and validation parts for cross-validation.
//!
//! Folds are made once per run and reused for every feature set, so all candidates are
//! compared on exactly the same splits.

use flow_dsl::CvScheme;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{EvalError, Target};

/// One train/validation split of the rows, each list ascending so that the rows a model sees
/// do not depend on how the shuffle ordered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Rows the model is fitted on.
    pub train: Vec<usize>,
    /// Rows the model is scored on.
    pub valid: Vec<usize>,
}

/// Splits the rows of `target` as `scheme` says, the same way every time for a seed.
///
/// K-fold shuffles then splits into near-equal parts. Stratified deals each class's shuffled
/// rows round-robin to the folds (continuing where the previous class stopped), so every fold
/// holds each class's share to within one row; it needs a classification target and at least
/// as many rows of each class as folds. Repeated k-fold is `repeats` k-folds, repeat `r`
/// drawing from stream `r` of the seeded generator (repeat 0 is the plain k-fold). Holdout is
/// one fold with `fraction` of the rows (rounded, at least one row each side) as validation.
/// Fewer rows than folds is an error.
pub fn make_folds(scheme: &CvScheme, target: &Target, seed: u64) -> Result<Vec<Fold>, EvalError> {
    let rows = target.len();
    match *scheme {
        CvScheme::KFold { folds } => {
            let k = check_fold_count(folds, rows)?;
            Ok(k_fold(rows, k, &mut stream(seed, 0)))
        }
        CvScheme::Stratified { folds } => {
            let k = check_fold_count(folds, rows)?;
            stratified(target, k, &mut stream(seed, 0))
        }
        CvScheme::RepeatedKFold { folds, repeats } => {
            let k = check_fold_count(folds, rows)?;
            if repeats == 0 {
                return Err(EvalError::Invalid(
                    "repeated k-fold needs at least 1 repeat; set `repeats=3` or more".into(),
                ));
            }
            Ok((0..repeats)
                .flat_map(|r| k_fold(rows, k, &mut stream(seed, u64::from(r))))
                .collect())
        }
        CvScheme::Holdout { fraction } => holdout(rows, fraction, &mut stream(seed, 0)),
    }
}

/// The seeded generator's stream `index`: independent sequences from one seed.
fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

fn check_fold_count(folds: u32, rows: usize) -> Result<usize, EvalError> {
    let k = folds as usize;
    if k < 2 {
        return Err(EvalError::Invalid(format!(
            "cross-validation needs at least 2 folds, not {k}; set `folds=5`"
        )));
    }
    if rows < k {
        return Err(EvalError::Invalid(format!(
            "{rows} rows cannot be split into {k} folds; use at most {rows} folds or more data"
        )));
    }
    Ok(k)
}

fn k_fold(rows: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<Fold> {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(rng);
    let mut fold_of = vec![0; rows];
    let mut start = 0;
    for fold in 0..k {
        let size = rows / k + usize::from(fold < rows % k);
        for &row in &order[start..start + size] {
            fold_of[row] = fold;
        }
        start += size;
    }
    folds_from_assignment(&fold_of, k)
}

fn stratified(target: &Target, k: usize, rng: &mut ChaCha8Rng) -> Result<Vec<Fold>, EvalError> {
    let Target::Classification { labels, classes } = target else {
        return Err(EvalError::Invalid(
            "stratified cross-validation needs classes, but the target is numeric (regression); \
             use `cv \"k-fold\"`"
                .into(),
        ));
    };
    let mut rows_of_class = vec![Vec::new(); classes.len()];
    for (row, &label) in labels.iter().enumerate() {
        let Some(rows) = rows_of_class.get_mut(label) else {
            return Err(EvalError::Invalid(format!(
                "row {row} has class index {label}, but there are only {} classes",
                classes.len()
            )));
        };
        rows.push(row);
    }
    let mut fold_of = vec![0; labels.len()];
    let mut next = 0;
    for (class, rows) in rows_of_class.iter_mut().enumerate() {
        if rows.is_empty() {
            continue;
        }
        if rows.len() < k {
            return Err(EvalError::Invalid(format!(
                "class `{}` has {} rows, fewer than the {k} folds of stratified \
                 cross-validation; use at most {} folds, or `cv \"k-fold\"`",
                classes[class],
                rows.len(),
                rows.len().max(2)
            )));
        }
        rows.shuffle(rng);
        for (j, &row) in rows.iter().enumerate() {
            fold_of[row] = (next + j) % k;
        }
        next = (next + rows.len()) % k;
    }
    Ok(folds_from_assignment(&fold_of, k))
}

fn holdout(rows: usize, fraction: f64, rng: &mut ChaCha8Rng) -> Result<Vec<Fold>, EvalError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(EvalError::Invalid(format!(
            "the holdout fraction must be between 0 and 1, not {fraction}; set `fraction=0.2`"
        )));
    }
    if rows < 2 {
        return Err(EvalError::Invalid(format!(
            "a holdout split needs at least 2 rows, but there are {rows}"
        )));
    }
    // Rounding keeps the split honest for small data; the clamp keeps both sides non-empty.
    let valid_rows = ((fraction * rows as f64).round() as usize).clamp(1, rows - 1);
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(rng);
    let mut fold_of = vec![1; rows];
    for &row in &order[..valid_rows] {
        fold_of[row] = 0;
    }
    let mut folds = folds_from_assignment(&fold_of, 2);
    folds.truncate(1);
    Ok(folds)
}

/// Fold `i` validates the rows assigned to `i` and trains on all others.
fn folds_from_assignment(fold_of: &[usize], k: usize) -> Vec<Fold> {
    (0..k)
        .map(|fold| {
            let (valid, train) = (0..fold_of.len()).partition(|&row| fold_of[row] == fold);
            Fold { train, valid }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::Array1;

    use super::*;

    fn numeric(rows: usize) -> Target {
        Target::Regression(Array1::zeros(rows))
    }

    /// 11 rows of `a`, 7 of `b`, 3 of `c`, interleaved.
    fn three_classes() -> Target {
        let names: Vec<&str> = (0..21)
            .map(|i| match i {
                i if i % 2 == 0 => "a",
                i if i < 15 => "b",
                _ => "c",
            })
            .collect();
        Target::from_class_names(&names)
    }

    /// Each fold splits all rows into two sorted, disjoint lists.
    fn assert_split(fold: &Fold, rows: usize) {
        assert_eq!(fold.train.len() + fold.valid.len(), rows);
        assert!(fold.valid.iter().all(|r| !fold.train.contains(r)));
        assert!(fold.train.is_sorted() && fold.valid.is_sorted());
    }

    /// The folds split the rows and validate each row exactly once.
    fn assert_partition(folds: &[Fold], rows: usize) {
        let mut seen = vec![0; rows];
        for fold in folds {
            assert_split(fold, rows);
            for &row in &fold.valid {
                seen[row] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "validated counts {seen:?}");
    }

    #[test]
    fn k_fold_validates_every_row_once_in_near_equal_parts() {
        let folds = make_folds(&CvScheme::KFold { folds: 4 }, &numeric(10), 7).expect("valid");
        assert_eq!(folds.len(), 4);
        assert_partition(&folds, 10);
        let sizes: Vec<usize> = folds.iter().map(|f| f.valid.len()).collect();
        assert_eq!(sizes, [3, 3, 2, 2]);
    }

    #[test]
    fn folds_are_the_same_for_a_seed_and_differ_for_another() {
        let scheme = CvScheme::KFold { folds: 3 };
        let first = make_folds(&scheme, &numeric(30), 42).expect("valid");
        assert_eq!(first, make_folds(&scheme, &numeric(30), 42).expect("valid"));
        assert_ne!(first, make_folds(&scheme, &numeric(30), 43).expect("valid"));
        let stratified = CvScheme::Stratified { folds: 3 };
        let once = make_folds(&stratified, &three_classes(), 1).expect("valid");
        assert_eq!(
            once,
            make_folds(&stratified, &three_classes(), 1).expect("valid")
        );
        assert_ne!(
            once,
            make_folds(&stratified, &three_classes(), 2).expect("valid")
        );
    }

    #[test]
    fn stratified_folds_keep_each_class_share_within_one_row() {
        let target = three_classes();
        let Target::Classification { labels, .. } = &target else {
            unreachable!()
        };
        let folds = make_folds(&CvScheme::Stratified { folds: 3 }, &target, 5).expect("valid");
        assert_partition(&folds, 21);
        for class in 0..3 {
            let total = labels.iter().filter(|&&l| l == class).count() as f64;
            for fold in &folds {
                let here = fold.valid.iter().filter(|&&r| labels[r] == class).count() as f64;
                assert!(
                    (here - total / 3.0).abs() < 1.0,
                    "class {class}: {here} of {total}"
                );
            }
        }
        let sizes: Vec<usize> = folds.iter().map(|f| f.valid.len()).collect();
        assert!(sizes.iter().max().expect("3 folds") - sizes.iter().min().expect("3 folds") <= 1);
    }

    #[test]
    fn repeated_k_fold_validates_every_row_once_per_repeat() {
        let scheme = CvScheme::RepeatedKFold {
            folds: 3,
            repeats: 2,
        };
        let folds = make_folds(&scheme, &numeric(11), 9).expect("valid");
        assert_eq!(folds.len(), 6);
        assert_partition(&folds[..3], 11);
        assert_partition(&folds[3..], 11);
        assert_ne!(folds[..3], folds[3..], "repeats shuffle differently");
        let plain = make_folds(&CvScheme::KFold { folds: 3 }, &numeric(11), 9).expect("valid");
        assert_eq!(
            folds[..3],
            plain[..],
            "the first repeat is the plain k-fold"
        );
    }

    #[test]
    fn holdout_keeps_at_least_one_row_on_each_side() {
        let split = |rows, fraction| {
            let folds =
                make_folds(&CvScheme::Holdout { fraction }, &numeric(rows), 3).expect("valid");
            assert_eq!(folds.len(), 1);
            assert_split(&folds[0], rows);
            (folds[0].train.len(), folds[0].valid.len())
        };
        assert_eq!(split(10, 0.2), (8, 2));
        assert_eq!(split(3, 0.01), (2, 1));
        assert_eq!(split(3, 0.99), (1, 2));
        let err = make_folds(&CvScheme::Holdout { fraction: 0.2 }, &numeric(1), 3);
        assert!(matches!(err, Err(EvalError::Invalid(m)) if m.contains("at least 2 rows")));
    }

    #[test]
    fn too_few_rows_or_class_members_are_clear_errors() {
        let err = make_folds(&CvScheme::KFold { folds: 5 }, &numeric(4), 0);
        let expected = "4 rows cannot be split into 5 folds";
        assert!(matches!(err, Err(EvalError::Invalid(m)) if m.contains(expected)));
        let err = make_folds(&CvScheme::Stratified { folds: 4 }, &three_classes(), 0);
        assert!(matches!(err, Err(EvalError::Invalid(m)) if m.contains("class `c` has 3 rows")));
        let err = make_folds(&CvScheme::Stratified { folds: 2 }, &numeric(10), 0);
        assert!(matches!(err, Err(EvalError::Invalid(m)) if m.contains("needs classes")));
        let err = make_folds(&CvScheme::KFold { folds: 1 }, &numeric(10), 0);
        assert!(matches!(err, Err(EvalError::Invalid(m)) if m.contains("at least 2 folds")));
    }
}
