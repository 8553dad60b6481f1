//! Planning FeatureSearch nodes into FeatureSearchExec.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::error::Result;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

use super::exec::FeatureSearchExec;
use super::node::FeatureSearchNode;

/// Plans [`FeatureSearchNode`]s; declines every other node.
#[derive(Debug, Default)]
pub struct FeatureSearchPlanner;

#[async_trait]
impl ExtensionPlanner for FeatureSearchPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(search) = node.as_any().downcast_ref::<FeatureSearchNode>() else {
            return Ok(None);
        };
        let input = physical_inputs.first().cloned().ok_or_else(|| {
            datafusion::error::DataFusionError::Internal("FeatureSearch has no input".to_owned())
        })?;
        Ok(Some(Arc::new(FeatureSearchExec::new(
            input,
            Arc::clone(search.job()),
        ))))
    }
}

/// The session's query planner: DataFusion's, plus the FeatureSearch extension.
#[derive(Debug, Default)]
pub struct FlowQueryPlanner;

#[async_trait]
impl QueryPlanner for FlowQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let planner =
            DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(FeatureSearchPlanner)]);
        planner
            .create_physical_plan(logical_plan, session_state)
            .await
    }
}
