//! Writing KDL by hand: indented nodes, quoted strings and `//` comments wrapped to the
//! page width.

/// Comments are wrapped to this many columns (indentation included).
const WIDTH: usize = 96;
/// Spaces per block level.
const INDENT: usize = 4;

/// KDL text being written, one node or comment per line.
#[derive(Debug, Default)]
pub struct KdlText {
    out: String,
    depth: usize,
}

impl KdlText {
    /// A `//` comment, wrapped at word boundaries; `\n` in `text` starts a new line, other
    /// line-breaking characters become spaces (they would end the comment). A line that
    /// starts with `- ` is a list item: its continuation lines are indented under its text.
    pub fn comment(&mut self, text: &str) {
        let indent = " ".repeat(self.depth * INDENT);
        let room = WIDTH.saturating_sub(indent.len() + 3).max(20);
        for paragraph in text.split('\n') {
            let hang = if paragraph.starts_with("- ") {
                "  "
            } else {
                ""
            };
            let mut line = String::new();
            for word in unbroken_words(&one_line(paragraph)) {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
                    self.out.push_str(&format!("{indent}// {line}\n"));
                    line = hang.to_owned();
                }
                if !line.trim_start().is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
            }
            if line.is_empty() {
                self.out.push_str(&format!("{indent}//\n"));
            } else {
                self.out.push_str(&format!("{indent}// {line}\n"));
            }
        }
    }

    /// A one-line `//` comment written as given (indentation kept, never wrapped).
    pub fn comment_line(&mut self, text: &str) {
        let indent = " ".repeat(self.depth * INDENT);
        self.out
            .push_str(&format!("{indent}// {}\n", one_line(text)));
    }

    /// One node, written as given.
    pub fn node(&mut self, text: &str) {
        let indent = " ".repeat(self.depth * INDENT);
        self.out.push_str(&format!("{indent}{text}\n"));
    }

    /// Opens a block: `head {`.
    pub fn open(&mut self, head: &str) {
        self.node(&format!("{head} {{"));
        self.depth += 1;
    }

    /// Closes the innermost block.
    pub fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.node("}");
    }

    /// An empty line between blocks.
    pub fn blank(&mut self) {
        self.out.push('\n');
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The words of `text`, where a `` `code span` `` counts as one word so it is never split
/// across lines.
fn unbroken_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut in_code = false;
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if in_code => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_owned()),
        }
        if word.matches('`').count() % 2 == 1 {
            in_code = !in_code;
        }
    }
    words
}

/// `value` as a KDL string: quoted, with `\`, `"` and control characters escaped.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Several values as KDL strings on one line: `"a" "b"`.
pub fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values.into_iter().map(string).collect::<Vec<_>>().join(" ")
}

/// `text` fit for one comment line: control characters and Unicode line and paragraph
/// separators (which KDL reads as line breaks) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(string("plain"), "\"plain\"");
        assert_eq!(string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(string("tab\there\n"), r#""tab\there\n""#);
        assert_eq!(string("\u{7}"), r#""\u{7}""#);
        assert_eq!(strings(["a", "b"]), r#""a" "b""#);
    }

    #[test]
    fn code_spans_are_kept_on_one_line() {
        assert_eq!(
            unbroken_words("try `use \"std.ranking\"` and `x`, then"),
            ["try", "`use \"std.ranking\"`", "and", "`x`,", "then"]
        );
    }

    #[test]
    fn comments_wrap_at_the_page_width_inside_blocks() {
        let mut text = KdlText::default();
        text.open("a");
        text.comment(&"word ".repeat(40));
        text.comment("first\nsecond\rthird\u{2028}fourth");
        text.comment(&format!("- item {}", "long ".repeat(30)));
        text.close();
        let out = text.finish();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{out}");
        assert!(lines.len() > 4, "{out}");
        assert!(lines[1].starts_with("    // word word"), "{out}");
        assert!(
            out.contains("    // first\n    // second third fourth\n"),
            "{out}"
        );
        assert!(out.contains("    // - item long"), "{out}");
        assert!(
            out.contains("\n    //   long long"),
            "list items hang: {out}"
        );
        assert_eq!(lines.last(), Some(&"}"));
    }
}
