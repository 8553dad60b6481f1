//! The `pipeline` node: the whole file, lowered to a [`PipelineSpec`].

use crate::dataset::{DatasetSpec, lower_dataset};
use crate::diagnostic::{Diagnostics, ErrorKind, did_you_mean_help};
use crate::evaluator::{EvaluatorSpec, check_task, lower_evaluator};
use crate::output::{DEFAULT_OUTPUT, OutputSpec, S3Options, lower_output};
use crate::overrides::apply_overrides;
use crate::reader::Reader;
use crate::search::{SearchSpec, lower_search};
use crate::source::{Loc, SourceId, Sources, Spanned};
use crate::space::{SpaceSpec, lower_space};
use crate::tree::{Node, parse_kdl};

/// A pipeline as written (plus overrides), validated, before modules are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSpec {
    /// The pipeline's name.
    pub name: Spanned<String>,
    /// The data.
    pub dataset: DatasetSpec,
    /// The operation space.
    pub space: SpaceSpec,
    /// How feature sets are scored.
    pub evaluator: EvaluatorSpec,
    /// The search budget and settings.
    pub search: SearchSpec,
    /// Where results go.
    pub output: OutputSpec,
    /// The pipeline file, against which relative paths resolve.
    pub file: SourceId,
}

const PIPELINE_CHILDREN: [&str; 5] = ["dataset", "space", "evaluator", "search", "output"];

/// Parses and validates pipeline text, with `-S` overrides (`search.iterations=200`)
/// applied first. Every problem found is returned, not only the first.
///
/// ```
/// let mut sources = flow_dsl::Sources::new();
/// let file = sources.add("p.kdl", r#"
///     pipeline "demo" {
///         dataset { source "d.csv"; target "y" }
///         space { use "std.numeric" }
///         evaluator { model "decision-tree" }
///     }"#);
/// let spec = flow_dsl::parse_pipeline(&mut sources, file, &["search.seed=7".into()]).unwrap();
/// assert_eq!(spec.search.seed, 7);
/// ```
pub fn parse_pipeline(
    sources: &mut Sources,
    file: SourceId,
    overrides: &[String],
) -> Result<PipelineSpec, Diagnostics> {
    parse_partial(sources, file, overrides).result
}

/// What lowering produced: the spec if everything was valid, and the space on its own
/// whenever it was readable, so its imports can be checked even when other blocks have
/// problems (and all problems reported in one pass).
pub(crate) struct Partial {
    pub result: Result<PipelineSpec, Diagnostics>,
    pub space: Option<SpaceSpec>,
}

pub(crate) fn parse_partial(
    sources: &mut Sources,
    file: SourceId,
    overrides: &[String],
) -> Partial {
    let mut doc = match parse_kdl(sources, file) {
        Ok(doc) => doc,
        Err(d) => {
            return Partial {
                result: Err(d),
                space: None,
            };
        }
    };
    let override_problems = apply_overrides(sources, &mut doc, overrides);
    let mut r = Reader::new(sources);
    for problem in override_problems {
        r.report(problem);
    }
    let (spec, space) = lower_document(&mut r, &doc, file);
    let result = match spec {
        Some(spec) => r.finish(spec),
        None => {
            let empty: Result<(), Diagnostics> = r.finish(());
            Err(empty.expect_err("lowering failed, so a problem was reported"))
        }
    };
    Partial { result, space }
}

fn lower_document(
    r: &mut Reader<'_>,
    doc: &[Node],
    file: SourceId,
) -> (Option<PipelineSpec>, Option<SpaceSpec>) {
    for node in doc.iter().filter(|n| n.name.text != "pipeline") {
        r.error(
            ErrorKind::UnknownNode,
            node.name.loc,
            format!("unknown top-level node `{}`", node.name.text),
            "not expected here",
            did_you_mean_help(&node.name.text, &["pipeline"], "a pipeline file holds"),
        );
    }
    let mut pipelines = doc.iter().filter(|n| n.name.text == "pipeline");
    let Some(node) = pipelines.next() else {
        r.error(
            ErrorKind::Missing,
            Loc::new(file, (0, 0)),
            "the file has no `pipeline` node",
            "expected `pipeline \"name\" { … }`",
            "start the file with `pipeline \"my-pipeline\" { dataset { … } space { … } evaluator { … } }`",
        );
        return (None, None);
    };
    for extra in pipelines {
        r.error(
            ErrorKind::Duplicate,
            extra.name.loc,
            "a file holds one `pipeline`",
            "second pipeline",
            "put each pipeline in its own file",
        );
    }
    lower_pipeline(r, node, file)
}

fn lower_pipeline(
    r: &mut Reader<'_>,
    node: &Node,
    file: SourceId,
) -> (Option<PipelineSpec>, Option<SpaceSpec>) {
    r.allow_props(node, &[]);
    r.allow_children(node, &PIPELINE_CHILDREN);
    let name = r.string_arg(node, "pipeline \"house-prices\" { … }");
    if node.children.is_none() {
        r.error(
            ErrorKind::Missing,
            node.name.loc,
            "the pipeline has no body",
            "expected `{ … }`",
            "add `{ dataset { … } space { … } evaluator { … } }`",
        );
        return (None, None);
    }
    let dataset = r
        .required_child(
            node,
            "dataset",
            "dataset { source \"train.csv\"; target \"y\" }",
        )
        .and_then(|n| lower_dataset(r, n));
    let space = r
        .required_child(node, "space", "space { use \"std.numeric\" }")
        .map(|n| lower_space(r, n));
    let evaluator = r
        .required_child(node, "evaluator", "evaluator { model \"random-forest\" }")
        .and_then(|n| lower_evaluator(r, n));
    let search_node = r.unique_child(node, "search");
    let search = lower_search(r, search_node);
    let output = match r.unique_child(node, "output") {
        Some(n) => lower_output(r, n),
        None => Some(OutputSpec {
            location: Spanned::new(DEFAULT_OUTPUT.to_owned(), node.name.loc),
            s3: S3Options::default(),
        }),
    };
    if let (Some(dataset), Some(evaluator)) = (&dataset, &evaluator)
        && let Some(task) = &dataset.task
    {
        check_task(r, evaluator, task);
    }
    if let (Some(dataset), Some(space)) = (&dataset, &space) {
        for column in space.include.iter().chain(&space.exclude) {
            if column.value == dataset.target.value {
                r.error(
                    ErrorKind::Incompatible,
                    column.loc,
                    format!("`{}` is the target; it is never a feature", column.value),
                    "the target",
                    "remove it from `include`/`exclude`",
                );
            }
        }
    }
    let spec = (|| {
        Some(PipelineSpec {
            name: name?,
            dataset: dataset?,
            space: space.clone()?,
            evaluator: evaluator?,
            search,
            output: output?,
            file,
        })
    })();
    (spec, space)
}
