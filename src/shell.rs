//! The interactive SQL shell of `flow query`: statements end with `;` and may span lines;
//! `\d` lists the tables, `\d name` shows one's columns; Tab completes table and column
//! names; history is kept in the user's data directory.

use std::io::Write;
use std::path::PathBuf;

use flow_runtime::store::{OutputFormat, Results, render};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Context, Editor};

use crate::commands::Failure;
use crate::prompt::CompleteOnly;

const HELP: &str = "\
Statements end with `;` and may span several lines. Queries are read-only.
  \\d          list the tables
  \\d TABLE    show a table's columns
  \\?          this help
  \\q          quit (or Ctrl-D)
Tables: runs, evaluations, nodes, features, metrics (every one has run_id).
";

/// What the shell does with one line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// The statement goes on: read another line.
    More,
    /// Print this.
    Print(String),
    /// Leave the shell.
    Quit,
}

/// The shell's state between lines: the results and the statement being typed.
pub struct Session {
    results: Results,
    format: OutputFormat,
    statement: String,
    tables: Vec<(String, Vec<(String, String)>)>,
}

impl Session {
    /// A shell over `results`, printing query results in `format`.
    pub async fn new(results: Results, format: OutputFormat) -> Self {
        let tables = results.table_columns().await;
        Self {
            results,
            format,
            statement: String::new(),
            tables,
        }
    }

    /// Whether a statement is being continued.
    pub fn continuing(&self) -> bool {
        !self.statement.is_empty()
    }

    /// Drops the statement being typed (Ctrl-C).
    pub fn cancel(&mut self) {
        self.statement.clear();
    }

    /// Every table and column name, for completion.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (table, columns) in &self.tables {
            names.push(table.clone());
            names.extend(columns.iter().map(|(c, _)| c.clone()));
        }
        names.sort();
        names.dedup();
        names
    }

    /// Takes one line of input.
    pub async fn line(&mut self, line: &str) -> Reply {
        let trimmed = line.trim();
        if !self.continuing() {
            match trimmed {
                "" => return Reply::More,
                "\\q" | "quit" | "exit" => return Reply::Quit,
                "\\?" | "help" => return Reply::Print(HELP.to_owned()),
                "\\d" => return Reply::Print(self.list_tables()),
                _ => {}
            }
            if let Some(name) = trimmed.strip_prefix("\\d ") {
                return Reply::Print(self.describe(name.trim()));
            }
            if trimmed.starts_with('\\') {
                return Reply::Print(format!(
                    "unknown command `{trimmed}`; \\? lists the commands\n"
                ));
            }
        }
        self.statement.push_str(line);
        self.statement.push('\n');
        if !trimmed.ends_with(';') {
            return Reply::More;
        }
        let statement = std::mem::take(&mut self.statement);
        let statement = statement.trim().trim_end_matches(';').trim();
        if statement.is_empty() {
            return Reply::More;
        }
        Reply::Print(self.execute(statement).await)
    }

    async fn execute(&self, sql: &str) -> String {
        let df = match self.results.query(sql).await {
            Ok(df) => df,
            Err(e) => return format!("error: {e}\n"),
        };
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        match df.collect().await {
            Ok(batches) => match render(&schema, &batches, self.format) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e) => format!("error: {e}\n"),
            },
            Err(e) => format!("error: the query failed: {e}\n"),
        }
    }

    fn list_tables(&self) -> String {
        let mut out = String::new();
        for (table, columns) in &self.tables {
            out.push_str(&format!("{table:<12} {} columns\n", columns.len()));
        }
        out
    }

    fn describe(&self, name: &str) -> String {
        let Some((table, columns)) = self.tables.iter().find(|(t, _)| t == name) else {
            return format!("no table `{name}`; \\d lists the tables\n");
        };
        let width = columns.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
        let mut out = format!("{table}\n");
        for (column, kind) in columns {
            out.push_str(&format!("  {column:<width$}  {kind}\n"));
        }
        out
    }
}

/// The completions of the word that ends at `pos` in `line`: its start and the names it
/// begins (case-insensitively).
pub fn complete(line: &str, pos: usize, names: &[String]) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = before[start..].to_lowercase();
    if word.is_empty() {
        return (start, Vec::new());
    }
    let found = names
        .iter()
        .filter(|n| n.to_lowercase().starts_with(&word))
        .cloned()
        .collect();
    (start, found)
}

struct ShellHelper {
    names: Vec<String>,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, names) = complete(line, pos, &self.names);
        let pairs = names
            .into_iter()
            .map(|n| Pair {
                display: n.clone(),
                replacement: n,
            })
            .collect();
        Ok((start, pairs))
    }
}

/// Where the shell keeps its history: `$XDG_DATA_HOME/flow`, else the platform's data
/// directory under the home directory.
fn history_file() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let dir = if let Some(data) = env("XDG_DATA_HOME") {
        PathBuf::from(data)
    } else {
        let home = PathBuf::from(env("HOME").or_else(|| env("USERPROFILE"))?);
        if cfg!(target_os = "macos") {
            home.join("Library/Application Support")
        } else if cfg!(windows) {
            env("APPDATA").map_or(home, PathBuf::from)
        } else {
            home.join(".local/share")
        }
    };
    Some(dir.join("flow").join("query_history"))
}

/// Runs the shell until `\q` or end of input.
pub async fn run(results: Results, format: OutputFormat) -> Result<(), Failure> {
    let mut session = Session::new(results, format).await;
    let mut editor: Editor<CompleteOnly<ShellHelper>, DefaultHistory> =
        Editor::new().map_err(|e| {
            Failure::internal(miette::miette!("cannot start the interactive shell: {e}"))
        })?;
    editor.set_helper(Some(CompleteOnly(ShellHelper {
        names: session.names(),
    })));
    let history = history_file();
    if let Some(path) = &history {
        // No history yet is normal.
        let _ = editor.load_history(path);
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "flow query on {} — \\? for help, \\q to quit",
        session_location(&session)
    );
    loop {
        let prompt = if session.continuing() {
            "   -> "
        } else {
            "flow> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match session.line(&line).await {
                    Reply::More => {}
                    Reply::Print(text) => {
                        let _ = stdout.write_all(text.as_bytes());
                        let _ = stdout.flush();
                    }
                    Reply::Quit => break,
                }
            }
            Err(ReadlineError::Interrupted) => session.cancel(),
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                return Err(Failure::internal(miette::miette!(
                    "cannot read the input: {e}"
                )));
            }
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = editor.save_history(path) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: cannot save the history to {}: {e}",
                path.display()
            );
        }
    }
    Ok(())
}

fn session_location(session: &Session) -> &str {
    &session.results.location.display
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn completes_the_word_under_the_cursor() {
        let names: Vec<String> = ["evaluations", "features", "feature_sql", "run_id", "runs"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            complete("SELECT * FROM ru", 16, &names),
            (14, vec!["run_id".to_owned(), "runs".to_owned()])
        );
        assert_eq!(
            complete("select FEAT", 11, &names),
            (7, vec!["features".to_owned(), "feature_sql".to_owned()])
        );
        assert_eq!(complete("SELECT ", 7, &names), (7, vec![]));
        assert_eq!(
            complete("x.eval", 6, &names),
            (2, vec!["evaluations".to_owned()])
        );
    }
}
