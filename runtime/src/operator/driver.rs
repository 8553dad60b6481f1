//! The search loop the operator runs: load the input under the memory pool, then repeat
//! selection → expansion → computing the new features in one query → scoring them in
//! parallel → backpropagation, streaming one log batch per expansion.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use flow_dsl::ResolvedOperation;
use futures::StreamExt;
use ndarray::{Array2, ArrayView1, ShapeBuilder};
use rayon::prelude::*;
use tokio::sync::mpsc::Sender;

use super::confirm::{Confirmed, HeldOut, confirm};
use super::halving::{Rungs, rank, sampled_score};
use super::job::{Confirmation, FinalSet, LeanSet, SearchJob, StopReason};
use super::log::{EvaluationRow, metric_name, rows_to_batch};
use super::prepare::{BaseColumn, Loaded, Loader, prepare, with_supervision};
use crate::eval::{EvalError, Evaluator};
use crate::features::{
    ColumnCache, FOLD_ID, FeatureExpr, FeatureTable, FittedSet, LIMIT_SHARE, MAX_BUDGET,
    ModelColumn, ROW_ID, RenderContext, TARGET_VALUE, categorical_positions, model_column_of_parts,
    render,
};
use crate::search::{
    ActionSpace, FeatureId, Screen, SearchClock, SearchTree, Selection, TreeConfig, TypedFeature,
    affine_fingerprint, improves, order_fingerprint, reward, settled, within_noise,
};

/// Candidates drawn and screened per child a node may get.
const SCREEN_FACTOR: usize = 32;

/// Candidates one screening task scores together (see `Screen::scores`).
const SCREEN_CHUNK: usize = 16;

/// The fewest candidates drawn at once, so small expansions still screen a fair sample.
const MIN_SCREENED: usize = 64;

fn error(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Execution(message.into())
}

/// Runs the search of `job` over `input`, sending log batches to `tx` until the budget
/// ends, the tree is exhausted, or the receiver goes away.
pub async fn run_search(
    input: SendableRecordBatchStream,
    job: Arc<SearchJob>,
    context: Arc<TaskContext>,
    tx: Sender<Result<RecordBatch>>,
) -> Result<()> {
    let started = Instant::now();
    // The reservation holds the dataset's memory in the pool for the whole search.
    let (loaded, _dataset_memory) = load_input(input, &context, &job).await?;
    let (read, without_target) = (loaded.rows_read, loaded.without_target);
    let prepared = prepare(&job, loaded)?;
    let rows = SearchRows::of(read, without_target, &prepared);
    let ctx =
        SessionContext::new_with_config_rt(context.session_config().clone(), context.runtime_env());
    let evaluator = new_evaluator(&job, prepared.target)?;
    let halving = job
        .search
        .halving
        .map(|spec| {
            Rungs::new(spec, &evaluator, job.search.seed).map_err(|e| {
                error(format!(
                    "cannot set up `search.halving`: {e}; lower its `rungs` or `factor`, or \
                     turn it off"
                ))
            })
        })
        .transpose()?;
    let supervised = with_supervision(&prepared.table, evaluator.target(), evaluator.folds())?;
    let table = FeatureTable::new(ctx, &supervised)?;
    // The feature table holds its own copy from here on.
    drop(supervised);
    let threads = job.search.parallelism.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |p| p as usize,
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("flow-eval-{i}"))
        .build()
        .map_err(|e| error(format!("cannot start the evaluation threads: {e}")))?;
    let budget = match context.memory_pool().memory_limit() {
        MemoryLimit::Finite(limit) => {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let share = (limit as f64 * LIMIT_SHARE) as usize;
            share.min(MAX_BUDGET)
        }
        MemoryLimit::Infinite | MemoryLimit::Unknown => MAX_BUDGET,
    };
    let cache = ColumnCache::new(budget, context.memory_pool());
    let mut search = Search::new(
        &job,
        prepared.base,
        (evaluator, halving),
        pool,
        cache,
        context.memory_pool(),
    )?;
    search
        .run(
            &table,
            &tx,
            started,
            (&prepared.table, &prepared.held_out),
            rows,
        )
        .await
}

/// The evaluator of `job` for `target`: its model and its folds.
fn new_evaluator(job: &SearchJob, target: crate::eval::Target) -> Result<Evaluator> {
    let cv_seed = job.evaluator.cv.seed.unwrap_or(job.search.seed);
    Evaluator::new(&job.evaluator, target, cv_seed)
        .map_err(|e| error(format!("cannot set up the evaluator: {e}")))
}

/// The rows a search would get, found as it finds them but without searching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchRows {
    /// Rows in the data.
    pub read: usize,
    /// Rows left out for an empty target.
    pub without_target: usize,
    /// Rows the search scores feature sets on.
    pub searched: usize,
    /// Rows held out of the search to confirm its best set on (0 when none).
    pub held_out: usize,
    /// The classes among the searched rows (classification only).
    pub classes: Option<usize>,
}

/// Loads and prepares `input` for `job` and sets up its evaluator, as [`run_search`] does
/// before its first fit, and says how many rows it would search: so that `flow check`
/// accepts exactly the data `flow run` accepts.
pub async fn dry_run(
    input: SendableRecordBatchStream,
    context: &TaskContext,
    job: &SearchJob,
) -> Result<SearchRows> {
    let (loaded, _memory) = load_input(input, context, job).await?;
    let (read, without_target) = (loaded.rows_read, loaded.without_target);
    let prepared = prepare(job, loaded)?;
    let rows = SearchRows::of(read, without_target, &prepared);
    new_evaluator(job, prepared.target)?;
    Ok(rows)
}

impl SearchRows {
    /// The counts of data that was `read`, lost `without_target` rows, and became `prepared`.
    fn of(read: usize, without_target: usize, prepared: &super::prepare::Prepared) -> Self {
        let held_out = match &prepared.held_out {
            HeldOut::Rows(rows) => rows.rows.num_rows(),
            HeldOut::Off | HeldOut::Skipped(_) => 0,
        };
        let classes = match &prepared.target {
            crate::eval::Target::Classification { classes, .. } => Some(classes.len()),
            crate::eval::Target::Regression(_) => None,
        };
        Self {
            read,
            without_target,
            searched: prepared.table.num_rows(),
            held_out,
            classes,
        }
    }

    /// What about these rows a user should hear before trusting a search on them: a
    /// classification target with about one row per class (an id, or a number meant for
    /// regression) leaves a model nothing to learn a class from.
    pub fn warning(&self, target: &str) -> Option<String> {
        let classes = self.classes?;
        (classes * 2 > self.searched).then(|| {
            format!(
                "the target `{target}` has {classes} classes among {} rows, about one row each, so a model sees most classes once at most: if `{target}` is a number, write `task \"regression\"`; if it is an id, name another column in `target`",
                self.searched
            )
        })
    }
}

/// Collects the input, keeping only the rows the search uses (a target, and in the sample
/// when it is a fraction), and reserving their memory from the session's pool first.
async fn load_input(
    mut input: SendableRecordBatchStream,
    context: &TaskContext,
    job: &SearchJob,
) -> Result<(Loaded, MemoryReservation)> {
    let reservation = MemoryConsumer::new("FeatureSearchExec").register(context.memory_pool());
    let schema = input.schema();
    let mut loader = Loader::new(job);
    let mut batches = Vec::new();
    while let Some(batch) = input.next().await {
        let batch = loader.keep(&batch?)?;
        reservation
            .try_grow(batch.get_array_memory_size())
            .map_err(|e| {
                DataFusionError::ResourcesExhausted(format!(
                    "the dataset does not fit in the memory limit ({e}); raise `--memory-limit` \
                 (or `search.memory-limit`), or sample the dataset with `sample fraction=…`, \
                 which keeps only the sample in memory while reading"
                ))
            })?;
        batches.push(batch);
    }
    Ok((
        loader.finish(concat_batches(&schema, &batches)?),
        reservation,
    ))
}

/// The state of one search.
struct Search<'j> {
    job: &'j SearchJob,
    space: ActionSpace,
    tree: SearchTree,
    render_ctx: RenderContext,
    base: Vec<BaseColumn>,
    evaluator: Arc<Evaluator>,
    /// The rungs of successive halving, when `search.halving` is on.
    halving: Option<Rungs>,
    pool: Arc<rayon::ThreadPool>,
    higher_is_better: bool,
    /// Model columns by canonical SQL (or why the feature is unusable), within a budget.
    columns: ColumnCache,
    /// Memory held in the pool while cross-validation runs: the matrices it builds.
    evaluating: MemoryReservation,
    /// Memory held in the pool while a feature query's result is turned into columns.
    computing: MemoryReservation,
    /// Memory the search tree holds (it only grows).
    tree_memory: MemoryReservation,
    /// Fold scores by the digest of a feature-set key (the keys themselves are whole SQL
    /// texts, kilobytes per set over a long run).
    scores: HashMap<KeyDigest, Scored>,
    /// Fingerprints of the set columns met so far (of their order, or up to scale and
    /// shift, as the model reads them), by canonical SQL (see `search/order.rs`).
    orders: HashMap<String, u64>,
    baseline: Option<f64>,
    best: Option<f64>,
    /// The node of the best feature set so far, and its fold scores.
    best_node: Option<(usize, Vec<f64>)>,
    /// Log rows written so far (the next row's `iteration`).
    rows: u64,
    /// Candidates scored by cross-validation: what the iteration budget counts.
    scored: u64,
    since_improvement: u64,
    /// The time limit, and the evaluation times that say how much of it the end needs.
    clock: SearchClock,
    /// Whether the time limit cut evaluations in flight (the search is over then).
    cut: bool,
}

/// How one cross-validation ended.
enum Cv {
    Scored(Scored),
    Failed(String),
    /// Stopped at the time limit before it finished: nothing to log.
    Cut,
}

/// What cross-validation says about one feature set: fold scores and one importance per
/// matrix column (in key order).
#[derive(Debug, Clone)]
struct Scored {
    folds: Vec<f64>,
    importance: Vec<f64>,
}

/// SHA-256 of a feature-set key.
type KeyDigest = [u8; 32];

/// The digest of `key`: each SQL text with its length first, so no two keys share one.
fn key_digest(key: &[String]) -> KeyDigest {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for sql in key {
        hasher.update((sql.len() as u64).to_le_bytes());
        hasher.update(sql.as_bytes());
    }
    hasher.finalize().into()
}

/// The error of a feature computed a moment ago but not kept by the column cache: going on
/// without it would make the search depend on the memory limit.
fn not_kept() -> DataFusionError {
    error(
        "a computed feature did not fit in the memory limit; raise `--memory-limit` (or \
         `search.memory-limit`), or sample the dataset with `sample fraction=…`",
    )
}

/// Copies of a feature query's result flow holds outside DataFusion's accounting: the
/// collected batches and the one array per column made from them.
const QUERY_COPIES: usize = 2;

/// The error of a feature query the memory pool refused.
fn out_of_memory(e: &DataFusionError) -> DataFusionError {
    error(format!(
        "computing features needs more memory than the limit allows ({e}); raise \
         `--memory-limit` (or `search.memory-limit`), or sample the dataset with \
         `sample fraction=…`"
    ))
}

/// Copies of a feature set's matrix alive while it is cross-validated: the assembled
/// matrix, a fold's training and validation rows, and the model's own working copies of
/// the training rows (linfa's least squares adds an intercept column, then factorises).
const MATRIX_COPIES: usize = 4;

/// Bytes cross-validating `at_once` feature sets of `columns` columns over `rows` rows
/// holds at its peak.
fn evaluation_bytes(rows: usize, columns: usize, at_once: usize) -> usize {
    rows.saturating_mul(columns)
        .saturating_mul(std::mem::size_of::<f64>())
        .saturating_mul(MATRIX_COPIES)
        .saturating_mul(at_once)
}

/// One node to score: its matrix (or why it has none) and its log row so far.
struct Pending {
    node: usize,
    row: EvaluationRow,
    key: Vec<String>,
    matrix: std::result::Result<Vec<ModelColumn>, String>,
}

impl<'j> Search<'j> {
    fn new(
        job: &'j SearchJob,
        base: Vec<BaseColumn>,
        (evaluator, halving): (Evaluator, Option<Rungs>),
        pool: rayon::ThreadPool,
        columns: ColumnCache,
        memory_pool: &Arc<dyn MemoryPool>,
    ) -> Result<Self> {
        let dataset = &job.dataset;
        let render_ctx = RenderContext {
            time: dataset.time.as_ref().map(|t| t.value.clone()),
            group: dataset.group.as_ref().map(|g| g.value.clone()),
            target: TARGET_VALUE.to_owned(),
            row: ROW_ID.to_owned(),
            fold: FOLD_ID.to_owned(),
        };
        let has_time = dataset.time.is_some();
        let space = ActionSpace::new(&job.operations, job.max_depth, |op| {
            has_time || !uses(op, "time")
        });
        let tree = SearchTree::new(
            base.iter().map(|c| c.feature.clone()).collect(),
            TreeConfig {
                exploration: job.search.exploration,
                expansion_threshold: job.search.expansion_threshold,
                max_children: job.search.max_children,
                max_features: job.search.max_features,
                seed: job.search.seed,
            },
        );
        let metric = evaluator.metric();
        Ok(Self {
            job,
            space,
            tree,
            render_ctx,
            base,
            evaluator: Arc::new(evaluator),
            halving,
            pool: Arc::new(pool),
            higher_is_better: metric.higher_is_better(),
            columns,
            evaluating: MemoryConsumer::new("FeatureSearch evaluations").register(memory_pool),
            computing: MemoryConsumer::new("FeatureSearch feature queries").register(memory_pool),
            tree_memory: MemoryConsumer::new("FeatureSearch tree").register(memory_pool),
            scores: HashMap::new(),
            orders: HashMap::new(),
            baseline: None,
            best: None,
            best_node: None,
            rows: 0,
            scored: 0,
            since_improvement: 0,
            clock: SearchClock::default(),
            cut: false,
        })
    }

    async fn run(
        &mut self,
        table: &FeatureTable,
        tx: &Sender<Result<RecordBatch>>,
        started: Instant,
        (searched, held_out): (&RecordBatch, &HeldOut),
        data_rows: SearchRows,
    ) -> Result<()> {
        self.clock = SearchClock::new(self.job.search.time_limit, started, self.job.prior_elapsed);
        let root = self.pending(0);
        // The baseline is never cut: without it there is no search.
        let rows = self.score(vec![root], None).await?;
        let baseline_failed = rows[0].status != "ok";
        let baseline_error = rows[0].error.clone();
        if !self.emit(tx, &rows).await {
            return Ok(());
        }
        if baseline_failed {
            return Err(error(format!(
                "the baseline model (base columns only) failed: {}",
                baseline_error.unwrap_or_default()
            )));
        }
        let stopped = loop {
            if self.scored >= self.job.search.iterations {
                break StopReason::Budget;
            }
            if self.cut || self.clock.search_over() {
                break StopReason::TimeLimit;
            }
            if self
                .job
                .search
                .patience
                .is_some_and(|p| self.since_improvement >= p)
            {
                break StopReason::Patience;
            }
            let limit =
                usize::try_from(self.job.search.iterations - self.scored).unwrap_or(usize::MAX);
            let Some(selection) = self.tree.select(limit) else {
                break StopReason::Exhausted;
            };
            let batch_started = Instant::now();
            let children = self.expand(selection, table).await?;
            if children.is_empty() {
                continue;
            }
            // Scoring needs only the children's columns: a new round lets the screened
            // candidates that were not chosen give way to the matrices. Columns evicted
            // since they were drawn are computed again.
            self.columns.begin_round();
            self.reserve_tree()?;
            let needed: Vec<TypedFeature> = children
                .iter()
                .flat_map(|&child| self.tree.features(child).split_off(self.base.len()))
                .collect();
            self.compute_features(&needed, table).await?;
            let pending: Vec<Pending> = children.iter().map(|&child| self.pending(child)).collect();
            let compute_ms = batch_started.elapsed().as_secs_f64() * 1000.0;
            let mut rows = self.score(pending, self.clock.search_until()).await?;
            #[allow(clippy::cast_precision_loss)]
            let share = compute_ms / rows.len().max(1) as f64;
            for row in &mut rows {
                if row.iteration >= self.job.replay.len() as u64 {
                    row.feature_ms = Some(share);
                    row.duration_ms = share + row.fit_ms.unwrap_or_default();
                }
            }
            if !self.emit(tx, &rows).await {
                return Ok(());
            }
        };
        let Some(lean) = self.prune(table).await? else {
            return Ok(());
        };
        let features: Vec<(String, String)> = lean
            .names
            .iter()
            .cloned()
            .zip(lean.sqls.iter().cloned())
            .collect();
        let fit = table.fit(&features).await;
        let confirmation = self.confirm(searched, held_out, &fit).await;
        self.job.final_set.put(FinalSet {
            rows: data_rows,
            stopped,
            lean,
            fit,
            confirmation,
        });
        Ok(())
    }

    /// The fitted best set and the base columns scored on the held-out rows, the models
    /// fitted on the `searched` rows.
    async fn confirm(
        &self,
        searched: &RecordBatch,
        held_out: &HeldOut,
        fit: &std::result::Result<FittedSet, String>,
    ) -> Confirmation {
        let rows = match held_out {
            HeldOut::Off => return Confirmation::Off,
            HeldOut::Skipped(why) => return Confirmation::NotScored(why.clone()),
            HeldOut::Rows(rows) => rows,
        };
        let set = match fit {
            Ok(set) => set,
            Err(why) => {
                return Confirmation::NotScored(format!("the best set has no fit: {why}"));
            }
        };
        let usable: Vec<bool> = self.base.iter().map(|b| b.model.is_ok()).collect();
        let seed = self.job.search.seed;
        match confirm(searched, rows, &self.evaluator, &usable, set, seed).await {
            Ok(Confirmed {
                baseline,
                best,
                support,
            }) => Confirmation::Scored {
                rows: rows.rows.num_rows() as u64,
                baseline,
                best,
                support,
            },
            Err(why) => Confirmation::NotScored(why),
        }
    }

    /// The best feature set without the engineered features it does not need: repeatedly
    /// drops the feature whose removal scores best, as long as the set without it scores
    /// no worse than the best set beyond the noise of their per-fold differences
    /// ([`within_noise`]).
    /// Sets are scored as the search scores them (the same cache); base columns stay.
    async fn prune(&mut self, table: &FeatureTable) -> Result<Option<LeanSet>> {
        let Some((node, best_folds)) = self.best_node.clone() else {
            return Ok(None);
        };
        let features = self.tree.features(node);
        let base = self.base.len();
        self.columns.begin_round();
        self.compute_features(&features[base..], table).await?;
        let mut all_sqls = Vec::with_capacity(features.len());
        for feature in &features {
            let sql = render(&feature.expr, &self.job.operations, &self.render_ctx)
                .map_err(|e| error(format!("the best set cannot be rendered: {e}")))?;
            all_sqls.push(sql);
        }
        let base_columns: Vec<(String, ModelColumn)> = self
            .base
            .iter()
            .zip(&all_sqls)
            .filter_map(|(b, sql)| b.model.as_ref().ok().map(|c| (sql.clone(), c.clone())))
            .collect();
        let mut engineered: Vec<(usize, ModelColumn)> = Vec::new();
        for (i, sql) in all_sqls.iter().enumerate().skip(base) {
            match self.columns.get(sql) {
                Some(Ok(column)) => engineered.push((i, column)),
                _ => return Err(not_kept()),
            }
        }
        let higher_is_better = self.higher_is_better;
        let better = |a: f64, b: f64| if higher_is_better { a > b } else { a < b };
        let mut scored: Option<Scored> = None;
        let mut pruned = Vec::new();
        while !engineered.is_empty() {
            // The set without each engineered feature, in canonical column order.
            let candidates: Vec<(Vec<String>, Vec<ModelColumn>)> = (0..engineered.len())
                .map(|drop| {
                    let mut columns: Vec<(String, ModelColumn)> = base_columns.clone();
                    columns.extend(
                        engineered
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| *j != drop)
                            .map(|(_, (i, c))| (all_sqls[*i].clone(), c.clone())),
                    );
                    columns.sort_by(|a, b| a.0.cmp(&b.0));
                    columns.into_iter().unzip()
                })
                .collect();
            // Pruning stops where the time limit cuts it: the set keeps what is left.
            let Some(scores) = self.score_sets(candidates).await? else {
                break;
            };
            // The removal that scores best; ties go to the earliest feature.
            let mut choice: Option<(usize, f64, Scored)> = None;
            for (drop, candidate) in scores.into_iter().enumerate() {
                let Some(candidate) = candidate else { continue };
                #[allow(clippy::cast_precision_loss)]
                let score =
                    settled(candidate.folds.iter().sum::<f64>() / candidate.folds.len() as f64);
                if choice
                    .as_ref()
                    .is_none_or(|(_, best, _)| better(score, *best))
                {
                    choice = Some((drop, score, candidate));
                }
            }
            match choice {
                Some((drop, _, kept))
                    if within_noise(&kept.folds, &best_folds, higher_is_better) =>
                {
                    let (i, _) = engineered.remove(drop);
                    pruned.push(features[i].expr.name());
                    scored = Some(kept);
                }
                _ => break,
            }
        }
        let kept: Vec<usize> = (0..base)
            .chain(engineered.iter().map(|(i, _)| *i))
            .collect();
        let sqls: Vec<String> = kept.iter().map(|&i| all_sqls[i].clone()).collect();
        // Importance follows the kept features; base columns that feed no model get 0.
        let (folds, importance) = match scored {
            None => (best_folds, None),
            Some(scored) => {
                let mut key: Vec<&String> = base_columns
                    .iter()
                    .map(|(s, _)| s)
                    .chain(engineered.iter().map(|(i, _)| &all_sqls[*i]))
                    .collect();
                key.sort();
                let importance = sqls
                    .iter()
                    .map(|sql| {
                        key.iter()
                            .position(|k| *k == sql)
                            .and_then(|i| scored.importance.get(i).copied())
                            .unwrap_or(0.0)
                    })
                    .collect();
                (scored.folds, Some(importance))
            }
        };
        Ok(Some(LeanSet {
            node_id: node as u64,
            names: kept.iter().map(|&i| features[i].expr.name()).collect(),
            sqls,
            folds,
            importance,
            pruned,
        }))
    }

    /// Cross-validates each matrix of `work` (index, columns) in parallel on the evaluation
    /// pool, its memory reserved meanwhile: (index, outcome, milliseconds taken), in `work`
    /// order. Folds not started by `until` are not started (the set is [`Cv::Cut`]).
    async fn cross_validate_all(
        &mut self,
        work: Vec<(usize, Vec<ModelColumn>)>,
        until: Option<Instant>,
    ) -> Result<Vec<(usize, Cv, f64)>> {
        let widest = work.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
        self.reserve_evaluations(self.evaluator.target().len(), widest, work.len())?;
        let evaluator = Arc::clone(&self.evaluator);
        let pool = Arc::clone(&self.pool);
        let results = tokio::task::spawn_blocking(move || {
            pool.install(|| {
                work.into_par_iter()
                    .map(|(i, columns)| {
                        let started = Instant::now();
                        let outcome = match assemble(&columns) {
                            Err(why) => Cv::Failed(why),
                            Ok(x) => match evaluator.cross_validate_with_importance(
                                x.view(),
                                &categorical_positions(&columns),
                                until,
                            ) {
                                Ok((folds, importance)) => Cv::Scored(Scored { folds, importance }),
                                Err(EvalError::Cut) => Cv::Cut,
                                Err(e) => Cv::Failed(e.to_string()),
                            },
                        };
                        (i, outcome, started.elapsed())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await
        .map_err(|e| error(format!("an evaluation thread failed: {e}")))?;
        self.evaluating.free();
        Ok(results
            .into_iter()
            .map(|(i, outcome, took)| {
                if matches!(outcome, Cv::Cut) {
                    self.cut = true;
                } else {
                    self.clock.record(took);
                }
                (i, outcome, took.as_secs_f64() * 1000.0)
            })
            .collect())
    }

    /// Scores of feature sets (key, columns), from the score cache or cross-validated in
    /// parallel; `None` for a set whose cross-validation failed; `Ok(None)` when the time
    /// limit cut one of them.
    async fn score_sets(
        &mut self,
        sets: Vec<(Vec<String>, Vec<ModelColumn>)>,
    ) -> Result<Option<Vec<Option<Scored>>>> {
        let mut out: Vec<Option<Scored>> = sets
            .iter()
            .map(|(key, _)| self.scores.get(&key_digest(key)).cloned())
            .collect();
        let work: Vec<(usize, Vec<ModelColumn>)> = sets
            .into_iter()
            .enumerate()
            .filter(|(i, _)| out[*i].is_none())
            .map(|(i, (_, columns))| (i, columns))
            .collect();
        for (i, outcome, _) in self.cross_validate_all(work, self.clock.deadline()).await? {
            out[i] = match outcome {
                Cv::Scored(scored) => {
                    Some(scored).filter(|s| s.folds.iter().all(|f| f.is_finite()))
                }
                Cv::Failed(_) => None,
                Cv::Cut => return Ok(None),
            };
        }
        Ok(Some(out))
    }

    /// Sends the rows the log does not hold yet (a resumed run's replayed rows are stored
    /// already); false when nobody listens any more.
    async fn emit(&self, tx: &Sender<Result<RecordBatch>>, rows: &[EvaluationRow]) -> bool {
        let replayed = self.job.replay.len() as u64;
        let new: Vec<EvaluationRow> = rows
            .iter()
            .filter(|r| r.iteration >= replayed)
            .cloned()
            .collect();
        new.is_empty() || tx.send(rows_to_batch(&self.job.run_id, &new)).await.is_ok()
    }

    /// The stored row the `offset`-th pending node of this batch replays, if it does.
    fn replayed(&self, offset: usize) -> Option<&EvaluationRow> {
        usize::try_from(self.rows)
            .ok()
            .and_then(|rows| self.job.replay.get(rows + offset))
    }

    /// Gives the selected node its new children: tops up its pool of screened candidates
    /// (drawing and computing a batch in one query when it runs low), then takes the best
    /// of the pool. Candidates whose computation fails become (failed) children too, so
    /// the log says why; a failing expression is never drawn again in this run.
    async fn expand(&mut self, selection: Selection, table: &FeatureTable) -> Result<Vec<usize>> {
        let Selection { node, room } = selection;
        self.columns.begin_round();
        let mut failed: Vec<FeatureId> = Vec::new();
        let wanted = self.halving.as_ref().map_or(room, |h| h.entrants(room));
        if self.tree.pool_mut(node).len() < wanted {
            let columns = &self.columns;
            let (ops, ctx) = (&self.job.operations, &self.render_ctx);
            let known_failure = |expr: &FeatureExpr| {
                render(expr, ops, ctx).map_or(true, |sql| columns.failed(&sql))
            };
            let drawn = self.tree.draw(
                node,
                &self.space,
                (room * SCREEN_FACTOR).max(MIN_SCREENED).max(wanted),
                &known_failure,
            );
            // The node's own features feed the screen; they may have been evicted.
            let mut needed = self.tree.features(node).split_off(self.base.len());
            needed.extend(drawn.iter().map(|&f| self.tree.drawn(f).clone()));
            self.compute_features(&needed, table).await?;
            let mut candidates: Vec<(FeatureId, ModelColumn)> = Vec::with_capacity(drawn.len());
            for feature in drawn {
                let expr = &self.tree.drawn(feature).expr;
                let sql = render(expr, &self.job.operations, &self.render_ctx);
                match sql.map(|sql| self.columns.get(&sql)) {
                    Ok(Some(Ok(column))) => candidates.push((feature, column)),
                    Ok(Some(Err(_))) | Err(_) => failed.push(feature),
                    // Computed a moment ago but not kept: the pool had no room for it.
                    // Failing the candidate would make the search depend on the limit.
                    Ok(None) => return Err(not_kept()),
                }
            }
            // Copies of a column in the model's eyes are not screened (`search/order.rs`).
            let fingerprint: Option<fn(ArrayView1<f64>) -> u64> =
                if self.evaluator.reads_order_only() {
                    Some(order_fingerprint)
                } else if self.evaluator.reads_up_to_scale_and_shift() {
                    Some(affine_fingerprint)
                } else {
                    None
                };
            if let Some(fingerprint) = fingerprint {
                candidates = self.distinct_columns(node, candidates, fingerprint).await?;
            }
            let mut scored = self.screen(node, candidates).await?;
            let pool = self.tree.pool_mut(node);
            scored.extend(pool.drain(..).map(|f| (f64::NAN, f)));
            // Earlier leftovers keep their order behind equally good new ones; NaN marks
            // them and sorts them by their position, after the newly screened.
            // Equally good candidates (to settled precision) go simplest first: `cycle-sin(hr)`
            // before `atemp + cycle-sin(hr)` when `atemp` is in the set already.
            let tree = &self.tree;
            let mut indexed: Vec<(usize, f64, u32, FeatureId)> = scored
                .into_iter()
                .enumerate()
                .map(|(i, (s, f))| (i, s, tree.drawn(f).expr.depth(), f))
                .collect();
            indexed.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                (false, false) => b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)),
                (true, true) => a.0.cmp(&b.0),
                (false, true) => std::cmp::Ordering::Less,
                (true, false) => std::cmp::Ordering::Greater,
            });
            let pool = self.tree.pool_mut(node);
            pool.extend(indexed.into_iter().map(|(_, _, _, f)| f));
        }
        failed.truncate(room);
        let take = room - failed.len();
        let chosen = self.race(node, take, table).await?;
        if chosen.is_empty() && failed.is_empty() {
            self.tree.close(node);
            return Ok(Vec::new());
        }
        let children = failed
            .into_iter()
            .chain(chosen)
            .map(|f| self.tree.drawn(f).clone())
            .collect();
        Ok(self.tree.add_children(node, children))
    }

    /// Takes `take` candidates off the front of `node`'s pool: the first `take` as they
    /// are, or with halving on, the winners of a race among the first `take · factor^rungs`
    /// (see `halving.rs`); the losers go back to the front of the pool, best first.
    async fn race(
        &mut self,
        node: usize,
        take: usize,
        table: &FeatureTable,
    ) -> Result<Vec<FeatureId>> {
        let pool = self.tree.pool_mut(node);
        let Some(halving) = &self.halving else {
            return Ok(pool.drain(..take.min(pool.len())).collect());
        };
        let entrants = halving.entrants(take).min(pool.len());
        let keeps: Vec<usize> = (0..halving.len())
            .map(|rung| halving.survivors(rung, take))
            .collect();
        let mut field: Vec<FeatureId> = pool.drain(..entrants).collect();
        if field.len() <= take {
            return Ok(field);
        }
        let mut needed = self.tree.features(node).split_off(self.base.len());
        needed.extend(field.iter().map(|&f| self.tree.drawn(f).clone()));
        self.compute_features(&needed, table).await?;
        let mut losers: Vec<FeatureId> = Vec::new();
        for (rung, keep) in keeps.into_iter().enumerate() {
            if field.len() <= keep {
                continue;
            }
            let scores = self.rung_scores(rung, node, &field).await?;
            let mut ranked: Vec<FeatureId> = rank(&scores, self.higher_is_better)
                .into_iter()
                .map(|i| field[i])
                .collect();
            // Those out at a later rung did better than those out earlier: they go first.
            losers.splice(0..0, ranked.split_off(keep));
            field = ranked;
        }
        self.tree.pool_mut(node).splice(0..0, losers);
        Ok(field)
    }

    /// The sampled score on rung `rung` of `node`'s set plus each candidate, in order: from
    /// the rung's cache, or cross-validated on the evaluation threads.
    async fn rung_scores(
        &mut self,
        rung: usize,
        node: usize,
        candidates: &[FeatureId],
    ) -> Result<Vec<f64>> {
        let set = self.keyed_columns(node);
        let mut scores = vec![f64::NAN; candidates.len()];
        let mut work: Vec<(usize, KeyDigest, Vec<ModelColumn>)> = Vec::new();
        for (i, &candidate) in candidates.iter().enumerate() {
            let feature = self.tree.drawn(candidate).clone();
            let sql = render(&feature.expr, &self.job.operations, &self.render_ctx).ok();
            let (sql, column) = match (sql, self.column(&feature)) {
                (Some(sql), Some(Ok(column))) => (sql, column),
                (Some(_), None) => return Err(not_kept()),
                // Cannot be computed: ranked last, and rejected when evaluated.
                _ => continue,
            };
            let mut columns = set.clone();
            columns.push((sql, column));
            columns.sort_by(|a, b| a.0.cmp(&b.0));
            let key: Vec<String> = columns.iter().map(|(s, _)| s.clone()).collect();
            let digest = key_digest(&key);
            match self.halving.as_ref().and_then(|h| h.cached(rung, &digest)) {
                Some(score) => scores[i] = score,
                None => work.push((i, digest, columns.into_iter().map(|(_, c)| c).collect())),
            }
        }
        let Some((rows, samples)) = self.halving.as_ref().map(|h| (h.rows(rung), h.samples()))
        else {
            return Ok(scores);
        };
        let widest = work.iter().map(|(_, _, c)| c.len()).max().unwrap_or(0);
        self.reserve_evaluations(rows, widest, work.len())?;
        let pool = Arc::clone(&self.pool);
        let results = tokio::task::spawn_blocking(move || {
            pool.install(|| {
                work.into_par_iter()
                    .map(|(i, digest, columns)| {
                        (i, digest, sampled_score(&samples[rung], &columns))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await
        .map_err(|e| error(format!("a halving thread failed: {e}")))?;
        self.evaluating.free();
        for (i, digest, score) in results {
            scores[i] = score;
            if let Some(halving) = &mut self.halving {
                halving.record(rung, digest, score);
            }
        }
        Ok(scores)
    }

    /// `node`'s model columns with their SQL (base columns that cannot feed a model and
    /// features that were not computed left out).
    fn keyed_columns(&mut self, node: usize) -> Vec<(String, ModelColumn)> {
        let features = self.tree.features(node);
        let mut out = Vec::with_capacity(features.len());
        for (i, feature) in features.iter().enumerate() {
            let Ok(sql) = render(&feature.expr, &self.job.operations, &self.render_ctx) else {
                continue;
            };
            let column = match self.base.get(i) {
                Some(base) => base.model.as_ref().ok().cloned(),
                None => self.column(feature).and_then(Result::ok),
            };
            if let Some(column) = column {
                out.push((sql, column));
            }
        }
        out
    }

    /// The `candidates` whose `fingerprint` (of their order, or up to scale and shift) no
    /// column of `node`'s set and no candidate pooled for it before has (earlier candidates
    /// first): the others would score exactly what that column scores.
    async fn distinct_columns(
        &mut self,
        node: usize,
        candidates: Vec<(FeatureId, ModelColumn)>,
        fingerprint: fn(ArrayView1<f64>) -> u64,
    ) -> Result<Vec<(FeatureId, ModelColumn)>> {
        let set = self.keyed_columns(node);
        let unknown: Vec<(String, ModelColumn)> = set
            .iter()
            .filter(|(sql, _)| !self.orders.contains_key(sql))
            .cloned()
            .collect();
        let columns: Vec<ModelColumn> = unknown
            .iter()
            .map(|(_, c)| c.clone())
            .chain(candidates.iter().map(|(_, c)| c.clone()))
            .collect();
        let pool = Arc::clone(&self.pool);
        let mut prints = tokio::task::spawn_blocking(move || {
            pool.install(|| {
                columns
                    .par_iter()
                    // A category column is one-hot encoded for least squares: never a
                    // copy of a quantity with the same codes.
                    .map(|c| fingerprint(c.values().view()) ^ u64::from(c.is_categorical()))
                    .collect::<Vec<u64>>()
            })
        })
        .await
        .map_err(|e| error(format!("an ordering thread failed: {e}")))?;
        let candidate_prints = prints.split_off(unknown.len());
        for ((sql, _), print) in unknown.into_iter().zip(prints) {
            self.orders.insert(sql, print);
        }
        let mut taken: HashSet<u64> = set
            .iter()
            .filter_map(|(sql, _)| self.orders.get(sql).copied())
            .collect();
        let pooled = self.tree.orders_mut(node);
        taken.extend(pooled.iter().copied());
        Ok(candidates
            .into_iter()
            .zip(candidate_prints)
            .filter(|(_, print)| taken.insert(*print) && pooled.insert(*print))
            .map(|(candidate, _)| candidate)
            .collect())
    }

    /// Screens `candidates` against `node`'s feature set on the evaluation threads, each
    /// candidate's score independent of the others (so of the thread count), in order.
    async fn screen(
        &mut self,
        node: usize,
        candidates: Vec<(FeatureId, ModelColumn)>,
    ) -> Result<Vec<(f64, FeatureId)>> {
        let columns = self.node_columns(node);
        let evaluator = Arc::clone(&self.evaluator);
        let pool = Arc::clone(&self.pool);
        tokio::task::spawn_blocking(move || {
            pool.install(|| {
                let screen = Screen::new(&columns, evaluator.target());
                candidates
                    .par_chunks(SCREEN_CHUNK)
                    .flat_map_iter(|chunk| {
                        let columns: Vec<ModelColumn> =
                            chunk.iter().map(|(_, c)| c.clone()).collect();
                        let scores = screen.scores(&columns);
                        chunk.iter().zip(scores).map(|((f, _), s)| (settled(s), *f))
                    })
                    .collect()
            })
        })
        .await
        .map_err(|e| error(format!("a screening thread failed: {e}")))
    }

    /// The model column of a computed feature, if it was computed.
    fn column(
        &mut self,
        feature: &TypedFeature,
    ) -> Option<std::result::Result<ModelColumn, String>> {
        let sql = render(&feature.expr, &self.job.operations, &self.render_ctx).ok()?;
        self.columns.get(&sql)
    }

    /// The model columns of an evaluated node's feature set.
    fn node_columns(&mut self, node: usize) -> Vec<ModelColumn> {
        let features = self.tree.features(node);
        let mut out: Vec<ModelColumn> = self
            .base
            .iter()
            .filter_map(|c| c.model.as_ref().ok().cloned())
            .collect();
        out.extend(
            features[self.base.len()..]
                .iter()
                .filter_map(|f| self.column(f).and_then(Result::ok)),
        );
        out
    }

    /// Computes, in one query, the features that are not cached; the cached ones are marked
    /// used in this round, so making room for the others cannot evict them.
    async fn compute_features(
        &mut self,
        features: &[TypedFeature],
        table: &FeatureTable,
    ) -> Result<()> {
        let mut missing: Vec<String> = Vec::new();
        for feature in features {
            // A feature that cannot be rendered fails in `pending`, with the reason.
            if let Ok(sql) = render(&feature.expr, &self.job.operations, &self.render_ctx)
                && self.columns.get(&sql).is_none()
                && !missing.contains(&sql)
            {
                missing.push(sql);
            }
        }
        // Under a memory limit the candidates are computed in as few queries as fit: each
        // holds its result twice (collected, then one array per column) besides what
        // DataFusion accounts itself (sorts and windows buffer the whole result once).
        let mut start = 0;
        while start < missing.len() {
            let count = self.query_size(missing.len() - start, table);
            let chunk = &missing[start..start + count];
            start += count;
            let bytes = table.rows() * count * std::mem::size_of::<f64>() * QUERY_COPIES;
            self.computing
                .try_resize(bytes)
                .map_err(|e| out_of_memory(&e))?;
            let computed = table
                .try_compute_parts(chunk)
                .await
                .map_err(|e| out_of_memory(&e))?;
            for (sql, result) in chunk.iter().zip(computed) {
                let column = result.and_then(|parts| model_column_of_parts(&parts));
                self.columns.insert(sql.clone(), column);
            }
            self.computing.free();
        }
        Ok(())
    }

    /// How many of `remaining` candidates one query may compute: all of them without a
    /// memory limit, otherwise as many as the pool has room for once the column cache has
    /// given back what it can (at least one).
    fn query_size(&mut self, remaining: usize, table: &FeatureTable) -> usize {
        let per_candidate = table.rows() * std::mem::size_of::<f64>() * (QUERY_COPIES + 1);
        let sort = table.sort_reservation();
        self.columns
            .make_room(sort.saturating_add(remaining.saturating_mul(per_candidate)));
        match self.columns.pool_room() {
            None => remaining,
            Some(room) => (room.saturating_sub(sort) / per_candidate.max(1)).clamp(1, remaining),
        }
    }

    /// The features, SQL and matrix of a node.
    fn pending(&mut self, node: usize) -> Pending {
        let n = self.tree.node(node);
        let features: Vec<TypedFeature> = self.tree.features(node);
        let mut names = Vec::with_capacity(features.len());
        let mut sqls = Vec::with_capacity(features.len());
        let mut columns: Vec<(String, ModelColumn)> = Vec::new();
        let mut problem: Option<String> = None;
        for (i, f) in features.iter().enumerate() {
            names.push(f.expr.name());
            let sql = match render(&f.expr, &self.job.operations, &self.render_ctx) {
                Ok(sql) => sql,
                Err(e) => {
                    problem.get_or_insert(e);
                    sqls.push(String::new());
                    continue;
                }
            };
            sqls.push(sql.clone());
            let model = if i < self.base.len() {
                self.base[i].model.clone()
            } else {
                self.columns
                    .get(&sql)
                    .unwrap_or_else(|| Err("the feature was not computed".to_owned()))
            };
            match model {
                Ok(column) => columns.push((sql, column)),
                Err(why) if i >= self.base.len() => {
                    problem.get_or_insert(format!("`{}`: {why}", f.expr.name()));
                }
                // Base columns that cannot feed a model (text, constant) stay out of it.
                Err(_) => {}
            }
        }
        // One canonical column order, so a feature set reached along different paths is
        // the same matrix, the same cache entry and the same score.
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        let key: Vec<String> = columns.iter().map(|(s, _)| s.clone()).collect();
        let feature = n.feature.clone();
        let row = EvaluationRow {
            iteration: 0,
            node_id: node as u64,
            parent_id: n.parent.map(|p| p as u64),
            depth: n.depth,
            feature_names: names,
            feature_sql: sqls,
            new_feature: feature.as_ref().map(|f| f.expr.name()),
            new_feature_sql: feature
                .as_ref()
                .and_then(|f| render(&f.expr, &self.job.operations, &self.render_ctx).ok()),
            operation: feature
                .as_ref()
                .and_then(|f| f.expr.op().map(str::to_owned)),
            new_feature_inputs: feature
                .as_ref()
                .map(|f| f.expr.inputs().iter().map(FeatureExpr::name).collect())
                .unwrap_or_default(),
            metric: metric_name(self.evaluator.metric()),
            fold_scores: Vec::new(),
            importance: Vec::new(),
            mean: None,
            std: None,
            reward: None,
            cache_hit: false,
            duration_ms: 0.0,
            feature_ms: Some(0.0),
            fit_ms: Some(0.0),
            status: "ok".to_owned(),
            error: None,
        };
        Pending {
            node,
            row,
            key,
            matrix: match problem {
                Some(p) => Err(p),
                None => Ok(columns.into_iter().map(|(_, c)| c).collect()),
            },
        }
    }

    /// Scores pending nodes in parallel (results in order), records them in the tree, and
    /// returns their finished log rows. Folds not started by `until` are not started: a
    /// node cut so gets no row (the search ends on the time limit then).
    async fn score(
        &mut self,
        pending: Vec<Pending>,
        until: Option<Instant>,
    ) -> Result<Vec<EvaluationRow>> {
        // A node whose matrix could not be built has no key worth looking up: its usable
        // columns may well be its parent's, whose score must not be reused for it.
        let cached: Vec<Option<Scored>> = pending
            .iter()
            .map(|p| {
                p.matrix
                    .as_ref()
                    .ok()
                    .and_then(|_| self.scores.get(&key_digest(&p.key)).cloned())
            })
            .collect();
        // A resumed run takes its stored scores instead of cross-validating again.
        let replayed: Vec<Option<EvaluationRow>> = (0..pending.len())
            .map(|i| self.replayed(i).cloned())
            .collect();
        let work: Vec<(usize, Vec<ModelColumn>)> = pending
            .iter()
            .enumerate()
            .filter(|(i, _)| cached[*i].is_none() && replayed[*i].is_none())
            .filter_map(|(i, p)| p.matrix.as_ref().ok().map(|m| (i, m.clone())))
            .collect();
        let results = self.cross_validate_all(work, until).await?;
        let mut by_index: HashMap<usize, (Cv, f64)> =
            results.into_iter().map(|(i, s, ms)| (i, (s, ms))).collect();
        let mut rows = Vec::with_capacity(pending.len());
        for (i, p) in pending.into_iter().enumerate() {
            let mut row = p.row;
            if let Some(stored) = &replayed[i] {
                let outcome = replay_outcome(stored, &row, &p.key, p.matrix.is_ok())?;
                row.cache_hit = stored.cache_hit;
                row.duration_ms = stored.duration_ms;
                row.feature_ms = stored.feature_ms;
                row.fit_ms = stored.fit_ms;
                match outcome {
                    Replayed::Rejected(why) => self.reject(&mut row, p.node, why),
                    Replayed::Scored(outcome) => self.finish(&mut row, p.node, p.key, outcome),
                }
                rows.push(row);
                continue;
            }
            let outcome = match (&cached[i], p.matrix) {
                (Some(scores), _) => {
                    row.cache_hit = true;
                    Ok(scores.clone())
                }
                (None, Err(why)) => {
                    self.reject(&mut row, p.node, why);
                    rows.push(row);
                    continue;
                }
                (None, Ok(_)) => {
                    let (outcome, ms) = by_index
                        .remove(&i)
                        .unwrap_or((Cv::Failed("not evaluated".into()), 0.0));
                    row.duration_ms = ms;
                    row.fit_ms = Some(ms);
                    match outcome {
                        Cv::Scored(scores) => Ok(scores),
                        Cv::Failed(why) => Err(why),
                        Cv::Cut => continue,
                    }
                }
            };
            let outcome = outcome.and_then(|scores| {
                if scores.folds.iter().all(|s| s.is_finite()) {
                    Ok(scores)
                } else {
                    Err("the metric is not finite on every fold".to_owned())
                }
            });
            self.finish(&mut row, p.node, p.key, outcome);
            rows.push(row);
        }
        Ok(rows)
    }

    /// Accounts the tree's growth in the pool, taking the room from the column cache. The
    /// tree is never pruned to fit (that would make the search depend on the limit): a
    /// tree the limit cannot hold stops the run with the fix.
    fn reserve_tree(&mut self) -> Result<()> {
        let bytes = self.tree.approximate_bytes();
        self.columns
            .make_room(bytes.saturating_sub(self.tree_memory.size()));
        self.tree_memory.try_resize(bytes).map_err(|e| {
            error(format!(
                "the search tree ({} nodes, about {} MiB) outgrew the memory limit ({e}); \
                 raise `--memory-limit` (or `search.memory-limit`) or lower \
                 `search.iterations`",
                self.tree.nodes().len(),
                bytes.div_ceil(1 << 20)
            ))
        })
    }

    /// Reserves the memory cross-validating `sets` feature sets (at most `widest` columns
    /// over `rows` rows) takes at once — the matrices of as many feature sets as there are
    /// evaluation threads, each with its fold copies — taking it
    /// from the column cache when the pool is short, so a memory limit bounds the search's
    /// matrices as well as its columns.
    fn reserve_evaluations(&mut self, rows: usize, widest: usize, sets: usize) -> Result<()> {
        let at_once = sets.min(self.pool.current_num_threads());
        let bytes = evaluation_bytes(rows, widest, at_once);
        self.columns.make_room(bytes);
        self.evaluating.try_resize(bytes).map_err(|e| {
            error(format!(
                "cross-validating feature sets of {widest} columns, {at_once} at a time, needs \
                 about {} MiB, more than the memory limit leaves ({e}); raise \
                 `--memory-limit` (or `search.memory-limit`), lower `search.parallelism`, or \
                 sample the dataset with `sample fraction=…`",
                bytes.div_ceil(1 << 20)
            ))
        })
    }

    fn finish(
        &mut self,
        row: &mut EvaluationRow,
        node: usize,
        key: Vec<String>,
        outcome: std::result::Result<Scored, String>,
    ) {
        row.iteration = self.rows;
        self.rows += 1;
        self.scored += 1;
        match outcome {
            Ok(scored) => {
                // Importance follows the row's feature list; features that do not feed the
                // model (free text) get 0.
                row.importance = row
                    .feature_sql
                    .iter()
                    .map(|sql| {
                        key.iter()
                            .position(|k| k == sql)
                            .and_then(|i| scored.importance.get(i).copied())
                            .unwrap_or(0.0)
                    })
                    .collect();
                let scores = scored.folds.clone();
                #[allow(clippy::cast_precision_loss)]
                let n = scores.len() as f64;
                let mean = scores.iter().sum::<f64>() / n;
                let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
                // Decisions use the settled score, so rounding noise cannot steer them.
                let decided = settled(mean);
                let baseline = *self.baseline.get_or_insert(decided);
                let r = reward(decided, baseline, self.higher_is_better);
                let improved = improves(decided, self.best, self.higher_is_better);
                if improved {
                    self.best = Some(decided);
                    self.best_node = Some((node, scores.clone()));
                    self.since_improvement = 0;
                } else {
                    self.since_improvement += 1;
                }
                self.scores.insert(key_digest(&key), scored);
                self.tree.record(node, Some(r));
                row.fold_scores = scores;
                row.mean = Some(mean);
                row.std = Some(std);
                row.reward = Some(r);
            }
            Err(why) => {
                self.since_improvement += 1;
                self.tree.record(node, None);
                row.status = "failed".to_owned();
                row.reward = Some(crate::search::FAILURE_REWARD);
                row.error = Some(why);
            }
        }
    }
}

impl Search<'_> {
    /// Records a candidate whose feature could not be computed or carries no information
    /// (constant, all NULL): logged with the reason, never scored, not counted against the
    /// iteration budget.
    fn reject(&mut self, row: &mut EvaluationRow, node: usize, why: String) {
        row.iteration = self.rows;
        self.rows += 1;
        self.tree.record(node, None);
        row.status = "rejected".to_owned();
        row.reward = Some(crate::search::FAILURE_REWARD);
        row.error = Some(why);
    }
}

/// What a stored row says about a node being replayed.
enum Replayed {
    /// It was rejected, for this reason.
    Rejected(String),
    /// It was scored (or failed).
    Scored(std::result::Result<Scored, String>),
}

/// The stored outcome of a replayed node, after checking that the search reached the same
/// node with the same feature set: anything else means the pipeline, the data or flow
/// changed since the run was interrupted.
fn replay_outcome(
    stored: &EvaluationRow,
    row: &EvaluationRow,
    key: &[String],
    computable: bool,
) -> Result<Replayed> {
    let same = stored.node_id == row.node_id
        && stored.parent_id == row.parent_id
        && stored.feature_sql == row.feature_sql;
    if !same {
        return Err(error(format!(
            "cannot resume: at iteration {} the search reached node {} ({}) where the stored run has node {} ({}); the pipeline, the data or flow itself changed since the run was interrupted",
            stored.iteration,
            row.node_id,
            row.new_feature.as_deref().unwrap_or("base columns"),
            stored.node_id,
            stored.new_feature.as_deref().unwrap_or("base columns"),
        )));
    }
    let why = || stored.error.clone().unwrap_or_default();
    match stored.status.as_str() {
        "rejected" => Ok(Replayed::Rejected(why())),
        "failed" => Ok(Replayed::Scored(Err(why()))),
        _ if !computable => Err(error(format!(
            "cannot resume: the feature set of iteration {} was scored when the run started but cannot be computed now",
            stored.iteration
        ))),
        _ => {
            // Importance is stored per feature of the set; the cache holds it per matrix
            // column (in key order).
            let importance = key
                .iter()
                .map(|sql| {
                    stored
                        .feature_sql
                        .iter()
                        .position(|s| s == sql)
                        .and_then(|i| stored.importance.get(i).copied())
                        .unwrap_or(0.0)
                })
                .collect();
            Ok(Replayed::Scored(Ok(Scored {
                folds: stored.fold_scores.clone(),
                importance,
            })))
        }
    }
}

/// Whether an operation's template uses the context placeholder `name`.
fn uses(op: &ResolvedOperation, name: &str) -> bool {
    op.spec.template.value.placeholder_names().contains(&name)
}

/// The column-major matrix of model columns (each column one copy).
pub(super) fn assemble(columns: &[ModelColumn]) -> std::result::Result<Array2<f64>, String> {
    let rows = columns.first().map_or(0, |c| c.len());
    let mut x = Array2::<f64>::zeros((rows, columns.len()).f());
    for (j, column) in columns.iter().enumerate() {
        x.column_mut(j).assign(column);
    }
    Ok(x)
}
