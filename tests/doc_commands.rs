//! Every command shown in the user documentation runs. `README.md` and `docs/*.md` are
//! scanned for shell transcripts, fenced as ```` ```console ````:
//!
//! ```text
//! $ flow check examples/diabetes.kdl
//! ✓ examples/diabetes.kdl is valid
//! …
//! ```
//!
//! A line starting with `$ ` is a command (a trailing `\` continues it on the next line);
//! the lines after it, up to the next command, are output that must appear, in that order,
//! in what the command printed (standard output, then standard error). `…` inside a line
//! matches any text (run ids, timings); a line of only `…` stands for lines left out.
//!
//! Each Markdown file runs in a scratch directory holding a copy of `examples/`, its
//! commands in order (later ones read what earlier ones wrote), from the directory the docs
//! assume: the repository's root. `flow …` runs the binary cargo built (`cargo run [--release]
//! --` forms too); any other command is an error of the docs. The info string may add:
//!
//! - `exit=N`: the block's commands exit with `N` (default 0);
//! - `s3`: the commands need an S3 server. With the loopback server of `scripts/test.sh`
//!   (`FLOW_TEST_S3_BUCKET` set) they run, with the bucket `s3://flow-examples/` of the docs
//!   replaced by a fresh prefix of the test bucket in the commands and in the scratch copy
//!   of the examples; without it they are skipped, and the test says so.
//!
//! A block fenced as ```` ```text file=NAME ```` (any language) is not run: its text is
//! written to `NAME` in the scratch directory, for the commands after it (a broken
//! pipeline in the troubleshooting guide, say).

mod common;

use std::path::{Path, PathBuf};

use common::{flow, repo, text};

/// A fenced code block of a Markdown file.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The words of the info string (`console`, `exit=1`, …).
    info: Vec<String>,
    /// The text between the fences, with the 1-based line of each line.
    lines: Vec<(usize, String)>,
}

impl Block {
    fn language(&self) -> &str {
        self.info.first().map_or("", String::as_str)
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.info.iter().find_map(|word| {
            word.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
    }

    fn has_flag(&self, name: &str) -> bool {
        self.info.iter().skip(1).any(|word| word == name)
    }
}

/// One `$ ` command of a transcript and the output shown after it.
#[derive(Debug)]
struct Step {
    /// 1-based line of the command in the Markdown file.
    line: usize,
    /// The command as written (continuations joined).
    command: String,
    /// The output lines the docs show.
    expected: Vec<String>,
}

/// `README.md` and every `docs/*.md`, sorted.
fn documentation_files() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, repo().join("README.md"));
    docs
}

/// The fenced blocks of a Markdown text. A fence inside a longer fence belongs to it.
fn blocks_in(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(Block, usize)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence = trimmed.chars().take_while(|c| *c == '`').count();
        match &mut open {
            None if fence >= 3 => {
                let info = trimmed[fence..]
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                let block = Block {
                    line: index + 1,
                    info,
                    lines: Vec::new(),
                };
                open = Some((block, fence));
            }
            None => {}
            Some((_, width)) if fence >= *width && trimmed.trim_end().len() == fence => {
                blocks.extend(open.take().map(|(block, _)| block));
            }
            Some((block, _)) => block.lines.push((index + 1, line.to_owned())),
        }
    }
    blocks
}

/// The commands of a transcript block, with their output.
fn steps_of(block: &Block) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (line, content) in &block.lines {
        if continued {
            let step = steps.last_mut().expect("a continued command");
            let part = content.trim();
            continued = part.ends_with('\\');
            step.command.push(' ');
            step.command
                .push_str(part.strip_suffix('\\').unwrap_or(part).trim_end());
        } else if let Some(command) = content.strip_prefix("$ ") {
            continued = command.trim_end().ends_with('\\');
            let command = command.trim_end();
            steps.push(Step {
                line: *line,
                command: command
                    .strip_suffix('\\')
                    .unwrap_or(command)
                    .trim_end()
                    .to_owned(),
                expected: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            let expected = content.trim_end();
            if !expected.is_empty() && expected.trim() != "…" {
                step.expected.push(expected.to_owned());
            }
        } else if !content.trim().is_empty() {
            return Err(format!(
                "line {line}: output before the first `$ ` command of the block"
            ));
        }
    }
    Ok(steps)
}

/// Splits a command into words like a POSIX shell does for the simple commands the docs
/// show: quotes and backslashes, no expansions, pipes or redirections.
fn words_of(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err("an unclosed ' quote".into()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err("an unclosed \" quote".into()),
                        },
                        Some(c @ ('$' | '`')) => {
                            return Err(format!("`{c}` in double quotes (expansions are not run)"));
                        }
                        Some(c) => current.push(c),
                        None => return Err("an unclosed \" quote".into()),
                    }
                }
            }
            '\\' => {
                let escaped = chars.next().ok_or("a trailing backslash")?;
                word.get_or_insert_with(String::new).push(escaped);
            }
            '|' | '&' | ';' | '<' | '>' | '$' | '`' | '(' | ')' | '*' | '?' => {
                return Err(format!(
                    "`{c}`: transcripts hold simple commands (no pipes, redirections, \
                     expansions or globs); quote it if it is part of an argument"
                ));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// The arguments to give the `flow` binary for a command, or why it is not a flow command.
fn flow_arguments(words: &[String]) -> Result<Vec<String>, String> {
    match words {
        [program, rest @ ..] if program == "flow" => Ok(rest.to_vec()),
        [cargo, run, rest @ ..] if cargo == "cargo" && run == "run" => {
            let separator = rest
                .iter()
                .position(|w| w == "--")
                .ok_or("`cargo run` without `--`")?;
            let options = &rest[..separator];
            if options
                .iter()
                .all(|o| o == "--release" || o == "-q" || o == "--quiet")
            {
                Ok(rest[separator + 1..].to_vec())
            } else {
                Err(format!("`cargo run` options {options:?} are not supported"))
            }
        }
        _ => Err("only `flow …` (or `cargo run -- …`) commands can be run".into()),
    }
}

/// Whether `line` matches `pattern`, where `…` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('…').collect();
    let line = line.trim_end();
    if pieces.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The first expected line that does not appear, in order, in `output`.
fn first_missing<'a>(expected: &'a [String], output: &[&str]) -> Option<&'a str> {
    let mut from = 0;
    for pattern in expected {
        match output[from..].iter().position(|l| line_matches(pattern, l)) {
            Some(at) => from += at + 1,
            None => return Some(pattern),
        }
    }
    None
}

/// Copies `from` into `to`, recursively, replacing `s3://flow-examples/` in `.kdl` files
/// by `s3_prefix` when one is given.
fn copy_tree(from: &Path, to: &Path, s3_prefix: Option<&str>) {
    std::fs::create_dir_all(to).expect("scratch dir");
    for entry in std::fs::read_dir(from).expect("readable dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target, s3_prefix);
        } else if let (Some(prefix), true) =
            (s3_prefix, path.extension().is_some_and(|e| e == "kdl"))
        {
            let source = std::fs::read_to_string(&path).expect("readable");
            std::fs::write(&target, source.replace("s3://flow-examples/", prefix))
                .expect("writable");
        } else {
            std::fs::copy(&path, &target).expect("copied");
        }
    }
}

/// The test bucket's fresh prefix standing in for the docs' `s3://flow-examples/`, when the
/// loopback S3 server is there.
fn s3_prefix() -> Option<String> {
    let bucket = std::env::var("FLOW_TEST_S3_BUCKET").ok()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    Some(format!("s3://{bucket}/doc-commands-{nanos}/"))
}

/// Runs one step in `scratch`; an error says what went wrong.
fn run_step(step: &Step, block: &Block, scratch: &Path, s3: Option<&str>) -> Result<(), String> {
    let command = match s3 {
        Some(prefix) => step.command.replace("s3://flow-examples/", prefix),
        None => step.command.clone(),
    };
    let words = words_of(&command).map_err(|e| format!("cannot read the command: {e}"))?;
    let arguments = flow_arguments(&words)?;
    let out = flow()
        .current_dir(scratch)
        .args(&arguments)
        .output()
        .map_err(|e| format!("cannot start flow: {e}"))?;
    let expected_exit = block
        .attribute("exit")
        .map_or(Ok(0), str::parse::<i32>)
        .map_err(|e| format!("`exit=` of the block: {e}"))?;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let printed = || format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    if out.status.code() != Some(expected_exit) {
        return Err(format!(
            "exited with {} instead of {expected_exit}\n{}",
            out.status,
            printed()
        ));
    }
    let stdout_first: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    let stderr_first: Vec<&str> = stderr.lines().chain(stdout.lines()).collect();
    match first_missing(&step.expected, &stdout_first) {
        Some(missing) if first_missing(&step.expected, &stderr_first).is_some() => Err(format!(
            "the output lacks this line (or the lines before it):\n  {missing}\n{}",
            printed()
        )),
        _ => Ok(()),
    }
}

/// Runs every transcript of one Markdown file in a fresh scratch directory; returns the
/// number of commands run.
fn check_file(markdown: &Path) -> Result<usize, String> {
    let shown = markdown
        .strip_prefix(repo())
        .unwrap_or(markdown)
        .display()
        .to_string();
    let source = std::fs::read_to_string(markdown).map_err(|e| format!("{shown}: {e}"))?;
    let blocks = blocks_in(&source);
    if !blocks
        .iter()
        .any(|b| b.language() == "console" || b.attribute("file").is_some())
    {
        return Ok(0);
    }
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let s3 = s3_prefix();
    copy_tree(
        &repo().join("examples"),
        &scratch.path().join("examples"),
        s3.as_deref(),
    );
    let mut ran = 0;
    for block in &blocks {
        if let Some(name) = block.attribute("file") {
            let body: String = block.lines.iter().map(|(_, l)| format!("{l}\n")).collect();
            let path = scratch.path().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(&path, body).map_err(|e| format!("{shown}:{}: {e}", block.line))?;
            continue;
        }
        if block.language() != "console" {
            continue;
        }
        let steps = steps_of(block).map_err(|e| format!("{shown}:{}: {e}", block.line))?;
        if steps.is_empty() {
            return Err(format!(
                "{shown}:{}: a console block without `$ ` commands",
                block.line
            ));
        }
        if block.has_flag("s3") && s3.is_none() {
            eprintln!(
                "{shown}:{}: skipped {} command(s) marked `s3`: FLOW_TEST_S3_BUCKET is not set \
                 (scripts/test.sh starts the loopback S3 server and sets it)",
                block.line,
                steps.len()
            );
            continue;
        }
        let prefix = if block.has_flag("s3") {
            s3.as_deref()
        } else {
            None
        };
        for step in &steps {
            run_step(step, block, scratch.path(), prefix)
                .map_err(|e| format!("{shown}:{}: `{}`: {e}", step.line, step.command))?;
            ran += 1;
        }
    }
    Ok(ran)
}

#[test]
fn every_command_in_the_docs_runs_as_shown() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in documentation_files() {
        match check_file(&file) {
            Ok(n) => ran += n,
            Err(failure) => failures.push(failure),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        ran > 0,
        "no ```console transcripts found in README.md or docs/"
    );
}

#[test]
fn transcripts_are_read_as_commands_and_output() {
    let markdown = "intro\n\n```console exit=1 s3\n$ flow check \\\n    a.kdl\nError: …\n…\n$ flow runs 'my dir'\n```\n\n```text file=bad.kdl\npipeline\n```\n";
    let blocks = blocks_in(markdown);
    assert_eq!(blocks.len(), 2);
    let (console, file) = (&blocks[0], &blocks[1]);
    assert_eq!(
        (console.language(), console.attribute("exit")),
        ("console", Some("1"))
    );
    assert!(console.has_flag("s3"));
    assert_eq!(file.attribute("file"), Some("bad.kdl"));
    let steps = steps_of(console).expect("a transcript");
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0].line, steps[0].command.as_str()),
        (4, "flow check a.kdl")
    );
    assert_eq!(steps[0].expected, vec!["Error: …".to_owned()]);
    assert_eq!(
        words_of(&steps[1].command),
        Ok(vec!["flow".into(), "runs".into(), "my dir".into()])
    );
}

#[test]
fn commands_are_split_like_a_shell_and_only_flow_runs() {
    let words = words_of(r#"flow query results "SELECT \"a b\" FROM runs" --format csv"#);
    assert_eq!(
        words,
        Ok(vec![
            "flow".into(),
            "query".into(),
            "results".into(),
            r#"SELECT "a b" FROM runs"#.into(),
            "--format".into(),
            "csv".into(),
        ])
    );
    assert!(words_of("flow runs results | head").is_err());
    assert!(words_of("flow runs $HOME").is_err());
    let cargo = words_of("cargo run --release -- check a.kdl").expect("words");
    assert_eq!(
        flow_arguments(&cargo),
        Ok(vec!["check".into(), "a.kdl".into()])
    );
    let other = words_of("rm -rf results").expect("words");
    assert!(flow_arguments(&other).is_err());
}

#[test]
fn expected_lines_match_in_order_with_ellipses() {
    assert!(line_matches(
        "run … · 40 evaluations …",
        "run 1a2b · 40 evaluations in 2.1s"
    ));
    assert!(line_matches("✓ a.kdl is valid", "✓ a.kdl is valid  "));
    assert!(!line_matches("✓ a.kdl is valid", "✓ b.kdl is valid"));
    assert!(!line_matches("a…b…c", "ab"));
    let output = ["one", "two", "three"];
    let shown = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    assert_eq!(first_missing(&shown(&["one", "three"]), &output), None);
    assert_eq!(
        first_missing(&shown(&["three", "one"]), &output),
        Some("one")
    );
}
