//! The parser never panics, whatever text it is given: arbitrary strings, and valid
//! pipelines mutated by deleting, duplicating and replacing pieces of them.

mod support;

use proptest::prelude::*;
use support::load_text;

const SEED_PIPELINE: &str = include_str!("fixtures/valid.kdl");

/// Pieces of pipeline text that mutations splice in.
const FRAGMENTS: [&str; 24] = [
    "{",
    "}",
    "\"",
    "#",
    "=",
    ";",
    "\n",
    "/*",
    "*/",
    "//",
    "#true",
    "#null",
    "-1",
    "1e999",
    "\"{x}\"",
    "{{",
    "}}",
    "op \"o\" {",
    "use \"std.all\"",
    "use \"modules/cycle_a.kdl\"",
    "sql \"SELECT 1\"",
    "param \"k\" type=\"int\"",
    "r#\"",
    "\u{feff}",
];

fn mutate(text: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(kind, position, fragment) in edits {
        if chars.is_empty() {
            break;
        }
        let at = position % chars.len();
        match kind % 3 {
            0 => {
                let end = (at + 1 + fragment % 8).min(chars.len());
                chars.drain(at..end);
            }
            1 => {
                let piece: Vec<char> = FRAGMENTS[fragment % FRAGMENTS.len()].chars().collect();
                chars.splice(at..at, piece);
            }
            _ => {
                let end = (at + 1 + fragment % 16).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = load_text("fuzz.kdl", &text, &[]);
    }

    #[test]
    fn mutated_pipelines_never_panic(edits in prop::collection::vec((0usize..3, 0usize..4000, 0usize..64), 1..12)) {
        let text = mutate(SEED_PIPELINE, &edits);
        let _ = load_text("fuzz.kdl", &text, &[]);
    }

    #[test]
    fn arbitrary_overrides_never_panic(path in "[a-z.\\-]{0,30}", value in "\\PC{0,30}") {
        let _ = load_text("fuzz.kdl", SEED_PIPELINE, &[&format!("{path}={value}")]);
    }
}

#[test]
fn mutations_reach_the_deep_validators() {
    // Guard against a fuzz test that only ever exercises the KDL syntax error path: a fair
    // share of single mutations must still parse as KDL and reach the validators.
    let mut state: usize = 0x9e37_79b9;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut deep = 0;
    for _ in 0..200 {
        let edit = (next() % 3, next() % 4000, next() % 64);
        let (_, result) = load_text("fuzz.kdl", &mutate(SEED_PIPELINE, &[edit]), &[]);
        if !result
            .as_ref()
            .err()
            .is_some_and(|d| d.has(flow_dsl::ErrorKind::Syntax))
        {
            deep += 1;
        }
    }
    assert!(
        deep >= 40,
        "only {deep} of 200 mutations got past the KDL parser"
    );
}
