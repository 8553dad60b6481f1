//! Human literals: durations (`90s`, `15m`, `1h30m`) and sizes (`512MiB`, `2GB`).

use std::time::Duration;

/// Parses a duration made of `<number><unit>` parts: `ms`, `s`, `m`, `h`, `d`.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(flow_dsl::parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert!(flow_dsl::parse_duration("15 minutes").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the duration is empty".to_owned());
    }
    if text.contains(char::is_whitespace) {
        return Err("spaces are not allowed in a duration".to_owned());
    }
    let mut total_ms: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{}` is not a number", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let unit_ms = match unit {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "" => return Err(format!("`{number}` has no unit")),
            other => return Err(format!("unknown unit `{other}`")),
        };
        rest = &rest[unit_len..];
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let part = (number * unit_ms).round() as u128;
        total_ms = total_ms.saturating_add(part);
    }
    let ms = u64::try_from(total_ms).map_err(|_| "the duration is too long".to_owned())?;
    Ok(Duration::from_millis(ms))
}

/// Parses a size in bytes: `<number><unit>` with `B`, `KB`/`MB`/`GB`/`TB` (powers of
/// 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024).
///
/// ```
/// assert_eq!(flow_dsl::parse_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
/// assert!(flow_dsl::parse_size("2 gigs").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    if split == 0 {
        return Err("expected a number first".to_owned());
    }
    let number: f64 = text[..split]
        .parse()
        .map_err(|_| format!("`{}` is not a number", &text[..split]))?;
    let unit: u64 = match text[split..].trim_start() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => return Err(format!("unknown unit `{other}`")),
    };
    #[allow(clippy::cast_precision_loss)]
    let bytes = number * unit as f64;
    if bytes > u64::MAX as f64 {
        return Err("the size is too large".to_owned());
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_combine_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
    }

    #[test]
    fn malformed_durations_say_why() {
        assert_eq!(parse_duration("15"), Err("`15` has no unit".to_owned()));
        assert_eq!(
            parse_duration("15 minutes"),
            Err("spaces are not allowed in a duration".to_owned())
        );
        assert_eq!(parse_duration("10y"), Err("unknown unit `y`".to_owned()));
        assert_eq!(
            parse_duration("m"),
            Err("expected a number at `m`".to_owned())
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes_know_decimal_and_binary_units() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("2 gigs"), Err("unknown unit `gigs`".to_owned()));
        assert!(parse_size("GiB").is_err());
    }
}
