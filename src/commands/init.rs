//! `flow init`: profile a dataset and write a commented pipeline for it. Given `--dataset`
//! and `--target` it asks nothing; on a terminal it asks for whichever is missing.

use std::io::{IsTerminal, Write};
use std::path::{Component, Path, PathBuf};

use flow_runtime::profile::{DataProfile, OpenDataset};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Context, Editor};

use super::Failure;
use crate::cli::InitArgs;
use crate::prompt::CompleteOnly;
use crate::scaffold::{Scaffold, ScaffoldOptions, scaffold};

/// Writes a pipeline for a dataset, asking for the dataset and target when they are not
/// given and standard input is a terminal.
pub fn init(args: &InitArgs) -> Result<(), Failure> {
    let pipeline_path = args.dir.join(&args.output);
    check_writable(&pipeline_path, args.force)?;
    let interactive = std::io::stdin().is_terminal();
    let runtime = super::async_runtime()?;
    let mut prompt = if interactive {
        Some(Prompt::new()?)
    } else {
        None
    };
    let (data, profile) = match (&args.dataset, prompt.as_mut()) {
        (Some(path), _) => {
            let data = runtime.block_on(OpenDataset::open(path))?;
            let profile = runtime.block_on(data.profile())?;
            (data, profile)
        }
        (None, Some(prompt)) => ask_dataset(prompt, &runtime)?,
        (None, None) => {
            return Err(init_error(
                "`flow init` needs `--dataset` and `--target` when standard input is not a terminal".to_owned(),
                "pass both, e.g. `flow init my-project --dataset data/train.csv --target label`, or run `flow init` in a terminal to be asked",
            ));
        }
    };
    let target_name = match (&args.target, prompt.as_mut()) {
        (Some(target), _) => known_column(&profile, target)?,
        (None, Some(prompt)) => ask_target(prompt, &profile)?,
        (None, None) => return Err(missing_target(&profile)),
    };
    let target = runtime.block_on(data.profile_target(&profile, &target_name))?;
    let name = match &args.name {
        Some(name) if name.trim().is_empty() => {
            return Err(init_error(
                "the pipeline name is empty".to_owned(),
                "give `--name` some text, or leave it out to name the pipeline after the data file",
            ));
        }
        Some(name) => name.clone(),
        None => name_from_file(&profile.path),
    };
    let pipeline_dir = pipeline_path.parent().unwrap_or(Path::new("."));
    let options = ScaffoldOptions {
        name,
        source: relative_path(&profile.path, pipeline_dir),
        pipeline_file: pipeline_path.file_name().map_or_else(
            || "pipeline.kdl".to_owned(),
            |f| f.to_string_lossy().into_owned(),
        ),
    };
    let scaffold = scaffold(&profile, &target, &options)
        .map_err(|unusable| init_error(unusable.message, &unusable.help))?;
    write_pipeline(&pipeline_path, &scaffold.text)?;
    let summary = summary(&pipeline_path, &profile, &target, &options, &scaffold);
    // A closed pipe (`flow init … | head -1`) is not an error.
    let _ = std::io::stdout().write_all(summary.as_bytes());
    Ok(())
}

/// Refuses to overwrite a pipeline without `--force`, and to write over a directory.
fn check_writable(path: &Path, force: bool) -> Result<(), Failure> {
    if path.is_dir() {
        return Err(init_error(
            format!("{} is a directory, not a pipeline file", path.display()),
            "name the file to write with `-o`, e.g. `-o pipeline.kdl`",
        ));
    }
    if path.exists() && !force {
        return Err(init_error(
            format!("{} already exists", path.display()),
            "pass `--force` to overwrite it, or `-o other.kdl` to write another file next to it",
        ));
    }
    Ok(())
}

fn write_pipeline(path: &Path, text: &str) -> Result<(), Failure> {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)
    };
    write().map_err(|e| {
        init_error(
            format!("cannot write {}: {e}", path.display()),
            "check that the directory is writable, or give another one",
        )
    })
}

/// The target named on the command line, if the data has it.
fn known_column(profile: &DataProfile, name: &str) -> Result<String, Failure> {
    if profile.column(name).is_some() {
        return Ok(name.to_owned());
    }
    let names: Vec<&str> = profile.columns.iter().map(|c| c.name.as_str()).collect();
    Err(Failure::user(miette::miette!(
        code = "flow::unknown-column",
        help = flow_dsl::diagnostic::did_you_mean_help(name, &names, "its columns are"),
        "{} has no column `{name}` to predict",
        profile.path.display()
    )))
}

fn missing_target(profile: &DataProfile) -> Failure {
    let columns: Vec<String> = profile
        .columns
        .iter()
        .map(|c| format!("`{}` ({})", c.name, c.column_type.name()))
        .collect();
    init_error(
        "`flow init` needs `--target` when standard input is not a terminal".to_owned(),
        &format!(
            "pass `--target COLUMN`, the column to predict; the columns of {} are: {}",
            profile.path.display(),
            columns.join(", ")
        ),
    )
}

/// A problem with what `flow init` was asked to do (exit code 1).
fn init_error(message: String, help: &str) -> Failure {
    Failure::user(miette::miette!(
        code = "flow::init",
        help = help.to_owned(),
        "{message}"
    ))
}

/// Asks for a data file until one can be read.
fn ask_dataset(
    prompt: &mut Prompt,
    runtime: &tokio::runtime::Runtime,
) -> Result<(OpenDataset, DataProfile), Failure> {
    prompt.complete_files();
    loop {
        let answer = prompt.ask("Dataset file (CSV, TSV, Parquet or JSON): ", None)?;
        if answer.is_empty() {
            continue;
        }
        let path = typed_path(&answer);
        let opened = runtime.block_on(async {
            let data = OpenDataset::open(&path).await?;
            let profile = data.profile().await?;
            Ok::<_, flow_runtime::RuntimeError>((data, profile))
        });
        match opened {
            Ok(found) => return Ok(found),
            Err(error) => prompt.say(&format!("{:?}", miette::Report::new(error))),
        }
    }
}

/// A path as typed or dropped into a terminal: surrounding quotes removed, a leading `~/`
/// made the home directory.
fn typed_path(answer: &str) -> PathBuf {
    let unquoted = ['\'', '"']
        .into_iter()
        .find_map(|q| answer.strip_prefix(q).and_then(|a| a.strip_suffix(q)))
        .unwrap_or(answer);
    match (
        unquoted.strip_prefix("~/"),
        std::env::var_os("HOME").filter(|h| !h.is_empty()),
    ) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(unquoted),
    }
}

/// Shows the columns and asks which one to predict (the last one by default).
fn ask_target(prompt: &mut Prompt, profile: &DataProfile) -> Result<String, Failure> {
    prompt.say(&column_table(profile));
    let names: Vec<String> = profile.columns.iter().map(|c| c.name.clone()).collect();
    let default = names.last().cloned();
    prompt.complete_words(names.clone());
    loop {
        let answer = prompt.ask(
            "Which column should flow predict? (name or number) ",
            default.as_deref(),
        )?;
        if let Some(name) = pick_column(&names, &answer) {
            return Ok(name);
        }
        let listed: Vec<&str> = names.iter().map(String::as_str).collect();
        prompt.say(&format!(
            "There is no column `{answer}`: {}\n",
            flow_dsl::diagnostic::did_you_mean_help(&answer, &listed, "the columns are")
        ));
    }
}

/// The column an answer names: its name, or its number in the table (from 1).
fn pick_column(names: &[String], answer: &str) -> Option<String> {
    if let Some(name) = names.iter().find(|n| *n == answer) {
        return Some(name.clone());
    }
    let number: usize = answer.parse().ok()?;
    names.get(number.checked_sub(1)?).cloned()
}

/// The columns, numbered, with their types and distinct and missing values.
fn column_table(profile: &DataProfile) -> String {
    let file = profile.path.display();
    let mut out = format!(
        "{file}: {} rows, {} columns\n",
        profile.rows,
        profile.columns.len()
    );
    let width = profile
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let digits = profile.columns.len().to_string().len();
    for (i, column) in profile.columns.iter().enumerate() {
        let missing = if column.nulls > 0 {
            format!(", {} missing", column.nulls)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {:>digits$}  {:<width$}  {:<9}  {} distinct{missing}\n",
            i + 1,
            column.name,
            column.column_type.name(),
            column.distinct,
        ));
    }
    out
}

/// The pipeline's name from the data file's: `seattle_weather.csv` → `seattle_weather`.
fn name_from_file(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    if stem.is_empty() {
        "pipeline".to_owned()
    } else {
        stem.to_owned()
    }
}

/// `path` as written in a pipeline in `dir`: relative to it, with `/` separators, so the
/// two can move together (a project directory, a repository); absolute when they share no
/// directory but the root (`/data/x.csv` for a pipeline in `/home/me/p`).
fn relative_path(path: &Path, dir: &Path) -> String {
    let (target, base) = (normalized(path), normalized(dir));
    let shared: Vec<Component<'_>> = target
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a)
        .collect();
    if !shared.iter().any(|c| matches!(c, Component::Normal(_))) {
        return target.display().to_string();
    }
    let common = shared.len();
    let ups = base.components().count() - common;
    let parts: Vec<String> = std::iter::repeat_n("..".to_owned(), ups)
        .chain(
            target
                .components()
                .skip(common)
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// `path` made absolute with `.` and `..` folded away, without touching the file system
/// (the pipeline's directory may not exist yet).
fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// What was written and what to run next.
fn summary(
    pipeline_path: &Path,
    profile: &DataProfile,
    target: &flow_runtime::profile::TargetProfile,
    options: &ScaffoldOptions,
    scaffold: &Scaffold,
) -> String {
    let shown = shell_word(&display_path(pipeline_path));
    let evaluation = &scaffold.evaluation;
    let (scheme, folds) = evaluation.cv;
    let modules: Vec<&str> = scaffold.modules.iter().map(|m| m.module).collect();
    let mut rows = vec![
        (
            "dataset",
            format!(
                "{} ({} rows, {} columns)",
                options.source,
                profile.rows,
                profile.columns.len()
            ),
        ),
        ("task", scaffold.task_line(target)),
        (
            "evaluator",
            format!(
                "{}, {}, {}",
                evaluation.model.0,
                evaluation.metric,
                match scheme {
                    "stratified" => format!("stratified {folds}-fold CV"),
                    _ => format!("{folds}-fold CV"),
                }
            ),
        ),
        ("operations", modules.join(", ")),
    ];
    let roles = &scaffold.roles;
    for (label, role) in [
        ("id", &roles.id),
        ("time", &roles.time),
        ("group", &roles.group),
    ] {
        if let Some((column, _)) = role {
            rows.push((label, format!("`{column}`")));
        }
    }
    if !roles.dropped.is_empty() {
        let dropped: Vec<String> = roles
            .dropped
            .iter()
            .map(|(c, _)| format!("`{c}`"))
            .collect();
        rows.push((
            "left out",
            format!("{} (the pipeline says why)", dropped.join(", ")),
        ));
    }
    if let Some(n) = scaffold.sample_rows {
        rows.push(("sample", format!("{n} rows")));
    }
    let mut out = format!("✓ wrote {}\n", display_path(pipeline_path));
    for (key, value) in rows {
        out.push_str(&format!("  {key:<11} {value}\n"));
    }
    out.push_str(&format!(
        "next:\n  flow check {shown}\n  flow run {shown}\n"
    ));
    out
}

/// A path as the user would type it: without a leading `./`.
fn display_path(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").map_or(text.clone(), str::to_owned)
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./+:=@%,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Questions on the terminal, with Tab completion of file or column names.
struct Prompt {
    editor: Editor<CompleteOnly<Completion>, DefaultHistory>,
}

impl Prompt {
    fn new() -> Result<Self, Failure> {
        let editor = Editor::new().map_err(|e| {
            Failure::internal(miette::miette!(
                "cannot read answers from the terminal: {e}"
            ))
        })?;
        Ok(Self { editor })
    }

    fn complete_files(&mut self) {
        self.editor.set_helper(Some(CompleteOnly(Completion::Files(
            FilenameCompleter::new(),
        ))));
    }

    fn complete_words(&mut self, words: Vec<String>) {
        self.editor
            .set_helper(Some(CompleteOnly(Completion::Words(words))));
    }

    fn say(&mut self, text: &str) {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// One answer, trimmed; an empty answer takes `default`. Ctrl-C and Ctrl-D stop.
    fn ask(&mut self, question: &str, default: Option<&str>) -> Result<String, Failure> {
        let prompt = match default {
            Some(default) => format!("{question}[{default}] "),
            None => question.to_owned(),
        };
        match self.editor.readline(&prompt) {
            Ok(line) => {
                let answer = line.trim();
                Ok(match default {
                    Some(default) if answer.is_empty() => default.to_owned(),
                    _ => answer.to_owned(),
                })
            }
            Err(stop @ (ReadlineError::Interrupted | ReadlineError::Eof)) => {
                let mut failure = init_error(
                    "stopped before a pipeline was written".to_owned(),
                    "run `flow init` again, or pass `--dataset FILE --target COLUMN` to be asked nothing",
                );
                // Ctrl-C exits as an interrupted command does (130); Ctrl-D as a user error.
                failure.interrupted = matches!(stop, ReadlineError::Interrupted);
                Err(failure)
            }
            Err(e) => Err(Failure::internal(miette::miette!(
                "cannot read an answer from the terminal: {e}"
            ))),
        }
    }
}

/// What Tab completes.
enum Completion {
    /// Paths, for the dataset.
    Files(FilenameCompleter),
    /// One of these words, for the target.
    Words(Vec<String>),
}

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        match self {
            Self::Files(files) => files.complete(line, pos, ctx),
            Self::Words(words) => {
                let typed = &line[..pos];
                let pairs = words
                    .iter()
                    .filter(|w| w.starts_with(typed))
                    .map(|w| Pair {
                        display: w.clone(),
                        replacement: w.clone(),
                    })
                    .collect();
                Ok((0, pairs))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_written_relative_to_the_pipeline_directory() {
        let cwd = std::env::current_dir().expect("a current directory");
        let data = cwd.join("examples/data/diabetes.csv");
        assert_eq!(
            relative_path(&data, &cwd.join("examples")),
            "data/diabetes.csv"
        );
        assert_eq!(
            relative_path(&data, &cwd.join("work/new")),
            "../../examples/data/diabetes.csv"
        );
        assert_eq!(
            relative_path(Path::new("examples/./data/../data/d.csv"), Path::new(".")),
            "examples/data/d.csv"
        );
        assert_eq!(
            relative_path(Path::new("/srv/data/d.csv"), Path::new("/home/me/project")),
            "/srv/data/d.csv",
            "nothing but the root in common"
        );
    }

    #[test]
    fn typed_paths_lose_their_quotes_and_expand_the_home_directory() {
        assert_eq!(typed_path("'my data.csv'"), PathBuf::from("my data.csv"));
        assert_eq!(typed_path("\"d.csv\""), PathBuf::from("d.csv"));
        assert_eq!(typed_path("it's.csv"), PathBuf::from("it's.csv"));
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            assert_eq!(typed_path("~/d.csv"), PathBuf::from(home).join("d.csv"));
        }
    }

    #[test]
    fn a_target_is_picked_by_name_or_number() {
        let names = vec!["a".to_owned(), "2".to_owned(), "c".to_owned()];
        assert_eq!(pick_column(&names, "c").as_deref(), Some("c"));
        assert_eq!(
            pick_column(&names, "2").as_deref(),
            Some("2"),
            "a name wins over a number"
        );
        assert_eq!(pick_column(&names, "3").as_deref(), Some("c"));
        assert_eq!(pick_column(&names, "0"), None);
        assert_eq!(pick_column(&names, "4"), None);
        assert_eq!(pick_column(&names, "d"), None);
    }

    #[test]
    fn names_come_from_the_file_and_paths_are_quoted_for_the_shell() {
        assert_eq!(
            name_from_file(Path::new("data/seattle_weather.csv.gz")),
            "seattle_weather"
        );
        assert_eq!(name_from_file(Path::new(".csv")), "pipeline");
        assert_eq!(shell_word("out/pipeline.kdl"), "out/pipeline.kdl");
        assert_eq!(shell_word("my dir/it's.kdl"), r"'my dir/it'\''s.kdl'");
        assert_eq!(display_path(Path::new("./pipeline.kdl")), "pipeline.kdl");
    }
}
