//! The diagnostics the language reports: one kind per class of mistake, each with a stable
//! code, a message, a labelled span in the user's text and a fix hint.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use crate::source::{Loc, Sources};

/// Every class of problem the language reports. The code shown to users is
/// `flow::<kebab-case of the variant>`, stable across releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text is not valid KDL.
    Syntax,
    /// A node name that is not part of the language at this place.
    UnknownNode,
    /// A property that this node does not take.
    UnknownProperty,
    /// A required node or value is absent.
    Missing,
    /// A value of the wrong type (a string where a number belongs, …).
    WrongType,
    /// A value of the right type that is not allowed (an unknown metric, a bad path, …).
    InvalidValue,
    /// The same thing defined twice.
    Duplicate,
    /// An operation name that no imported module defines.
    UnknownOperation,
    /// A `std.*` module that the standard library does not have.
    UnknownModule,
    /// A module file that cannot be read.
    ModuleNotFound,
    /// A module that imports itself, directly or through others.
    ModuleCycle,
    /// An operation template that is not exactly one SQL expression.
    InvalidTemplate,
    /// A `{placeholder}` that is neither an input, a parameter nor a context name.
    UndeclaredPlaceholder,
    /// An input or parameter that the template never uses.
    UnusedPlaceholder,
    /// A malformed duration such as `15 minutes`.
    InvalidDuration,
    /// A malformed size such as `2 gigs`.
    InvalidSize,
    /// A number outside its allowed range.
    OutOfRange,
    /// Settings that contradict each other (a regression model with the AUC metric, …).
    Incompatible,
    /// A `-S path=value` override that is malformed or points nowhere.
    InvalidOverride,
    /// A secret written into the file instead of the environment.
    SecretInFile,
    /// A column named in the pipeline that the data does not have.
    UnknownColumn,
}

impl ErrorKind {
    /// The stable diagnostic code, e.g. `flow::unknown-node`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Syntax => "flow::syntax",
            Self::UnknownNode => "flow::unknown-node",
            Self::UnknownProperty => "flow::unknown-property",
            Self::Missing => "flow::missing",
            Self::WrongType => "flow::wrong-type",
            Self::InvalidValue => "flow::invalid-value",
            Self::Duplicate => "flow::duplicate",
            Self::UnknownOperation => "flow::unknown-operation",
            Self::UnknownModule => "flow::unknown-module",
            Self::ModuleNotFound => "flow::module-not-found",
            Self::ModuleCycle => "flow::module-cycle",
            Self::InvalidTemplate => "flow::invalid-template",
            Self::UndeclaredPlaceholder => "flow::undeclared-placeholder",
            Self::UnusedPlaceholder => "flow::unused-placeholder",
            Self::InvalidDuration => "flow::invalid-duration",
            Self::InvalidSize => "flow::invalid-size",
            Self::OutOfRange => "flow::out-of-range",
            Self::Incompatible => "flow::incompatible",
            Self::InvalidOverride => "flow::invalid-override",
            Self::SecretInFile => "flow::secret-in-file",
            Self::UnknownColumn => "flow::unknown-column",
        }
    }
}

/// One problem in a pipeline, pointing at the text that causes it.
#[derive(Debug, Clone)]
pub struct SpecDiagnostic {
    /// What class of problem this is.
    pub kind: ErrorKind,
    /// One line saying what is wrong.
    pub message: String,
    /// Short text under the highlighted span.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where it is.
    pub loc: Loc,
    /// Further spans in the same text that explain it ("first defined here").
    pub notes: Vec<(Loc, String)>,
    source: NamedSource<Arc<str>>,
}

impl SpecDiagnostic {
    /// A diagnostic at `loc`, with the source text taken from `sources`.
    pub fn new(
        sources: &Sources,
        kind: ErrorKind,
        loc: Loc,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            label: label.into(),
            help: None,
            loc,
            notes: Vec::new(),
            source: sources.named(loc.source),
        }
    }

    /// Adds the fix hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary span; it is drawn only when it is in the same text.
    pub fn with_note(mut self, loc: Loc, label: impl Into<String>) -> Self {
        self.notes.push((loc, label.into()));
        self
    }

    /// The name of the text this diagnostic points into.
    pub fn source_name(&self) -> &str {
        self.source.name()
    }
}

impl fmt::Display for SpecDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecDiagnostic {}

impl Diagnostic for SpecDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.loc.span);
        let notes = self
            .notes
            .iter()
            .filter(|(loc, _)| loc.source == self.loc.source)
            .map(|(loc, label)| LabeledSpan::new_with_span(Some(label.clone()), loc.span));
        Some(Box::new(std::iter::once(primary).chain(notes)))
    }
}

/// The most problems shown in full: past this many, a file is usually not what it was
/// taken for (a data file given as a pipeline), and thousands of reports would hide that.
pub const MAX_SHOWN: usize = 20;

/// All problems found in one pass, reported together so a user fixes them at once.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The problems, in the order of their position in the text.
    pub items: Vec<SpecDiagnostic>,
}

impl Diagnostics {
    /// Whether a problem of this kind was found.
    pub fn has(&self, kind: ErrorKind) -> bool {
        self.items.iter().any(|d| d.kind == kind)
    }

    /// The kinds found, in order.
    pub fn kinds(&self) -> Vec<ErrorKind> {
        self.items.iter().map(|d| d.kind).collect()
    }
}

impl From<SpecDiagnostic> for Diagnostics {
    fn from(d: SpecDiagnostic) -> Self {
        Self { items: vec![d] }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.items.as_slice() {
            [one] => write!(f, "{one}"),
            items => {
                let files: std::collections::BTreeSet<&str> =
                    items.iter().map(|d| d.source_name()).collect();
                let files: Vec<&str> = files.into_iter().collect();
                write!(f, "{} problems in {}", items.len(), files.join(", "))?;
                if items.len() > MAX_SHOWN {
                    write!(f, " (the first {MAX_SHOWN} shown)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self.items.as_slice() {
            [one] => one.code(),
            _ => None,
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self.items.as_slice() {
            [one] => one.help(),
            items if items.len() > MAX_SHOWN => Some(Box::new(format!(
                "{} more are not shown; fix these first, or check that the file is a flow pipeline (KDL)",
                items.len() - MAX_SHOWN
            ))),
            _ => None,
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match self.items.as_slice() {
            [one] => one.source_code(),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self.items.as_slice() {
            [one] => one.labels(),
            _ => None,
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self.items.as_slice() {
            [_] => None,
            items => Some(Box::new(
                items.iter().take(MAX_SHOWN).map(|d| d as &dyn Diagnostic),
            )),
        }
    }
}

/// The closest of `candidates` to a misspelt `name`, if any is close enough to suggest.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A help line listing what is allowed, led by a "did you mean" when one is close.
pub fn did_you_mean_help(name: &str, candidates: &[&str], what: &str) -> String {
    let list = candidates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match suggest(name, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? {what}: {list}"),
        None if candidates.is_empty() => format!("{what}: none"),
        None => format!("{what}: {list}"),
    }
}
