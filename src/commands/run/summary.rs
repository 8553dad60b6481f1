//! What `flow run` prints when the search is over: the counts and scores, a table of the
//! top features, the best feature set, and the commands to look further — as text for
//! people or as one JSON line for scripts.

use std::collections::HashMap;
use std::fmt::Write as _;

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use flow_runtime::RunSummary;

use super::format;
use super::progress::uplift;
use super::style::Palette;

/// How many features the table lists.
const TOP_FEATURES: usize = 10;
/// The longest SQL a table cell shows (in characters); `flow export` prints it whole.
const SQL_CHARS: usize = 48;

/// One scored feature set, as the ranking reads it.
pub struct ScoredSet<'a> {
    /// Every feature of the set (base columns first).
    pub names: &'a [String],
    /// Their SQL, aligned with `names`.
    pub sql: &'a [String],
    /// Their importance in the set, aligned with `names` (may be empty).
    pub importance: &'a [f64],
    /// The set's score.
    pub score: f64,
}

/// An engineered feature at its best.
#[derive(Debug, Clone, PartialEq)]
pub struct TopFeature {
    /// Its name.
    pub name: String,
    /// Its SQL expression.
    pub sql: String,
    /// The best score of a set holding it.
    pub best_score: f64,
    /// Its importance in that set.
    pub importance: Option<f64>,
}

/// The engineered features (those after the `base` columns) ranked by the best score a
/// set holding them reached, then by their importance in that set, then by when they
/// first appeared.
pub fn rank_features<'a>(
    sets: impl IntoIterator<Item = ScoredSet<'a>>,
    base: usize,
    higher_is_better: bool,
) -> Vec<TopFeature> {
    let better = |a: f64, b: f64| if higher_is_better { a > b } else { a < b };
    let mut ranked: Vec<TopFeature> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for set in sets {
        for (i, name) in set.names.iter().enumerate().skip(base) {
            let candidate = TopFeature {
                name: name.clone(),
                sql: set.sql.get(i).cloned().unwrap_or_default(),
                best_score: set.score,
                importance: set.importance.get(i).copied(),
            };
            match index.get(name.as_str()) {
                None => {
                    index.insert(name, ranked.len());
                    ranked.push(candidate);
                }
                Some(&at) => {
                    let held = &ranked[at];
                    let same = held.best_score == candidate.best_score;
                    if better(candidate.best_score, held.best_score)
                        || (same && candidate.importance > held.importance)
                    {
                        ranked[at] = candidate;
                    }
                }
            }
        }
    }
    // A stable sort keeps first appearance as the last tie-break.
    ranked.sort_by(|a, b| {
        let by_score = a.best_score.total_cmp(&b.best_score);
        let by_score = if higher_is_better {
            by_score.reverse()
        } else {
            by_score
        };
        by_score.then(
            b.importance
                .unwrap_or(0.0)
                .total_cmp(&a.importance.unwrap_or(0.0)),
        )
    });
    ranked
}

/// The run's features, ranked (see [`rank_features`]).
fn top_features(s: &RunSummary) -> Vec<TopFeature> {
    let sets = s
        .evaluations
        .iter()
        .filter(|row| row.status == "ok")
        .filter_map(|row| {
            Some(ScoredSet {
                names: &row.feature_names,
                sql: &row.feature_sql,
                importance: &row.importance,
                score: row.mean?,
            })
        });
    rank_features(sets, base_columns(s), s.higher_is_better)
}

/// How many base columns every feature set starts with (those of the baseline).
fn base_columns(s: &RunSummary) -> usize {
    s.evaluations
        .first()
        .map_or(0, |root| root.feature_names.len())
}

/// `sql` on one line (whitespace outside quotes collapsed) and, when longer than `max_chars`,
/// cut at a token boundary with `…` appended.
pub fn shorten_sql(sql: &str, max_chars: usize) -> String {
    let mut flat = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.trim().chars() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_whitespace() => {
                if !flat.ends_with(' ') {
                    flat.push(' ');
                }
                continue;
            }
            _ => {}
        }
        flat.push(c);
    }
    if flat.chars().count() <= max_chars {
        return flat;
    }
    let head: String = flat.chars().take(max_chars.saturating_sub(1)).collect();
    // Cut after the last separator, unless that throws away more than half.
    let boundary = head
        .char_indices()
        .filter(|&(_, c)| matches!(c, ' ' | ',' | '(' | ')'))
        .map(|(i, c)| if c == ' ' { i } else { i + c.len_utf8() })
        .next_back()
        .filter(|&cut| cut * 2 >= head.len());
    let kept = boundary.map_or(head.as_str(), |cut| &head[..cut]);
    format!("{}…", kept.trim_end())
}

/// `text` as one word for a POSIX shell.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The commands that look further into the run, ready to paste.
pub fn next_commands(s: &RunSummary) -> Vec<String> {
    let location = shell_word(&s.location);
    let id = &s.run_id;
    let order = if s.higher_is_better { "DESC" } else { "ASC" };
    vec![
        format!("flow runs {location}"),
        format!(
            "flow query {location} \"SELECT name, best_score, round(mean_importance, 3) AS importance, sql FROM features WHERE run_id = '{id}' AND status = 'ok' ORDER BY best_score {order}, importance DESC LIMIT 10\""
        ),
        format!("flow export {location} --run {id}"),
        format!("flow report {location} --run {id} -o report.html"),
    ]
}

/// A table in the summary's style, fitted to `width` columns when there is a terminal.
fn table(header: &[&str], width: Option<u16>) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    match width {
        Some(width) => table
            .set_width(width)
            .set_content_arrangement(ContentArrangement::Dynamic),
        None => table.set_content_arrangement(ContentArrangement::Disabled),
    };
    table
}

fn align_right(table: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn top_features_table(s: &RunSummary, top: &[TopFeature], width: Option<u16>) -> Table {
    let score_header = format!("best {}", s.best.metric);
    let mut t = table(
        &["#", "feature", &score_header, "uplift", "importance", "SQL"],
        width,
    );
    for (rank, feature) in top.iter().enumerate() {
        let change = uplift(
            Some(feature.best_score),
            Some(s.baseline),
            s.higher_is_better,
        );
        t.add_row(vec![
            (rank + 1).to_string(),
            feature.name.clone(),
            format::score(Some(feature.best_score)),
            change.map_or_else(String::new, format::change),
            feature.importance.map_or_else(String::new, format::share),
            shorten_sql(&feature.sql, SQL_CHARS),
        ]);
    }
    align_right(&mut t, &[0, 2, 3, 4]);
    t
}

fn best_set_table(s: &RunSummary, base: usize, width: Option<u16>) -> Table {
    let mut t = table(&["feature", "importance", "SQL"], width);
    let best = &s.best;
    let importance = |i: usize| best.importance.get(i).copied();
    for (i, name) in best.feature_names.iter().enumerate().skip(base) {
        t.add_row(vec![
            name.clone(),
            importance(i).map_or_else(String::new, format::share),
            shorten_sql(
                best.feature_sql.get(i).map_or("", String::as_str),
                SQL_CHARS,
            ),
        ]);
    }
    let base_names = &best.feature_names[..base.min(best.feature_names.len())];
    let base_importance: Option<f64> = (0..base_names.len()).map(importance).sum();
    t.add_row(vec![
        format!("{} base columns", base_names.len()),
        base_importance.map_or_else(String::new, format::share),
        shorten_sql(&base_names.join(", "), SQL_CHARS),
    ]);
    align_right(&mut t, &[1]);
    t
}

/// The summary for people; `width` is the terminal's, when standard output is one.
pub fn text(s: &RunSummary, palette: Palette, width: Option<u16>) -> String {
    let mut out = String::new();
    let scored = s.scored();
    let cache_hits = s.evaluations.iter().filter(|r| r.cache_hit).count();
    let _ = write!(
        out,
        "run {} · {} evaluations ({} failed, {} candidates rejected) in {}",
        palette.strong(&s.run_id),
        scored,
        s.count("failed"),
        s.count("rejected"),
        format::duration(s.elapsed),
    );
    if scored > 0 {
        let _ = write!(
            out,
            " · {:.0}% from the cache",
            cache_hits as f64 * 100.0 / scored as f64
        );
    }
    let m = &s.manifest;
    if let Some(rows) = &s.rows {
        let _ = write!(out, "\nrows: {}", crate::commands::describe_rows(rows));
        if let Some(warning) = rows.warning(&m.target) {
            let _ = write!(out, "\n{}", palette.warn(&format!("warning: {warning}")));
        }
    }
    if let Some(why) = m.stop_description() {
        let _ = write!(out, "\nthe search stopped because {why}");
    }
    let uplift = s.uplift();
    let _ = writeln!(
        out,
        "\n{}: baseline {:.4} → best {} ({})",
        s.best.metric,
        s.baseline,
        palette.strong(&format!("{:.4}", s.best.mean.unwrap_or(s.baseline))),
        palette.change(uplift, &format::change(uplift)),
    );
    if let (Some(rows), Some(baseline), Some(best), Some(uplift)) = (
        m.confirm_rows,
        m.confirm_baseline,
        m.confirm_best,
        m.confirm_uplift,
    ) {
        let support = m.confirm_support.map_or(String::new(), |s| {
            format!(", better on {:.0} % of resamples", s * 100.0)
        });
        let _ = writeln!(
            out,
            "{} on {rows} held-out rows the search never saw: baseline {baseline:.4} → best {} ({}{support})",
            m.held_out_label(),
            palette.strong(&format!("{best:.4}")),
            palette.change(uplift, &format::change(uplift)),
        );
    } else if let Some(why) = &m.confirm_note {
        let _ = writeln!(out, "held-out rows not scored: {why}");
    }
    if flow_runtime::store::unconfirmed(m).is_some() {
        let _ = writeln!(
            out,
            "{}",
            palette.dim(
                "the held-out rows did not confirm the features beyond their noise: `flow export` and `flow apply` give the base columns alone (`--unconfirmed` gives the features)"
            )
        );
    }
    let top: Vec<TopFeature> = top_features(s).into_iter().take(TOP_FEATURES).collect();
    if !top.is_empty() {
        let _ = writeln!(
            out,
            "\n{} (each with the best {} of a set holding it, and its importance there)\n{}",
            palette.strong("top features"),
            s.best.metric,
            top_features_table(s, &top, width)
        );
    }
    let base = base_columns(s);
    let _ = writeln!(out, "\n{}", palette.strong("best feature set"));
    if s.best.feature_names.len() <= base {
        out.push_str("  (no engineered feature beat the base columns)\n");
    } else {
        let _ = writeln!(out, "{}", best_set_table(s, base, width));
    }
    let pruned = s.manifest.pruned_features.as_deref().unwrap_or_default();
    if !pruned.is_empty() {
        let _ = writeln!(
            out,
            "pruned from the best set (the set scores within its fold noise without them): {}",
            pruned.join(", ")
        );
    }
    if !s.skipped_columns.is_empty() {
        let _ = writeln!(
            out,
            "note: the search skipped {}: nested values cannot be features",
            crate::commands::describe_columns(&s.skipped_columns)
        );
    }
    let _ = writeln!(out, "\nresults: {}", s.location);
    out.push_str("next:\n");
    for command in next_commands(s) {
        let _ = writeln!(out, "  {}", palette.dim(&command));
    }
    out
}

/// The summary as one JSON line.
pub fn json(s: &RunSummary) -> serde_json::Value {
    let scored = s.scored();
    let cache_hits = s.evaluations.iter().filter(|r| r.cache_hit).count();
    let top: Vec<serde_json::Value> = top_features(s)
        .into_iter()
        .take(TOP_FEATURES)
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "sql": f.sql,
                "best_score": f.best_score,
                "uplift": uplift(Some(f.best_score), Some(s.baseline), s.higher_is_better),
                "importance": f.importance,
                "in_best_set": s.best.feature_names.contains(&f.name),
            })
        })
        .collect();
    serde_json::json!({
        "event": "summary",
        "run_id": s.run_id,
        "metric": s.best.metric,
        "higher_is_better": s.higher_is_better,
        "baseline": s.baseline,
        "best": s.best.mean,
        "uplift": s.uplift(),
        "evaluations": scored,
        "rejected": s.count("rejected"),
        "failed": s.count("failed"),
        "cache_hits": cache_hits,
        "cache_hit_rate": (scored > 0).then(|| cache_hits as f64 / scored as f64),
        "best_features": s.best.feature_names,
        "best_feature_sql": s.best.feature_sql,
        "pruned_features": s.manifest.pruned_features.as_deref().unwrap_or_default(),
        "held_out": held_out_json(&s.manifest),
        "stopped": s.manifest.stop_reason,
        "rows": s.rows.map(|rows| serde_json::json!({
            "read": rows.read,
            "without_target": rows.without_target,
            "searched": rows.searched,
            "held_out": rows.held_out,
            "classes": rows.classes,
        })),
        "warnings": s.rows.and_then(|rows| rows.warning(&s.manifest.target)).into_iter().collect::<Vec<_>>(),
        "top_features": top,
        "results": s.location,
        "skipped_columns": s.skipped_columns.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        "elapsed_s": s.elapsed.as_secs_f64(),
        "next": next_commands(s),
    })
}

/// The held-out scores as JSON: `null` without a holdout, the reason when none was scored.
fn held_out_json(m: &flow_runtime::store::RunManifest) -> serde_json::Value {
    match (m.confirm_rows, m.confirm_baseline, m.confirm_best) {
        (Some(rows), Some(baseline), Some(best)) => serde_json::json!({
            "rows": rows,
            "model": m.confirm_model.as_deref().unwrap_or(&m.model),
            "baseline": baseline,
            "best": best,
            "uplift": m.confirm_uplift,
            "support": m.confirm_support,
            "confirmed": flow_runtime::store::unconfirmed(m).is_none(),
        }),
        _ => m.confirm_note.as_ref().map_or(
            serde_json::Value::Null,
            |why| serde_json::json!({ "not_scored": why }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn features_rank_by_their_best_set_then_importance() {
        let names_a = strings(&["x", "y", "f1"]);
        let names_b = strings(&["x", "y", "f1", "f2"]);
        let names_c = strings(&["x", "y", "f3"]);
        let sql_a = strings(&["x", "y", "x + y"]);
        let sql_b = strings(&["x", "y", "x + y", "x * y"]);
        let sql_c = strings(&["x", "y", "x - y"]);
        let sets = vec![
            ScoredSet {
                names: &names_a,
                sql: &sql_a,
                importance: &[0.2, 0.2, 0.6],
                score: 10.0,
            },
            ScoredSet {
                names: &names_b,
                sql: &sql_b,
                importance: &[0.1, 0.1, 0.3, 0.5],
                score: 8.0,
            },
            ScoredSet {
                names: &names_c,
                sql: &sql_c,
                importance: &[],
                score: 12.0,
            },
        ];
        // Lower is better (rmse): the set scoring 8 holds f1 and f2.
        let ranked = rank_features(sets, 2, false);
        let order: Vec<&str> = ranked.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(order, ["f2", "f1", "f3"]);
        assert_eq!(ranked[1].best_score, 8.0);
        assert_eq!(ranked[1].importance, Some(0.3));
        assert_eq!(ranked[1].sql, "x + y");
        assert_eq!(ranked[2].importance, None);
    }

    #[test]
    fn higher_is_better_reverses_the_ranking() {
        let a = strings(&["x", "f1"]);
        let b = strings(&["x", "f2"]);
        let sets = vec![
            ScoredSet {
                names: &a,
                sql: &a,
                importance: &[0.5, 0.5],
                score: 0.7,
            },
            ScoredSet {
                names: &b,
                sql: &b,
                importance: &[0.5, 0.5],
                score: 0.9,
            },
        ];
        let ranked = rank_features(sets, 1, true);
        assert_eq!(ranked[0].name, "f2");
    }

    #[test]
    fn short_sql_stays_whole_on_one_line() {
        assert_eq!(shorten_sql("  a\n   +  b ", 48), "a + b");
        assert_eq!(shorten_sql("'a   b' || c", 48), "'a   b' || c");
    }

    #[test]
    fn long_sql_is_cut_at_a_token_boundary() {
        let sql = "CAST((\"bp\") AS DOUBLE) - CAST((CAST((\"s6\") AS DOUBLE) * CAST((\"s6\") AS DOUBLE)) AS DOUBLE)";
        let short = shorten_sql(sql, 48);
        assert!(short.chars().count() <= 48, "{short}");
        assert!(short.ends_with('…'), "{short}");
        assert_eq!(short, "CAST((\"bp\") AS DOUBLE) - CAST((CAST((\"s6\") AS…");
        // No separator in reach: a hard cut, on a character boundary.
        let word = "é".repeat(60);
        let short = shorten_sql(&word, 10);
        assert_eq!(short, format!("{}…", "é".repeat(9)));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/tmp/out"), "/tmp/out");
        assert_eq!(shell_word("s3://b/p"), "s3://b/p");
        assert_eq!(shell_word("my results"), "'my results'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
