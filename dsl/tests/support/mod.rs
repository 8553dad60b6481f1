//! Shared helpers of the dsl integration tests: a module loader over the fixture
//! directory with a small standard library, and plain-text rendering of diagnostics.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};

use flow_dsl::{Diagnostics, ErrorKind, LoadedFile, ModuleLoader, ResolvedPipeline, Sources};
use miette::{GraphicalReportHandler, GraphicalTheme};

/// A tiny stand-in for the standard library, so these tests do not depend on its contents.
pub const STD_NUMERIC: &str = r#"
op "log" {
    doc "Sign-safe log."
    category "numeric"
    input "x" type="numeric"
    sql "signum({x}) * ln(1 + abs({x}))"
    output "numeric"
}
op "sqrt" {
    doc "Sign-safe square root."
    category "numeric"
    input "x" type="numeric"
    sql "signum({x}) * sqrt(abs({x}))"
    output "numeric"
}
op "clip" {
    doc "Clip at mean ± k standard deviations."
    category "numeric"
    input "x" type="numeric"
    param "k" type="float" 3.0
    sql "least(greatest({x}, avg({x}) OVER () - {k} * stddev({x}) OVER ()), avg({x}) OVER () + {k} * stddev({x}) OVER ())"
    output "numeric"
}
"#;

/// The second fake standard module.
pub const STD_ARITHMETIC: &str = r#"
op "ratio" {
    doc "x / y."
    category "arithmetic"
    input "x" type="numeric"
    input "y" type="numeric"
    sql "{x} / NULLIF({y}, 0)"
    output "numeric"
}
"#;

/// Loads `std.numeric` / `std.arithmetic` from the constants above and files from disk.
pub struct FixtureLoader;

impl ModuleLoader for FixtureLoader {
    fn std_module_names(&self) -> Vec<String> {
        vec!["std.arithmetic".into(), "std.numeric".into()]
    }

    fn std_module(&self, name: &str) -> Option<String> {
        match name {
            "std.numeric" => Some(STD_NUMERIC.into()),
            "std.arithmetic" => Some(STD_ARITHMETIC.into()),
            _ => None,
        }
    }

    fn read_file(&self, path: &str, from: &str) -> Result<LoadedFile, String> {
        let full = Path::new(from)
            .parent()
            .unwrap_or(Path::new("."))
            .join(path);
        let text = std::fs::read_to_string(&full).map_err(|_| format!("no file at {path}"))?;
        let key = std::fs::canonicalize(&full).map_err(|e| e.to_string())?;
        Ok(LoadedFile {
            key: key.display().to_string(),
            display_name: relative(&full),
            text,
        })
    }
}

/// The fixture directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn relative(path: &Path) -> String {
    let dir = fixtures();
    let text = path.display().to_string();
    text.strip_prefix(&format!("{}/", dir.display()))
        .unwrap_or(&text)
        .to_owned()
}

/// Loads a pipeline text named `name` (module paths resolve against the fixture directory).
pub fn load_text(
    name: &str,
    text: &str,
    overrides: &[&str],
) -> (Sources, Result<ResolvedPipeline, Diagnostics>) {
    let mut sources = Sources::new();
    let from = fixtures().join(name);
    let id = sources.add(relative(&from), text);
    // The loader resolves modules against the source name, so give it the full path.
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
    let result = load_with_base(&mut sources, id, &overrides);
    (sources, result)
}

fn load_with_base(
    sources: &mut Sources,
    id: flow_dsl::SourceId,
    overrides: &[String],
) -> Result<ResolvedPipeline, Diagnostics> {
    struct Based;
    impl ModuleLoader for Based {
        fn std_module_names(&self) -> Vec<String> {
            FixtureLoader.std_module_names()
        }
        fn std_module(&self, name: &str) -> Option<String> {
            FixtureLoader.std_module(name)
        }
        fn read_file(&self, path: &str, from: &str) -> Result<LoadedFile, String> {
            let from = if Path::new(from).is_absolute() {
                PathBuf::from(from)
            } else {
                fixtures().join(from)
            };
            FixtureLoader.read_file(path, &from.display().to_string())
        }
    }
    flow_dsl::load(sources, id, overrides, &Based)
}

/// Loads the fixture `<name>.kdl`.
pub fn load_fixture(
    name: &str,
    overrides: &[&str],
) -> (Sources, Result<ResolvedPipeline, Diagnostics>) {
    let file = format!("{name}.kdl");
    let text = std::fs::read_to_string(fixtures().join(&file)).expect("fixture exists");
    load_text(&file, &text, overrides)
}

/// The diagnostics as a user sees them, without colours.
pub fn render(diagnostics: &Diagnostics) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    handler
        .render_report(&mut out, diagnostics)
        .expect("rendering to a string cannot fail");
    out
}

/// Asserts a diagnostic of `kind` points exactly at the text `at`, and returns it.
pub fn assert_points_at<'d>(
    sources: &Sources,
    diagnostics: &'d Diagnostics,
    kind: ErrorKind,
    at: &str,
) -> &'d flow_dsl::SpecDiagnostic {
    let found = diagnostics.items.iter().find(|d| {
        let text = &sources.get(d.loc.source).text;
        let span = d.loc.span;
        d.kind == kind && text.get(span.offset()..span.offset() + span.len()) == Some(at)
    });
    match found {
        Some(d) => d,
        None => panic!(
            "no {kind:?} diagnostic pointing at `{at}`; got:\n{}",
            render(diagnostics)
        ),
    }
}
