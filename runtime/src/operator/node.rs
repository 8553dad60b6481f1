//! The logical FeatureSearch node.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::common::{DFSchema, DFSchemaRef};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};

use super::job::SearchJob;
use super::log::evaluation_schema;

/// A feature search over its input plan; its output is the evaluation log.
#[derive(Debug, Clone)]
pub struct FeatureSearchNode {
    input: LogicalPlan,
    job: Arc<SearchJob>,
    schema: DFSchemaRef,
}

impl FeatureSearchNode {
    /// A search over `input` with the settings of `job`.
    pub fn try_new(input: LogicalPlan, job: Arc<SearchJob>) -> Result<Self> {
        let schema = Arc::new(DFSchema::try_from(evaluation_schema().as_ref().clone())?);
        Ok(Self { input, job, schema })
    }

    /// The search settings.
    pub fn job(&self) -> &Arc<SearchJob> {
        &self.job
    }

    /// The same search with other settings (a resumed run's replay).
    pub fn with_job(&self, job: Arc<SearchJob>) -> Self {
        Self {
            input: self.input.clone(),
            job,
            schema: Arc::clone(&self.schema),
        }
    }
}

// A node's identity is its run: same run id and spec hash, same search.
impl PartialEq for FeatureSearchNode {
    fn eq(&self, other: &Self) -> bool {
        self.job.run_id == other.job.run_id
            && self.job.spec_hash == other.job.spec_hash
            && self.input == other.input
    }
}

impl Eq for FeatureSearchNode {}

impl Hash for FeatureSearchNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.job.run_id.hash(state);
        self.job.spec_hash.hash(state);
        self.input.hash(state);
    }
}

impl PartialOrd for FeatureSearchNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (&self.job.run_id, &self.job.spec_hash)
            .partial_cmp(&(&other.job.run_id, &other.job.spec_hash))
    }
}

impl UserDefinedLogicalNodeCore for FeatureSearchNode {
    fn name(&self) -> &str {
        "FeatureSearch"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "FeatureSearch: {}", self.job)
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        let input = inputs.pop().ok_or_else(|| {
            datafusion::error::DataFusionError::Internal("FeatureSearch takes one input".to_owned())
        })?;
        Self::try_new(input, Arc::clone(&self.job))
    }

    fn necessary_children_exprs(&self, _output_columns: &[usize]) -> Option<Vec<Vec<usize>>> {
        // The search reads every input column whatever the caller selects from the log.
        Some(vec![(0..self.input.schema().fields().len()).collect()])
    }
}
