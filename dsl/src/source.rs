//! Source texts (pipeline files, module files, `-S` overrides) and locations inside them.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// Identifies one text in a [`Sources`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(u32);

/// One text a spec was read from: a file, a standard-library module or an override.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in diagnostics (a path, `std.numeric`, `-S search.seed=1`).
    pub name: String,
    /// The full text.
    pub text: Arc<str>,
}

/// Every text a pipeline was assembled from, so any location can be shown to the user.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).expect("fewer than 2^32 sources"));
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        id
    }

    /// The text with this id.
    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The text as miette source code for a diagnostic.
    pub fn named(&self, id: SourceId) -> NamedSource<Arc<str>> {
        let file = self.get(id);
        NamedSource::new(file.name.clone(), file.text.clone()).with_language("kdl")
    }

    /// 1-based line and column of a location, for messages that point across files.
    pub fn line_column(&self, loc: Loc) -> (usize, usize) {
        let text = &self.get(loc.source).text;
        let offset = loc.span.offset().min(text.len());
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// `file:line:column` of a location.
    pub fn describe(&self, loc: Loc) -> String {
        let (line, column) = self.line_column(loc);
        format!("{}:{line}:{column}", self.get(loc.source).name)
    }
}

/// A span inside one of the [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    /// Which text.
    pub source: SourceId,
    /// Where in it.
    pub span: SourceSpan,
}

impl Loc {
    /// A location in `source` covering `span`.
    pub fn new(source: SourceId, span: impl Into<SourceSpan>) -> Self {
        Self {
            source,
            span: span.into(),
        }
    }
}

/// A value with the location it was written at.
///
/// Equality and ordering look at the value only, so two specs read from differently
/// formatted files compare equal.
#[derive(Debug, Clone, Copy)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub loc: Loc,
}

impl<T> Spanned<T> {
    /// Pairs a value with its location.
    pub fn new(value: T, loc: Loc) -> Self {
        Self { value, loc }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
