//! Line editing for flow's interactive prompts (`flow init`'s questions, the query shell):
//! a rustyline helper that completes on Tab and does nothing else.

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// A rustyline helper that completes with `C` and leaves hints, highlighting and
/// validation at rustyline's no-op defaults.
pub struct CompleteOnly<C>(pub C);

impl<C: Completer> Completer for CompleteOnly<C> {
    type Candidate = C::Candidate;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<C::Candidate>)> {
        self.0.complete(line, pos, ctx)
    }
}

impl<C> Hinter for CompleteOnly<C> {
    type Hint = String;
}

impl<C> Highlighter for CompleteOnly<C> {}

impl<C> Validator for CompleteOnly<C> {}

impl<C: Completer> Helper for CompleteOnly<C> {}
