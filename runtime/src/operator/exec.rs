//! The physical FeatureSearch operator.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::{
    RecordBatchReceiverStreamBuilder, RecordBatchStreamAdapter,
};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    Partitioning, PlanProperties, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

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
    /// The input as the search reads it: partition after partition (files in path order,
    /// each from start to end, so the rows come in the same order on every run), its read
    /// errors said as problems of the dataset.
    pub fn input_in_order(&self, context: &Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let partitions = self.input.output_partitioning().partition_count();
        let streams = (0..partitions)
            .map(|p| self.input.execute(p, Arc::clone(context)))
            .collect::<Result<Vec<_>>>()?;
        let in_order = RecordBatchStreamAdapter::new(
            self.input.schema(),
            futures::stream::iter(streams).flatten(),
        );
        Ok(said_as_data_errors(Box::pin(in_order), self))
    }

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
        // The search reads every input partition itself, in order (see `execute`): merging
        // them first would interleave rows in arrival order, which varies between runs.
        vec![Distribution::UnspecifiedDistribution]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        // Round-robin repartitioning would shuffle the rows.
        vec![false]
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
        let input = self.input_in_order(&context)?;
        let mut builder = RecordBatchReceiverStreamBuilder::new(evaluation_schema(), 4);
        let tx = builder.tx();
        let job = Arc::clone(&self.job);
        builder.spawn(async move { run_search(input, job, context, tx).await });
        Ok(builder.build())
    }
}

/// The operator's input with its read errors said as problems of the dataset: which file,
/// and for a value that does not fit its column's type, which column and row. A CSV
/// column's type is inferred from the first rows, so a word far down a column of numbers
/// only shows up here, while the search reads the data.
fn said_as_data_errors(
    input: SendableRecordBatchStream,
    exec: &FeatureSearchExec,
) -> SendableRecordBatchStream {
    let source = exec.job.dataset.source.value.display();
    let columns = file_columns(&exec.input);
    let schema = input.schema();
    let input = input.map_err(move |e| match e {
        DataFusionError::ResourcesExhausted(_) => e,
        other => super::data_error(describe_read_error(&source, &columns, &other.to_string())),
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, input))
}

/// The columns of the files under `plan`, in file order (what a CSV reader's column index
/// counts), or none when the plan is not a single file scan.
fn file_columns(plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
    let mut plan = Arc::clone(plan);
    loop {
        if let Some(scan) = plan.downcast_ref::<DataSourceExec>() {
            return scan
                .data_source()
                .downcast_ref::<FileScanConfig>()
                .map(|config| {
                    config
                        .file_schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect()
                })
                .unwrap_or_default();
        }
        let next = match plan.children().as_slice() {
            [child] => Arc::clone(child),
            _ => return Vec::new(),
        };
        plan = next;
    }
}

/// A read error of the dataset `source`, said for its user. Arrow's CSV parse errors read
/// "Error while parsing value 'x' as type 'Int64' for column 1 at line 9. Row data:
/// '[…]'": the column becomes its name and the row its values (line numbers count from the
/// start of a partition of the file, not of the file).
fn describe_read_error(source: &str, columns: &[String], message: &str) -> String {
    let parsed = (|| {
        let rest = message.split_once("Error while parsing value '")?.1;
        let (value, rest) = rest.split_once("' as type '")?;
        let (ty, rest) = rest.split_once("' for column ")?;
        let (index, rest) = rest.split_once(" at line ")?;
        let row = rest
            .split_once("Row data: '")
            .map(|(_, r)| r.trim_end_matches('\''));
        let column = columns.get(index.trim().parse::<usize>().ok()?)?;
        Some((value, ty, column, row))
    })();
    match parsed {
        Some((value, ty, column, row)) => format!(
            "cannot read the dataset {source}: the value `{value}` in column `{column}`{} is not {ty} like the rows before it (a CSV column's type is inferred from its first rows); correct or empty that cell, or leave the column out with `drop \"{}\"`",
            row.map(|r| format!(" (the row {r})")).unwrap_or_default(),
            column.replace('"', "\\\"")
        ),
        None if message.contains("number of fields") => format!(
            "cannot read the dataset {source}: {message}; every row must have as many fields as the header: fix that row, or quote a field that contains the delimiter"
        ),
        None => match crate::error::utf8_fix(message) {
            Some(fix) => format!("cannot read the dataset {source}: {message}; {fix}"),
            None => format!("cannot read the dataset {source}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_does_not_parse_is_named_with_its_column_and_row() {
        let columns = ["a".to_owned(), "b".to_owned()];
        let message = "Arrow error: Parser error: Error while parsing value 'abc' as type 'Int64' for column 1 at line 1501. Row data: '[5,abc]'";
        assert_eq!(
            describe_read_error("d.csv", &columns, message),
            "cannot read the dataset d.csv: the value `abc` in column `b` (the row [5,abc]) is not Int64 like the rows before it (a CSV column's type is inferred from its first rows); correct or empty that cell, or leave the column out with `drop \"b\"`"
        );
        assert_eq!(
            describe_read_error("d.csv", &[], message),
            format!("cannot read the dataset d.csv: {message}")
        );
    }
}
