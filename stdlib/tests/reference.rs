//! `docs/stdlib.md` is generated from the library; this test fails when it is stale and,
//! with `UPDATE_REFERENCE=1`, rewrites it.

use std::path::PathBuf;

use flow_stdlib::{Catalog, REFERENCE_PATH, REGENERATE_COMMAND, reference_markdown};

fn reference_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(REFERENCE_PATH)
}

fn update_requested() -> bool {
    std::env::var("UPDATE_REFERENCE").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[test]
fn docs_stdlib_md_matches_the_library() {
    let generated = reference_markdown(&Catalog::load());
    let path = reference_file();
    if update_requested() {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let Ok(current) = std::fs::read_to_string(&path) else {
        panic!("{REFERENCE_PATH} is missing. Generate it with:\n\n    {REGENERATE_COMMAND}\n");
    };
    if current == generated {
        return;
    }
    let (line, expected, found) = first_difference(&generated, &current);
    panic!(
        "{REFERENCE_PATH} is out of date with stdlib/ops/*.kdl.\n\
         Regenerate it with:\n\n    {REGENERATE_COMMAND}\n\n\
         First difference at line {line}:\n  generated: {expected}\n  in the file: {found}"
    );
}

/// The 1-based line where two texts first differ, and the two lines there.
fn first_difference(generated: &str, current: &str) -> (usize, String, String) {
    let mut a = generated.lines();
    let mut b = current.lines();
    for line in 1.. {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                let show =
                    |l: Option<&str>| l.map_or("(end of file)".to_owned(), |l| format!("{l:?}"));
                return (line, show(x), show(y));
            }
        }
    }
    // Only line endings differ.
    (
        0,
        "(same lines)".to_owned(),
        "(different line endings)".to_owned(),
    )
}
