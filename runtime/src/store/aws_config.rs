//! The shared AWS config files (`~/.aws/credentials`, `~/.aws/config`), read for what the
//! environment leaves unset, so a machine set up for the AWS CLI works with flow as is.

use std::collections::HashMap;
use std::path::PathBuf;

use object_store::aws::AmazonS3Builder;

/// Fills credentials, region and endpoint from the profile `AWS_PROFILE` (or `default`)
/// where the environment does not set them.
pub fn apply_profile(mut builder: AmazonS3Builder) -> AmazonS3Builder {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let home = env("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let mut settings = HashMap::new();
    // `config` names profiles `[profile x]` (but `[default]`); `credentials` names them `[x]`.
    if let Some(text) = file("AWS_CONFIG_FILE", "config").and_then(|p| read(&p)) {
        let section = if profile == "default" {
            profile.clone()
        } else {
            format!("profile {profile}")
        };
        settings.extend(section_of(&text, &section));
    }
    if let Some(text) = file("AWS_SHARED_CREDENTIALS_FILE", "credentials").and_then(|p| read(&p)) {
        settings.extend(section_of(&text, &profile));
    }
    let from_file = |key: &str, var: &str| settings.get(key).filter(|_| env(var).is_none());
    if let Some(v) = from_file("aws_access_key_id", "AWS_ACCESS_KEY_ID") {
        builder = builder.with_access_key_id(v);
    }
    if let Some(v) = from_file("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY") {
        builder = builder.with_secret_access_key(v);
    }
    if let Some(v) = from_file("aws_session_token", "AWS_SESSION_TOKEN") {
        builder = builder.with_token(v);
    }
    if let Some(v) =
        from_file("region", "AWS_REGION").filter(|_| env("AWS_DEFAULT_REGION").is_none())
    {
        builder = builder.with_region(v);
    }
    if let Some(v) =
        from_file("endpoint_url", "AWS_ENDPOINT_URL").filter(|_| env("AWS_ENDPOINT").is_none())
    {
        builder = builder.with_endpoint(v);
    }
    builder
}

fn read(path: &PathBuf) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The `key = value` pairs of `[section]` in an INI-style AWS file.
fn section_of(text: &str, section: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            out.insert(key.trim().to_lowercase(), value.trim().to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::section_of;

    #[test]
    fn reads_the_named_section_only() {
        let text = "[default]\naws_access_key_id = A\n\n[profile ci]\nregion=eu-west-1\n# c\nendpoint_url = http://x\n";
        let ci = section_of(text, "profile ci");
        assert_eq!(ci.get("region").map(String::as_str), Some("eu-west-1"));
        assert_eq!(ci.get("endpoint_url").map(String::as_str), Some("http://x"));
        assert!(!ci.contains_key("aws_access_key_id"));
        assert_eq!(
            section_of(text, "default")
                .get("aws_access_key_id")
                .map(String::as_str),
            Some("A")
        );
    }
}
