//! Tree models on the exact CART (module `tree`): one decision tree, and a random forest of
//! them, for classes and for numbers.

use flow_dsl::{ModelSpec, Task};
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::tree::{DecisionTree, TrainingSet, TreeSettings};
use super::{FittedModel, Hyperparameters, Model, check_prediction, check_training};
use crate::eval::{EvalError, Prediction, Target};

fn describe_depth(depth: Option<usize>) -> String {
    depth.map_or_else(|| "unlimited".to_owned(), |d| d.to_string())
}

/// The training set for either task (class indices are checked against the class list).
fn training_set(
    train_x: ArrayView2<f64>,
    train_y: &Target,
    model: &str,
) -> Result<TrainingSet, EvalError> {
    match train_y {
        Target::Regression(values) => {
            check_training(train_x, values.len())?;
            Ok(TrainingSet::regression(train_x, values.view()))
        }
        Target::Classification { .. } => {
            let (labels, classes) = super::class_labels(train_y, model)?;
            check_training(train_x, labels.len())?;
            Ok(TrainingSet::classification(train_x, labels, classes))
        }
    }
}

/// A single CART tree: Gini impurity for classes, squared error for numbers.
#[derive(Debug, Clone)]
pub struct DecisionTreeModel {
    settings: TreeSettings,
}

impl DecisionTreeModel {
    /// Reads `max-depth` (default unlimited), `min-samples-split` (2) and `min-samples-leaf`
    /// (1). Every feature is tried at every split, so the tree uses no randomness and the
    /// seed does not matter. Classes are predicted with the class frequencies of the training
    /// rows in the leaf (one-hot when leaves are pure, as they are at unlimited depth);
    /// numbers with the mean of the leaf's training rows.
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, EvalError> {
        let h = Hyperparameters::new(
            spec,
            &["max-depth", "min-samples-split", "min-samples-leaf"],
        )?;
        Ok(Self {
            settings: TreeSettings {
                max_depth: h.count("max-depth", 1)?,
                min_samples_split: h.count("min-samples-split", 2)?.unwrap_or(2),
                min_samples_leaf: h.count("min-samples-leaf", 1)?.unwrap_or(1),
                max_features: None,
            },
        })
    }
}

impl Model for DecisionTreeModel {
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let data = training_set(train_x, train_y, "decision-tree")?;
        let rows = (0..data.rows()).collect();
        // The generator is never drawn from: every feature is tried.
        let tree = DecisionTree::fit(
            &data,
            rows,
            &self.settings,
            &mut ChaCha8Rng::seed_from_u64(0),
        );
        Ok(Box::new(FittedTrees::new(
            vec![tree],
            train_y,
            train_x.ncols(),
        )))
    }

    fn describe(&self) -> String {
        let s = &self.settings;
        format!(
            "decision-tree(max-depth={}, min-samples-split={}, min-samples-leaf={})",
            describe_depth(s.max_depth),
            s.min_samples_split,
            s.min_samples_leaf
        )
    }
    fn reads_order_only(&self) -> bool {
        true
    }
}

/// Bagged CART trees with features drawn at each split (Breiman's random forest).
#[derive(Debug, Clone)]
pub struct RandomForestModel {
    trees: usize,
    max_depth: Option<usize>,
    min_samples_leaf: usize,
    /// `None`: the task's default (√features for classes, all of them for numbers).
    feature_fraction: Option<f64>,
    sample_fraction: f64,
    task: Task,
    seed: u64,
}

impl RandomForestModel {
    /// Reads `trees` (default 100), `max-depth` (unlimited), `min-samples-leaf` (1),
    /// `feature-fraction`: the share of features drawn without replacement at each split,
    /// rounded up (scikit-learn's defaults: for classification √features rounded down, at
    /// least 1; for regression all of them, because drawing a third, as Breiman suggested,
    /// cost a third of R² on two-feature steps in the tests, and the search often scores
    /// a handful of features), and `sample-fraction`: the bootstrap size as a share of the training rows,
    /// drawn with replacement and rounded up (1.0). Tree `t` draws from stream `t` of a
    /// ChaCha8 generator seeded with `seed`, so trees grow in parallel yet reproducibly.
    /// Predictions are the mean over trees of the leaf class frequencies (scikit-learn's
    /// `predict_proba`, the label being the most probable class) or of the leaf means.
    pub fn from_spec(spec: &ModelSpec, task: Task, seed: u64) -> Result<Self, EvalError> {
        let h = Hyperparameters::new(
            spec,
            &[
                "trees",
                "max-depth",
                "min-samples-leaf",
                "feature-fraction",
                "sample-fraction",
            ],
        )?;
        let fraction = |f: f64| f > 0.0 && f <= 1.0;
        Ok(Self {
            trees: h.count("trees", 1)?.unwrap_or(100),
            max_depth: h.count("max-depth", 1)?,
            min_samples_leaf: h.count("min-samples-leaf", 1)?.unwrap_or(1),
            feature_fraction: h.number("feature-fraction", fraction, "in (0, 1]")?,
            sample_fraction: h
                .number("sample-fraction", fraction, "in (0, 1]")?
                .unwrap_or(1.0),
            task,
            seed,
        })
    }

    fn settings(&self, features: usize) -> TreeSettings {
        let drawn = match (self.feature_fraction, self.task) {
            (Some(f), _) => (f * features as f64).ceil() as usize,
            (None, Task::Classification) => (features as f64).sqrt().floor() as usize,
            (None, Task::Regression) => features,
        };
        TreeSettings {
            max_depth: self.max_depth,
            min_samples_split: 2,
            min_samples_leaf: self.min_samples_leaf,
            max_features: Some(drawn.clamp(1, features.max(1))),
        }
    }
}

impl Model for RandomForestModel {
    fn fit(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
    ) -> Result<Box<dyn FittedModel>, EvalError> {
        let data = training_set(train_x, train_y, "random-forest")?;
        let settings = self.settings(train_x.ncols());
        let rows = data.rows();
        let draws = ((self.sample_fraction * rows as f64).ceil() as usize).clamp(1, rows);
        let trees: Vec<DecisionTree> = (0..self.trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(t as u64);
                let sample = (0..draws).map(|_| rng.gen_range(0..rows)).collect();
                DecisionTree::fit(&data, sample, &settings, &mut rng)
            })
            .collect();
        Ok(Box::new(FittedTrees::new(trees, train_y, train_x.ncols())))
    }

    fn describe(&self) -> String {
        let default = match self.task {
            Task::Classification => "sqrt",
            Task::Regression => "1",
        };
        format!(
            "random-forest(trees={}, max-depth={}, min-samples-leaf={}, feature-fraction={}, \
             sample-fraction={})",
            self.trees,
            describe_depth(self.max_depth),
            self.min_samples_leaf,
            self.feature_fraction
                .map_or_else(|| default.to_owned(), |f| f.to_string()),
            self.sample_fraction
        )
    }
    fn reads_order_only(&self) -> bool {
        true
    }
}

/// One or more fitted trees whose leaf numbers are averaged.
struct FittedTrees {
    trees: Vec<DecisionTree>,
    /// `Some(classes)` when leaves hold class frequencies, `None` when they hold a value.
    classes: Option<usize>,
    columns: usize,
}

impl FittedTrees {
    fn new(trees: Vec<DecisionTree>, train_y: &Target, columns: usize) -> Self {
        let classes = match train_y {
            Target::Classification { classes, .. } => Some(classes.len()),
            Target::Regression(_) => None,
        };
        Self {
            trees,
            classes,
            columns,
        }
    }
}

impl FittedModel for FittedTrees {
    fn predict(&self, x: ArrayView2<f64>) -> Result<Prediction, EvalError> {
        check_prediction(x, self.columns)?;
        let width = self.classes.unwrap_or(1);
        let mut out = Array2::zeros((x.nrows(), width));
        // Summing tree by tree, in tree order, keeps the floating-point result reproducible.
        for (row, mut target) in x.rows().into_iter().zip(out.rows_mut()) {
            for tree in &self.trees {
                for (o, &v) in target.iter_mut().zip(tree.leaf_values(row)) {
                    *o += v;
                }
            }
            target /= self.trees.len() as f64;
        }
        Ok(match self.classes {
            Some(_) => Prediction::from_probabilities(out),
            None => Prediction::Values(out.column(0).to_owned()),
        })
    }

    /// Each tree's impurity decreases normalised to sum 1, averaged over the trees that
    /// split at all (scikit-learn's `feature_importances_`).
    fn importance(&self) -> Option<Vec<f64>> {
        let mut total = vec![0.0; self.columns];
        let mut splitting = 0;
        for tree in &self.trees {
            let sum: f64 = tree.importance().iter().sum();
            if sum > 0.0 {
                splitting += 1;
                for (t, &v) in total.iter_mut().zip(tree.importance()) {
                    *t += v / sum;
                }
            }
        }
        if splitting > 0 {
            total.iter_mut().for_each(|t| *t /= splitting as f64);
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{HyperValue, Metric, ModelKind, Task};
    use ndarray::array;

    use super::*;
    use crate::eval::build_model;
    use crate::eval::models::testdata::{
        blobs, holdout, holdout_score, on_threads, one_informative, spec, steps,
    };

    fn forest(seed: u64) -> std::sync::Arc<dyn Model> {
        forest_for(Task::Classification, seed)
    }

    fn forest_for(task: Task, seed: u64) -> std::sync::Arc<dyn Model> {
        let small = spec(ModelKind::RandomForest, &[("trees", HyperValue::Int(15))]);
        build_model(&small, task, seed).expect("built")
    }

    fn tree_for(task: Task) -> std::sync::Arc<dyn Model> {
        build_model(&spec(ModelKind::DecisionTree, &[]), task, 0).expect("built")
    }

    fn values(prediction: Prediction) -> ndarray::Array1<f64> {
        let Prediction::Values(values) = prediction else {
            panic!("regression predicts values")
        };
        values
    }

    #[test]
    fn regression_trees_fit_steps_that_a_line_cannot() {
        let (x, y) = steps(160, 2);
        let line = build_model(&spec(ModelKind::LinearRegression, &[]), Task::Regression, 0)
            .expect("built");
        let r2 = |model: &dyn Model| holdout_score(model, x.view(), &y, Metric::R2);
        let (tree, forest, line) = (
            r2(tree_for(Task::Regression).as_ref()),
            r2(forest_for(Task::Regression, 2).as_ref()),
            r2(line.as_ref()),
        );
        assert!(
            tree > 0.95 && forest > 0.95,
            "tree R² {tree}, forest R² {forest}"
        );
        assert!(line < 0.85, "a line should not fit steps: R² {line}");
    }

    #[test]
    fn regression_forests_are_reproducible_for_a_seed_and_vary_with_it() {
        let (x, y) = steps(60, 3);
        let run = |seed, threads| {
            on_threads(threads, || {
                values(holdout(forest_for(Task::Regression, seed).as_ref(), x.view(), &y).1)
            })
        };
        let first = run(5, 1);
        assert_eq!(first, run(5, 1));
        assert_eq!(first, run(5, 4));
        assert_ne!(first, run(6, 1));
        let tree = |threads| {
            on_threads(threads, || {
                values(holdout(tree_for(Task::Regression).as_ref(), x.view(), &y).1)
            })
        };
        assert_eq!(tree(1), tree(4));
    }

    #[test]
    fn a_regression_forest_predicts_the_mean_of_its_trees_within_the_training_range() {
        let (x, y) = steps(40, 4);
        let Target::Regression(truth) = &y else {
            unreachable!()
        };
        let (low, high) = truth
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let far = ndarray::array![[-100.0, -100.0], [100.0, 100.0], [0.1, 0.9]];
        let predicted = values(
            forest_for(Task::Regression, 1)
                .fit_predict(x.view(), &y, far.view())
                .expect("fits"),
        );
        assert!(
            predicted.iter().all(|&p| (low..=high).contains(&p)),
            "{predicted}"
        );
    }

    #[test]
    fn tree_importance_ranks_the_informative_column_first() {
        for (task, classes) in [(Task::Regression, false), (Task::Classification, true)] {
            let (x, y) = one_informative(120, 3, classes, 9);
            for model in [tree_for(task), forest_for(task, 1)] {
                let importance = model
                    .fit(x.view(), &y)
                    .expect("fits")
                    .importance()
                    .expect("trees have their own importance");
                let best = crate::eval::argmax(importance.iter().copied());
                assert_eq!(best, 0, "{model:?}: {importance:?}");
                assert!(importance.iter().all(|&v| v >= 0.0));
            }
        }
    }

    #[test]
    fn a_decision_tree_separates_blobs() {
        let tree = build_model(&spec(ModelKind::DecisionTree, &[]), Task::Classification, 0)
            .expect("built");
        for classes in [2, 3] {
            let (x, y) = blobs(60, classes, 5);
            let accuracy = holdout_score(tree.as_ref(), x.view(), &y, Metric::Accuracy);
            assert!(accuracy > 0.9, "{classes} classes: accuracy {accuracy}");
        }
    }

    #[test]
    fn tied_class_counts_give_the_same_tree_on_every_fit() {
        // Each point appears twice with different classes, so most leaves hold a tie; this
        // data gave 158 different predictions in 200 fits of linfa-trees 0.8.1.
        let x = Array2::from_shape_fn((24, 2), |(i, j)| {
            let a = (i / 2) as f64;
            if j == 0 { a } else { (a + 1.0).ln() }
        });
        let y = Target::Classification {
            labels: (0..24).map(|i| (i + i / 6) % 3).collect(),
            classes: vec!["a".into(), "b".into(), "c".into()],
        };
        let tree = build_model(&spec(ModelKind::DecisionTree, &[]), Task::Classification, 0)
            .expect("built");
        let first = tree.fit_predict(x.view(), &y, x.view()).expect("fits");
        for _ in 0..20 {
            assert_eq!(
                tree.fit_predict(x.view(), &y, x.view()).expect("fits"),
                first
            );
        }
    }

    #[test]
    fn a_random_forest_separates_blobs_with_graded_probabilities() {
        let (x, y) = blobs(80, 3, 6);
        let accuracy = holdout_score(forest(1).as_ref(), x.view(), &y, Metric::Accuracy);
        assert!(accuracy > 0.9, "accuracy {accuracy}");
        let auc = holdout_score(forest(1).as_ref(), x.view(), &y, Metric::Auc);
        assert!(auc > 0.95, "AUC {auc}");
        let (_, prediction) = holdout(forest(1).as_ref(), x.view(), &y);
        let Prediction::Classes { probabilities, .. } = prediction else {
            unreachable!()
        };
        for row in probabilities.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-9, "{row}");
        }
    }

    #[test]
    fn forests_are_reproducible_for_a_seed_and_vary_with_it() {
        // Noise: trees disagree, so the seed shows in the probabilities.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let x = Array2::from_shape_simple_fn((40, 2), || rng.gen_range(0.0..1.0));
        let y = Target::Classification {
            labels: (0..40).map(|_| rng.gen_range(0..2)).collect(),
            classes: vec!["a".into(), "b".into()],
        };
        let (_, first) = holdout(forest(3).as_ref(), x.view(), &y);
        let (_, again) = holdout(forest(3).as_ref(), x.view(), &y);
        assert_eq!(first, again);
        let (_, other) = holdout(forest(4).as_ref(), x.view(), &y);
        assert_ne!(first, other);
    }

    #[test]
    fn a_single_training_class_or_value_is_predicted_with_certainty() {
        let x = array![[0.0], [1.0], [2.0]];
        let y = Target::Classification {
            labels: array![1, 1, 1],
            classes: vec!["a".into(), "b".into()],
        };
        for model in [
            forest(0),
            build_model(&spec(ModelKind::DecisionTree, &[]), Task::Classification, 0)
                .expect("built"),
        ] {
            let p = model
                .fit_predict(x.view(), &y, array![[9.0]].view())
                .expect("fits");
            assert_eq!(
                p,
                Prediction::Classes {
                    labels: array![1],
                    probabilities: array![[0.0, 1.0]],
                }
            );
        }
        let y = Target::Regression(array![2.5, 2.5, 2.5]);
        for model in [forest_for(Task::Regression, 0), tree_for(Task::Regression)] {
            let p = model
                .fit_predict(x.view(), &y, array![[9.0]].view())
                .expect("fits");
            assert_eq!(p, Prediction::Values(array![2.5]));
        }
    }

    #[test]
    fn feature_draws_follow_the_fraction() {
        let model = |f, task| RandomForestModel {
            trees: 1,
            max_depth: None,
            min_samples_leaf: 1,
            feature_fraction: f,
            sample_fraction: 1.0,
            task,
            seed: 0,
        };
        let drawn = |f, task, features| model(f, task).settings(features).max_features;
        let classes = Task::Classification;
        assert_eq!(drawn(None, classes, 10), Some(3));
        assert_eq!(drawn(None, classes, 1), Some(1));
        assert_eq!(drawn(Some(0.25), classes, 10), Some(3));
        assert_eq!(drawn(Some(1.0), classes, 10), Some(10));
        let numbers = Task::Regression;
        assert_eq!(drawn(None, numbers, 20), Some(20));
        assert_eq!(drawn(Some(0.5), numbers, 20), Some(10));
    }
}
