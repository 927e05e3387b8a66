//! Validation of names, refs and repository paths that reach Gitea URLs.
//!
//! A path is percent-decoded until stable (so `%2e%2e/` and `%252e%252e/` are seen as
//! `../`), then refused if any segment is `..`, or it holds a backslash or a control
//! character; `.` and empty segments are dropped. The result is the canonical form every
//! later check (policy, audit) sees. Normalising a normalised path changes nothing.

use percent_encoding::percent_decode_str;

/// Longest path accepted, in bytes (Gitea's own limit is far above any real tree).
const MAX_PATH: usize = 4096;

/// The canonical repository-relative form of `raw`, or why it is refused.
pub fn normalize_repo_path(raw: &str) -> Result<String, String> {
    if raw.len() > MAX_PATH {
        return Err(format!("`filepath` is longer than {MAX_PATH} bytes"));
    }
    let mut decoded = raw.to_string();
    let mut stable = false;
    for _ in 0..4 {
        let next = percent_decode_str(&decoded)
            .decode_utf8()
            .map_err(|_| "`filepath` is not valid UTF-8 once percent-decoded".to_string())?
            .into_owned();
        if next == decoded {
            stable = true;
            break;
        }
        decoded = next;
    }
    if !stable {
        return Err("`filepath` is percent-encoded too many times".into());
    }
    if decoded.chars().any(|c| c.is_control()) {
        return Err("`filepath` contains a control character".into());
    }
    if decoded.contains('\\') {
        return Err("`filepath` contains a backslash; use `/` between directories".into());
    }
    let mut segments = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => continue,
            ".." => {
                return Err(format!(
                    "`filepath` `{}` leaves the repository (`..` is not allowed)",
                    raw.escape_default()
                ))
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return Err("`filepath` is empty; name a file such as `README.md`".into());
    }
    Ok(segments.join("/"))
}

/// Owner and repository names: Gitea's alphabet, never `.`/`..`.
pub fn validate_name(field: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{field}` must be a Gitea name (letters, digits, `-`, `_`, `.`), got `{}`",
            value.escape_default()
        ))
    }
}

/// A branch, tag or sha as git allows it (the subset that can safely sit in a URL).
pub fn validate_ref(field: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    // Git reads a leading `-` as an option (`--upload-pack=...`, `-D`); no ref, branch
    // or sha starts with one, so it never reaches Gitea.
    if v.starts_with('-') {
        return Err(format!(
            "`{field}` `{}` starts with `-`: refs, branch names and shas never do",
            value.escape_default()
        ));
    }
    let ok = !v.is_empty()
        && v.len() <= 255
        && !v.starts_with('/')
        && !v.ends_with('/')
        && !v.contains("..")
        && !v.contains("//")
        && !v.ends_with(".lock")
        && !v
            .chars()
            .any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "`{field}` `{}` is not a valid git ref",
            value.escape_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        let cases: &[(&str, Option<&str>)] = &[
            ("README.md", Some("README.md")),
            ("src/main.rs", Some("src/main.rs")),
            ("./src//main.rs", Some("src/main.rs")),
            ("/src/main.rs", Some("src/main.rs")),
            ("src/./lib.rs", Some("src/lib.rs")),
            ("docs/a b.md", Some("docs/a b.md")),
            ("../../etc/passwd", None),
            ("src/../../etc/passwd", None),
            ("%2e%2e/%2e%2e/etc/passwd", None),
            ("%2E%2E%2Fetc%2Fpasswd", None),
            ("%252e%252e/etc/passwd", None),
            ("src\\..\\secret", None),
            ("a\0b", None),
            ("line\nbreak", None),
            ("", None),
            ("/", None),
            ("./", None),
        ];
        for (input, want) in cases {
            let got = normalize_repo_path(input).ok();
            assert_eq!(got.as_deref(), *want, "{input:?}");
            if let Some(ok) = got {
                assert_eq!(
                    normalize_repo_path(&ok).as_deref(),
                    Ok(ok.as_str()),
                    "idempotent"
                );
            }
        }
    }

    #[test]
    fn names_and_refs() {
        assert!(validate_name("owner", "acme").is_ok());
        assert!(validate_name("repo", "my.repo-1_x").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "a%2fb", "é"] {
            assert!(validate_name("repo", bad).is_err(), "{bad}");
        }
        for good in [
            "main",
            "feature/x",
            "v1.2.3",
            "0123456789abcdef0123456789abcdef01234567",
        ] {
            assert!(validate_ref("ref", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a..b",
            "/x",
            "x/",
            "a b",
            "x?y",
            "x:y",
            "refs//x",
            "-D",
            "--all",
            "--upload-pack=evil",
            " -f",
        ] {
            assert!(validate_ref("ref", bad).is_err(), "{bad}");
        }
    }
}
