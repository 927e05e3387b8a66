//! The checks that turn a pattern match into a finding, or drop it: entropy, placeholders,
//! documented examples, key names, and the span of a private-key body.
//!
//! Patterns say what a secret looks like; these functions say what it must not look like
//! (a placeholder, a type annotation, a file path, the example key of a provider's docs).
//! Everything here is pure and works on bytes already known to sit on `char` boundaries.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use regex::Captures;

use super::rules::{Check, Rule};

/// The longest private-key body we follow (a PGP key with subkeys is under 16 KiB).
const MAX_KEY_BODY: usize = 64 * 1024;
/// Base64 characters a private-key body needs: with an END marker, and without (truncated).
const MIN_KEY_BODY_B64: usize = 32;
const MIN_TRUNCATED_KEY_B64: usize = 64;
/// Shannon entropy (bits per character) below which a token is filler, not random.
const MIN_TOKEN_ENTROPY: f64 = 3.0;

/// Runs the rule's check on one match; returns the byte span to report, or `None`.
pub(super) fn accept(rule: &Rule, text: &str, caps: &Captures<'_>) -> Option<(usize, usize)> {
    let whole = caps.get(0)?;
    let secret = caps.name("s").unwrap_or(whole);
    let (start, end) = (secret.start(), secret.end());
    let value = secret.as_str();
    let bytes = text.as_bytes();
    let accepted = match rule.check {
        Check::Token => token_ok(bytes, start, value),
        Check::TokenMixedCase => {
            token_ok(bytes, start, value)
                && value.bytes().any(|b| b.is_ascii_uppercase())
                && value.bytes().any(|b| b.is_ascii_lowercase())
        }
        // The value's shape (hex, base64 of a fixed length) already excludes `<your-token>`
        // and friends; what remains is filler, caught by `token_ok`.
        Check::Keyed => {
            token_ok(bytes, start, value)
                && !bytes
                    .get(end)
                    .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        }
        Check::Assignment => return assignment(text, caps),
        Check::Bearer => bearer_ok(value),
        Check::BasicAuth => basic_auth_ok(value),
        Check::UrlPassword => url_password_ok(value),
        Check::PrivateKey => return private_key_span(bytes, whole.start(), whole.end()),
        Check::DiscordBot => discord_bot_ok(value),
        Check::AzureAdSecret => {
            let in_alphabet = |b: u8| b.is_ascii_alphanumeric() || b"_~.-".contains(&b);
            let glued_left = start > 0 && in_alphabet(bytes[start - 1]);
            let glued_right = bytes.get(end).is_some_and(|&b| in_alphabet(b));
            !glued_left && !glued_right
        }
    };
    accepted.then_some((start, end))
}

/// Shannon entropy of the bytes of `s`, in bits per byte.
pub(crate) fn shannon_entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = s.len() as f64;
    if len == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// A provider token is real unless it is a documented example, filler, or glued to a
/// longer word on its left with a dash (`cache-key-<md5>` is not a Mailgun key); `\b` in
/// the patterns already refuses letters and digits there.
fn token_ok(bytes: &[u8], start: usize, value: &str) -> bool {
    let glued = start >= 2 && bytes[start - 1] == b'-' && bytes[start - 2].is_ascii_alphanumeric();
    !glued
        && !is_documented_example(value)
        && !has_filler_run(value, 6)
        && shannon_entropy(value) >= MIN_TOKEN_ENTROPY
}

/// Providers' documentation uses keys with `EXAMPLE` in them (AWS's `AKIAIOSFODNN7EXAMPLE`
/// and `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`); they are published, hence not secret.
/// Seven fixed letters almost never occur in a random token, so real keys are not spared.
fn is_documented_example(value: &str) -> bool {
    contains_ignore_ascii_case(value, "example")
}

/// Whether `value` has `n` identical characters in a row (`XXXXXX`, `000000`).
fn has_filler_run(value: &str, n: usize) -> bool {
    let mut run = 0;
    let mut last = None;
    for b in value.bytes() {
        if Some(b) == last {
            run += 1;
        } else {
            run = 1;
            last = Some(b);
        }
        if run >= n {
            return true;
        }
    }
    false
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Values that stand for a secret without being one: template variables, documentation
/// fillers, masks (ours included, so redaction is idempotent), null-ish words.
pub(crate) fn is_placeholder(value: &str) -> bool {
    const EXACT: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "apikey",
        "api_key",
        "none",
        "null",
        "nil",
        "undefined",
        "true",
        "false",
        "required",
        "optional",
        "string",
        "hidden",
        "empty",
        "default",
        "value",
        "user",
        "username",
    ];
    const CONTAINS: &[&str] = &[
        "changeme",
        "change_me",
        "change-me",
        "changeit",
        "example",
        "dummy",
        "placeholder",
        "your_",
        "your-",
        "yourpass",
        "yoursecret",
        "yourtoken",
        "yourkey",
        "yourapikey",
        "xxx",
        "***",
        "...",
        "redacted",
        "[blocked",
        "not-a-real",
        "not_a_real",
        "notreal",
        "fake",
        "sample",
        "replace_me",
        "replaceme",
        "replace-me",
        "insert_",
        "insert-",
        "todo",
        "fixme",
        "foobar",
        "opensesame",
        "open sesame",
        "<",
        ">",
        "${",
        "{{",
        "}}",
        "$(",
        "%(",
        "%s",
        "{0}",
    ];
    let lower = value.to_ascii_lowercase();
    EXACT.contains(&lower.as_str())
        || CONTAINS.iter().any(|p| lower.contains(p))
        || value.starts_with(['$', '%'])
}

/// The documentation fillers long enough never to occur by chance in a random token, for
/// checks on machine-made values where the full placeholder list would spare real tokens
/// that happen to contain `todo` or `fake`.
fn is_doc_filler(value: &str) -> bool {
    const FILLERS: &[&str] = &[
        "example",
        "placeholder",
        "changeme",
        "your_",
        "your-",
        "redacted",
        "dummy",
        "xxxx",
    ];
    let lower = value.to_ascii_lowercase();
    FILLERS.iter().any(|p| lower.contains(p))
}

/// How many of lower, upper, digit, other a value mixes.
fn char_classes(value: &str) -> usize {
    let mut seen = [false; 4];
    for c in value.chars() {
        let i = if c.is_ascii_lowercase() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        };
        seen[i] = true;
    }
    seen.iter().filter(|&&s| s).count()
}

/// The entropy test for human-chosen values: at least 8 characters, two character
/// classes, and close to the maximum entropy their length allows (3 bits from 12 on).
pub(crate) fn looks_random(value: &str) -> bool {
    let len = value.chars().count();
    if len < 8 {
        return false;
    }
    let threshold = (0.85 * (len as f64).log2()).min(3.0);
    char_classes(value) >= 2 && shannon_entropy(value) >= threshold
}

/// A value that names where a secret is rather than holding it.
fn is_reference(value: &str) -> bool {
    value.starts_with('/')
        || value.starts_with("arn:")
        || value.starts_with("./")
        || value.starts_with("../")
        || value.starts_with("~/")
        || value.contains("://")
        || (value.len() > 2 && value.as_bytes()[1] == b':' && value.as_bytes()[2] == b'\\')
}

/// An identifier or a path of them (`settings.API_KEY`, `token::Paren`, `WIN32_ERROR`).
fn is_identifier_path(value: &str) -> bool {
    // Empty parts come from a leading or trailing `::` (`::core::X`, `super::Foundation:: HANDLE`).
    !value.is_empty()
        && value
            .split("::")
            .flat_map(|p| p.split('.'))
            .filter(|p| !p.is_empty())
            .all(|part| {
                let mut bytes = part.bytes();
                bytes
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
}

/// Whether an unquoted identifier-shaped value reads as code rather than a literal: a
/// path (`proc_macro2::TokenStream`, `self.token`), a name followed by what follows a type
/// (`WIN32_ERROR = 657u32;`, `PCWSTR,`, `HANDLE)`), a snake or screaming-snake name
/// (`TLS13_CHACHA20_POLY1305`), or a name without digits cased like words (`userPassword`,
/// `String`, `HANDLE`). Random letters are about half upper case, which keeps generated
/// secrets out of the last two.
fn is_code_name(value: &str, followed_by: Option<u8>) -> bool {
    if !is_identifier_path(value) {
        return false;
    }
    if value.contains(['.', ':'])
        || matches!(
            followed_by,
            Some(b'=' | b'{' | b')' | b',' | b';' | b'>' | b'|')
        )
    {
        return true;
    }
    let letters = value.bytes().filter(u8::is_ascii_alphabetic).count().max(1);
    let upper = value.bytes().filter(u8::is_ascii_uppercase).count() as f64 / letters as f64;
    let one_case = upper <= 0.1 || upper >= 0.9;
    (value.contains('_') && one_case)
        || (!value.bytes().any(|b| b.is_ascii_digit()) && (upper <= 0.34 || upper >= 0.9))
}

/// A value that names what it stands for (`"new-token"`, `"secret123"`, `"theApiKey"`):
/// a test or documentation value; a generated secret never spells these words.
fn spells_its_kind(value: &str) -> bool {
    let spelled = normalize_key(value);
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "credential",
    ]
    .iter()
    .any(|w| spelled.contains(w))
}

/// A lowercase word with short suffixes (`refresh-2`, `alice-pw`, `progress-test-1`): a
/// label a person typed, typical of test fixtures, not a generated value.
fn is_label(value: &str) -> bool {
    let mut parts = value.split(['-', '_']);
    let head_is_word = parts
        .next()
        .is_some_and(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_lowercase()));
    let mut tails = parts.peekable();
    head_is_word
        && tails.peek().is_some()
        && tails.all(|t| {
            (1..=4).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Lowercase, without `_`, `-` and `.`, so `clientSecret`, `client_secret` and
/// `CLIENT-SECRET` compare equal.
pub(crate) fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Keys that mention a secret but hold something else: where it lives, how long it lasts,
/// what it is called (`token_url`, `password_file`, `secret_name`, `token_type`).
fn key_names_metadata(normalized: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "url",
        "uri",
        "endpoint",
        "path",
        "file",
        "dir",
        "name",
        "type",
        "length",
        "len",
        "size",
        "ttl",
        "expiry",
        "expires",
        "expiresin",
        "expiresat",
        "lifetime",
        "timeout",
        "count",
        "header",
        "field",
        "prefix",
        "suffix",
        "format",
        "version",
        "policy",
        "pattern",
        "regex",
        "label",
        "description",
        "hint",
        "mode",
        "enabled",
        "required",
        "algorithm",
        "algo",
        "method",
        "strategy",
        "provider",
        "store",
        "backend",
        "source",
        "ref",
        "env",
        "var",
        "host",
        "port",
        "user",
        "username",
        "email",
        "scope",
        "scopes",
        "kind",
        "limit",
        "tokens",
        "encoding",
        "location",
        "rotation",
        "id",
        "ids",
        "set",
        "exists",
        "present",
        "changed",
        "hash",
        "hashed",
        "digest",
        "salt",
        "lasteight",
        "last4",
        "lastfour",
        "preview",
        "fingerprint",
        "seconds",
        "minutes",
        "hours",
        "days",
    ];
    SUFFIXES.iter().any(|s| normalized.ends_with(s)) || normalized.contains("tokenizer")
}

/// `key = value` assignments: the key must name a secret (and not its metadata), the value
/// must be a literal (not a variable, call, type or reference) and look random.
fn assignment(text: &str, caps: &Captures<'_>) -> Option<(usize, usize)> {
    let kw = caps.name("kw")?;
    let value = caps.name("s")?;
    let bytes = text.as_bytes();
    // The key may start before the keyword (`db_password`, `GITEA_CLIENT_SECRET`) and go
    // on after it (`token_url`).
    let mut key_start = kw.start();
    while key_start > 0 && is_key_byte(bytes[key_start - 1]) {
        key_start -= 1;
    }
    let mut key_end = kw.end();
    while key_end < bytes.len() && is_key_byte(bytes[key_end]) {
        key_end += 1;
    }
    let key = normalize_key(&text[key_start..key_end]);
    if key_names_metadata(&key) {
        return None;
    }
    // `password hunter2` (.netrc) is an assignment; `token is valid` is prose.
    if caps.name("op").is_none() && !matches!(key.as_str(), "password" | "passwd" | "passphrase") {
        return None;
    }
    let quoted = caps.name("q").is_some();
    // `key:value` with no blank is not YAML (which needs `: `) but a prefixed name
    // (`api-key:1a2b3c4d`, `token:refresh`); quoted JSON may omit the blank.
    if !quoted
        && caps
            .name("op")
            .is_some_and(|op| op.as_str() == ":" && op.end() == value.start())
    {
        return None;
    }
    let mut v = value.as_str();
    if !quoted {
        // Unquoted values end at a query-string or list separator.
        let mut followed_by = bytes[value.end()..]
            .iter()
            .copied()
            .find(|b| !matches!(b, b' ' | b'\t'));
        if let Some(cut) = v.find(['&', ',', ';']) {
            followed_by = Some(v.as_bytes()[cut]);
            v = &v[..cut];
        }
        // Calls, indexing, generics, YAML tags/anchors/aliases, decorators, names.
        if v.contains(['(', ')', '[', ']', '{', '}', '<', '>'])
            || v.starts_with(['!', '&', '*', '@'])
            || is_code_name(v, followed_by)
        {
            return None;
        }
    }
    if v.starts_with(['[', '{', '('])
        || spells_its_kind(v)
        || is_label(v)
        || is_placeholder(v)
        || is_reference(v)
        || !looks_random(v)
    {
        return None;
    }
    Some((value.start(), value.start() + v.len()))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn bearer_ok(value: &str) -> bool {
    !is_doc_filler(value)
        && shannon_entropy(value) >= MIN_TOKEN_ENTROPY
        && value.bytes().any(|b| b.is_ascii_digit())
}

/// Lenient base64: padding optional, trailing bits allowed.
fn lenient(alphabet: &alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// `Basic` credentials are base64 of `user:password`; English after the word "basic"
/// almost never decodes to printable text with a colon in it.
fn basic_auth_ok(value: &str) -> bool {
    let Ok(decoded) = lenient(&alphabet::STANDARD).decode(value) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    if decoded.chars().any(char::is_control) {
        return false;
    }
    match decoded.split_once(':') {
        Some((_, password)) => !password.is_empty() && !is_placeholder(password),
        None => false,
    }
}

/// `scheme://user:password@host`: documentation and URL-parser tests write
/// `user:password@`, `user:pass@`, `a:b@`, `:${PASSWORD}@`; a real password has six
/// characters or more of two kinds (which also leaves `host:8080@` alone).
fn url_password_ok(password: &str) -> bool {
    !is_placeholder(password)
        && !spells_its_kind(password)
        && password.chars().count() >= 6
        && char_classes(password) >= 2
}

/// The first part of a Discord bot token is the bot's user id (a 17-20 digit snowflake)
/// in base64; dotted identifiers of the same shape decode to anything but digits.
fn discord_bot_ok(value: &str) -> bool {
    let Some(first) = value.split('.').next() else {
        return false;
    };
    match lenient(&alphabet::URL_SAFE).decode(first) {
        Ok(id) => (17..=20).contains(&id.len()) && id.iter().all(u8::is_ascii_digit),
        Err(_) => false,
    }
}

/// Bytes a private-key body is made of, in every way we see one written: base64, line
/// breaks, `\n` escapes inside JSON strings, quotes and `+` of string concatenation and
/// diff lines, and the `Proc-Type:`/`DEK-Info:`/`Version:` header lines.
fn is_key_body_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'+' | b'/'
                | b'='
                | b' '
                | b'\t'
                | b'\r'
                | b'\n'
                | b'\\'
                | b'"'
                | b'\''
                | b':'
                | b','
                | b'-'
                | b'.'
        )
}

/// The span of a private key from its BEGIN marker: through the END marker when the body
/// up to it is key-shaped, else (a key cut short, e.g. by output truncation) over the
/// key-shaped bytes that follow. A marker with no key material after it (a parser's
/// constant, a sentence in the docs) is not a finding.
fn private_key_span(bytes: &[u8], begin: usize, marker_end: usize) -> Option<(usize, usize)> {
    let limit = bytes.len().min(marker_end.saturating_add(MAX_KEY_BODY));
    let mut b64 = 0usize;
    let mut i = marker_end;
    while i < limit {
        let rest = &bytes[i..];
        if rest.starts_with(b"-----END") {
            let close = rest[8..]
                .iter()
                .take(64)
                .position(|&b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' '))?;
            let end = i + 8 + close;
            if !bytes[end..].starts_with(b"-----") || b64 < MIN_KEY_BODY_B64 {
                return None;
            }
            return Some((begin, end + 5));
        }
        if rest.starts_with(b"-----BEGIN") || !is_key_body_byte(bytes[i]) {
            break;
        }
        if bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'+' | b'/') {
            b64 += 1;
        }
        i += 1;
    }
    // Truncated: drop trailing blanks, quotes, commas and `\n`/`\r` escapes.
    let mut end = i;
    loop {
        match bytes[marker_end..end] {
            [.., b'\\', b'n' | b'r'] => end -= 2,
            [.., b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b',' | b'\\'] => end -= 1,
            _ => break,
        }
    }
    (b64 >= MIN_TRUNCATED_KEY_B64).then_some((begin, end))
}
