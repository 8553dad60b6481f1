//! Row samples for multi-fidelity evaluation: race many feature sets cheaply on a share of
//! the rows, then confirm the promising ones on all of them (`search.halving`).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{EvalError, Target};

/// A seeded sample of about `fraction` of the target's rows, ascending.
///
/// Classes are sampled separately, each keeping `fraction` of its rows (rounded, at least
/// one), so class shares stay as they were; numeric targets keep `fraction` of all rows
/// (rounded, at least one). Class `c` is shuffled with stream `c` of a ChaCha8 generator
/// seeded with `seed` (stream 0 for a numeric target).
pub fn sample_rows(target: &Target, fraction: f64, seed: u64) -> Result<Vec<usize>, EvalError> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(EvalError::Invalid(format!(
            "the share of rows to sample must be in (0, 1], not {fraction}"
        )));
    }
    let groups: Vec<Vec<usize>> = match target {
        Target::Regression(values) => vec![(0..values.len()).collect()],
        Target::Classification { labels, classes } => {
            let mut groups = vec![Vec::new(); classes.len()];
            for (row, &label) in labels.iter().enumerate() {
                let Some(group) = groups.get_mut(label) else {
                    return Err(EvalError::Invalid(format!(
                        "row {row} has class index {label}, but there are only {} classes",
                        classes.len()
                    )));
                };
                group.push(row);
            }
            groups
        }
    };
    let mut sample = Vec::new();
    for (stream, mut rows) in groups.into_iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let keep = ((fraction * rows.len() as f64).round() as usize).clamp(1, rows.len());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream as u64);
        rows.shuffle(&mut rng);
        sample.extend_from_slice(&rows[..keep]);
    }
    sample.sort_unstable();
    Ok(sample)
}

#[cfg(test)]
mod tests {
    use ndarray::Array1;

    use super::*;

    /// 60 rows of `a`, 30 of `b`, 10 of `c`, interleaved.
    fn classes() -> Target {
        let names: Vec<&str> = (0..100)
            .map(|i| match i % 10 {
                0 => "c",
                1..=3 => "b",
                _ => "a",
            })
            .collect();
        Target::from_class_names(&names)
    }

    #[test]
    fn a_sample_keeps_each_class_share() {
        let target = classes();
        let rows = sample_rows(&target, 0.2, 5).expect("valid");
        let Target::Classification { labels, .. } = target.select(&rows) else {
            unreachable!()
        };
        let count = |c| labels.iter().filter(|&&l| l == c).count();
        assert_eq!((count(0), count(1), count(2)), (12, 6, 2));
        assert!(rows.is_sorted());
    }

    #[test]
    fn samples_are_the_same_for_a_seed_and_differ_for_another() {
        let target = classes();
        let first = sample_rows(&target, 0.3, 1).expect("valid");
        assert_eq!(first, sample_rows(&target, 0.3, 1).expect("valid"));
        assert_ne!(first, sample_rows(&target, 0.3, 2).expect("valid"));
        let numbers = Target::Regression(Array1::zeros(50));
        let rows = sample_rows(&numbers, 0.5, 1).expect("valid");
        assert_eq!(rows.len(), 25);
        assert_eq!(rows, sample_rows(&numbers, 0.5, 1).expect("valid"));
        assert_eq!(
            sample_rows(&numbers, 1.0, 9).expect("valid"),
            (0..50).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_class_keeps_a_row_and_bad_fractions_are_refused() {
        let rows = sample_rows(&classes(), 0.01, 3).expect("valid");
        assert_eq!(rows.len(), 3);
        for fraction in [0.0, 1.5, f64::NAN] {
            let err = sample_rows(&classes(), fraction, 0).expect_err("bad fraction");
            assert!(matches!(err, EvalError::Invalid(m) if m.contains("(0, 1]")));
        }
    }
}
