//! What a run's canonical spec (`runs.canonical_spec`) tells the report beyond the manifest:
//! the cross-validation scheme, the search budget, and which operations are the standard
//! library's (whose category is known).

use flow_stdlib::Catalog;

/// The category shown for operations whose category the run does not record.
pub const OTHER_CATEGORY: &str = "other";

/// The line of the canonical text that starts with `keyword ` (`evaluator`, `search`).
fn line<'a>(canonical: &'a str, keyword: &str) -> Option<&'a str> {
    canonical
        .lines()
        .find(|l| l.strip_prefix(keyword).is_some_and(|r| r.starts_with(' ')))
}

/// The value of ` key=value` on a canonical line (values written there have no spaces).
fn property<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    line[at..].split(' ').next()
}

/// The CV scheme as the canonical text writes it (`k-fold folds=5`), without its seed.
pub fn cv_scheme(canonical: &str) -> Option<String> {
    let evaluator = line(canonical, "evaluator")?;
    let at = evaluator.find(" cv=")? + " cv=".len();
    let scheme = &evaluator[at..];
    let scheme = scheme.split(" cv-seed=").next().unwrap_or(scheme);
    Some(scheme.trim().to_owned())
}

/// The search budget in words: iterations, and the time limit and patience when set.
pub fn budget(canonical: &str, iterations: u64) -> String {
    let mut parts = vec![format!("{iterations} iterations")];
    if let Some(search) = line(canonical, "search") {
        if let Some(ms) = property(search, "time-limit-ms").and_then(|v| v.parse::<u64>().ok()) {
            parts.push(format!("time limit {}", duration_words(ms as f64)));
        }
        if let Some(patience) = property(search, "patience") {
            parts.push(format!("patience {patience}"));
        }
    }
    parts.join(" · ")
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn duration_words(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "–".to_owned();
    }
    if ms < 1000.0 {
        return format!("{ms:.0} ms");
    }
    let seconds = ms / 1000.0;
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
    }
}

/// The category of operation `op`: the standard library's, when the run used the library's
/// definition; [`OTHER_CATEGORY`] for user-defined operations (and for a user definition
/// that replaced a library operation), since the run store does not record theirs.
pub fn operation_category(catalog: &Catalog, canonical: &str, op: &str) -> String {
    let Some((_, spec)) = catalog.operation(op) else {
        return OTHER_CATEGORY.to_owned();
    };
    // The canonical text holds every operation of the space with its SQL template; a
    // different template under a library name is the user's replacement.
    let prefix = format!("op {op:?} ");
    let template = format!(" sql={:?} ", spec.template.value.text);
    let replaced = canonical
        .lines()
        .find(|l| l.starts_with(&prefix))
        .is_some_and(|l| !l.contains(&template));
    match &spec.category {
        Some(category) if !replaced => category.clone(),
        _ => OTHER_CATEGORY.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: &str = "canonical-version 1\n\
        op \"log\" input:x=numeric sql=\"signum(CAST({x} AS DOUBLE)) * ln(1 + abs(CAST({x} AS DOUBLE)))\" output=numeric weight=1.0 commutative=false\n\
        op \"sqrt\" input:x=numeric sql=\"{x} * 2\" output=numeric weight=1.0 commutative=false\n\
        evaluator model=linear-regression metric=rmse cv=k-fold folds=5 cv-seed=42\n\
        search iterations=30 exploration=1.4 seed=42 time-limit-ms=300000 patience=60\n";

    #[test]
    fn cv_and_budget_are_read_from_the_canonical_text() {
        assert_eq!(cv_scheme(CANONICAL).as_deref(), Some("k-fold folds=5"));
        assert_eq!(
            budget(CANONICAL, 30),
            "30 iterations · time limit 5 min 00 s · patience 60"
        );
        assert_eq!(budget("", 7), "7 iterations");
        assert_eq!(cv_scheme("evaluator model=x"), None);
    }

    #[test]
    fn library_operations_have_their_category_and_replacements_do_not() {
        let catalog = Catalog::load();
        assert_eq!(operation_category(&catalog, CANONICAL, "log"), "numeric");
        // `sqrt` is in the canonical text with another template: the user's own.
        assert_eq!(operation_category(&catalog, CANONICAL, "sqrt"), "other");
        assert_eq!(operation_category(&catalog, CANONICAL, "my-op"), "other");
        // An operation the canonical text does not list is taken as the library's.
        assert_eq!(
            operation_category(&catalog, CANONICAL, "ratio"),
            "arithmetic"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(850.0), "850 ms");
        assert_eq!(duration_words(12_345.0), "12.3 s");
        assert_eq!(duration_words(245_000.0), "4 min 05 s");
        assert_eq!(duration_words(7_380_000.0), "2 h 03 min");
        assert_eq!(duration_words(f64::NAN), "–");
    }
}
