//! Whether `flow run` colours what it prints, and the few styles it uses.
//!
//! Colours go to a terminal only. `NO_COLOR` (any non-empty value) turns them off, and wins
//! over everything; otherwise `CLICOLOR_FORCE` or `FORCE_COLOR` (non-empty, not `0` or
//! `false`) turns them on even when the output is not a terminal. `TERM=dumb` has none.

use std::io::IsTerminal;

use console::Style;

/// Whether to colour a stream, from whether it is a terminal and the environment (`var`
/// reads one variable).
pub fn colours_wanted(is_terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
    if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    let forced = |name: &str| var(name).is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    if forced("CLICOLOR_FORCE") || forced("FORCE_COLOR") {
        return true;
    }
    is_terminal && var("TERM").as_deref() != Some("dumb")
}

/// Styles for one output stream: plain text when colours are off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// The palette of standard output.
    pub fn stdout() -> Self {
        Self::from_env(std::io::stdout().is_terminal())
    }

    /// The palette of standard error.
    pub fn stderr() -> Self {
        Self::from_env(std::io::stderr().is_terminal())
    }

    fn from_env(is_terminal: bool) -> Self {
        Self::with_colours(colours_wanted(is_terminal, |name| std::env::var(name).ok()))
    }

    /// A palette that colours, or not.
    pub fn with_colours(on: bool) -> Self {
        Self { on }
    }

    /// Whether this palette colours at all.
    pub fn is_on(self) -> bool {
        self.on
    }

    /// Headings and the figures that matter most.
    pub fn strong(self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// Secondary text: hints and commands.
    pub fn dim(self, text: &str) -> String {
        self.paint(Style::new().dim(), text)
    }

    /// Warnings: what a user should read before trusting the result.
    pub fn warn(self, text: &str) -> String {
        self.paint(Style::new().yellow(), text)
    }

    /// A change in score: green when it is an improvement, red when it is worse.
    pub fn change(self, uplift: f64, text: &str) -> String {
        let style = if uplift > 0.0 {
            Style::new().green()
        } else if uplift < 0.0 {
            Style::new().red()
        } else {
            Style::new()
        };
        self.paint(style, text)
    }

    fn paint(self, style: Style, text: &str) -> String {
        if self.on {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn colours_are_for_terminals() {
        assert!(colours_wanted(true, env(&[("TERM", "xterm")])));
        assert!(!colours_wanted(false, env(&[("TERM", "xterm")])));
        assert!(!colours_wanted(true, env(&[("TERM", "dumb")])));
    }

    #[test]
    fn no_color_wins_and_an_empty_one_is_ignored() {
        assert!(!colours_wanted(true, env(&[("NO_COLOR", "1")])));
        assert!(!colours_wanted(
            true,
            env(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")])
        ));
        assert!(colours_wanted(true, env(&[("NO_COLOR", "")])));
    }

    #[test]
    fn colours_can_be_forced_off_a_terminal() {
        assert!(colours_wanted(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(colours_wanted(false, env(&[("FORCE_COLOR", "true")])));
        assert!(!colours_wanted(false, env(&[("FORCE_COLOR", "0")])));
        assert!(!colours_wanted(false, env(&[("FORCE_COLOR", "false")])));
    }

    #[test]
    fn a_plain_palette_adds_nothing() {
        let plain = Palette::with_colours(false);
        assert_eq!(plain.change(0.1, "+10%"), "+10%");
        let coloured = Palette::with_colours(true);
        assert!(coloured.change(0.1, "+10%").contains("\u{1b}[32m"));
        assert!(coloured.change(-0.1, "-10%").contains("\u{1b}[31m"));
    }
}
