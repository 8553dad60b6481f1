//! The user documentation is tested like code: every ```kdl block in `README.md` and
//! `docs/*.md` must be a complete file that flow accepts. A block with a top-level
//! `pipeline` node is loaded as a pipeline (its modules resolved, its dataset's columns
//! checked against the real data); any other block is parsed as a module file.
//!
//! Relative paths in a block resolve as if the block were a file next to the Markdown
//! file, so `source "../examples/data/diabetes.csv"` in `docs/language.md` reads the
//! example data, and diagnostics carry the Markdown file's own line numbers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use flow_dsl::{Sources, parse_module};
use flow_runtime::{DataCheck, LoadedPipeline, inspect_dataset, load_pipeline_text};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// One fenced code block of a Markdown file.
#[derive(Debug)]
struct CodeBlock {
    /// The Markdown file, absolute.
    file: PathBuf,
    /// 1-based line of the opening fence.
    line: usize,
    /// The first word after the opening fence (`kdl`, `text`, or empty).
    language: String,
    /// The text between the fences.
    text: String,
}

impl CodeBlock {
    /// `docs/language.md:42`, for failure messages.
    fn describe(&self) -> String {
        let shown = self.file.strip_prefix(repo_root()).unwrap_or(&self.file);
        format!("{}:{}", shown.display(), self.line)
    }

    /// The name the block is loaded under: the Markdown file itself, so relative module
    /// and data paths resolve against its directory, as they would for a pipeline file
    /// saved there.
    fn source_name(&self) -> String {
        self.file.display().to_string()
    }

    /// The block's text preceded by blank lines, so that line numbers in diagnostics are
    /// line numbers of the Markdown file.
    fn source_text(&self) -> String {
        "\n".repeat(self.line) + &self.text
    }
}

/// What a ```kdl block turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Pipeline,
    Module,
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn language_reference() -> PathBuf {
    repo_root().join("docs").join("language.md")
}

/// `README.md` and every `docs/*.md`, in a fixed order.
fn documentation_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let readme = repo_root().join("README.md");
    if readme.is_file() {
        files.push(readme);
    }
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("docs"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    files.extend(docs);
    files
}

/// The fenced code blocks of Markdown `text`, in order. A fence shown inside a longer
/// fence (```` ```` ````) belongs to the outer block.
fn code_blocks_in(file: &Path, text: &str) -> Result<Vec<CodeBlock>, String> {
    let mut blocks = Vec::new();
    // The block being read, and the fence that closes it.
    let mut open: Option<(CodeBlock, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                let fence_len = trimmed.chars().take_while(|c| *c == '`').count();
                if fence_len >= 3 {
                    let info = trimmed[fence_len..].trim();
                    let block = CodeBlock {
                        file: file.to_owned(),
                        line: index + 1,
                        language: info.split_whitespace().next().unwrap_or("").to_owned(),
                        text: String::new(),
                    };
                    open = Some((block, "`".repeat(fence_len)));
                }
            }
            Some((block, fence)) => {
                let closes = trimmed.starts_with(fence.as_str())
                    && trimmed.trim_end().chars().all(|c| c == '`');
                if closes {
                    if let Some((block, _)) = open.take() {
                        blocks.push(block);
                    }
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                }
            }
        }
    }
    match open {
        Some((block, _)) => Err(format!(
            "{}: a code block is never closed",
            block.describe()
        )),
        None => Ok(blocks),
    }
}

fn code_blocks(file: &Path) -> Vec<CodeBlock> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    code_blocks_in(file, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn kdl_blocks(file: &Path) -> Vec<CodeBlock> {
    code_blocks(file)
        .into_iter()
        .filter(|b| b.language == "kdl")
        .collect()
}

/// A diagnostic rendered as a user sees it (without colours).
fn render(diagnostic: &dyn Diagnostic) -> String {
    let mut out = String::new();
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    if handler.render_report(&mut out, diagnostic).is_err() {
        let _ = write!(out, "{diagnostic}");
    }
    out
}

/// Whether the block has a top-level `pipeline` node (else it is a module file).
fn kind_of(block: &CodeBlock) -> Result<BlockKind, String> {
    let mut sources = Sources::new();
    let id = sources.add(block.source_name(), block.source_text());
    let nodes = flow_dsl::tree::parse_kdl(&sources, id).map_err(|d| render(&d))?;
    Ok(if nodes.iter().any(|n| n.name.text == "pipeline") {
        BlockKind::Pipeline
    } else {
        BlockKind::Module
    })
}

/// Loads a pipeline block and reads its dataset's schema.
fn check_pipeline(
    block: &CodeBlock,
    runtime: &tokio::runtime::Runtime,
) -> Result<LoadedPipeline, String> {
    let pipeline = load_pipeline_text(&block.source_name(), &block.source_text(), &[])
        .map_err(|d| render(&d))?;
    match runtime.block_on(inspect_dataset(&pipeline)) {
        Ok(DataCheck::Inspected { .. }) => Ok(pipeline),
        Ok(DataCheck::Skipped { reason }) => Err(format!(
            "the dataset was not inspected ({reason}); pipelines in the docs read local \
             example data so their columns can be checked — show other sources in a \
             ```text block"
        )),
        Err(e) => Err(render(&e)),
    }
}

/// Parses a module-file block.
fn check_module(block: &CodeBlock) -> Result<(), String> {
    let mut sources = Sources::new();
    let id = sources.add(block.source_name(), block.source_text());
    parse_module(&sources, id)
        .map(|_| ())
        .map_err(|d| render(&d))
}

fn check_block(block: &CodeBlock, runtime: &tokio::runtime::Runtime) -> Result<BlockKind, String> {
    if block.text.trim().is_empty() {
        return Err("the block is empty".to_owned());
    }
    let kind = kind_of(block)?;
    match kind {
        BlockKind::Pipeline => {
            check_pipeline(block, runtime)?;
        }
        BlockKind::Module => check_module(block)?,
    }
    Ok(kind)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime starts")
}

#[test]
fn every_kdl_block_in_the_docs_is_a_valid_file() {
    let runtime = runtime();
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in documentation_files() {
        for block in kdl_blocks(&file) {
            checked += 1;
            if let Err(why) = check_block(&block, &runtime) {
                failures.push(format!("── {} ──\n{why}", block.describe()));
            }
        }
    }
    assert!(
        checked > 0,
        "no ```kdl blocks found in README.md or docs/*.md"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} ```kdl blocks are not valid flow files (each block must be a whole \
         pipeline or a whole module file; use ```text for fragments):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_language_reference_shows_pipelines_and_modules() {
    let runtime = runtime();
    let blocks = kdl_blocks(&language_reference());
    assert!(
        blocks.len() >= 10,
        "docs/language.md has {} ```kdl blocks; the reference shows every block by example",
        blocks.len()
    );
    let kinds: Vec<BlockKind> = blocks
        .iter()
        .filter_map(|b| check_block(b, &runtime).ok())
        .collect();
    assert!(
        kinds.contains(&BlockKind::Pipeline) && kinds.contains(&BlockKind::Module),
        "docs/language.md shows both a valid pipeline and a valid module file"
    );
}

#[test]
fn the_canonical_form_shown_in_the_reference_is_current() {
    let blocks = code_blocks(&language_reference());
    let demo = blocks
        .iter()
        .position(|b| b.language == "kdl" && b.text.contains("pipeline \"canonical-demo\""))
        .expect("docs/language.md shows the `canonical-demo` pipeline");
    let shown = blocks[demo + 1..]
        .iter()
        .find(|b| b.language == "text")
        .expect("its canonical form follows in a ```text block");
    let pipeline = check_pipeline(&blocks[demo], &runtime()).unwrap_or_else(|e| panic!("{e}"));
    let actual = pipeline.resolved.canonical_text();
    assert_eq!(
        shown.text.trim_end(),
        actual.trim_end(),
        "the canonical form at {} is out of date; replace it with the text on the right",
        shown.describe()
    );
}

/// The `flow::…` codes named in a Rust source file.
fn diagnostic_codes_in(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut codes: Vec<String> = text
        .match_indices("flow::")
        .map(|(at, _)| {
            let rest = &text[at + "flow::".len()..];
            let len = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                .unwrap_or(rest.len());
            format!("flow::{}", &rest[..len])
        })
        .filter(|code| code.len() > "flow::".len())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn every_diagnostic_code_is_documented() {
    let reference = std::fs::read_to_string(language_reference())
        .expect("docs/language.md exists and is readable");
    let mut codes = diagnostic_codes_in(&repo_root().join("dsl/src/diagnostic.rs"));
    codes.extend(diagnostic_codes_in(
        &repo_root().join("runtime/src/error.rs"),
    ));
    assert!(
        codes.len() >= 20,
        "found only {} diagnostic codes; has dsl/src/diagnostic.rs moved?",
        codes.len()
    );
    let undocumented: Vec<&String> = codes
        .iter()
        .filter(|code| !reference.contains(&format!("`{code}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/language.md does not explain these diagnostic codes: {undocumented:?}"
    );
}

#[test]
fn code_blocks_are_found_with_their_lines_and_languages() {
    let markdown = "# T\n\n```kdl\nop \"a\" {}\n```\n\n````text\n```kdl\nnot this\n```\n````\n\n  ```kdl title\nb\n  ```\n";
    let blocks = code_blocks_in(Path::new("t.md"), markdown).expect("all fences close");
    let found: Vec<(usize, &str, &str)> = blocks
        .iter()
        .map(|b| (b.line, b.language.as_str(), b.text.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, "kdl", "op \"a\" {}\n"),
            (7, "text", "```kdl\nnot this\n```\n"),
            (13, "kdl", "b\n"),
        ]
    );
    assert!(code_blocks_in(Path::new("t.md"), "```kdl\nop\n").is_err());
}
