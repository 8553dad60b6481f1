//! End-to-end tests of `flow report`: real runs, the real binary, and the page as headless
//! Chromium renders it. A probe script, added to a copy of the report, measures every
//! section and every plot (its rendered size, its visible text, and its coloured marks —
//! plots draw data in colour and their frame in greys) and leaves the numbers in the DOM
//! that `--dump-dom` prints.

use std::path::{Path, PathBuf};

mod common;

use common::{flow, repo, s3_location, text};

/// The sections of the report, by `id`.
const SECTIONS: [&str; 7] = [
    "summary",
    "progress",
    "scores",
    "features",
    "tree",
    "operations",
    "timing",
];

/// The plots, with how many coloured marks each must show at least.
const PLOTS: [(&str, u64); 6] = [
    ("progress", 3),
    ("scores", 2),
    ("importance", 2),
    ("tree", 5),
    ("operations", 2),
    ("timing", 2),
];

/// Measures the rendered page into a JSON `<script id="probe">` at the end of the body.
const PROBE: &str = r#"<script>
(function () {
  function grey(colour) {
    var m = /rgba?\(([^)]*)\)/.exec(colour);
    if (!m) return true;
    var p = m[1].split(',').map(parseFloat);
    if (p.length === 4 && p[3] === 0) return true;
    return p[0] === p[1] && p[1] === p[2];
  }
  var out = { sections: {}, charts: {}, injected: 0 };
  document.querySelectorAll('section[id]').forEach(function (s) {
    var h = s.querySelector('h2');
    out.sections[s.id] = { height: s.getBoundingClientRect().height, heading: h ? h.textContent : '' };
  });
  document.querySelectorAll('figure[data-chart]').forEach(function (f) {
    var svg = f.querySelector('svg');
    var box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    var marks = 0, texts = 0;
    if (svg) {
      svg.querySelectorAll('circle, rect, polyline, polygon, path, line').forEach(function (e) {
        var b = e.getBoundingClientRect();
        if (b.width <= 0 && b.height <= 0) return;
        var st = getComputedStyle(e);
        var fill = st.fill !== 'none' && !grey(st.fill) && parseFloat(st.fillOpacity) > 0;
        var stroke = st.stroke !== 'none' && !grey(st.stroke) && parseFloat(st.strokeOpacity) > 0;
        if ((fill || stroke) && parseFloat(st.opacity) > 0) marks++;
      });
      svg.querySelectorAll('text').forEach(function (t) {
        var b = t.getBoundingClientRect();
        if (b.width > 0 && b.height > 0) texts++;
      });
    }
    out.charts[f.getAttribute('data-chart')] = { width: box.width, height: box.height, marks: marks, texts: texts };
  });
  out.injected = document.querySelectorAll('main img, main b, main iframe, main object, main script').length;
  var s = document.createElement('script');
  s.type = 'application/json';
  s.id = 'probe';
  s.textContent = JSON.stringify(out);
  document.body.appendChild(s);
})();
</script>"#;

/// A plot frame without data, as plotters draws one: axes, grid and labels in greys. The
/// probe must count no marks in it, or it could not tell an empty plot from a full one.
const EMPTY_PLOT: &str = r##"<figure data-chart="empty-control"><svg width="400" height="200" viewBox="0 0 400 200" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="400" height="200" opacity="1" fill="#FFFFFF" stroke="none"/>
<polyline fill="none" opacity="0.2" stroke="#000000" stroke-width="1" points="40,20 40,180 380,180 "/>
<line opacity="1" stroke="#444444" stroke-width="1" x1="40" y1="100" x2="380" y2="100"/>
<text x="20" y="100" dy="0.5ex" text-anchor="end" font-family="sans-serif" font-size="12" opacity="1" fill="#444444">54.2</text>
</svg></figure>"##;

/// Chromium from `FLOW_TEST_CHROMIUM`, as scripts/test.sh sets it.
fn chromium() -> PathBuf {
    match std::env::var("FLOW_TEST_CHROMIUM") {
        Ok(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "the report tests need headless Chromium: run them through scripts/test.sh, or \
             export FLOW_TEST_CHROMIUM=\"$(scripts/chromium.sh)\""
        ),
    }
}

/// Runs `pipeline` with `iterations` into `dir/out`; returns that location.
fn stored_run(dir: &Path, pipeline: &Path, iterations: u32) -> String {
    let output = dir.join("out");
    let out = flow()
        .arg("run")
        .arg(pipeline)
        .arg("-S")
        .arg(format!("search.iterations={iterations}"))
        .arg("-S")
        .arg(format!("output={}", output.display()))
        .arg("--quiet")
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    output.display().to_string()
}

/// `flow report <location> -o <dir>/report.html`; returns the page.
fn report(dir: &Path, location: &str) -> String {
    let file = dir.join("report.html");
    let out = flow()
        .args(["report", location, "-o"])
        .arg(&file)
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(&file).expect("the report is written")
}

/// The page as Chromium rendered it: the probe's measurements.
fn render(dir: &Path, html: &str, extra_body: &str) -> serde_json::Value {
    let probed = html.replacen("</body>", &format!("{extra_body}{PROBE}</body>"), 1);
    assert_ne!(probed, html, "the report has a </body>");
    let page = dir.join("probed.html");
    std::fs::write(&page, probed).expect("temp dir is writable");
    let profile = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("Chromium starts");
    let dom = text(&out.stdout);
    let start = dom
        .find("id=\"probe\">")
        .unwrap_or_else(|| panic!("Chromium ran the probe; stderr: {}", text(&out.stderr)))
        + "id=\"probe\">".len();
    let end = start + dom[start..].find("</script>").expect("the probe closes");
    serde_json::from_str(&dom[start..end]).expect("the probe wrote JSON")
}

fn number(value: &serde_json::Value, path: &[&str]) -> f64 {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    at.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is a number in {value}"))
}

/// Attributes that could load something: `src="…"`, `href="…"`.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\"", "src='", "href='"] {
        for (at, _) in html.match_indices(attribute) {
            let value: String = html[at + attribute.len()..]
                .chars()
                .take_while(|c| *c != '"' && *c != '\'')
                .collect();
            found.push(value);
        }
    }
    found
}

#[test]
fn the_report_of_a_real_run_shows_every_section_and_plot_in_chromium() {
    let chromium = chromium();
    assert!(chromium.exists(), "{} exists", chromium.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let location = stored_run(dir.path(), &repo().join("examples/diabetes.kdl"), 30);

    // Without -o the report is named after the run, in the working directory.
    let out = flow()
        .args(["report", &location])
        .current_dir(dir.path())
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let name = said
        .split_whitespace()
        .find(|w| w.starts_with("report-") && w.ends_with(".html"))
        .unwrap_or_else(|| panic!("flow report says where the report went: {said}"))
        .to_owned();
    let html = std::fs::read_to_string(dir.path().join(&name)).expect("the named file exists");
    let run_id = &name["report-".len()..name.len() - ".html".len()];
    assert_eq!(run_id.len(), 16, "{name}");
    assert!(html.contains(run_id));
    assert!(html.contains("diabetes-progression"));
    assert!(
        html.contains("k-fold folds=5"),
        "the CV scheme is in the summary"
    );

    // Self-contained: nothing that loads from elsewhere, and no script of its own.
    let external: Vec<String> = links(&html)
        .into_iter()
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(external.is_empty(), "the report links out: {external:?}");
    assert!(!html.contains("@import"));
    assert!(!html.contains("url("));
    assert!(!html.contains("<script"));
    assert!(!html.contains("<link"));
    assert!(html.len() < 1_000_000, "{} bytes", html.len());

    // `-o -` prints the page instead.
    let out = flow()
        .args(["report", &location, "-o", "-"])
        .output()
        .expect("flow runs");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), html);

    let rendered = render(dir.path(), &html, EMPTY_PLOT);
    for id in SECTIONS {
        let height = number(&rendered, &["sections", id, "height"]);
        assert!(height > 40.0, "section #{id} is shown: {rendered}");
    }
    for (plot, marks) in PLOTS {
        let width = number(&rendered, &["charts", plot, "width"]);
        let height = number(&rendered, &["charts", plot, "height"]);
        assert!(
            width > 300.0 && height > 120.0,
            "plot {plot} is drawn at a readable size: {rendered}"
        );
        let drawn = number(&rendered, &["charts", plot, "marks"]);
        assert!(
            drawn >= marks as f64,
            "plot {plot} shows data ({drawn} marks): {rendered}"
        );
        let texts = number(&rendered, &["charts", plot, "texts"]);
        assert!(texts >= 3.0, "plot {plot} has visible labels: {rendered}");
    }
    assert_eq!(
        number(&rendered, &["charts", "empty-control", "marks"]),
        0.0,
        "the probe tells an empty frame from a plot: {rendered}"
    );
    assert!(number(&rendered, &["charts", "empty-control", "texts"]) >= 1.0);

    // A prefix picks the run; an unknown one is the user's to fix.
    let html_by_prefix = report(dir.path(), &location);
    assert!(html_by_prefix.contains(run_id));
    let out = flow()
        .args(["report", &location, "--run", "ffff", "-o"])
        .arg(dir.path().join("never.html"))
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("flow::run-not-found"), "{stderr}");
    assert!(stderr.contains("there is no run `ffff`"), "{stderr}");
    assert!(!dir.path().join("never.html").exists());

    // A place that cannot be written is the user's to fix too.
    let out = flow()
        .args(["report", &location, "-o"])
        .arg(dir.path().join("missing-dir/report.html"))
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("flow::write-output"));
}

#[test]
fn hostile_names_and_sql_are_escaped_in_the_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hostile_a = "<img src=x onerror=alert(1)>";
    let hostile_b = "a&b \"q\" 'z' </td>";
    let mut csv = format!(
        "\"{}\",\"{}\",t\n",
        hostile_a,
        hostile_b.replace('"', "\"\"")
    );
    for i in 0..60 {
        let a = f64::from(i) * 0.5;
        let b = f64::from((i * 7) % 11);
        csv.push_str(&format!("{a},{b},{}\n", a * 2.0 + b * b));
    }
    std::fs::write(dir.path().join("d.csv"), csv).expect("temp dir is writable");
    let pipeline = dir.path().join("p.kdl");
    std::fs::write(
        &pipeline,
        r#"pipeline "<b>bold</b> & \"co\"" {
    dataset {
        source "d.csv"
        target "t"
    }
    space { use "std.numeric" "std.arithmetic" }
    evaluator { model "linear-regression"; cv "k-fold" folds=3 }
    search { iterations 10; seed 1 }
}
"#,
    )
    .expect("temp dir is writable");
    let location = stored_run(dir.path(), &pipeline, 10);
    let html = report(dir.path(), &location);

    assert!(
        !html.contains(hostile_a),
        "a raw column name reached the page"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<b>bold</b>"));
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;co&quot;"));
    assert!(html.contains("a&amp;b &quot;q&quot; &#39;z&#39; &lt;/td&gt;"));
    assert!(!html.contains("</td>\""), "a name closed a cell");

    // And Chromium builds no element from them.
    let rendered = render(dir.path(), &html, "");
    assert_eq!(
        number(&rendered, &["injected"]),
        0.0,
        "the page has elements made from data: {rendered}"
    );
    for id in SECTIONS {
        assert!(number(&rendered, &["sections", id, "height"]) > 40.0);
    }
}

#[test]
fn a_missing_location_is_a_diagnostic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = flow()
        .args(["report", "no-such-results"])
        .current_dir(dir.path())
        .output()
        .expect("flow runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("flow::results"), "{stderr}");
    assert!(stderr.contains("no-such-results"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("readable").count(), 0);
}

#[test]
fn runs_stored_on_s3_are_reported_too() {
    let location = s3_location("report-test");
    let out = flow()
        .arg("run")
        .arg(repo().join("examples/diabetes.kdl"))
        .args(["-S", "search.iterations=8", "--quiet", "-S"])
        .arg(format!("output={location}"))
        .output()
        .expect("flow runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().expect("temp dir");
    let html = report(dir.path(), &location);
    for id in SECTIONS {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "#{id}");
    }
    for (plot, _) in PLOTS {
        assert!(
            html.contains(&format!("data-chart=\"{plot}\"")),
            "plot {plot} is in the report of an S3 run"
        );
    }
}
