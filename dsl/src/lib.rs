//! flow's pipeline language.
//!
//! A pipeline is a KDL file. Its text travels through this crate in three steps, each
//! reporting every problem it finds as a [`SpecDiagnostic`] pointing at the text:
//!
//! 1. [`parse_pipeline`]: KDL → located tree ([`tree`]) → `-S` overrides applied
//!    ([`overrides`]) → lowered and validated, block by block, into a [`PipelineSpec`].
//! 2. [`resolve`]: `use` imports are followed through the standard library and the
//!    user's module files (read by a caller-supplied [`ModuleLoader`]; this crate does no
//!    I/O), giving a [`ResolvedPipeline`] with its operation space.
//! 3. [`ResolvedPipeline::canonical_text`] and [`ResolvedPipeline::spec_hash`]: the
//!    identity of what the pipeline computes, used for run ids.
//!
//! The language is documented for users in `docs/language.md`.

pub mod canonical;
pub mod dataset;
pub mod diagnostic;
pub mod evaluator;
pub mod literal;
pub mod module;
pub mod operation;
pub mod output;
pub mod overrides;
pub mod pipeline;
mod reader;
pub mod resolve;
pub mod search;
pub mod source;
pub mod space;
pub mod template;
pub mod tree;

pub use dataset::{
    CsvOptions, DataFormat, DataLocation, DatasetSpec, SampleSize, SampleSpec, Task,
};
pub use diagnostic::{Diagnostics, ErrorKind, MAX_SHOWN, SpecDiagnostic};
pub use evaluator::{
    ConfirmSpec, CvScheme, CvSpec, EvaluatorSpec, HyperValue, Metric, ModelKind, ModelSpec,
};
pub use literal::{parse_duration, parse_size};
pub use module::{ModuleSpec, parse_module};
pub use operation::{InputSpec, OperationSpec, ParamSpec, ParamType, ParamValue, ValueType};
pub use output::{OutputSpec, S3Options};
pub use pipeline::{PipelineSpec, parse_pipeline};
pub use resolve::{
    LoadedFile, ModuleLoader, Origin, ResolvedOperation, ResolvedPipeline, load, resolve,
    resolve_space,
};
pub use search::{Halving, SearchSpec};
pub use source::{Loc, SourceId, Sources, Spanned};
pub use space::{ImportSpec, ModuleRef, OperationTuning, SpaceSpec};
pub use template::SqlTemplate;
