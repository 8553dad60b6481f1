//! flow's runtime: everything between a pipeline file and its results.
//!
//! Today it reads pipeline files with the modules they import ([`load`]) and checks them
//! against their data through DataFusion ([`inspect`]). Compiling to a DataFusion plan,
//! the feature search, the evaluators and the run store join here as they are built
//! (see `docs/architecture.md`).

pub mod error;
pub mod eval;
pub mod features;
pub mod inspect;
pub mod load;
pub mod operator;
pub mod plan;
pub mod run;
pub mod search;

pub use error::RuntimeError;
pub use inspect::{DataCheck, dataset_url, inspect_dataset};
pub use load::{FsModuleLoader, LoadedPipeline, load_pipeline, load_pipeline_text};
pub use plan::{CompiledPipeline, RunOptions, compile};
pub use run::{Progress, RunSummary, run_pipeline};
