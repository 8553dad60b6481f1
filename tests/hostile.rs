//! Hostile and messy input (issue #7): the real `flow` binary on generated data files. Each
//! case either runs and is right, or exits 1 with a diagnostic that names the file and the
//! column or row and says how to fix it; never a panic (exit 101), never exit 2.
//!
//! Searches are tiny (5 iterations), so the whole file stays fast in a debug build.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::{flow, text};

/// A temporary directory with a data file and a pipeline `p.kdl` reading it.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    /// `data` written to `file`, read by a pipeline predicting `target` with `model`;
    /// `extra` goes into the `dataset` block.
    fn new(file: &str, data: &[u8], target: &str, extra: &str, model: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(file), data).expect("temp dir is writable");
        let case = Self { dir };
        case.pipeline(file, target, extra, model);
        case
    }

    /// A CSV file `d.csv` and a decision tree.
    fn csv(data: &str, target: &str) -> Self {
        Self::new("d.csv", data.as_bytes(), target, "", "decision-tree")
    }

    /// (Re)writes `p.kdl`.
    fn pipeline(&self, file: &str, target: &str, extra: &str, model: &str) {
        let kdl = format!(
            r#"pipeline "hostile" {{
    dataset {{
        source "{file}"
        target "{target}"
        {extra}
    }}
    space {{ use "std.numeric" }}
    evaluator {{ model "{model}" }}
    search {{ iterations 5; seed 1 }}
}}
"#
        );
        std::fs::write(self.path("p.kdl"), kdl).expect("temp dir is writable");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `flow <args…>` in the case's directory, checked for the two outcomes that are never
    /// acceptable: a panic and flow's own failure.
    fn flow(&self, args: &[&str]) -> Output {
        let out = flow()
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("flow runs");
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "flow {args:?} panicked:\n{stderr}"
        );
        assert!(
            !matches!(out.status.code(), Some(2 | 101)),
            "flow {args:?} failed as flow's own fault ({:?}):\n{stderr}",
            out.status.code()
        );
        out
    }

    /// `flow run p.kdl` with a small budget.
    fn run(&self) -> Output {
        self.flow(&["run", "p.kdl", "-S", "search.iterations=5"])
    }

    /// A run that must succeed: its `--json` summary.
    fn runs_ok(&self) -> serde_json::Value {
        let out = self.flow(&["run", "p.kdl", "-S", "search.iterations=5", "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "the run failed:\n{}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        let summary = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|event| event["event"] == "summary")
            .unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
        assert_eq!(summary["evaluations"], 5, "{summary}");
        summary
    }

    /// One row of the stored `runs` table (there is one run per case).
    fn stored_run(&self) -> serde_json::Value {
        let out = self.flow(&[
            "query",
            "results",
            "SELECT input_columns, input_types FROM runs",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_str(text(&out.stdout).trim()).expect("one JSON row")
    }
}

/// miette's output as one line: box drawing gone, whitespace (its wrapping) joined.
fn normalise(stderr: &str) -> String {
    stderr
        .replace(['│', '╭', '╰', '─', '┬', '·', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts `out` is a user error (exit 1) whose diagnostic says every one of `expected`.
#[track_caller]
fn refused(out: &Output, expected: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "expected exit 1:\n{stderr}");
    let said = normalise(&stderr);
    for part in expected {
        assert!(said.contains(part), "missing `{part}` in:\n{stderr}");
    }
}

fn rows(header: &str, n: usize, row: impl Fn(usize) -> String) -> String {
    let mut csv = format!("{header}\n");
    for i in 0..n {
        csv.push_str(&row(i));
        csv.push('\n');
    }
    csv
}

/// 40 rows of two numeric features and a numeric target `y`.
fn numbers(y: impl Fn(usize) -> String) -> String {
    rows("a,b,y", 40, |i| format!("{i},{},{}", (i * 7) % 11, y(i)))
}

#[test]
fn a_missing_data_file_is_named_with_where_it_was_looked_for() {
    let case = Case::csv("a,y\n1,2\n", "y");
    case.pipeline("nope.csv", "y", "", "decision-tree");
    for command in ["check", "run"] {
        let out = case.flow(&[command, "p.kdl"]);
        refused(
            &out,
            &[
                "cannot read the dataset ./nope.csv: no such file or directory",
                "check the `source` path",
                "relative to the pipeline file's directory",
                "nope.csv",
            ],
        );
    }
}

#[test]
fn an_empty_file_is_said_to_be_empty() {
    let case = Case::csv("", "y");
    for command in ["check", "run"] {
        refused(
            &case.flow(&[command, "p.kdl"]),
            &[
                "cannot read the dataset ./d.csv: the file is empty",
                "no header line and no rows",
                "write the column names and the rows",
            ],
        );
    }
}

#[test]
fn a_header_without_rows_is_said_to_have_no_rows() {
    let case = Case::csv("a,b,y\n", "y");
    refused(
        &case.run(),
        &[
            "d.csv has no rows",
            "a search needs data: add rows, or point `source` at the file that holds them",
        ],
    );
}

#[test]
fn ragged_rows_are_refused_with_their_line() {
    for (bad_row, found) in [("4,5,6,7", "found 4"), ("4,5", "found 2")] {
        let case = Case::csv(&format!("a,b,y\n1,2,3\n{bad_row}\n1,2,3\n"), "y");
        for command in ["check", "run"] {
            refused(
                &case.flow(&[command, "p.kdl"]),
                &[
                    "cannot read the dataset ./d.csv",
                    "d.csv",
                    "Expected 3",
                    found,
                    "at line 3",
                    "every row must have as many fields as the header",
                ],
            );
        }
    }
    // Beyond the rows the schema is inferred from, the row is found while the search reads.
    let mut data = rows("a,b,y", 1540, |i| format!("{i},{},{}.5", i % 17, i % 7));
    data.push_str("1,2,3,4\n");
    let case = Case::csv(&data, "y");
    refused(
        &case.run(),
        &[
            "cannot read the dataset d.csv",
            "incorrect number of fields for line 1542",
            "every row must have as many fields as the header",
        ],
    );
}

#[test]
fn an_absolute_dataset_path_is_named_whole_in_errors() {
    let case = Case::csv("a,b,y\n1,2,3\n4,5\n1,2,3\n", "y");
    let absolute = case.path("d.csv").display().to_string();
    case.pipeline(&absolute, "y", "", "decision-tree");
    let out = case.run();
    refused(
        &out,
        &[
            &format!("cannot read the dataset {absolute}"),
            &format!("CSV file {absolute}"),
        ],
    );
    // DataFusion names the file by its object-store path, without the leading `/`.
    let stripped = format!(" {}", absolute.trim_start_matches('/'));
    let said = normalise(&text(&out.stderr));
    assert!(!said.contains(&stripped), "a path lost its root:\n{said}");
}

#[test]
fn a_file_with_another_delimiter_says_which_to_declare() {
    let data = numbers(|i| format!("{}", i % 3)).replace(',', ";");
    let case = Case::csv(&data, "y");
    for command in ["check", "run"] {
        refused(
            &case.flow(&[command, "p.kdl"]),
            &[
                "the data has no column `y`",
                "p.kdl:4:",
                "not a column of ./d.csv",
                "the header was read as the single column `a;b;y`",
                "the file looks `;`-separated",
                r#"write `format "csv" delimiter=";"` in the `dataset` block"#,
            ],
        );
    }
    // The advice works.
    case.pipeline(
        "d.csv",
        "y",
        r#"format "csv" delimiter=";""#,
        "decision-tree",
    );
    case.runs_ok();

    let tabs = numbers(|i| format!("{}", i % 3)).replace(',', "\t");
    let case = Case::csv(&tabs, "y");
    refused(
        &case.run(),
        &[
            "the file looks `tab`-separated",
            r#"write `format "csv" delimiter="\t"`"#,
        ],
    );
}

#[test]
fn words_among_numbers_make_a_text_column_or_are_named_with_their_column() {
    // Within the rows the types are inferred from: the column is read as strings.
    let data = rows("a,b,y", 40, |i| {
        let b = if i % 3 == 0 {
            "x".to_owned()
        } else {
            i.to_string()
        };
        format!("{i},{b},{}.5", i % 7)
    });
    let case = Case::csv(&data, "y");
    case.runs_ok();
    let run = case.stored_run();
    assert_eq!(run["input_columns"], serde_json::json!(["a", "b", "y"]));
    assert_eq!(run["input_types"][1], "Utf8", "{run}");

    // A word after them: the value, its column and its row, and what to do.
    let mut data = rows("a,b,y", 1500, |i| format!("{i},{},{}.5", i % 17, i % 7));
    data.push_str("5,abc,2.5\n");
    let case = Case::csv(&data, "y");
    refused(
        &case.run(),
        &[
            "cannot read the dataset d.csv",
            "the value `abc` in column `b`",
            "(the row [5,abc,2.5])",
            "is not Int64",
            "correct or empty that cell",
            r#"`drop "b"`"#,
        ],
    );
    // The advice works.
    case.pipeline("d.csv", "y", r#"drop "b""#, "decision-tree");
    case.runs_ok();
}

#[test]
fn a_target_missing_from_the_data_points_at_the_pipeline() {
    let case = Case::csv(&numbers(|i| format!("{i}.5")), "yy");
    for command in ["check", "run"] {
        refused(
            &case.flow(&[command, "p.kdl"]),
            &[
                "the data has no column `yy`",
                "p.kdl:4:",
                "not a column of ./d.csv",
                "did you mean `y`?",
            ],
        );
    }
}

#[test]
fn a_constant_target_is_refused_for_either_task() {
    // Integers with one value are one class; a float is a regression target.
    for (value, shown) in [("3", "(3)"), ("3.5", "(3.5)")] {
        let case = Case::csv(&numbers(|_| value.to_owned()), "y");
        refused(
            &case.run(),
            &[
                "the target `y` of d.csv holds the same value",
                shown,
                "in every row, so there is nothing to predict",
                "name another column in `target`",
            ],
        );
    }
}

#[test]
fn an_empty_target_is_refused_and_a_partly_empty_one_drops_those_rows() {
    let case = Case::csv(&numbers(|_| String::new()), "y");
    refused(
        &case.run(),
        &[
            "the target column `y` is empty (NULL) in all 40 rows of d.csv",
            "fill it in, or name another column in `target`",
        ],
    );

    // Rows without a target are left out: the search is exactly the one on the other rows.
    let target = |i: usize| format!("{}.25", (i * 3) % 17);
    let with_gaps = numbers(|i| if i % 4 == 0 { String::new() } else { target(i) });
    let without = rows("a,b,y", 40, |i| {
        format!("{i},{},{}", (i * 7) % 11, target(i))
    })
    .lines()
    .enumerate()
    .filter(|(n, _)| *n == 0 || (n - 1) % 4 != 0)
    .map(|(_, line)| format!("{line}\n"))
    .collect::<String>();
    let gaps = Case::csv(&with_gaps, "y").runs_ok();
    let clean = Case::csv(&without, "y").runs_ok();
    for key in ["metric", "baseline", "best", "best_features"] {
        assert_eq!(gaps[key], clean[key], "{key}: {gaps} vs {clean}");
    }
    // The run says what it dropped, and so does its manifest.
    assert_eq!(gaps["rows"]["read"], 40, "{gaps}");
    assert_eq!(gaps["rows"]["without_target"], 10, "{gaps}");
    let case = Case::csv(&with_gaps, "y");
    let said = text(&case.run().stdout);
    assert!(
        said.contains("rows: 40 read, dropped 10 without a target: "),
        "{said}"
    );
    let out = case.flow(&[
        "query",
        "results",
        "SELECT rows_read, rows_without_target, rows_searched FROM runs",
        "--json",
    ]);
    let stored: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("a row");
    assert_eq!(stored["rows_read"], 40, "{stored}");
    assert_eq!(stored["rows_without_target"], 10, "{stored}");
    assert_eq!(
        stored["rows_searched"], gaps["rows"]["searched"],
        "{stored}"
    );
}

#[test]
fn classes_with_about_one_row_each_are_warned_of_by_check_and_run() {
    let warning = "the target `y` has 40 classes among";
    let case = Case::csv(&numbers(|i| format!("k{i}")), "y");
    let checked = case.flow(&["check", "p.kdl"]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stderr));
    assert!(
        normalise(&text(&checked.stdout)).contains(warning),
        "{}",
        text(&checked.stdout)
    );
    let summary = case.runs_ok();
    assert!(
        summary["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains(warning)),
        "{summary}"
    );

    // Two rows per class and more are not about one each.
    let case = Case::csv(&numbers(|i| format!("k{}", i / 2)), "y");
    let summary = case.runs_ok();
    assert_eq!(summary["warnings"], serde_json::json!([]), "{summary}");
}

#[test]
fn a_latin1_file_is_refused_with_how_to_re_encode_it() {
    // `é` in Latin-1 is the single byte 0xE9: in the header, and in a row far below it.
    let header = b"a,caf\xe9,y\n1,2,3\n".to_vec();
    let mut deep = numbers(|i| format!("{i}")).into_bytes();
    let mut late = String::new();
    for i in 0..20_000 {
        late.push_str(&format!("{i},1,2\n"));
    }
    deep.extend_from_slice(late.as_bytes());
    deep.extend_from_slice(b"1,caf\xe9,2\n");
    for data in [header, deep] {
        let case = Case::new("d.csv", &data, "y", "", "decision-tree");
        for command in ["check", "run"] {
            refused(
                &case.flow(&[command, "p.kdl"]),
                &["not UTF-8 text", "iconv -f latin1 -t utf-8"],
            );
        }
    }
}

#[test]
fn words_in_a_regression_target_are_named() {
    let data = numbers(|i| ["red", "blue"][i % 2].to_owned());
    let case = Case::new(
        "d.csv",
        data.as_bytes(),
        "y",
        r#"task "regression""#,
        "linear-regression",
    );
    refused(
        &case.run(),
        &[
            "the target `y` of d.csv holds `red`, which is not a number",
            r#"declare `task "classification"`"#,
        ],
    );
}

#[test]
fn more_than_a_thousand_classes_run() {
    let data = rows("a,b,y", 2400, |i| {
        format!("{},{},k{}", i % 97, (i * 7) % 13, i % 1200)
    });
    let case = Case::csv(&data, "y");
    let summary = case.runs_ok();
    assert_eq!(summary["metric"], "auc", "{summary}");
}

#[test]
fn a_column_with_a_different_string_in_every_row_runs() {
    let data = rows("a,b,s,y", 200, |i| {
        format!(
            "{},{},u{},{}",
            i % 10,
            i % 7,
            i * 7919,
            (i % 9) as f64 * 0.5
        )
    });
    let case = Case::new("d.csv", data.as_bytes(), "y", "", "linear-regression");
    case.runs_ok();
    let run = case.stored_run();
    assert_eq!(
        run["input_columns"],
        serde_json::json!(["a", "b", "s", "y"])
    );
}

#[test]
fn a_header_naming_a_column_twice_is_refused() {
    let case = Case::csv(&rows("a,a,y", 40, |i| format!("{i},{},{i}.5", i % 7)), "y");
    for command in ["check", "run"] {
        refused(
            &case.flow(&[command, "p.kdl"]),
            &[
                "cannot read the dataset ./d.csv",
                "the header names column `a` twice (columns 1 and 2 of the first line)",
                "give every column in the header (the first line) a name of its own",
            ],
        );
    }
}

#[test]
fn columns_named_with_spaces_quotes_unicode_and_sql_keywords_run_export_and_apply() {
    let header = r#"unit price,"say ""hi""",größe €,select,from,y"#;
    let data = rows(header, 60, |i| {
        format!(
            "{},{},{},{},{},{}",
            i as f64 * 1.5,
            i % 7,
            (i * 37) % 11,
            i % 3,
            ["a", "b", "c"][i % 3],
            (i * 2) as f64 + (i % 5) as f64
        )
    });
    let case = Case::new("d.csv", data.as_bytes(), "y", "", "linear-regression");
    case.runs_ok();
    let run = case.stored_run();
    assert_eq!(
        run["input_columns"],
        serde_json::json!(["unit price", "say \"hi\"", "größe €", "select", "from", "y"])
    );
    let export = case.flow(&["export", "results"]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let sql = text(&export.stdout);
    for quoted in [
        r#""unit price""#,
        r#""say ""hi""""#,
        r#""größe €""#,
        r#""select""#,
        r#""from""#,
    ] {
        assert!(sql.contains(quoted), "{quoted} not in:\n{sql}");
    }
    // The exported SELECT plans and runs on the data.
    let apply = case.flow(&["apply", "results", "--input", "d.csv", "-o", "out.parquet"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    assert!(
        text(&apply.stdout).contains("wrote 60 rows"),
        "{}",
        text(&apply.stdout)
    );
}

#[test]
fn twelve_hundred_columns_run_within_a_small_budget() {
    let width = 1200;
    let header: Vec<String> = (0..width)
        .map(|j| format!("c{j}"))
        .chain(["y".to_owned()])
        .collect();
    let data = rows(&header.join(","), 60, |i| {
        let values: Vec<f64> = (0..width)
            .map(|j| ((i * 31 + j * 17) % 101) as f64 / 10.0)
            .collect();
        let y = values[0] * 3.0 + values[1];
        let mut row: Vec<String> = values.iter().map(f64::to_string).collect();
        row.push(y.to_string());
        row.join(",")
    });
    let case = Case::csv(&data, "y");
    let started = std::time::Instant::now();
    case.runs_ok();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let run = case.stored_run();
    assert_eq!(
        run["input_columns"].as_array().map(Vec::len),
        Some(width + 1)
    );
}

/// Writes a Parquet file with a struct and a list column, through `flow query` itself.
fn nested_parquet(dir: &Path) -> PathBuf {
    let empty = dir.join("no-results");
    std::fs::create_dir_all(&empty).expect("temp dir is writable");
    let file = dir.join("d.parquet");
    let out = flow()
        .arg("query")
        .arg(&empty)
        .arg(
            "SELECT CAST(v AS DOUBLE) AS a, named_struct('p', v, 'q', 'x') AS s, \
             make_array(v, 2, 3) AS l, CAST(v * 2 AS DOUBLE) + 0.5 * (v % 3) AS y \
             FROM unnest(range(0, 60)) AS t(v)",
        )
        .args(["--format", "parquet", "-o"])
        .arg(&file)
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    file
}

#[test]
fn nested_parquet_columns_are_skipped_with_a_note_and_cannot_be_the_target() {
    let case = Case::csv("", "y");
    nested_parquet(case.dir.path());
    case.pipeline("d.parquet", "y", "", "linear-regression");
    let check = case.flow(&["check", "p.kdl"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        normalise(&text(&check.stdout)).contains(
            "note: the search skips `s` (a struct), `l` (a list): nested values cannot be features"
        ),
        "{}",
        text(&check.stdout)
    );
    let summary = case.runs_ok();
    assert_eq!(summary["skipped_columns"], serde_json::json!(["s", "l"]));
    assert_eq!(
        case.stored_run()["input_columns"],
        serde_json::json!(["a", "y"])
    );

    case.pipeline("d.parquet", "s", "", "decision-tree");
    for command in ["check", "run"] {
        refused(
            &case.flow(&[command, "p.kdl"]),
            &[
                "the target `s` holds Struct",
                "which cannot be predicted",
                "p.kdl:4:",
                "name a column of numbers, strings or booleans as the `target`",
            ],
        );
    }
}

#[test]
fn features_that_repeat_their_input_are_computed_up_to_a_size_and_no_further() {
    // Each application repeats its input ten times: depth 4 is 10,000 copies of the column
    // (about 60 kB of SQL), depth 5 would be 100,000, past what a feature may render to.
    // (Without an intercept, so that the search does not drop `10·a` as a copy of `a`.)
    let case = Case::csv(&numbers(|i| format!("{}.25", i * 3)), "y");
    std::fs::write(
        case.path("p.kdl"),
        r#"pipeline "deep" {
    dataset {
        source "d.csv"
        target "y"
    }
    space {
        op "tenfold" {
            input "x" type="numeric"
            sql "{x}+{x}+{x}+{x}+{x}+{x}+{x}+{x}+{x}+{x}"
            output "numeric"
        }
        include "a"
        max-depth 6
    }
    evaluator { model "linear-regression" fit-intercept=#false; confirm #false }
    search { iterations 20; seed 1 }
}
"#,
    )
    .expect("temp dir is writable");
    let out = case.flow(&["run", "p.kdl", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON");
    // The baseline and depths 1 to 4; nothing deeper is drawn, so the space runs out.
    assert_eq!(summary["evaluations"], 5, "{summary}");
    assert_eq!(summary["stopped"], "exhausted", "{summary}");
}
