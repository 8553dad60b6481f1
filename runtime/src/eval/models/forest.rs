//! Tree models for classification: one CART tree, and a random forest of them.

use flow_dsl::ModelSpec;
use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::tree::{ClassificationTree, TrainingSet, TreeSettings};
use super::{Hyperparameters, Model, check_inputs, class_labels};
use crate::eval::{EvalError, Prediction, Target};

fn describe_depth(depth: Option<usize>) -> String {
    depth.map_or_else(|| "unlimited".to_owned(), |d| d.to_string())
}

/// A single CART classification tree.
#[derive(Debug, Clone)]
pub struct DecisionTreeModel {
    settings: TreeSettings,
}

impl DecisionTreeModel {
    /// Reads `max-depth` (default unlimited), `min-samples-split` (2) and `min-samples-leaf`
    /// (1). Every feature is tried at every split, so the tree uses no randomness and the
    /// seed does not matter. Probabilities are the class frequencies of the training rows in
    /// the leaf (one-hot when leaves are pure, as they are at unlimited depth).
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
    fn fit_predict(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
        valid_x: ArrayView2<f64>,
    ) -> Result<Prediction, EvalError> {
        let (labels, classes) = class_labels(train_y, "decision-tree")?;
        check_inputs(train_x, labels.len(), valid_x)?;
        let data = TrainingSet::new(train_x, labels, classes);
        let rows = (0..data.rows()).collect();
        // The generator is never drawn from: every feature is tried.
        let tree = ClassificationTree::fit(
            &data,
            rows,
            &self.settings,
            &mut ChaCha8Rng::seed_from_u64(0),
        );
        Ok(Prediction::from_probabilities(
            tree.predict_probabilities(valid_x),
        ))
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
}

/// Bagged CART trees with features drawn at each split (Breiman's random forest).
#[derive(Debug, Clone)]
pub struct RandomForestModel {
    trees: usize,
    max_depth: Option<usize>,
    min_samples_leaf: usize,
    /// `None`: √(features), rounded down, at least 1.
    feature_fraction: Option<f64>,
    sample_fraction: f64,
    seed: u64,
}

impl RandomForestModel {
    /// Reads `trees` (default 100), `max-depth` (unlimited), `min-samples-leaf` (1),
    /// `feature-fraction`: the share of features drawn without replacement at each split,
    /// rounded up (default √features rounded down, scikit-learn's "sqrt"), and
    /// `sample-fraction`: the bootstrap size as a share of the training rows, drawn with
    /// replacement and rounded up (1.0). Tree `t` draws from stream `t` of a ChaCha8
    /// generator seeded with `seed`, so trees grow in parallel yet reproducibly.
    /// Probabilities are the mean of the trees' leaf class frequencies (scikit-learn's
    /// `predict_proba`), and the label is the most probable class.
    pub fn from_spec(spec: &ModelSpec, seed: u64) -> Result<Self, EvalError> {
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
            seed,
        })
    }

    fn settings(&self, features: usize) -> TreeSettings {
        let drawn = match self.feature_fraction {
            Some(f) => (f * features as f64).ceil() as usize,
            None => (features as f64).sqrt().floor() as usize,
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
    fn fit_predict(
        &self,
        train_x: ArrayView2<f64>,
        train_y: &Target,
        valid_x: ArrayView2<f64>,
    ) -> Result<Prediction, EvalError> {
        let (labels, classes) = class_labels(train_y, "random-forest")?;
        check_inputs(train_x, labels.len(), valid_x)?;
        let data = TrainingSet::new(train_x, labels, classes);
        let settings = self.settings(train_x.ncols());
        let rows = data.rows();
        let draws = ((self.sample_fraction * rows as f64).ceil() as usize).clamp(1, rows);
        let trees: Vec<ClassificationTree> = (0..self.trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(t as u64);
                let sample = (0..draws).map(|_| rng.gen_range(0..rows)).collect();
                ClassificationTree::fit(&data, sample, &settings, &mut rng)
            })
            .collect();
        let mut probabilities = Array2::zeros((valid_x.nrows(), classes));
        // Summing tree by tree, in tree order, keeps the floating-point result reproducible.
        for (row, mut out) in valid_x.rows().into_iter().zip(probabilities.rows_mut()) {
            for tree in &trees {
                for (o, &p) in out.iter_mut().zip(tree.probabilities(row)) {
                    *o += p;
                }
            }
            out /= self.trees as f64;
        }
        Ok(Prediction::from_probabilities(probabilities))
    }

    fn describe(&self) -> String {
        format!(
            "random-forest(trees={}, max-depth={}, min-samples-leaf={}, feature-fraction={}, \
             sample-fraction={})",
            self.trees,
            describe_depth(self.max_depth),
            self.min_samples_leaf,
            self.feature_fraction
                .map_or_else(|| "sqrt".to_owned(), |f| f.to_string()),
            self.sample_fraction
        )
    }
}

#[cfg(test)]
mod tests {
    use flow_dsl::{HyperValue, Metric, ModelKind, Task};
    use ndarray::array;

    use super::*;
    use crate::eval::build_model;
    use crate::eval::models::testdata::{blobs, holdout, holdout_score, spec};

    fn forest(seed: u64) -> std::sync::Arc<dyn Model> {
        let small = spec(ModelKind::RandomForest, &[("trees", HyperValue::Int(15))]);
        build_model(&small, Task::Classification, seed).expect("built")
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
    fn a_single_training_class_is_predicted_with_certainty() {
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
    }

    #[test]
    fn feature_draws_follow_the_fraction() {
        let model = |f| RandomForestModel {
            trees: 1,
            max_depth: None,
            min_samples_leaf: 1,
            feature_fraction: f,
            sample_fraction: 1.0,
            seed: 0,
        };
        assert_eq!(model(None).settings(10).max_features, Some(3));
        assert_eq!(model(None).settings(1).max_features, Some(1));
        assert_eq!(model(Some(0.25)).settings(10).max_features, Some(3));
        assert_eq!(model(Some(1.0)).settings(10).max_features, Some(10));
    }
}
