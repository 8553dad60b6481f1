//! Reading a pipeline file from disk: the text, its `-S` overrides, and every module it
//! imports (standard library or user files), resolved into a [`LoadedPipeline`].

use std::path::{Path, PathBuf};

use flow_dsl::{Diagnostics, LoadedFile, ModuleLoader, ResolvedPipeline, Sources, load};

use crate::error::RuntimeError;

/// A pipeline read from a file, validated and resolved, with the texts it came from (so
/// later stages can still point diagnostics at the KDL).
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    /// The pipeline file as given.
    pub path: PathBuf,
    /// The resolved pipeline.
    pub resolved: ResolvedPipeline,
    /// Every text read: the file, its modules, the overrides.
    pub sources: Sources,
}

impl LoadedPipeline {
    /// The directory relative paths in the pipeline are resolved against.
    pub fn base_dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

/// Reads, validates and resolves the pipeline at `path` with `-S` overrides
/// (`search.iterations=200`).
pub fn load_pipeline(path: &Path, overrides: &[String]) -> Result<LoadedPipeline, RuntimeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RuntimeError::ReadPipeline {
        path: path.to_owned(),
        source,
    })?;
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text);
    let resolved =
        load(&mut sources, file, overrides, &FsModuleLoader).map_err(RuntimeError::Spec)?;
    Ok(LoadedPipeline {
        path: path.to_owned(),
        resolved,
        sources,
    })
}

/// Validates pipeline text that is not on disk (relative module paths resolve against
/// the current directory).
pub fn load_pipeline_text(
    name: &str,
    text: &str,
    overrides: &[String],
) -> Result<LoadedPipeline, Diagnostics> {
    let mut sources = Sources::new();
    let file = sources.add(name, text);
    let resolved = load(&mut sources, file, overrides, &FsModuleLoader)?;
    Ok(LoadedPipeline {
        path: PathBuf::from(name),
        resolved,
        sources,
    })
}

/// Module texts from the embedded standard library and the local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsModuleLoader;

impl ModuleLoader for FsModuleLoader {
    fn std_module_names(&self) -> Vec<String> {
        flow_stdlib::MODULES
            .iter()
            .map(|m| m.name.to_owned())
            .collect()
    }

    fn std_module(&self, name: &str) -> Option<String> {
        flow_stdlib::module(name).map(|m| m.text.to_owned())
    }

    fn read_file(&self, path: &str, from: &str) -> Result<LoadedFile, String> {
        let base = Path::new(from)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let full = base.join(path);
        let text = std::fs::read_to_string(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("no file at {}", full.display()),
            _ => format!("{} ({e})", full.display()),
        })?;
        let key = std::fs::canonicalize(&full)
            .unwrap_or_else(|_| full.clone())
            .display()
            .to_string();
        Ok(LoadedFile {
            key,
            display_name: full.display().to_string(),
            text,
        })
    }
}
