//! Gradient-boosted trees for numbers and classes: the boosting rounds, on the trees of
//! module `gradient_tree` and the losses of module `loss`.

use flow_dsl::ModelSpec;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::bins::BinnedFeatures;
use super::gradient_tree::{GradientPair, GradientTree, GradientTreeSettings};
use super::loss::{Link, Loss, classification_loss};
use super::{FittedModel, Hyperparameters, Model, check_prediction, check_training, class_labels};
use crate::eval::{EvalError, Prediction, Target};

/// λ, the L2 penalty on leaf values: XGBoost's default `lambda`. It keeps Newton steps finite
/// where the hessian vanishes (rows a logistic model is already sure about), and shrinks
/// leaves with few rows: a squared-error leaf of n rows holds n/(n + 1) of their mean residual.
const L2: f64 = 1.0;

/// Gradient boosting of histogram trees with Newton leaves, as XGBoost and LightGBM do it.
#[derive(Debug, Clone)]
pub struct GradientBoostingModel {
    rounds: usize,
    learning_rate: f64,
    max_depth: usize,
    min_samples_leaf: usize,
    subsample: f64,
    seed: u64,
}

impl GradientBoostingModel {
    /// Reads `trees`: boosting rounds (default 100), `learning-rate` (0.1), `max-depth` (3),
    /// `min-samples-leaf` (1) and `subsample`: the share of training rows, drawn without
    /// replacement and rounded up, that each round's trees are fitted on (1.0; round `r`
    /// draws from stream `r` of a ChaCha8 generator seeded with `seed`).
    ///
    /// Losses: squared error for numbers (starting from the mean); logistic loss for two
    /// classes (starting from the log-odds of the second); softmax for more, one tree per
    /// class per round on the round's gradients (starting from the log class shares).
    /// Every tree fits the loss's gradients and hessians; leaves take the Newton step
    /// −ΣG/(ΣH + λ) with λ = 1, scaled by the learning rate. Features are binned once per
    /// fit into at most 255 quantile bins. Classes absent from the training rows get
    /// probability 0; a single training class is certain.
    pub fn from_spec(spec: &ModelSpec, seed: u64) -> Result<Self, EvalError> {
        let h = Hyperparameters::new(
            spec,
            &[
                "trees",
                "learning-rate",
                "max-depth",
                "min-samples-leaf",
                "subsample",
            ],
        )?;
        let fraction = |f: f64| f > 0.0 && f <= 1.0;
        Ok(Self {
            rounds: h.count("trees", 1)?.unwrap_or(100),
            learning_rate: h
                .number("learning-rate", fraction, "in (0, 1]")?
                .unwrap_or(0.1),
            max_depth: h.count("max-depth", 1)?.unwrap_or(3),
            min_samples_leaf: h.count("min-samples-leaf", 1)?.unwrap_or(1),
            subsample: h.number("subsample", fraction, "in (0, 1]")?.unwrap_or(1.0),
            seed,
        })
    }

    fn settings(&self) -> GradientTreeSettings {
        GradientTreeSettings {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_samples_leaf,
            l2: L2,
            learning_rate: self.learning_rate,
        }
    }

    /// The ascending training rows round `round` fits on.
    fn sample(&self, round: usize, rows: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..rows).collect();
        if self.subsample >= 1.0 {
            return order;
        }
        let draws = ((self.subsample * rows as f64).ceil() as usize).clamp(1, rows);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(round as u64);
        for i in 0..draws {
            order.swap(i, rng.gen_range(i..rows));
        }
        order.truncate(draws);
        order.sort_unstable();
        order
    }

    /// Runs the boosting rounds: the trees of each round (one per loss output) and the
    /// summed split gains per feature.
    fn boost(&self, bins: &BinnedFeatures, loss: &Loss) -> (Vec<Vec<GradientTree>>, Vec<f64>) {
        let rows = bins.rows();
        let outputs = loss.outputs();
        let base = loss.base_scores();
        let settings = self.settings();
        let mut scores = Array2::from_shape_fn((rows, outputs), |(_, k)| base[k]);
        let mut pairs = vec![vec![GradientPair::default(); rows]; outputs];
        let mut gains = vec![0.0; bins.features()];
        let mut rounds = Vec::with_capacity(self.rounds);
        for round in 0..self.rounds {
            loss.pairs(&scores, &mut pairs);
            let sample = self.sample(round, rows);
            // One tree per output, grown in parallel and merged in output order.
            let grown: Vec<(GradientTree, Vec<f64>)> = pairs
                .par_iter()
                .map(|p| {
                    let mut tree_gains = vec![0.0; bins.features()];
                    let tree = GradientTree::fit(bins, &sample, p, &settings, &mut tree_gains);
                    (tree, tree_gains)
                })
                .collect();
            let mut trees = Vec::with_capacity(outputs);
            for (k, (tree, tree_gains)) in grown.into_iter().enumerate() {
                for (r, s) in scores.column_mut(k).iter_mut().enumerate() {
                    *s += tree.value_of_training_row(bins, r);
                }
                for (g, t) in gains.iter_mut().zip(tree_gains) {
                    *g += t;
                }
                trees.push(tree);
            }
            rounds.push(trees);
        }
        (rounds, gains)
    }
}

impl Model for GradientBoostingModel {
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let (loss, link) = match train_y {
            Target::Regression(values) => {
                check_training(train_x, values.len())?;
                (Some(Loss::SquaredError(values.view())), Link::Identity)
            }
            Target::Classification { .. } => {
                let (labels, classes) = class_labels(train_y, "gradient-boosting")?;
                check_training(train_x, labels.len())?;
                classification_loss(labels, classes)
            }
        };
        let columns = train_x.ncols();
        let Some(loss) = loss else {
            return Ok(Box::new(FittedBoosting {
                base: Vec::new(),
                rounds: Vec::new(),
                link,
                gains: vec![0.0; columns],
                columns,
            }));
        };
        let bins = BinnedFeatures::new(train_x);
        let (rounds, gains) = self.boost(&bins, &loss);
        Ok(Box::new(FittedBoosting {
            base: loss.base_scores(),
            rounds,
            link,
            gains,
            columns,
        }))
    }

    fn describe(&self) -> String {
        format!(
            "gradient-boosting(trees={}, learning-rate={}, max-depth={}, min-samples-leaf={}, \
             subsample={})",
            self.rounds, self.learning_rate, self.max_depth, self.min_samples_leaf, self.subsample
        )
    }

    fn reads_order_only(&self) -> bool {
        true
    }
}

/// The fitted rounds of trees and how to read their summed scores.
struct FittedBoosting {
    base: Vec<f64>,
    /// Per round, one tree per output.
    rounds: Vec<Vec<GradientTree>>,
    link: Link,
    gains: Vec<f64>,
    columns: usize,
}

impl FittedBoosting {
    /// Raw scores (rows × outputs): the base plus every tree, added in round order.
    fn scores(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut scores = Array2::from_shape_fn((x.nrows(), self.base.len()), |(_, k)| self.base[k]);
        for (row, mut out) in x.rows().into_iter().zip(scores.rows_mut()) {
            for trees in &self.rounds {
                for (o, tree) in out.iter_mut().zip(trees) {
                    *o += tree.value(row);
                }
            }
        }
        scores
    }
}

impl FittedModel for FittedBoosting {
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError> {
        check_prediction(x, self.columns)?;
        Ok(self.link.predict(self.scores(x)))
    }

    /// The summed split gains of every tree, per column (LightGBM's "gain" importance).
    fn importance(&self) -> Option<Vec<f64>> {
        Some(self.gains.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use flow_dsl::{HyperValue, Metric, ModelKind, Task};
    use ndarray::{Array1, array};

    use super::*;
    use crate::eval::build_model;
    use crate::eval::models::testdata::{
        blobs, holdout, holdout_score, on_threads, one_informative, spec, steps, wavy, xor,
    };

    fn boosting(task: Task, hyper: &[(&str, HyperValue)], seed: u64) -> Arc<dyn Model> {
        build_model(&spec(ModelKind::GradientBoosting, hyper), task, seed).expect("built")
    }

    #[test]
    fn boosting_fits_steps_and_beats_one_shallow_tree_on_a_smooth_target() {
        let (x, y) = steps(160, 2);
        let r2 = holdout_score(
            boosting(Task::Regression, &[], 0).as_ref(),
            x.view(),
            &y,
            Metric::R2,
        );
        assert!(r2 > 0.9, "R² {r2} on steps");
        let (x, y) = wavy(200, 2);
        let boosted = holdout_score(
            boosting(Task::Regression, &[], 0).as_ref(),
            x.view(),
            &y,
            Metric::R2,
        );
        let shallow = spec(
            ModelKind::DecisionTree,
            &[("max-depth", HyperValue::Int(3))],
        );
        let tree = build_model(&shallow, Task::Regression, 0).expect("built");
        let single = holdout_score(tree.as_ref(), x.view(), &y, Metric::R2);
        assert!(
            boosted > single + 0.1,
            "boosted R² {boosted}, one tree {single}"
        );
        assert!(boosted > 0.8, "boosted R² {boosted}");
    }

    #[test]
    fn boosting_separates_blobs_and_xor() {
        let model = boosting(Task::Classification, &[], 0);
        for classes in [2, 3] {
            let (x, y) = blobs(60, classes, 5);
            let accuracy = holdout_score(model.as_ref(), x.view(), &y, Metric::Accuracy);
            assert!(accuracy > 0.9, "{classes} blobs: accuracy {accuracy}");
            let (_, prediction) = holdout(model.as_ref(), x.view(), &y);
            let Prediction::Classes { probabilities, .. } = prediction else {
                unreachable!()
            };
            for row in probabilities.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
            }
        }
        let (x, y) = xor(200, 6);
        let accuracy = holdout_score(model.as_ref(), x.view(), &y, Metric::Accuracy);
        assert!(accuracy > 0.9, "XOR: accuracy {accuracy}");
    }

    #[test]
    fn boosting_is_reproducible_whatever_the_thread_count() {
        let (x, y) = blobs(45, 3, 7);
        let (xr, yr) = wavy(50, 8);
        let sampled = [
            ("subsample", HyperValue::Float(0.7)),
            ("trees", HyperValue::Int(20)),
        ];
        let run = |threads, seed| {
            on_threads(threads, || {
                let classes = holdout(
                    boosting(Task::Classification, &sampled, seed).as_ref(),
                    x.view(),
                    &y,
                )
                .1;
                let values = holdout(
                    boosting(Task::Regression, &sampled, seed).as_ref(),
                    xr.view(),
                    &yr,
                )
                .1;
                (classes, values)
            })
        };
        let first = run(1, 3);
        assert_eq!(first, run(1, 3));
        assert_eq!(first, run(4, 3));
        let other = run(1, 4);
        assert_ne!(
            first.0, other.0,
            "subsampling draws other rows for another seed"
        );
        assert_ne!(
            first.1, other.1,
            "subsampling draws other rows for another seed"
        );
        // Without subsampling nothing is random.
        let full = [("trees", HyperValue::Int(20))];
        let values = |seed| {
            holdout(
                boosting(Task::Regression, &full, seed).as_ref(),
                xr.view(),
                &yr,
            )
            .1
        };
        assert_eq!(values(1), values(2));
    }

    #[test]
    fn subsamples_are_seeded_sorted_and_rounded_up() {
        let model = GradientBoostingModel {
            rounds: 1,
            learning_rate: 0.1,
            max_depth: 3,
            min_samples_leaf: 1,
            subsample: 0.25,
            seed: 1,
        };
        let rows = model.sample(0, 10);
        assert_eq!(rows.len(), 3);
        assert!(rows.is_sorted());
        assert_eq!(rows, model.sample(0, 10));
        assert_ne!(model.sample(0, 1000), model.sample(1, 1000));
    }

    #[test]
    fn classes_missing_from_training_get_probability_zero() {
        // Four classes declared; the training rows hold 1 and 3, then 0, 1 and 3.
        let x = array![[0.0], [0.2], [3.0], [3.3], [0.1], [3.1], [6.0], [6.2]];
        let model = boosting(Task::Classification, &[], 0);
        for labels in [
            array![1, 1, 3, 3, 1, 3, 1, 3],
            array![1, 1, 3, 3, 1, 3, 0, 0],
        ] {
            let y = Target::Classification {
                labels,
                classes: (0..4).map(|c| c.to_string()).collect(),
            };
            let p = model
                .fit_predict(x.view(), &y, array![[0.05], [3.2]].view())
                .expect("fits");
            let Prediction::Classes {
                labels,
                probabilities,
            } = p
            else {
                unreachable!()
            };
            assert_eq!(labels, array![1, 3]);
            assert_eq!(probabilities.column(2), Array1::<f64>::zeros(2));
        }
    }

    #[test]
    fn a_single_training_class_is_certain() {
        let x = array![[0.0], [1.0], [2.0]];
        let y = Target::Classification {
            labels: array![2, 2, 2],
            classes: vec!["a".into(), "b".into(), "c".into()],
        };
        let fitted = boosting(Task::Classification, &[], 0)
            .fit(x.view(), &y)
            .expect("fits");
        assert_eq!(
            fitted.predict(array![[5.0]].view()).expect("predicts"),
            Prediction::Classes {
                labels: array![2],
                probabilities: array![[0.0, 0.0, 1.0]],
            }
        );
        assert_eq!(fitted.importance(), Some(vec![0.0]));
    }

    #[test]
    fn gain_importance_ranks_the_informative_column_first() {
        for (task, classes) in [(Task::Regression, false), (Task::Classification, true)] {
            let (x, y) = one_informative(120, 3, classes, 9);
            let importance = boosting(task, &[("trees", HyperValue::Int(30))], 0)
                .fit(x.view(), &y)
                .expect("fits")
                .importance()
                .expect("boosting has its own importance");
            let best = crate::eval::argmax(importance.iter().copied());
            assert_eq!(best, 0, "{}: {importance:?}", task.name());
        }
    }
}
