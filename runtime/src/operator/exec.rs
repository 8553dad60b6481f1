//! The physical FeatureSearch operator.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};

use super::driver::run_search;
use super::job::SearchJob;
use super::log::evaluation_schema;

/// Runs a feature search over its input and streams one log row per evaluated node.
#[derive(Debug)]
pub struct FeatureSearchExec {
    input: Arc<dyn ExecutionPlan>,
    job: Arc<SearchJob>,
    properties: Arc<PlanProperties>,
}

impl FeatureSearchExec {
    /// The operator over `input`.
    pub fn new(input: Arc<dyn ExecutionPlan>, job: Arc<SearchJob>) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(evaluation_schema()),
            Partitioning::UnknownPartitioning(1),
            // Rows are emitted as evaluations finish, long before the input is exhausted
            // from the consumer's point of view.
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            input,
            job,
            properties: Arc::new(properties),
        }
    }

    /// The search settings.
    pub fn job(&self) -> &Arc<SearchJob> {
        &self.job
    }
}

impl DisplayAs for FeatureSearchExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "FeatureSearchExec: {}", self.job)
            }
            DisplayFormatType::TreeRender => write!(
                f,
                "iterations={}\nmodel={}\nseed={}",
                self.job.search.iterations,
                self.job.evaluator.model.kind.value.name(),
                self.job.search.seed
            ),
        }
    }
}

impl ExecutionPlan for FeatureSearchExec {
    fn name(&self) -> &'static str {
        "FeatureSearchExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        // The search needs every row in one place, in order.
        vec![Distribution::SinglePartition]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    #[allow(deprecated, reason = "required by the trait in DataFusion 55")]
    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.pop().ok_or_else(|| {
            DataFusionError::Internal("FeatureSearchExec takes one input".to_owned())
        })?;
        Ok(Arc::new(Self::new(input, Arc::clone(&self.job))))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "FeatureSearchExec has one partition, asked for {partition}"
            )));
        }
        let input = self.input.execute(0, Arc::clone(&context))?;
        let mut builder = RecordBatchReceiverStreamBuilder::new(evaluation_schema(), 4);
        let tx = builder.tx();
        let job = Arc::clone(&self.job);
        builder.spawn(async move { run_search(input, job, context, tx).await });
        Ok(builder.build())
    }
}
