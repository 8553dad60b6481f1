//! The `dataset` block: where the data is, how to read it and which columns play which role.

use crate::diagnostic::ErrorKind;
use crate::reader::Reader;
use crate::source::Spanned;
use crate::tree::Node;

/// The file format of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// Comma- (or otherwise-) separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON.
    Json,
}

impl DataFormat {
    /// The name used in KDL.
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Json => "json",
        }
    }

    /// The format a path's extension implies, if any (`.csv`, `.tsv`, `.parquet`, `.json`…).
    pub fn from_extension(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "csv" | "tsv" => Some(Self::Csv),
            "parquet" | "pq" => Some(Self::Parquet),
            "json" | "jsonl" | "ndjson" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Where a dataset lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataLocation {
    /// A local file, directory or glob (relative paths are relative to the pipeline file).
    Local(String),
    /// An object under `s3://bucket/key` (a key, a prefix or a glob).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key, prefix or glob within it (may be empty).
        key: String,
    },
}

impl DataLocation {
    /// Parses `source`: a plain path, `file://…` or `s3://bucket/key`.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("the source is empty".to_owned());
        }
        if let Some(rest) = source.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("the S3 URL has no bucket".to_owned());
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            });
        }
        if let Some(path) = source.strip_prefix("file://") {
            return Ok(Self::Local(path.to_owned()));
        }
        if let Some((scheme, _)) = source.split_once("://") {
            return Err(format!("the `{scheme}://` scheme is not supported"));
        }
        Ok(Self::Local(source.to_owned()))
    }

    /// The location as a URL-ish string (`s3://b/k` or the path).
    pub fn display(&self) -> String {
        match self {
            Self::Local(p) => p.clone(),
            Self::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }

    /// Whether the location contains glob characters.
    pub fn is_glob(&self) -> bool {
        self.display().contains(['*', '?', '['])
    }
}

/// The learning task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    /// Predict a class.
    Classification,
    /// Predict a number.
    Regression,
}

impl Task {
    /// The name used in KDL.
    pub fn name(self) -> &'static str {
        match self {
            Self::Classification => "classification",
            Self::Regression => "regression",
        }
    }
}

/// CSV reading options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field separator byte.
    pub delimiter: u8,
    /// Whether the first line holds column names.
    pub header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            header: true,
        }
    }
}

/// How many rows to sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleSize {
    /// At most this many rows.
    Rows(u64),
    /// This fraction of the rows, in (0, 1].
    Fraction(f64),
}

/// A seeded row sample taken before the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSpec {
    /// How many rows.
    pub size: SampleSize,
    /// The sampling seed; the search seed when absent.
    pub seed: Option<u64>,
}

/// The `dataset` block.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    /// Where the data is.
    pub source: Spanned<DataLocation>,
    /// The file format, explicit or inferred from the extension.
    pub format: Spanned<DataFormat>,
    /// Whether `format` was inferred rather than written.
    pub format_inferred: bool,
    /// CSV options (used when the format is CSV).
    pub csv: CsvOptions,
    /// The column to predict.
    pub target: Spanned<String>,
    /// The task; inferred from the target's values at run time when absent.
    pub task: Option<Spanned<Task>>,
    /// A row identifier column (never used as a feature).
    pub id: Option<Spanned<String>>,
    /// Columns to ignore.
    pub drop: Vec<Spanned<String>>,
    /// The time column that orders rows for temporal operations.
    pub time: Option<Spanned<String>>,
    /// The column that partitions rows for temporal operations (an entity id).
    pub group: Option<Spanned<String>>,
    /// An optional row sample.
    pub sample: Option<SampleSpec>,
}

const DATASET_CHILDREN: [&str; 9] = [
    "source", "format", "target", "task", "id", "drop", "time", "group", "sample",
];

/// Reads the `dataset` block.
pub fn lower_dataset(r: &mut Reader<'_>, node: &Node) -> Option<DatasetSpec> {
    r.allow_props(node, &[]);
    r.no_args(node, "dataset { … }");
    r.allow_children(node, &DATASET_CHILDREN);
    let source = r
        .required_child(node, "source", "source \"data/train.csv\"")
        .and_then(|n| lower_source(r, n));
    let (format, format_inferred, csv) = lower_format(r, node, source.as_ref());
    let target = r
        .required_child(node, "target", "target \"label\"")
        .and_then(|n| column(r, n, "target \"label\""));
    let task = r.unique_child(node, "task").and_then(|n| {
        r.allow_props(n, &[]);
        let v = r.single_arg(n, "task \"classification\"")?;
        r.choice(
            v,
            &[
                ("classification", Task::Classification),
                ("regression", Task::Regression),
            ],
            "task",
        )
    });
    let id = r
        .unique_child(node, "id")
        .and_then(|n| column(r, n, "id \"customer_id\""));
    let time = r
        .unique_child(node, "time")
        .and_then(|n| column(r, n, "time \"date\""));
    let group = r
        .unique_child(node, "group")
        .and_then(|n| column(r, n, "group \"store_id\""));
    let drop: Vec<Spanned<String>> = node
        .children_named("drop")
        .flat_map(|n| {
            r.allow_props(n, &[]);
            r.allow_children(n, &[]);
            r.string_args(n, "drop \"notes\" \"url\"")
        })
        .collect();
    let sample = r
        .unique_child(node, "sample")
        .and_then(|n| lower_sample(r, n));
    if let Some(target) = &target {
        check_roles(r, target, [&id, &time, &group]);
        for dropped in drop
            .iter()
            .filter(|d: &&Spanned<String>| d.value == target.value)
        {
            r.error(
                ErrorKind::Incompatible,
                dropped.loc,
                format!("`{}` is the target and cannot be dropped", dropped.value),
                "the target",
                "remove it from `drop`",
            );
        }
    }
    Some(DatasetSpec {
        source: source?,
        format: format?,
        format_inferred,
        csv,
        target: target?,
        task,
        id,
        drop,
        time,
        group,
        sample,
    })
}

fn lower_source(r: &mut Reader<'_>, node: &Node) -> Option<Spanned<DataLocation>> {
    r.allow_props(node, &[]);
    r.allow_children(node, &[]);
    let text = r.string_arg(node, "source \"data/train.csv\"")?;
    match DataLocation::parse(&text.value) {
        Ok(loc) => Some(Spanned::new(loc, text.loc)),
        Err(why) => {
            r.error(
                ErrorKind::InvalidValue,
                text.loc,
                format!("invalid dataset source: {why}"),
                "not a usable location",
                "use a local path (`data/train.csv`, `data/*.parquet`, `data/`), \
                 `file:///abs/path` or `s3://bucket/key`",
            );
            None
        }
    }
}

type FormatParts = (Option<Spanned<DataFormat>>, bool, CsvOptions);

fn lower_format(
    r: &mut Reader<'_>,
    node: &Node,
    source: Option<&Spanned<DataLocation>>,
) -> FormatParts {
    let mut csv = CsvOptions::default();
    let is_tsv = source.is_some_and(|s| {
        let text = s.value.display().to_ascii_lowercase();
        text.ends_with(".tsv") || text.ends_with(".tsv.gz")
    });
    if is_tsv {
        csv.delimiter = b'\t';
    }
    let Some(format_node) = r.unique_child(node, "format") else {
        let inferred = source.and_then(|s| {
            let format = DataFormat::from_extension(&s.value.display());
            if format.is_none() {
                r.error(
                    ErrorKind::Missing,
                    s.loc,
                    "cannot tell the dataset format from this source",
                    "no .csv, .parquet or .json extension",
                    "add `format \"csv\"` (or \"parquet\", \"json\") to the dataset block",
                );
            }
            format.map(|f| Spanned::new(f, s.loc))
        });
        return (inferred, true, csv);
    };
    r.allow_props(format_node, &["delimiter", "header"]);
    r.allow_children(format_node, &[]);
    let format = r.single_arg(format_node, "format \"csv\"").and_then(|v| {
        r.choice(
            v,
            &[
                ("csv", DataFormat::Csv),
                ("parquet", DataFormat::Parquet),
                ("json", DataFormat::Json),
            ],
            "format",
        )
    });
    if let Some(d) = r.prop(format_node, "delimiter", |r, v| {
        r.string(v, "delimiter=\";\"")
    }) {
        match d.value.as_bytes() {
            [b] if d.value.is_ascii() => csv.delimiter = *b,
            _ => r.error(
                ErrorKind::InvalidValue,
                d.loc,
                "the delimiter must be a single ASCII character",
                "not one character",
                "write `delimiter=\";\"` or `delimiter=\"\\t\"`",
            ),
        }
    }
    if let Some(h) = r.prop(format_node, "header", |r, v| r.bool(v, "header=#false")) {
        csv.header = h.value;
    }
    if let Some(f) = &format
        && f.value != DataFormat::Csv
        && !format_node.props.is_empty()
    {
        r.error(
            ErrorKind::Incompatible,
            format_node.props[0].key.loc,
            format!("`{}` is a CSV option", format_node.props[0].key.text),
            format!("the format is {}", f.value.name()),
            "remove it, or set `format \"csv\"`",
        );
    }
    (format, false, csv)
}

fn column(r: &mut Reader<'_>, node: &Node, example: &str) -> Option<Spanned<String>> {
    r.allow_props(node, &[]);
    r.allow_children(node, &[]);
    let name = r.string_arg(node, example)?;
    if name.value.is_empty() {
        r.error(
            ErrorKind::InvalidValue,
            name.loc,
            "the column name is empty",
            "empty",
            format!("write it as `{example}`"),
        );
        return None;
    }
    Some(name)
}

fn lower_sample(r: &mut Reader<'_>, node: &Node) -> Option<SampleSpec> {
    r.allow_props(node, &["rows", "fraction", "seed"]);
    r.allow_children(node, &[]);
    r.no_args(node, "sample rows=10000 seed=7");
    let rows = r.prop(node, "rows", |r, v| {
        r.integer(v, 1, i128::from(u64::MAX), "rows=10000")
    });
    let fraction = r.prop(node, "fraction", |r, v| {
        r.float_in(v, |f| f > 0.0 && f <= 1.0, "in (0, 1]", "fraction=0.1")
    });
    let seed = r.prop(node, "seed", |r, v| {
        r.integer(v, 0, i128::from(u64::MAX), "seed=7")
    });
    let size = match (rows, fraction) {
        (Some(rows), None) => SampleSize::Rows(u64::try_from(rows.value).expect("range checked")),
        (None, Some(f)) => SampleSize::Fraction(f.value),
        (Some(rows), Some(_)) => {
            r.error(
                ErrorKind::Incompatible,
                rows.loc,
                "`sample` takes either `rows` or `fraction`, not both",
                "rows given here",
                "keep one of them",
            );
            return None;
        }
        (None, None) => {
            if node.prop("rows").is_none() && node.prop("fraction").is_none() {
                r.error(
                    ErrorKind::Missing,
                    node.name.loc,
                    "`sample` needs `rows` or `fraction`",
                    "how many rows?",
                    "write `sample rows=10000` or `sample fraction=0.1`",
                );
            }
            return None;
        }
    };
    Some(SampleSpec {
        size,
        seed: seed.map(|s| u64::try_from(s.value).expect("range checked")),
    })
}

fn check_roles(r: &mut Reader<'_>, target: &Spanned<String>, roles: [&Option<Spanned<String>>; 3]) {
    for role in roles.into_iter().flatten() {
        if role.value == target.value {
            r.error(
                ErrorKind::Incompatible,
                role.loc,
                format!(
                    "`{}` is the target and cannot also be an id, time or group column",
                    role.value
                ),
                "same column as the target",
                "a column plays one role; pick another column",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(DataFormat::from_extension("a/b.CSV"), Some(DataFormat::Csv));
        assert_eq!(
            DataFormat::from_extension("x.csv.gz"),
            Some(DataFormat::Csv)
        );
        assert_eq!(
            DataFormat::from_extension("s3://b/k/part-*.parquet"),
            Some(DataFormat::Parquet)
        );
        assert_eq!(
            DataFormat::from_extension("events.jsonl"),
            Some(DataFormat::Json)
        );
        assert_eq!(DataFormat::from_extension("data/"), None);
    }

    #[test]
    fn locations_parse_local_file_and_s3() {
        assert_eq!(
            DataLocation::parse("d/x.csv"),
            Ok(DataLocation::Local("d/x.csv".into()))
        );
        assert_eq!(
            DataLocation::parse("file:///tmp/x.csv"),
            Ok(DataLocation::Local("/tmp/x.csv".into()))
        );
        assert_eq!(
            DataLocation::parse("s3://bucket/a/b.parquet"),
            Ok(DataLocation::S3 {
                bucket: "bucket".into(),
                key: "a/b.parquet".into()
            })
        );
        assert!(DataLocation::parse("s3:///k").is_err());
        assert!(DataLocation::parse("gs://b/k").is_err());
    }
}
