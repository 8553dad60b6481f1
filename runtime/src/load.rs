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
    /// The `-S` overrides given, as written.
    pub overrides: Vec<String>,
}

impl LoadedPipeline {
    /// The command that continues run `run_id` of this pipeline: the same file and
    /// overrides (they are part of the run's identity), quoted for a POSIX shell.
    pub fn resume_command(&self, run_id: &str) -> String {
        let mut command = format!("flow run {}", shell_word(&self.path.display().to_string()));
        for setting in &self.overrides {
            command.push_str(" -S ");
            command.push_str(&shell_word(setting));
        }
        command.push_str(" --resume ");
        command.push_str(run_id);
        command
    }

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
    let read_error = |source| RuntimeError::ReadPipeline {
        path: path.to_owned(),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_error)?;
    if is_data_file(path, &bytes) {
        return Err(RuntimeError::NotAPipeline {
            path: path.to_owned(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is not UTF-8 text ({e})"),
        ))
    })?;
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text);
    let resolved =
        load(&mut sources, file, overrides, &FsModuleLoader).map_err(RuntimeError::Spec)?;
    Ok(LoadedPipeline {
        path: path.to_owned(),
        resolved,
        sources,
        overrides: overrides.to_vec(),
    })
}

/// `word` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Whether `path` (holding `bytes`) is a data file rather than a pipeline: a data file's
/// extension (`.csv`, `.parquet`, `.json`…, maybe gzipped) or Parquet's magic bytes.
fn is_data_file(path: &Path, bytes: &[u8]) -> bool {
    let by_name = path
        .to_str()
        .is_some_and(|p| flow_dsl::DataFormat::from_extension(p).is_some());
    by_name || bytes.starts_with(b"PAR1")
}

/// What a KDL file holds: a pipeline, or a module of operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A `pipeline "…" { … }` file.
    Pipeline,
    /// A module file: only `op` and `use` nodes.
    Module,
}

/// Tells a module file from a pipeline file by its top-level nodes. Anything that is not
/// clearly a module (including text that does not parse) is treated as a pipeline, whose
/// checks report what is wrong.
pub fn file_kind(path: &Path) -> FileKind {
    let Ok(text) = std::fs::read_to_string(path) else {
        return FileKind::Pipeline;
    };
    let mut sources = Sources::new();
    let id = sources.add(path.display().to_string(), text);
    match flow_dsl::tree::parse_kdl(&sources, id) {
        Ok(nodes)
            if !nodes.is_empty()
                && nodes
                    .iter()
                    .all(|n| n.name.text == "op" || n.name.text == "use") =>
        {
            FileKind::Module
        }
        _ => FileKind::Pipeline,
    }
}

/// A module file, validated with every module it imports.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    /// The file as given.
    pub path: PathBuf,
    /// Every operation it provides (its own and its imports'), by name.
    pub operations: std::collections::BTreeMap<String, flow_dsl::ResolvedOperation>,
}

/// Reads and validates the module file at `path`, following its imports.
pub fn load_module(path: &Path) -> Result<LoadedModule, RuntimeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RuntimeError::ReadPipeline {
        path: path.to_owned(),
        source,
    })?;
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text);
    let module = flow_dsl::parse_module(&sources, file).map_err(RuntimeError::Spec)?;
    let space = flow_dsl::SpaceSpec {
        imports: module.imports,
        ops: module.ops,
        include: Vec::new(),
        exclude: Vec::new(),
        max_depth: flow_dsl::space::DEFAULT_MAX_DEPTH,
        loc: flow_dsl::Loc::new(file, (0, 0)),
    };
    let operations = flow_dsl::resolve_space(&space, file, &mut sources, &FsModuleLoader)
        .map_err(RuntimeError::Spec)?;
    Ok(LoadedModule {
        path: path.to_owned(),
        operations,
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
        overrides: overrides.to_vec(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_command_repeats_the_overrides_quoted_for_a_shell() {
        let text = r#"pipeline "p" {
    dataset {
        source "d.csv"
        target "y"
    }
    space {
        use "std.numeric"
    }
    evaluator {
        model "linear-regression"
    }
}
"#;
        let overrides = [
            "search.seed=3".to_owned(),
            "output=\"it's mine\"".to_owned(),
        ];
        let pipeline = load_pipeline_text("my pipeline.kdl", text, &overrides)
            .unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(
            pipeline.resume_command("abc123"),
            r#"flow run 'my pipeline.kdl' -S search.seed=3 -S 'output="it'\''s mine"' --resume abc123"#
        );
    }

    #[test]
    fn data_files_are_told_by_their_name_or_their_parquet_magic() {
        assert!(is_data_file(Path::new("data.csv"), b"a,b\n1,2\n"));
        assert!(is_data_file(Path::new("x/data.json.gz"), b""));
        assert!(is_data_file(Path::new("table"), b"PAR1\x15\x04"));
        assert!(!is_data_file(
            Path::new("pipeline.kdl"),
            b"pipeline \"p\" {}"
        ));
    }
}
