//! flow's runtime: everything between a pipeline file and its results.
//!
//! The path a pipeline takes: [`load`] reads the file and the modules it imports;
//! [`inspect`] checks it against the data's schema; [`plan`] compiles it into a DataFusion
//! plan whose top is the FeatureSearch [`operator`]; the operator runs the Monte Carlo Tree
//! [`search`] over feature sets, computing candidate [`features`] with DataFusion and
//! scoring them with the [`eval`] models; [`run`] executes the plan and writes the
//! evaluation log. See `docs/architecture.md`.

pub mod error;
pub mod eval;
pub mod features;
pub mod inspect;
pub mod load;
pub mod machine;
pub mod operator;
pub mod plan;
pub mod profile;
pub mod resume;
pub mod run;
pub mod search;
pub mod store;

pub use error::RuntimeError;
pub use inspect::{DataCheck, dataset_url, inspect_dataset, skipped_columns};
pub use load::{
    FileKind, FsModuleLoader, LoadedModule, LoadedPipeline, file_kind, load_module, load_pipeline,
    load_pipeline_text,
};
pub use operator::driver::SearchRows;
pub use plan::{CompiledPipeline, RunOptions, compile, search_session_config};
pub use resume::ResumeTarget;
pub use run::{Progress, RunSummary, run_pipeline};
