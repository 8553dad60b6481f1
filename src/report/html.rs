//! The report page: one HTML document with inline CSS and inline SVG, nothing loaded from
//! anywhere else. Every text from the run goes through [`escape`].

use std::fmt::Write as _;

use super::charts::{Chart, Charts};
use super::data::{ReportData, TOP_FEATURES};
use super::spec::{self, duration_words};
use flow_runtime::store::RunManifest;

/// The sections of the page: `id`, heading.
pub const SECTIONS: [(&str, &str); 7] = [
    ("summary", "Run summary"),
    ("progress", "Best score over iterations"),
    ("scores", "Score distribution"),
    ("features", "Top features"),
    ("tree", "Search tree"),
    ("operations", "Operation usage"),
    ("timing", "Timing"),
];

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d8dee4;
  --panel: #f6f8fa; --accent: #2b6cb0; --good: #1a7f37; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: var(--panel); border-bottom: 1px solid var(--line); }
header .wrap { padding-top: 20px; padding-bottom: 14px; }
.wrap { max-width: 1000px; margin: 0 auto; padding: 0 24px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h1 small { color: var(--muted); font-weight: 400; font-size: 16px; }
h2 { font-size: 20px; margin: 0 0 10px; padding-top: 8px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 10px; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { padding: 22px 0 8px; border-bottom: 1px solid var(--line); }
section:last-of-type { border-bottom: 0; }
p { margin: 6px 0 10px; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin: 6px 0 18px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fff; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.good { color: var(--good); } .bad { color: var(--bad); }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 12px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { width: 190px; background: none; color: var(--muted); font-weight: 500; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
td code { overflow-wrap: anywhere; }
td.feature { min-width: 170px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
figure.chart { margin: 8px 0 12px; }
figure.chart svg { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 13px; background: var(--panel); border: 1px solid var(--line); }
footer { color: var(--muted); font-size: 13px; padding: 18px 0 30px; }
"#;

/// `text` made safe for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A score with four decimals, or a dash.
fn score(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"))
}

/// `2026-11-29 10:08:25 UTC` for microseconds since the Unix epoch.
fn utc(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The whole page.
pub fn page(data: &ReportData, charts: &Charts) -> String {
    let run = &data.run;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>flow report · {} · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><div class=\"wrap\"><h1>{} <small>flow report</small></h1>\
         <div class=\"muted\">run <code>{}</code> · <span class=\"status\">{}</span></div><nav>",
        escape(&run.pipeline),
        escape(&run.run_id),
        escape(&run.pipeline),
        escape(&run.run_id),
        escape(run.status.as_str()),
    );
    for (id, title) in SECTIONS {
        let _ = write!(out, "<a href=\"#{id}\">{title}</a>");
    }
    out.push_str("</nav></div></header>\n<main class=\"wrap\">\n");
    summary(&mut out, data);
    progress(&mut out, data, charts);
    scores(&mut out, charts);
    features(&mut out, data, charts);
    search_tree(&mut out, data, charts);
    operations(&mut out, data, charts);
    timing(&mut out, data, charts);
    let _ = write!(
        out,
        "</main>\n<footer class=\"wrap\">Generated by flow {} from the results of run <code>{}</code>. \
         This file is self-contained: it loads nothing from the network.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&run.run_id)
    );
    out
}

fn open_section(out: &mut String, id: &str) {
    let title = SECTIONS
        .iter()
        .find(|(i, _)| *i == id)
        .map_or(id, |(_, t)| t);
    let _ = write!(out, "<section id=\"{id}\">\n<h2>{title}</h2>\n");
}

/// A plot in a figure with its caption and notes, or a sentence saying why there is none.
fn figure(out: &mut String, name: &str, chart: Option<&Chart>, caption: &str, empty: &str) {
    match chart {
        Some(chart) => {
            let _ = write!(
                out,
                "<figure class=\"chart\" id=\"chart-{name}\" data-chart=\"{name}\">\n{}\n<figcaption>{caption}",
                chart.svg
            );
            for note in &chart.notes {
                let _ = write!(out, " {}", escape(note));
            }
            out.push_str("</figcaption>\n</figure>\n");
        }
        None => {
            let _ = writeln!(out, "<p class=\"muted\">{empty}</p>");
        }
    }
}

/// The card of the uplift on the held-out rows, when they were scored.
fn held_out_card(run: &RunManifest) -> String {
    let Some(uplift) = run.confirm_uplift.filter(|u| u.is_finite()) else {
        return String::new();
    };
    let class = if uplift > 0.0 {
        "good"
    } else if uplift < 0.0 {
        "bad"
    } else {
        ""
    };
    format!(
        "<div class=\"card\"><div class=\"label\">uplift on held-out rows</div>\
         <div class=\"value {class}\">{:+.2}%</div></div>",
        uplift * 100.0
    )
}

/// What the held-out rows say: their scores, why there are none, or that the pipeline
/// holds none out.
fn held_out_fact(run: &RunManifest) -> String {
    match (run.confirm_rows, &run.confirm_note) {
        (Some(rows), _) => {
            let verdict = if flow_runtime::store::unconfirmed(run).is_some() {
                "; not confirmed, so <code>flow export</code> and <code>flow apply</code> give \
                 the base columns alone (<code>--unconfirmed</code> gives the features)"
            } else {
                ""
            };
            let support = run.confirm_support.map_or(String::new(), |s| {
                format!(" (better on {:.0} % of resamples of those rows)", s * 100.0)
            });
            format!(
                "{} on {rows} rows the search never saw: baseline {} → best {}{support}{verdict}",
                escape(&run.held_out_label()),
                score(run.confirm_baseline),
                score(run.confirm_best)
            )
        }
        (None, Some(why)) => format!("not scored: {}", escape(why)),
        (None, None) => "none (the pipeline sets <code>confirm #false</code>: the scores above \
             are cross-validated on the rows searched)"
            .to_owned(),
    }
}

fn summary(out: &mut String, data: &ReportData) {
    let run = &data.run;
    open_section(out, "summary");
    let uplift = run.uplift.filter(|u| u.is_finite());
    let class = match uplift {
        Some(u) if u > 0.0 => "good",
        Some(u) if u < 0.0 => "bad",
        _ => "",
    };
    let metric = run.metric.as_deref().unwrap_or("score");
    let _ = writeln!(
        out,
        "<div class=\"cards\">\
         <div class=\"card\"><div class=\"label\">baseline {metric}</div><div class=\"value\">{}</div></div>\
         <div class=\"card\"><div class=\"label\">best {metric}</div><div class=\"value\">{}</div></div>\
         <div class=\"card\"><div class=\"label\">uplift over the baseline</div><div class=\"value {class}\">{}</div></div>\
         {}\
         <div class=\"card\"><div class=\"label\">evaluations</div><div class=\"value\">{}</div></div>\
         </div>",
        score(run.baseline),
        score(run.best_score),
        uplift.map_or_else(|| "–".to_owned(), |u| format!("{:+.2}%", u * 100.0)),
        held_out_card(run),
        run.evaluations,
        metric = escape(metric),
    );
    let direction = if run.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    let cv = spec::cv_scheme(&run.canonical_spec).unwrap_or_else(|| "–".to_owned());
    let finished = run
        .finished_at
        .map_or_else(|| "not finished".to_owned(), utc);
    let rows: Vec<(&str, String)> = vec![
        (
            "pipeline",
            format!(
                "{} <span class=\"muted\">({})</span>",
                escape(&run.pipeline),
                escape(&run.pipeline_path)
            ),
        ),
        (
            "data",
            format!("<code>{}</code>", escape(&run.data_location)),
        ),
        (
            "data fingerprint",
            format!("<code>{}</code>", escape(&run.data_fingerprint)),
        ),
        (
            "target",
            format!(
                "<code>{}</code> · {} input columns",
                escape(&run.target),
                run.input_columns.len()
            ),
        ),
        ("model", escape(&run.model)),
        ("metric", format!("{} ({direction})", escape(metric))),
        ("cross-validation", escape(&cv)),
        (
            "budget",
            escape(&spec::budget(&run.canonical_spec, run.iterations)),
        ),
        (
            "evaluations",
            format!(
                "{} scored · {} failed · {} candidates rejected · {} cache hits",
                run.evaluations, run.failed, run.rejected, run.cache_hits
            ),
        ),
        ("status", escape(run.status.as_str())),
        ("started", utc(run.created_at)),
        ("finished", finished),
        ("duration", duration_words(run.duration_ms)),
        (
            "baseline → best",
            format!("{} → {}", score(run.baseline), score(run.best_score)),
        ),
        ("held-out rows", held_out_fact(run)),
        (
            "stopped",
            run.stop_description()
                .map_or_else(|| "—".to_owned(), |why| escape(&why)),
        ),
        ("seed", run.seed.to_string()),
        (
            "spec hash",
            format!("<code>{}</code>", escape(&run.spec_hash)),
        ),
        ("run id", format!("<code>{}</code>", escape(&run.run_id))),
        (
            "versions",
            format!(
                "flow {} · DataFusion {}",
                escape(&run.flow_version),
                escape(&run.datafusion_version)
            ),
        ),
    ];
    out.push_str("<table class=\"facts\">\n");
    for (label, value) in rows {
        let _ = writeln!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
    }
    if let Some(error) = &run.error {
        let _ = writeln!(out, "<tr><th>error</th><td>{}</td></tr>", escape(error));
    }
    out.push_str("</table>\n</section>\n");
}

fn progress(out: &mut String, data: &ReportData, charts: &Charts) {
    open_section(out, "progress");
    let improvements = if data.run.higher_is_better {
        "rises"
    } else {
        "falls"
    };
    figure(
        out,
        "progress",
        charts.progress.as_ref(),
        &format!(
            "The line is the best cross-validated score found so far; it {improvements} when a feature set beats every earlier one. Each point is one scored evaluation; the dashed line is the baseline (the base columns alone)."
        ),
        "The run has no scored evaluation to plot.",
    );
    out.push_str("</section>\n");
}

fn scores(out: &mut String, charts: &Charts) {
    open_section(out, "scores");
    figure(
        out,
        "scores",
        charts.scores.as_ref(),
        "How the scores of all scored evaluations are spread, with the baseline and the best score marked.",
        "The run has no scored evaluation to plot.",
    );
    out.push_str("</section>\n");
}

fn features(out: &mut String, data: &ReportData, charts: &Charts) {
    open_section(out, "features");
    out.push_str("<h3>Importance in the best feature set</h3>\n");
    figure(
        out,
        "importance",
        charts.importance.as_ref(),
        "Each feature's share of the model's importance in the best feature set (gain for trees, permutation for linear models).",
        "The run recorded no importance for its best feature set.",
    );
    let _ = write!(
        out,
        "<h3>Top features</h3>\n<p class=\"note\">The {} best of the {} features the search built, by the best score of a feature set containing them.</p>\n",
        data.top_features.len().min(TOP_FEATURES),
        data.features_total
    );
    if data.top_features.is_empty() {
        out.push_str("<p class=\"muted\">The search built no feature that could be scored.</p>\n");
    } else {
        out.push_str(
            "<table id=\"top-features\">\n<tr><th class=\"num\">#</th><th>feature</th><th>SQL</th><th>operation</th>\
             <th class=\"num\">sets</th><th class=\"num\">best score</th><th class=\"num\">mean importance</th></tr>\n",
        );
        for (rank, f) in data.top_features.iter().enumerate() {
            let _ = writeln!(
                out,
                "<tr><td class=\"num\">{}</td><td class=\"feature\"><code>{}</code></td><td><code>{}</code></td><td>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                rank + 1,
                escape(&f.name),
                escape(&f.sql),
                escape(&f.operation),
                f.evaluations,
                score(f.best_score),
                f.mean_importance
                    .filter(|v| v.is_finite())
                    .map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", v * 100.0)),
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h3>The best feature set as SQL</h3>\n");
    match &data.best_select {
        Ok(sql) => {
            let _ = write!(
                out,
                "<p class=\"note\">What <code>flow export</code> prints: run it over a table named <code>dataset</code>.</p>\n<pre id=\"best-sql\"><code>{}</code></pre>\n",
                escape(sql.trim_end())
            );
        }
        Err(why) => {
            let _ = write!(
                out,
                "<p class=\"note\">{}</p>\n<pre id=\"best-sql\"><code>",
                escape(why)
            );
            for (name, sql) in data
                .run
                .best_features
                .iter()
                .zip(&data.run.best_feature_sql)
            {
                let _ = writeln!(out, "{}  -- {}", escape(sql), escape(name));
            }
            out.push_str("</code></pre>\n");
        }
    }
    out.push_str("</section>\n");
}

fn search_tree(out: &mut String, data: &ReportData, charts: &Charts) {
    open_section(out, "tree");
    figure(
        out,
        "tree",
        charts.tree.as_ref(),
        "Each circle is a feature set; its children add one feature. Area grows with visits (evaluations in the subtree), colour shows the mean reward of the subtree, and the outlined path leads to the best feature set.",
        "The run stored no search tree.",
    );
    let path: Vec<&str> = data
        .nodes
        .iter()
        .filter(|n| data.best_path.contains(&n.node_id))
        .filter_map(|n| n.feature.as_deref().filter(|f| !f.is_empty()))
        .collect();
    if !path.is_empty() {
        out.push_str("<p class=\"note\">The path to the best set adds, in order: ");
        let names: Vec<String> = path
            .iter()
            .map(|f| format!("<code>{}</code>", escape(f)))
            .collect();
        out.push_str(&names.join(" → "));
        out.push_str("</p>\n");
    }
    out.push_str("</section>\n");
}

fn operations(out: &mut String, data: &ReportData, charts: &Charts) {
    open_section(out, "operations");
    figure(
        out,
        "operations",
        charts.operations.as_ref(),
        "Nodes per operation (the operation at the top of the node's new feature), coloured by category; the pale part of a bar counts rejected candidates. Operations outside the standard library are under “other”: the run store does not record their category.",
        "The search built no feature.",
    );
    if !data.operations.is_empty() {
        let mut categories: Vec<(&str, usize, u64, u64)> = Vec::new();
        for u in &data.operations {
            match categories.last_mut() {
                Some(last) if last.0 == u.category => {
                    last.1 += 1;
                    last.2 += u.evaluated;
                    last.3 += u.rejected;
                }
                _ => categories.push((&u.category, 1, u.evaluated, u.rejected)),
            }
        }
        out.push_str(
            "<table id=\"categories\">\n<tr><th>category</th><th class=\"num\">operations used</th>\
             <th class=\"num\">nodes scored</th><th class=\"num\">rejected</th></tr>\n",
        );
        for (category, ops, evaluated, rejected) in categories {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{ops}</td><td class=\"num\">{evaluated}</td><td class=\"num\">{rejected}</td></tr>",
                escape(category)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

fn timing(out: &mut String, data: &ReportData, charts: &Charts) {
    open_section(out, "timing");
    let caption = if data.timing_split {
        "Time spent on the nodes of each stretch of iterations: computing their new features, fitting and scoring the model, and the rest."
    } else {
        "Time spent on the nodes of each stretch of iterations. The split between feature computation and model fitting was not recorded for this run (its flow version did not log it), so only totals are shown."
    };
    figure(
        out,
        "timing",
        charts.timing.as_ref(),
        caption,
        "The run has no evaluation log.",
    );
    let total: f64 = data.evaluations.iter().map(|e| e.duration_ms).sum();
    let mut rows: Vec<(&str, f64)> = Vec::new();
    if data.timing_split {
        let feature: f64 = data.evaluations.iter().filter_map(|e| e.feature_ms).sum();
        let fit: f64 = data.evaluations.iter().filter_map(|e| e.fit_ms).sum();
        rows.push(("feature computation", feature));
        rows.push(("model fitting and scoring", fit));
        let other = total - feature - fit;
        if other >= 1.0 {
            rows.push(("other", other));
        }
    }
    rows.push(("all nodes", total));
    out.push_str(
        "<table id=\"timing-totals\">\n<tr><th>time on</th><th class=\"num\">total</th><th class=\"num\">share</th></tr>\n",
    );
    for (label, ms) in rows {
        let share = if total > 0.0 { ms / total * 100.0 } else { 0.0 };
        let _ = writeln!(
            out,
            "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{share:.0}%</td></tr>",
            duration_words(ms)
        );
    }
    let _ = writeln!(
        out,
        "</table>\n<p class=\"note\">The search took {} of wall time; nodes are evaluated in parallel, so their times can add up to more.</p>",
        duration_words(data.run.duration_ms)
    );
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_html_treats_specially_is_escaped() {
        assert_eq!(
            escape(r#"<a href='x'>"&"</a>"#),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_033_305_000_000), "2026-11-30 10:08:25 UTC");
    }
}
