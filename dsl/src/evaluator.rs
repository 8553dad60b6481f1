//! The `evaluator` block: the model that scores feature sets, its metric, its
//! cross-validation scheme and the rows held out to confirm the best set on.

use std::collections::BTreeMap;

use crate::dataset::Task;
use crate::diagnostic::{ErrorKind, did_you_mean_help};
use crate::reader::Reader;
use crate::source::Spanned;
use crate::tree::{Node, Scalar};

/// A model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// A single CART decision tree.
    DecisionTree,
    /// Bagged decision trees with feature subsampling.
    RandomForest,
    /// Gradient-boosted decision trees.
    GradientBoosting,
    /// Logistic regression (binary or multinomial).
    LogisticRegression,
    /// Ordinary least squares.
    LinearRegression,
    /// Linear regression with L1 + L2 penalties.
    ElasticNet,
}

/// The kind of value a hyperparameter takes.
#[derive(Debug, Clone, Copy)]
enum HyperKind {
    /// An integer ≥ the bound.
    Int(i128),
    /// A float in the open/closed interval described by the check.
    Float(fn(f64) -> bool, &'static str),
    Bool,
}

struct ModelInfo {
    kind: ModelKind,
    name: &'static str,
    tasks: &'static [Task],
    hyperparameters: &'static [(&'static str, HyperKind)],
}

fn positive(x: f64) -> bool {
    x > 0.0
}
fn non_negative(x: f64) -> bool {
    x >= 0.0
}
fn unit_interval(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}
fn closed_unit_interval(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

const BOTH: &[Task] = &[Task::Classification, Task::Regression];

const MODELS: [ModelInfo; 6] = [
    ModelInfo {
        kind: ModelKind::DecisionTree,
        name: "decision-tree",
        tasks: BOTH,
        hyperparameters: &[
            ("max-depth", HyperKind::Int(1)),
            ("min-samples-split", HyperKind::Int(2)),
            ("min-samples-leaf", HyperKind::Int(1)),
        ],
    },
    ModelInfo {
        kind: ModelKind::RandomForest,
        name: "random-forest",
        tasks: BOTH,
        hyperparameters: &[
            ("trees", HyperKind::Int(1)),
            ("max-depth", HyperKind::Int(1)),
            ("min-samples-leaf", HyperKind::Int(1)),
            (
                "feature-fraction",
                HyperKind::Float(unit_interval, "in (0, 1]"),
            ),
            (
                "sample-fraction",
                HyperKind::Float(unit_interval, "in (0, 1]"),
            ),
        ],
    },
    ModelInfo {
        kind: ModelKind::GradientBoosting,
        name: "gradient-boosting",
        tasks: BOTH,
        hyperparameters: &[
            ("trees", HyperKind::Int(1)),
            (
                "learning-rate",
                HyperKind::Float(unit_interval, "in (0, 1]"),
            ),
            ("max-depth", HyperKind::Int(1)),
            ("min-samples-leaf", HyperKind::Int(1)),
            ("subsample", HyperKind::Float(unit_interval, "in (0, 1]")),
        ],
    },
    ModelInfo {
        kind: ModelKind::LogisticRegression,
        name: "logistic-regression",
        tasks: &[Task::Classification],
        hyperparameters: &[
            ("l2", HyperKind::Float(non_negative, "at least 0")),
            ("max-iterations", HyperKind::Int(1)),
            ("fit-intercept", HyperKind::Bool),
        ],
    },
    ModelInfo {
        kind: ModelKind::LinearRegression,
        name: "linear-regression",
        tasks: &[Task::Regression],
        hyperparameters: &[("fit-intercept", HyperKind::Bool)],
    },
    ModelInfo {
        kind: ModelKind::ElasticNet,
        name: "elastic-net",
        tasks: &[Task::Regression],
        hyperparameters: &[
            ("penalty", HyperKind::Float(positive, "greater than 0")),
            (
                "l1-ratio",
                HyperKind::Float(closed_unit_interval, "in [0, 1]"),
            ),
            ("max-iterations", HyperKind::Int(1)),
        ],
    },
];

impl ModelKind {
    /// Every model family, in the order of the language reference.
    pub const ALL: [ModelKind; 6] = [
        Self::DecisionTree,
        Self::RandomForest,
        Self::GradientBoosting,
        Self::LogisticRegression,
        Self::LinearRegression,
        Self::ElasticNet,
    ];

    fn info(self) -> &'static ModelInfo {
        MODELS
            .iter()
            .find(|m| m.kind == self)
            .expect("every model kind has an entry")
    }

    /// The name used in KDL.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The tasks this model can do.
    pub fn tasks(self) -> &'static [Task] {
        self.info().tasks
    }
}

/// A hyperparameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HyperValue {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// The model and its hyperparameters (only those written; the runtime fills defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The model family.
    pub kind: Spanned<ModelKind>,
    /// Hyperparameters by name, sorted.
    pub hyperparameters: BTreeMap<String, Spanned<HyperValue>>,
}

/// A scoring metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Area under the ROC curve (macro one-vs-rest for several classes).
    Auc,
    /// Share of correct predictions.
    Accuracy,
    /// Cross-entropy of predicted probabilities.
    LogLoss,
    /// F1 score (macro for several classes).
    F1,
    /// Mean average precision of the top `k` predicted classes.
    MapAtK(u32),
    /// Root mean squared error.
    Rmse,
    /// Mean absolute error.
    Mae,
    /// Coefficient of determination.
    R2,
}

impl Metric {
    /// The task the metric scores.
    pub fn task(self) -> Task {
        match self {
            Self::Rmse | Self::Mae | Self::R2 => Task::Regression,
            _ => Task::Classification,
        }
    }

    /// Whether a larger value is better.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Self::LogLoss | Self::Rmse | Self::Mae)
    }

    /// The name used in KDL (`map` carries `k` separately).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auc => "auc",
            Self::Accuracy => "accuracy",
            Self::LogLoss => "log-loss",
            Self::F1 => "f1",
            Self::MapAtK(_) => "map",
            Self::Rmse => "rmse",
            Self::Mae => "mae",
            Self::R2 => "r2",
        }
    }
}

/// How rows are split to score a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CvScheme {
    /// `folds` shuffled folds.
    KFold {
        /// Number of folds (≥ 2).
        folds: u32,
    },
    /// Folds that keep the class proportions (classification only).
    Stratified {
        /// Number of folds (≥ 2).
        folds: u32,
    },
    /// K-fold repeated with different shuffles.
    RepeatedKFold {
        /// Number of folds (≥ 2).
        folds: u32,
        /// Number of repetitions (≥ 1).
        repeats: u32,
    },
    /// One train/validation split.
    Holdout {
        /// Share of rows held out for validation, in (0, 1).
        fraction: f64,
    },
}

/// The cross-validation setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvSpec {
    /// The scheme.
    pub scheme: CvScheme,
    /// The shuffle seed; the search seed when absent.
    pub seed: Option<u64>,
}

/// Rows held out of the search to confirm its best set on (the `confirm` node).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfirmSpec {
    /// No confirmation: the run reports cross-validated scores only.
    Off,
    /// Hold out `fraction` of the rows.
    Holdout {
        /// Share of the rows held out, in (0, 0.5].
        fraction: f64,
        /// The seed of the draw; the search seed when absent.
        seed: Option<u64>,
    },
}

/// The `evaluator` block.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorSpec {
    /// The model.
    pub model: ModelSpec,
    /// The metric; the task's default (AUC or RMSE) when absent.
    pub metric: Option<Spanned<Metric>>,
    /// Cross-validation.
    pub cv: CvSpec,
    /// The confirmation holdout.
    pub confirm: ConfirmSpec,
    /// The model the best set and the base columns are scored with on the held-out rows
    /// (the `final-model` node): the model users ship, when `model` is a cheaper proxy for
    /// the search. `model` when absent.
    pub final_model: Option<ModelSpec>,
}

/// The default confirmation: a fifth of the rows, drawn with the search seed.
pub const DEFAULT_CONFIRM: ConfirmSpec = ConfirmSpec::Holdout {
    fraction: 0.2,
    seed: None,
};

/// The default CV: 5-fold.
pub const DEFAULT_CV: CvSpec = CvSpec {
    scheme: CvScheme::KFold { folds: 5 },
    seed: None,
};

/// Reads the `evaluator` block.
pub fn lower_evaluator(r: &mut Reader<'_>, node: &Node) -> Option<EvaluatorSpec> {
    r.allow_props(node, &[]);
    r.no_args(node, "evaluator { … }");
    r.allow_children(node, &["model", "metric", "cv", "confirm", "final-model"]);
    let model = r
        .required_child(node, "model", "model \"random-forest\" trees=100")
        .and_then(|n| lower_model(r, n));
    let metric = r
        .unique_child(node, "metric")
        .and_then(|n| lower_metric(r, n));
    let cv = r
        .unique_child(node, "cv")
        .map_or(Some(DEFAULT_CV), |n| lower_cv(r, n));
    let confirm = r
        .unique_child(node, "confirm")
        .map_or(Some(DEFAULT_CONFIRM), |n| lower_confirm(r, n));
    let final_model = r
        .unique_child(node, "final-model")
        .map(|n| (n, lower_model(r, n)));
    let model = model?;
    let final_model = match final_model {
        None => None,
        Some((final_node, final_model)) => Some(check_final_model(
            r,
            final_node,
            final_model?,
            &model,
            confirm,
        )?),
    };
    if let Some(metric) = &metric
        && !model.kind.value.tasks().contains(&metric.value.task())
    {
        r.error(
            ErrorKind::Incompatible,
            metric.loc,
            format!(
                "the metric `{}` scores {}, but `{}` only does {}",
                metric.value.name(),
                metric.value.task().name(),
                model.kind.value.name(),
                model.kind.value.tasks()[0].name()
            ),
            "does not fit the model",
            "choose a metric and a model for the same task",
        );
    }
    let cv = cv?;
    let regression_only = model.kind.value.tasks() == [Task::Regression]
        || metric
            .as_ref()
            .is_some_and(|m| m.value.task() == Task::Regression);
    if regression_only
        && matches!(cv.scheme, CvScheme::Stratified { .. })
        && let Some(cv_node) = node.children_named("cv").next()
    {
        r.error(
            ErrorKind::Incompatible,
            cv_node.args.first().map_or(cv_node.name.loc, |a| a.loc),
            "stratified cross-validation needs classes, but this evaluator does regression",
            "needs a classification task",
            "use `cv \"k-fold\"` for regression",
        );
    }
    Some(EvaluatorSpec {
        model,
        metric,
        cv,
        confirm: confirm?,
        final_model,
    })
}

/// A `final-model` needs held-out rows to score and must do a task `model` does.
fn check_final_model(
    r: &mut Reader<'_>,
    node: &Node,
    final_model: ModelSpec,
    model: &ModelSpec,
    confirm: Option<ConfirmSpec>,
) -> Option<ModelSpec> {
    if confirm == Some(ConfirmSpec::Off) {
        r.error(
            ErrorKind::Incompatible,
            node.name.loc,
            "`final-model` scores the held-out rows, but `confirm` is off",
            "nothing to score",
            "remove `final-model`, or hold rows out with `confirm 0.2`",
        );
        return None;
    }
    let tasks = model.kind.value.tasks();
    if !final_model
        .kind
        .value
        .tasks()
        .iter()
        .any(|t| tasks.contains(t))
    {
        r.error(
            ErrorKind::Incompatible,
            final_model.kind.loc,
            format!(
                "`{}` does {}, but the search's model `{}` does {}",
                final_model.kind.value.name(),
                final_model.kind.value.tasks()[0].name(),
                model.kind.value.name(),
                tasks[0].name()
            ),
            "another task",
            "choose a final model for the same task, such as `gradient-boosting`",
        );
        return None;
    }
    Some(final_model)
}

/// Reads `confirm 0.2 seed=7` or `confirm #false`.
fn lower_confirm(r: &mut Reader<'_>, node: &Node) -> Option<ConfirmSpec> {
    r.allow_props(node, &["seed"]);
    r.allow_children(node, &[]);
    const EXAMPLE: &str = "confirm 0.2";
    let v = r.single_arg(node, EXAMPLE)?;
    if let Scalar::Bool(on) = v.scalar {
        if on {
            r.error(
                ErrorKind::InvalidValue,
                v.loc,
                "`confirm` takes the share of rows to hold out, or `#false`",
                "not a share of rows",
                "write `confirm 0.2` to hold out a fifth of the rows",
            );
            return None;
        }
        if let Some(p) = node.prop("seed") {
            r.error(
                ErrorKind::Incompatible,
                p.key.loc,
                "`seed` does not apply when `confirm` is off",
                "not used",
                "remove `seed`",
            );
        }
        return Some(ConfirmSpec::Off);
    }
    let fraction = r.float_in(v, |f| f > 0.0 && f <= 0.5, "in (0, 0.5]", EXAMPLE)?;
    let seed = r
        .prop(node, "seed", |r, v| {
            r.integer(v, 0, i128::from(u64::MAX), "seed=42")
        })
        .map(|s| u64::try_from(s.value).expect("range checked"));
    Some(ConfirmSpec::Holdout {
        fraction: fraction.value,
        seed,
    })
}

fn lower_model(r: &mut Reader<'_>, node: &Node) -> Option<ModelSpec> {
    r.allow_children(node, &[]);
    let example = format!("{} \"random-forest\"", node.name.text);
    let v = r.single_arg(node, &example)?;
    let choices: Vec<(&str, ModelKind)> = MODELS.iter().map(|m| (m.name, m.kind)).collect();
    let kind = r.choice(v, &choices, "model")?;
    let info = kind.value.info();
    let mut hyperparameters = BTreeMap::new();
    for prop in &node.props {
        let key = prop.key.text.as_str();
        let Some((_, hk)) = info.hyperparameters.iter().find(|(n, _)| *n == key) else {
            let names: Vec<&str> = info.hyperparameters.iter().map(|(n, _)| *n).collect();
            r.error(
                ErrorKind::UnknownProperty,
                prop.key.loc,
                format!("`{}` has no hyperparameter `{key}`", info.name),
                "unknown hyperparameter",
                did_you_mean_help(key, &names, &format!("`{}` takes", info.name)),
            );
            continue;
        };
        let example = format!("{key}=…");
        let value = match *hk {
            HyperKind::Int(min) => r
                .integer(&prop.value, min, i128::from(i64::MAX), &example)
                .map(|i| HyperValue::Int(i64::try_from(i.value).expect("range checked"))),
            HyperKind::Float(ok, range) => r
                .float_in(&prop.value, ok, range, &example)
                .map(|f| HyperValue::Float(f.value)),
            HyperKind::Bool => r
                .bool(&prop.value, &example)
                .map(|b| HyperValue::Bool(b.value)),
        };
        if let Some(value) = value {
            hyperparameters.insert(key.to_owned(), Spanned::new(value, prop.value.loc));
        }
    }
    Some(ModelSpec {
        kind,
        hyperparameters,
    })
}

fn lower_metric(r: &mut Reader<'_>, node: &Node) -> Option<Spanned<Metric>> {
    r.allow_props(node, &["k"]);
    r.allow_children(node, &[]);
    let v = r.single_arg(node, "metric \"auc\"")?;
    let metric = r.choice(
        v,
        &[
            ("auc", Metric::Auc),
            ("accuracy", Metric::Accuracy),
            ("log-loss", Metric::LogLoss),
            ("f1", Metric::F1),
            ("map", Metric::MapAtK(0)),
            ("rmse", Metric::Rmse),
            ("mae", Metric::Mae),
            ("r2", Metric::R2),
        ],
        "metric",
    )?;
    let k = r.prop(node, "k", |r, v| r.integer(v, 1, 1000, "k=5"));
    match (metric.value, k) {
        (Metric::MapAtK(_), k) => {
            let k = k.map_or(5, |k| u32::try_from(k.value).expect("range checked"));
            Some(Spanned::new(Metric::MapAtK(k), metric.loc))
        }
        (_, Some(k)) => {
            r.error(
                ErrorKind::Incompatible,
                k.loc,
                format!(
                    "`k` applies to the `map` metric, not `{}`",
                    metric.value.name()
                ),
                "not used by this metric",
                "remove `k`",
            );
            None
        }
        (_, None) => Some(metric),
    }
}

fn lower_cv(r: &mut Reader<'_>, node: &Node) -> Option<CvSpec> {
    r.allow_props(node, &["folds", "repeats", "fraction", "seed"]);
    r.allow_children(node, &[]);
    #[derive(Clone, Copy)]
    enum Kind {
        KFold,
        Stratified,
        Repeated,
        Holdout,
    }
    let v = r.single_arg(node, "cv \"k-fold\" folds=5")?;
    let kind = r.choice(
        v,
        &[
            ("k-fold", Kind::KFold),
            ("stratified", Kind::Stratified),
            ("repeated-k-fold", Kind::Repeated),
            ("holdout", Kind::Holdout),
        ],
        "cross-validation scheme",
    )?;
    let folds = r
        .prop(node, "folds", |r, v| r.integer(v, 2, 100, "folds=5"))
        .map_or(5, |f| u32::try_from(f.value).expect("range checked"));
    let repeats = r
        .prop(node, "repeats", |r, v| r.integer(v, 1, 100, "repeats=3"))
        .map(|x| u32::try_from(x.value).expect("range checked"));
    let fraction = r.prop(node, "fraction", |r, v| {
        r.float_in(v, |f| f > 0.0 && f < 1.0, "in (0, 1)", "fraction=0.2")
    });
    let seed = r
        .prop(node, "seed", |r, v| {
            r.integer(v, 0, i128::from(u64::MAX), "seed=42")
        })
        .map(|s| u64::try_from(s.value).expect("range checked"));
    let misplaced = |r: &mut Reader<'_>, key: &str, scheme: &str| {
        if let Some(p) = node.prop(key) {
            r.error(
                ErrorKind::Incompatible,
                p.key.loc,
                format!("`{key}` does not apply to `{scheme}` cross-validation"),
                "not used by this scheme",
                format!("remove `{key}`"),
            );
        }
    };
    let scheme = match kind.value {
        Kind::KFold => {
            misplaced(r, "repeats", "k-fold");
            misplaced(r, "fraction", "k-fold");
            CvScheme::KFold { folds }
        }
        Kind::Stratified => {
            misplaced(r, "repeats", "stratified");
            misplaced(r, "fraction", "stratified");
            CvScheme::Stratified { folds }
        }
        Kind::Repeated => {
            misplaced(r, "fraction", "repeated-k-fold");
            CvScheme::RepeatedKFold {
                folds,
                repeats: repeats.unwrap_or(3),
            }
        }
        Kind::Holdout => {
            misplaced(r, "folds", "holdout");
            misplaced(r, "repeats", "holdout");
            CvScheme::Holdout {
                fraction: fraction.map_or(0.2, |f| f.value),
            }
        }
    };
    Some(CvSpec { scheme, seed })
}

/// Checks the model, metric and CV against the dataset's declared task.
pub fn check_task(r: &mut Reader<'_>, evaluator: &EvaluatorSpec, task: &Spanned<Task>) {
    let models = std::iter::once(&evaluator.model).chain(&evaluator.final_model);
    for model in models.map(|m| &m.kind) {
        check_model_task(r, model, task);
    }
    if let Some(metric) = &evaluator.metric
        && metric.value.task() != task.value
    {
        r.error(
            ErrorKind::Incompatible,
            metric.loc,
            format!(
                "the metric `{}` scores {}, but the dataset's task is {}",
                metric.value.name(),
                metric.value.task().name(),
                task.value.name()
            ),
            "does not fit the task",
            match task.value {
                Task::Classification => "classification metrics: auc, accuracy, log-loss, f1, map",
                Task::Regression => "regression metrics: rmse, mae, r2",
            },
        );
    }
    if task.value == Task::Regression && matches!(evaluator.cv.scheme, CvScheme::Stratified { .. })
    {
        r.error(
            ErrorKind::Incompatible,
            task.loc,
            "stratified cross-validation needs classes, but the task is regression",
            "regression task",
            "use `cv \"k-fold\"` for regression",
        );
    }
}

/// Checks that `model` does the dataset's task.
fn check_model_task(r: &mut Reader<'_>, model: &Spanned<ModelKind>, task: &Spanned<Task>) {
    if !model.value.tasks().contains(&task.value) {
        r.error(
            ErrorKind::Incompatible,
            model.loc,
            format!(
                "`{}` cannot do {} (the dataset's task)",
                model.value.name(),
                task.value.name()
            ),
            "model does not fit the task",
            match task.value {
                Task::Classification => {
                    "for classification use decision-tree, random-forest, gradient-boosting or logistic-regression"
                }
                Task::Regression => {
                    "for regression use decision-tree, random-forest, gradient-boosting, linear-regression or elastic-net"
                }
            },
        );
    }
}
