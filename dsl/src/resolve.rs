//! Resolution: following `use` imports through the standard library and the user's
//! module files, applying per-import tunings, and assembling the operation space.
//!
//! Reading files is the caller's business (this crate does no I/O): a [`ModuleLoader`]
//! supplies module texts.

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostics, ErrorKind, SpecDiagnostic, did_you_mean_help};
use crate::module::{ModuleSpec, parse_module};
use crate::operation::{OperationSpec, param_value};
use crate::pipeline::{PipelineSpec, parse_partial};
use crate::reader::Reader;
use crate::source::{Loc, SourceId, Sources};
use crate::space::{ImportSpec, ModuleRef, OperationTuning, SpaceSpec};

/// Where module texts come from.
pub trait ModuleLoader {
    /// The names of the standard-library modules (`std.numeric`, …), sorted.
    fn std_module_names(&self) -> Vec<String>;
    /// The text of a standard-library module.
    fn std_module(&self, name: &str) -> Option<String>;
    /// Reads the module file `path` as imported from the file named `from`; returns a
    /// stable key identifying the file (its canonical path) and its text.
    fn read_file(&self, path: &str, from: &str) -> Result<LoadedFile, String>;
}

/// A module file read by a [`ModuleLoader`].
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// The file's identity, for cycle detection and de-duplication (its canonical path).
    pub key: String,
    /// The name shown in diagnostics.
    pub display_name: String,
    /// The text.
    pub text: String,
}

/// Where an operation of the resolved space was defined.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// A standard-library module.
    Std(String),
    /// A user module file, by the path it was imported with.
    File(String),
    /// The pipeline file itself.
    Pipeline,
}

impl Origin {
    /// A short description for listings and messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Std(name) => name.clone(),
            Self::File(key) => key.clone(),
            Self::Pipeline => "the pipeline".to_owned(),
        }
    }
}

/// An operation in the resolved space, with tunings applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOperation {
    /// The definition.
    pub spec: OperationSpec,
    /// Where it came from.
    pub origin: Origin,
    /// Whether an import changed its weight or parameters.
    pub tuned: bool,
    /// `false` when an import disabled it (`enabled=#false`); such operations are
    /// dropped once every import is resolved, whichever import brought them first.
    pub enabled: bool,
}

/// A pipeline whose imports are resolved: the spec plus its operation space.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPipeline {
    /// The pipeline as written.
    pub spec: PipelineSpec,
    /// Every operation the search may use, by name.
    pub operations: BTreeMap<String, ResolvedOperation>,
}

/// Resolves the imports of `spec` and assembles its operation space.
pub fn resolve(
    spec: PipelineSpec,
    sources: &mut Sources,
    loader: &dyn ModuleLoader,
) -> Result<ResolvedPipeline, Diagnostics> {
    let operations = resolve_space(&spec.space, spec.file, sources, loader)?;
    Ok(ResolvedPipeline { spec, operations })
}

/// Parses, validates and resolves a pipeline in one pass: problems in the pipeline file
/// and problems in the modules it imports are reported together.
pub fn load(
    sources: &mut Sources,
    file: SourceId,
    overrides: &[String],
    loader: &dyn ModuleLoader,
) -> Result<ResolvedPipeline, Diagnostics> {
    let partial = parse_partial(sources, file, overrides);
    let operations = partial
        .space
        .as_ref()
        .map(|space| resolve_space(space, file, sources, loader));
    match (partial.result, operations) {
        (Ok(spec), Some(Ok(operations))) => Ok(ResolvedPipeline { spec, operations }),
        (result, operations) => {
            let mut items = result.err().map(|d| d.items).unwrap_or_default();
            if let Some(Err(d)) = operations {
                // An empty space is only worth saying when nothing else is wrong.
                if items.is_empty() || !d.kinds().iter().all(|k| *k == ErrorKind::Missing) {
                    items.extend(d.items);
                }
            }
            items.sort_by_key(|d| (d.loc.source, d.loc.span.offset()));
            Err(Diagnostics { items })
        }
    }
}

/// Resolves the imports and inline operations of a `space` block written in `file`.
pub fn resolve_space(
    space: &SpaceSpec,
    file: SourceId,
    sources: &mut Sources,
    loader: &dyn ModuleLoader,
) -> Result<BTreeMap<String, ResolvedOperation>, Diagnostics> {
    let pipeline_name = sources.get(file).name.clone();
    let mut resolver = Resolver {
        sources,
        loader,
        errors: Vec::new(),
        modules: BTreeMap::new(),
        display: BTreeMap::new(),
    };
    let mut ops = Space::default();
    let stack = vec![pipeline_name.clone()];
    for import in &space.imports {
        let imported = resolver.import(import, &pipeline_name, &stack);
        ops.add_all(resolver.sources, &mut resolver.errors, imported);
    }
    let inline = space
        .ops
        .iter()
        .map(|op| ResolvedOperation {
            spec: op.clone(),
            origin: Origin::Pipeline,
            tuned: false,
            enabled: true,
        })
        .collect();
    ops.add_all(resolver.sources, &mut resolver.errors, inline);
    ops.check_replacements(resolver.sources, &mut resolver.errors);
    if ops.ops.is_empty() && resolver.errors.is_empty() {
        resolver.errors.push(
            SpecDiagnostic::new(
                resolver.sources,
                ErrorKind::Missing,
                space.loc,
                "the operation space is empty",
                "no operations to search over",
            )
            .with_help("import a module (`use \"std.numeric\"`) or define an `op` in `space`"),
        );
    }
    let mut errors = resolver.errors;
    if errors.is_empty() {
        let mut operations = ops.ops;
        operations.retain(|_, op| op.enabled);
        return Ok(operations);
    }
    errors.sort_by_key(|d| (d.loc.source, d.loc.span.offset()));
    Err(Diagnostics { items: errors })
}

struct Resolver<'a> {
    sources: &'a mut Sources,
    loader: &'a dyn ModuleLoader,
    errors: Vec<SpecDiagnostic>,
    /// Parsed modules by key, so a module imported twice is read once.
    modules: BTreeMap<String, Option<(ModuleSpec, Origin, String)>>,
    /// How each module key is shown to users.
    display: BTreeMap<String, String>,
}

impl Resolver<'_> {
    /// The operations an import brings, tuned.
    fn import(
        &mut self,
        import: &ImportSpec,
        from: &str,
        stack: &[String],
    ) -> Vec<ResolvedOperation> {
        let loc = import.module.loc;
        let mut ops = match &import.module.value {
            ModuleRef::Std(name) if name == "std.all" => {
                let names = self.loader.std_module_names();
                names
                    .iter()
                    .flat_map(|n| self.std_module(n, loc, stack))
                    .collect()
            }
            ModuleRef::Std(name) => self.std_module(name, loc, stack),
            ModuleRef::File(path) => self.file_module(path, from, loc, stack),
        };
        for tuning in &import.tunings {
            self.tune(&mut ops, tuning, &import.module.value);
        }
        for op in &mut ops {
            if import
                .tunings
                .iter()
                .any(|t| !t.enabled && t.op.value == op.spec.name.value)
            {
                op.enabled = false;
            }
        }
        ops
    }

    fn std_module(&mut self, name: &str, loc: Loc, stack: &[String]) -> Vec<ResolvedOperation> {
        let key = name.to_owned();
        if !self.modules.contains_key(&key) {
            let Some(text) = self.loader.std_module(name) else {
                let names = self.loader.std_module_names();
                let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
                names.push("std.all");
                self.errors.push(
                    SpecDiagnostic::new(
                        self.sources,
                        ErrorKind::UnknownModule,
                        loc,
                        format!("the standard library has no module `{name}`"),
                        "unknown module",
                    )
                    .with_help(did_you_mean_help(name, &names, "modules")),
                );
                return Vec::new();
            };
            let id = self.sources.add(name, text);
            self.parse(key.clone(), id, Origin::Std(name.to_owned()), name);
        }
        self.collect(&key, stack)
    }

    fn file_module(
        &mut self,
        path: &str,
        from: &str,
        loc: Loc,
        stack: &[String],
    ) -> Vec<ResolvedOperation> {
        let file = match self.loader.read_file(path, from) {
            Ok(file) => file,
            Err(why) => {
                self.errors.push(
                    SpecDiagnostic::new(
                        self.sources,
                        ErrorKind::ModuleNotFound,
                        loc,
                        format!("cannot read the module `{path}`: {why}"),
                        "module file not found",
                    )
                    .with_help(
                        "module paths are relative to the file that imports them; \
                         standard-library modules are written `std.<name>`",
                    ),
                );
                return Vec::new();
            }
        };
        self.display
            .entry(file.key.clone())
            .or_insert_with(|| file.display_name.clone());
        if stack.contains(&file.key) {
            let chain = stack
                .iter()
                .skip_while(|k| **k != file.key)
                .chain(std::iter::once(&file.key))
                .map(|k| self.display.get(k).unwrap_or(k).as_str())
                .collect::<Vec<_>>()
                .join(" → ");
            self.errors.push(
                SpecDiagnostic::new(
                    self.sources,
                    ErrorKind::ModuleCycle,
                    loc,
                    format!("the module `{path}` imports itself: {chain}"),
                    "import cycle",
                )
                .with_help("remove one of the `use` lines in the cycle"),
            );
            return Vec::new();
        }
        let key = file.key.clone();
        if !self.modules.contains_key(&key) {
            let id = self.sources.add(file.display_name.clone(), file.text);
            self.parse(
                key.clone(),
                id,
                Origin::File(file.display_name.clone()),
                &file.display_name,
            );
        }
        self.collect(&key, stack)
    }

    fn parse(&mut self, key: String, id: SourceId, origin: Origin, name: &str) {
        match parse_module(self.sources, id) {
            Ok(module) => {
                self.modules
                    .insert(key, Some((module, origin, name.to_owned())));
            }
            Err(d) => {
                self.errors.extend(d.items);
                self.modules.insert(key, None);
            }
        }
    }

    /// The module's own operations plus those of its imports.
    fn collect(&mut self, key: &str, stack: &[String]) -> Vec<ResolvedOperation> {
        let Some(Some((module, origin, name))) = self.modules.get(key).cloned() else {
            return Vec::new();
        };
        let mut inner = stack.to_vec();
        inner.push(key.to_owned());
        let mut ops: Vec<ResolvedOperation> = Vec::new();
        for import in &module.imports {
            ops.extend(self.import(import, &name, &inner));
        }
        ops.extend(module.ops.into_iter().map(|spec| ResolvedOperation {
            spec,
            origin: origin.clone(),
            tuned: false,
            enabled: true,
        }));
        ops
    }

    fn tune(
        &mut self,
        ops: &mut [ResolvedOperation],
        tuning: &OperationTuning,
        module: &ModuleRef,
    ) {
        let Some(op) = ops
            .iter_mut()
            .find(|o| o.spec.name.value == tuning.op.value)
        else {
            if ops.is_empty() {
                return; // the module itself failed to load; that is already reported
            }
            let names: Vec<&str> = ops.iter().map(|o| o.spec.name.value.as_str()).collect();
            self.errors.push(
                SpecDiagnostic::new(
                    self.sources,
                    ErrorKind::UnknownOperation,
                    tuning.op.loc,
                    format!(
                        "`{}` has no operation `{}`",
                        module.as_str(),
                        tuning.op.value
                    ),
                    "unknown operation",
                )
                .with_help(did_you_mean_help(
                    &tuning.op.value,
                    &names,
                    &format!("`{}` defines", module.as_str()),
                )),
            );
            return;
        };
        if let Some(weight) = &tuning.weight {
            op.spec.weight = weight.value;
            op.tuned = true;
        }
        for (name, values) in &tuning.params {
            let Some(param) = op
                .spec
                .params
                .iter_mut()
                .find(|p| p.name.value == name.value)
            else {
                let names: Vec<&str> = op
                    .spec
                    .params
                    .iter()
                    .map(|p| p.name.value.as_str())
                    .collect();
                self.errors.push(
                    SpecDiagnostic::new(
                        self.sources,
                        ErrorKind::UnknownProperty,
                        name.loc,
                        format!(
                            "the operation `{}` has no parameter `{}`",
                            tuning.op.value, name.value
                        ),
                        "unknown parameter",
                    )
                    .with_help(did_you_mean_help(
                        &name.value,
                        &names,
                        "its parameters",
                    )),
                );
                continue;
            };
            let mut r = Reader::new(self.sources);
            let typed: Option<Vec<_>> = values
                .iter()
                .map(|v| param_value(&mut r, v, param.ty))
                .collect();
            if let Err(d) = r.finish(()) {
                self.errors.extend(d.items);
            }
            if let Some(typed) = typed {
                param.values = typed;
                op.tuned = true;
            }
        }
    }
}

/// The operation space being assembled, with the rules for names defined twice.
#[derive(Default)]
struct Space {
    ops: BTreeMap<String, ResolvedOperation>,
    /// Names whose standard definition a user's `override=#true` replaced.
    replaced: std::collections::BTreeSet<String>,
}

impl Space {
    fn add_all(
        &mut self,
        sources: &Sources,
        errors: &mut Vec<SpecDiagnostic>,
        ops: Vec<ResolvedOperation>,
    ) {
        for op in ops {
            self.add(sources, errors, op);
        }
    }

    fn add(&mut self, sources: &Sources, errors: &mut Vec<SpecDiagnostic>, op: ResolvedOperation) {
        let name = op.spec.name.value.clone();
        let Some(existing) = self.ops.get(&name) else {
            self.ops.insert(name, op);
            return;
        };
        let is_std = |o: &ResolvedOperation| matches!(o.origin, Origin::Std(_));
        if existing.origin == op.origin && existing.spec.loc == op.spec.loc {
            // The same definition reached twice (e.g. `std.all` and `std.numeric`): keep
            // the tuned copy, and disabled in either import means disabled.
            let enabled = existing.enabled && op.enabled;
            if op.tuned && existing.tuned && op.spec != existing.spec {
                errors.push(
                    SpecDiagnostic::new(
                        sources,
                        ErrorKind::Duplicate,
                        existing.spec.name.loc,
                        format!("the operation `{name}` is tuned differently by two imports"),
                        "imported and tuned twice",
                    )
                    .with_help(format!("tune `{name}` in one `use` block only")),
                );
            } else if op.tuned && !existing.tuned {
                self.ops.insert(name.clone(), op);
            }
            if let Some(kept) = self.ops.get_mut(&name) {
                kept.enabled = enabled;
            }
        } else if is_std(existing) && op.spec.replaces_std {
            self.replaced.insert(name.clone());
            self.ops.insert(name, op);
        } else if is_std(&op) && existing.spec.replaces_std {
            // A user's replacement was imported before the standard module: keep it.
            self.replaced.insert(name);
        } else {
            let (line, column) = sources.line_column(existing.spec.name.loc);
            let first = format!(
                "{}:{line}:{column}",
                sources.get(existing.spec.name.loc.source).name
            );
            let origins = if existing.origin == op.origin {
                format!("in {}", op.origin.describe())
            } else {
                format!(
                    "in {} and in {}",
                    existing.origin.describe(),
                    op.origin.describe()
                )
            };
            let help = if is_std(existing) || is_std(&op) {
                format!(
                    "the standard library already defines `{name}`: rename yours, or write \
                     `op \"{name}\" override=#true {{ … }}` to replace it"
                )
            } else {
                format!("rename one of them; `{name}` is first defined at {first}")
            };
            errors.push(
                SpecDiagnostic::new(
                    sources,
                    ErrorKind::Duplicate,
                    op.spec.name.loc,
                    format!("the operation `{name}` is defined twice, {origins}"),
                    "defined again here",
                )
                .with_note(existing.spec.name.loc, "first defined here")
                .with_help(help),
            );
        }
    }

    /// An `override=#true` that replaces nothing is a mistake (a typo in the name, or a
    /// standard module that is not imported).
    fn check_replacements(&self, sources: &Sources, errors: &mut Vec<SpecDiagnostic>) {
        let unreplaced = self
            .ops
            .values()
            .filter(|op| op.spec.replaces_std && !self.replaced.contains(&op.spec.name.value));
        for op in unreplaced {
            errors.push(
                SpecDiagnostic::new(
                    sources,
                    ErrorKind::UnknownOperation,
                    op.spec.name.loc,
                    format!(
                        "`{}` is marked override=#true, but no imported standard operation has that name",
                        op.spec.name.value
                    ),
                    "replaces nothing",
                )
                .with_help("import the standard module that defines it, or remove `override=#true`"),
            );
        }
    }
}
