//! Small synthetic data sets for model tests (tests run unoptimised, so they stay small).

use flow_dsl::{HyperValue, Loc, ModelKind, ModelSpec, Sources, Spanned};
use ndarray::{Array1, Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Model;
use crate::eval::{Prediction, Target, score};
use flow_dsl::Metric;

/// `y = 3a − 2b + noise` with a, b in [−3, 3] and noise in [−0.5, 0.5].
pub fn linear(rows: usize, seed: u64) -> (Array2<f64>, Target) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((rows, 2), || rng.gen_range(-3.0..3.0));
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .map(|r| 3.0 * r[0] - 2.0 * r[1] + rng.gen_range(-0.5..0.5))
        .collect();
    (x, Target::Regression(y))
}

/// `classes` round blobs in two dimensions, centres 4 apart, spread ±1: separable.
pub fn blobs(rows: usize, classes: usize, seed: u64) -> (Array2<f64>, Target) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Array1<usize> = (0..rows).map(|i| i % classes).collect();
    let x = Array2::from_shape_fn((rows, 2), |(i, j)| {
        let c = labels[i] as f64;
        let centre = if j == 0 { 4.0 * c } else { -4.0 * (c % 2.0) };
        centre + rng.gen_range(-1.0..1.0)
    });
    let classes = (0..classes).map(|c| format!("class-{c}")).collect();
    (x, Target::Classification { labels, classes })
}

/// `y = 10·[|a| < 1.5] + 5·[b > 1] + noise` with a, b in [−3, 3] and noise in [−0.2, 0.2]:
/// steps that trees fit and a line does not.
pub fn steps(rows: usize, seed: u64) -> (Array2<f64>, Target) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Array2<f64> = Array2::from_shape_simple_fn((rows, 2), || rng.gen_range(-3.0..3.0));
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .map(|r| {
            let steps = 10.0 * f64::from(u8::from(r[0].abs() < 1.5))
                + 5.0 * f64::from(u8::from(r[1] > 1.0));
            steps + rng.gen_range(-0.2..0.2)
        })
        .collect();
    (x, Target::Regression(y))
}

/// `y = sin(a)·b² + noise`, a in [−3, 3], b in [−2, 2], noise in [−0.1, 0.1]: smooth,
/// interacting and far from any one split.
pub fn wavy(rows: usize, seed: u64) -> (Array2<f64>, Target) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Array2<f64> = Array2::from_shape_fn((rows, 2), |(_, j)| {
        if j == 0 {
            rng.gen_range(-3.0..3.0)
        } else {
            rng.gen_range(-2.0..2.0)
        }
    });
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .map(|r| r[0].sin() * r[1] * r[1] + rng.gen_range(-0.1..0.1))
        .collect();
    (x, Target::Regression(y))
}

/// Two classes by the sign of a·b, a and b uniform in [−1, 1]: no single feature says
/// anything, together they say everything.
pub fn xor(rows: usize, seed: u64) -> (Array2<f64>, Target) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((rows, 2), || rng.gen_range(-1.0..1.0));
    let labels = x
        .rows()
        .into_iter()
        .map(|r| usize::from(r[0] * r[1] > 0.0))
        .collect();
    let classes = vec!["different".into(), "same".into()];
    (x, Target::Classification { labels, classes })
}

/// Column 0 carries the signal, columns 1..=`noise` are uniform noise: `y = 2·x0 + noise`
/// for regression, or class `[x0 > 0]` with 10% of labels flipped for classification.
pub fn one_informative(
    rows: usize,
    noise: usize,
    classes: bool,
    seed: u64,
) -> (Array2<f64>, Target) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((rows, noise + 1), || rng.gen_range(-1.0..1.0));
    let signal = x.column(0);
    let target = if classes {
        let labels = signal
            .iter()
            .map(|&v| usize::from((v > 0.0) != rng.gen_bool(0.1)))
            .collect();
        Target::Classification {
            labels,
            classes: vec!["no".into(), "yes".into()],
        }
    } else {
        Target::Regression(
            signal
                .iter()
                .map(|&v| 2.0 * v + rng.gen_range(-0.3..0.3))
                .collect(),
        )
    };
    (x, target)
}

/// Runs `f` on a rayon pool of `threads` threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// Fits on rows whose index is not a multiple of 4 and predicts the others.
pub fn holdout(model: &dyn Model, x: ArrayView2<f64>, y: &Target) -> (Target, Prediction) {
    let (train, valid): (Vec<usize>, Vec<usize>) = (0..y.len()).partition(|i| i % 4 != 0);
    let select = |rows: &[usize]| x.select(ndarray::Axis(0), rows);
    let prediction = model
        .fit_predict(
            select(&train).view(),
            &y.select(&train),
            select(&valid).view(),
        )
        .expect("the model fits");
    (y.select(&valid), prediction)
}

/// The holdout score of `model` with `metric`.
pub fn holdout_score(model: &dyn Model, x: ArrayView2<f64>, y: &Target, metric: Metric) -> f64 {
    let (truth, prediction) = holdout(model, x, y);
    score(metric, &truth, &prediction).expect("scorable")
}

/// A model spec as the pipeline reader would build it.
pub fn spec(kind: ModelKind, hyperparameters: &[(&str, HyperValue)]) -> ModelSpec {
    let loc = Loc::new(Sources::new().add("test.kdl", ""), (0, 0));
    ModelSpec {
        kind: Spanned::new(kind, loc),
        hyperparameters: hyperparameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Spanned::new(*v, loc)))
            .collect(),
    }
}
