//! Secret detection: finds credentials in text and JSON and masks or blocks them before
//! anything reaches the model, a log line or an audit record.
//!
//! [`SecretScanner::new`] compiles the rule table (`rules.rs`, 46 shapes in 30 credential
//! families) once; build one at startup and share it (it is `Send + Sync`, scans
//! take `&self`). Explicit construction rather than a lazy static, as the house style asks:
//! a rule that does not compile is an error at startup, and tests build their own.
//!
//! - [`SecretScanner::scan`] returns the [`Finding`]s (rule name and byte span) of a text.
//! - [`SecretScanner::redact`] applies a [`SecretDetectionMode`]:
//!   - `mask` replaces each secret value in place with `[REDACTED:<rule>]`, keeping the
//!     text around it (the key, the quotes, the rest of the line);
//!   - `block` replaces every *line* that holds any part of a secret with
//!     [`BLOCK_NOTICE`] (line terminators kept, so line numbers and line counts do not
//!     move); a text without line breaks, such as most JSON string values, is one line and
//!     is replaced whole. The stricter mode: nothing that stood next to a secret survives,
//!     neither its key nor the other half of a secret a rule saw only partly;
//!   - `off` returns the input untouched without scanning it.
//! - [`SecretScanner::redact_json`] does the same to every string (and object key) of a
//!   `serde_json::Value`, and masks whatever sits under a sensitive key (`token`,
//!   `password`, `authorization`, ...; see [`is_sensitive_key`]), the spec's
//!   `sanitize_context` for logs and audit records. JSON types never change, so a tool's
//!   `structuredContent` still matches its output schema.
//!
//! Guarantees (tested, partly by property tests): redaction is idempotent, and a second
//! pass finds nothing; a text without findings comes back byte-identical (borrowed); spans
//! fall on `char` boundaries, so output is always valid UTF-8. Findings never carry the
//! secret itself, only where it was.
//!
//! How a scan works: one Aho-Corasick pass over the text finds which rules' literal
//! anchors occur (`ghp_`, `-----begin`, `token`, ...); only those rules run their regular
//! expression (each itself prefiltered on its literals). Each match goes through its
//! rule's check in `checks.rs` (entropy, placeholders, documented examples, key names).
//! Overlapping findings merge; the most specific rule names the result.
//!
//! What it cannot see is listed in `docs/security.md` ("Secret detection"): secrets split
//! across lines or strings, encoded (base64, URL-encoded beyond `sig=`), or of formats
//! with no prefix and no telling key.

mod checks;
mod json;
mod rules;
mod unescaped;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;
use regex::Regex;

pub use crate::config::SecretDetectionMode;
pub use json::{is_sensitive_key, JsonFinding, SENSITIVE_KEY_SUFFIXES};

/// What `block` mode puts in place of a line that held a secret.
pub const BLOCK_NOTICE: &str = "[BLOCKED: line withheld, it contained a secret]";

/// The rule name of a value masked because of its key (see [`is_sensitive_key`]).
pub const SENSITIVE_KEY_RULE: &str = "sensitive_key";

/// Why the scanner could not be built (a bug in the rule table, caught by a test).
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret rule `{rule}` does not compile: {source}")]
    Rule {
        rule: &'static str,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("secret rule anchors do not compile: {0}")]
    Anchors(#[source] aho_corasick::BuildError),
}

/// One secret found in a text: which rule, and where (byte offsets into the scanned text,
/// on `char` boundaries, `start < end`). Never holds the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub start: usize,
    pub end: usize,
}

/// The result of [`SecretScanner::redact`]: the cleaned text (borrowed when nothing
/// changed) and the findings, with offsets into the *input* text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted<'a> {
    pub text: Cow<'a, str>,
    pub findings: Vec<Finding>,
}

impl Redacted<'_> {
    /// Whether anything was masked or blocked.
    pub fn changed(&self) -> bool {
        matches!(self.text, Cow::Owned(_))
    }

    /// The distinct rule names found, sorted: what an audit record or a log line may say.
    pub fn rules(&self) -> Vec<&'static str> {
        let set: BTreeSet<_> = self.findings.iter().map(|f| f.rule).collect();
        set.into_iter().collect()
    }
}

/// A rule and its regex, compiled the first time a text holds one of the rule's anchors (or
/// at the first scan, for a rule without anchors): a cold start pays only for the rules its
/// first texts need, not for all of them (about 5 ms).
struct CompiledRule {
    rule: &'static rules::Rule,
    regex: OnceLock<Option<Regex>>,
    reported: AtomicBool,
}

impl CompiledRule {
    /// The rule's regex; `None` only if the table has a pattern that does not compile,
    /// which `every_rule_compiles` (a unit test) rules out. Logged once, never a panic.
    fn regex(&self) -> Option<&Regex> {
        let regex = self.regex.get_or_init(|| self.rule.compile().ok()).as_ref();
        // Logged after the cell is set, and only once: the log line passes this scanner
        // too, and must find the cell initialised and the report made.
        if regex.is_none() && !self.reported.swap(true, Ordering::Relaxed) {
            tracing::error!(
                rule = self.rule.name,
                "secret rule does not compile; skipped"
            );
        }
        regex
    }
}

/// The rule table. Build once with [`SecretScanner::new`] (or use [`SecretScanner::shared`])
/// and share it behind an `Arc`.
pub struct SecretScanner {
    rules: Vec<CompiledRule>,
    anchors: AhoCorasick,
    /// For each anchor pattern, the rules it enables.
    anchor_rules: Vec<Vec<usize>>,
    /// Rules with no anchor: they always run.
    always: Vec<usize>,
    /// The shortest text a rule of `always` can match: a shorter text without an anchor
    /// holds no secret, and is passed without running a regex or allocating.
    always_min_len: usize,
}

impl std::fmt::Debug for SecretScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretScanner")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl SecretScanner {
    /// The process's scanner, built on first use and shared by the log writer (`telemetry`)
    /// and the request path (`McpState::secrets`), so each rule compiles once per process.
    pub fn shared() -> Result<Arc<Self>, SecretsError> {
        static SHARED: OnceLock<Arc<SecretScanner>> = OnceLock::new();
        if let Some(scanner) = SHARED.get() {
            return Ok(Arc::clone(scanner));
        }
        let built = Arc::new(Self::new()?);
        Ok(Arc::clone(SHARED.get_or_init(|| built)))
    }

    /// Indexes the rule table and builds the anchor automaton; each rule's regex compiles
    /// on its first use. Fails only if the anchors themselves are wrong.
    pub fn new() -> Result<Self, SecretsError> {
        let mut compiled = Vec::with_capacity(rules::RULES.len());
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut anchor_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (index, rule) in rules::RULES.iter().enumerate() {
            compiled.push(CompiledRule {
                rule,
                regex: OnceLock::new(),
                reported: AtomicBool::new(false),
            });
            if rule.anchors.is_empty() {
                always.push(index);
            }
            for &anchor in rule.anchors {
                match patterns.iter().position(|&p| p == anchor) {
                    Some(at) => anchor_rules[at].push(index),
                    None => {
                        patterns.push(anchor);
                        anchor_rules.push(vec![index]);
                    }
                }
            }
        }
        // A pattern that does not parse matches nothing here (its rule is skipped when its
        // regex fails to compile), so it does not lower the bound.
        let always_min_len = always
            .iter()
            .filter_map(|&i| regex_syntax::parse(rules::RULES[i].pattern).ok())
            .map(|hir| hir.properties().minimum_len().unwrap_or(usize::MAX))
            .min()
            .unwrap_or(usize::MAX);
        let anchors = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .map_err(SecretsError::Anchors)?;
        Ok(Self {
            rules: compiled,
            anchors,
            anchor_rules,
            always,
            always_min_len,
        })
    }

    /// Every anchor literal of the table: a text holding all of them activates every
    /// anchored rule (what a benchmark warms the scanner with).
    pub fn anchor_words(&self) -> Vec<&'static str> {
        let mut words: Vec<&'static str> = Vec::new();
        for r in &self.rules {
            for &a in r.rule.anchors {
                if !words.contains(&a) {
                    words.push(a);
                }
            }
        }
        words
    }

    /// The distinct rule names, in table order: what a finding's `rule` can be (besides
    /// [`SENSITIVE_KEY_RULE`] from [`Self::redact_json`]).
    pub fn rule_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for r in &self.rules {
            if !names.contains(&r.rule.name) {
                names.push(r.rule.name);
            }
        }
        names
    }

    /// The secrets in `text`, sorted by position, never overlapping. A text holding JSON
    /// `\u` escapes is also scanned unescaped (`gh\u0070_...` is `ghp_...`), up to
    /// `MAX_UNESCAPE_LEVELS` levels deep (a JSON result quoting such a text escapes it
    /// twice); such a finding covers the escaped bytes of the original.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let direct = self.scan_to_fixpoint(text, false);
        let mut all: Vec<(Finding, u8)> = direct.iter().map(|f| (*f, 1)).collect();
        let mut layers: Vec<unescaped::Unescaped> = Vec::new();
        for _ in 0..MAX_UNESCAPE_LEVELS {
            let next = match layers.last() {
                Some(layer) => unescaped::Unescaped::of(&layer.text),
                None => unescaped::Unescaped::of(text),
            };
            let Some(next) = next else {
                break;
            };
            for f in self.scan_to_fixpoint(&next.text, false) {
                let (mut start, mut end) = next.original(f.start, f.end);
                for layer in layers.iter().rev() {
                    (start, end) = layer.original(start, end);
                }
                all.push((Finding { start, end, ..f }, 0));
            }
            layers.push(next);
        }
        if layers.is_empty() || all.len() == direct.len() {
            return direct;
        }
        merge(all)
    }

    /// Masking changes what surrounds a secret (a `\b`, a dash, where a key starts), which
    /// can let a neighbouring match through that its context had rejected. So the lines
    /// around each finding are scanned again with the findings masked, until nothing new
    /// turns up; that is what makes redaction idempotent (`scan(redact(x))` is empty).
    fn scan_to_fixpoint(&self, text: &str, all_rules: bool) -> Vec<Finding> {
        let mut findings = self.scan_once(text, all_rules);
        for _ in 0..MAX_PASSES {
            if findings.is_empty() {
                break;
            }
            let (masked, segments) = mask_mapped(text, &findings);
            let mut extra = Vec::new();
            for (from, to) in windows_around_masks(&masked, &segments) {
                for f in self.scan_once(&masked[from..to], all_rules) {
                    let (start, end) = (from + f.start, from + f.end);
                    let start = to_original(&segments, start, false);
                    let end = to_original(&segments, end, true);
                    extra.push(Finding { start, end, ..f });
                }
            }
            if extra.is_empty() {
                break;
            }
            let all = findings
                .into_iter()
                .map(|f| (f, 1))
                .chain(extra.into_iter().map(|f| (f, 0)));
            findings = merge(all.collect());
        }
        findings
    }

    fn scan_once(&self, text: &str, all_rules: bool) -> Vec<Finding> {
        if all_rules {
            return self.run(text, &vec![true; self.rules.len()]);
        }
        // The common case (a name, a date, a URL without credentials): no anchor and too
        // short for the rules without one.
        if text.len() < self.always_min_len && !self.anchors.is_match(text) {
            return Vec::new();
        }
        self.run(text, &self.rules_to_run(text))
    }

    /// Which rules may match: those with an anchor in `text`, and those without anchors.
    fn rules_to_run(&self, text: &str) -> Vec<bool> {
        let mut active = vec![false; self.rules.len()];
        for &i in &self.always {
            active[i] = true;
        }
        let mut pending = self.anchor_rules.len();
        let mut seen = vec![false; self.anchor_rules.len()];
        for m in self.anchors.find_overlapping_iter(text) {
            let pattern = m.pattern().as_usize();
            if !seen[pattern] {
                seen[pattern] = true;
                for &rule in &self.anchor_rules[pattern] {
                    active[rule] = true;
                }
                pending -= 1;
                if pending == 0 {
                    break;
                }
            }
        }
        active
    }

    fn run(&self, text: &str, active: &[bool]) -> Vec<Finding> {
        let mut candidates: Vec<(Finding, u8)> = Vec::new();
        for (compiled, _) in self.rules.iter().zip(active).filter(|(_, &on)| on) {
            let Some(regex) = compiled.regex() else {
                continue;
            };
            for caps in regex.captures_iter(text) {
                if let Some((start, end)) = checks::accept(compiled.rule, text, &caps) {
                    if start < end {
                        let finding = Finding {
                            rule: compiled.rule.name,
                            start,
                            end,
                        };
                        candidates.push((finding, compiled.rule.priority));
                    }
                }
            }
        }
        merge(candidates)
    }

    /// Applies `mode` to `text`; see the module documentation for what each mode does.
    pub fn redact<'a>(&self, text: &'a str, mode: SecretDetectionMode) -> Redacted<'a> {
        if mode == SecretDetectionMode::Off {
            return Redacted {
                text: Cow::Borrowed(text),
                findings: Vec::new(),
            };
        }
        let findings = self.scan(text);
        if findings.is_empty() {
            return Redacted {
                text: Cow::Borrowed(text),
                findings,
            };
        }
        let mut cleaned = match mode {
            SecretDetectionMode::Block => block_lines(text, &findings),
            _ => mask(text, &findings),
        };
        // A mask can change what neighbouring text looks like (a key that overlapped a
        // token now stands alone), so rescan the result until nothing more is found: this
        // is what makes redaction idempotent. `findings` keep the first pass's places in
        // the original text.
        for _ in 0..MAX_PASSES {
            let more = self.scan(&cleaned);
            if more.is_empty() {
                break;
            }
            cleaned = match mode {
                SecretDetectionMode::Block => block_lines(&cleaned, &more),
                _ => mask(&cleaned, &more),
            };
        }
        Redacted {
            text: Cow::Owned(cleaned),
            findings,
        }
    }
}

/// How many levels of JSON escaping [`SecretScanner::scan`] undoes.
const MAX_UNESCAPE_LEVELS: usize = 3;

/// How often [`SecretScanner::scan`] rescans around masks; each pass masks more of the
/// text, so two suffice in practice, and the bound keeps a hostile input from looping.
const MAX_PASSES: usize = 4;

/// A stretch of masked text: where it is, where it came from, and whether it is a mask.
#[derive(Debug, Clone, Copy)]
struct Segment {
    masked: (usize, usize),
    original: (usize, usize),
    is_mask: bool,
}

/// `mask`, plus the map from the masked text back to the original.
fn mask_mapped(text: &str, findings: &[Finding]) -> (String, Vec<Segment>) {
    let mut out = String::with_capacity(text.len());
    let mut segments = Vec::with_capacity(findings.len() * 2 + 1);
    let mut at = 0;
    let mut push = |out: &mut String, piece: &str, original: (usize, usize), is_mask: bool| {
        let start = out.len();
        out.push_str(piece);
        segments.push(Segment {
            masked: (start, out.len()),
            original,
            is_mask,
        });
    };
    for f in findings {
        push(&mut out, &text[at..f.start], (at, f.start), false);
        push(&mut out, &mask_for(f.rule), (f.start, f.end), true);
        at = f.end;
    }
    push(&mut out, &text[at..], (at, text.len()), false);
    (out, segments)
}

/// The lines around each mask (the line before through the line after), merged: where
/// masking can have changed a match's context. Linear in the text: backward searches stop
/// at the previous window, and masks on one line share its forward search.
fn windows_around_masks(masked: &str, segments: &[Segment]) -> Vec<(usize, usize)> {
    let bytes = masked.as_bytes();
    let newline_before = |from: usize, floor: usize| {
        bytes[floor..from]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| floor + i)
    };
    let newline_after = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| from + i)
    };
    let mut windows: Vec<(usize, usize)> = Vec::new();
    let mut previous: Option<(usize, usize)> = None; // (mask end, its window end)
                                                     // A mask between two of these bytes changes no neighbour's context: no `\b`, dash,
                                                     // key, base64 run or PEM body continues through them. Such masks need no rescan, which
                                                     // keeps dense files (a secret per line) from being scanned twice.
    let separator = |at: Option<&u8>| {
        at.is_none_or(|b| {
            matches!(
                b,
                b' ' | b'\t'
                    | b'\r'
                    | b'\n'
                    | b'"'
                    | b'\''
                    | b'`'
                    | b'='
                    | b','
                    | b';'
                    | b'('
                    | b')'
                    | b'{'
                    | b'}'
                    | b'<'
                    | b'>'
                    | b'|'
                    | b'&'
            )
        })
    };
    let masks = segments.iter().filter(|s| s.is_mask).map(|s| s.masked);
    let isolated = |&(start, end): &(usize, usize)| {
        separator(start.checked_sub(1).and_then(|i| bytes.get(i))) && separator(bytes.get(end))
    };
    for (start, end) in masks.filter(|m| !isolated(m)) {
        let floor = windows.last().map_or(0, |w| w.1);
        // The start of the line before the mask's line, or the previous window's end.
        let from = newline_before(start.max(floor), floor)
            .and_then(|nl| newline_before(nl, floor))
            .map_or(floor, |nl| nl + 1);
        let to = match previous {
            Some((prev_end, to)) if prev_end <= end && !bytes[prev_end..end].contains(&b'\n') => to,
            _ => newline_after(end)
                .and_then(|nl| newline_after(nl + 1))
                .unwrap_or(masked.len()),
        };
        previous = Some((end, to));
        match windows.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => windows.push((from, to)),
        }
    }
    windows
}

/// Maps an offset of the masked text back to the original; an offset inside a mask maps
/// to the start (or, for an `end`, the end) of the secret it replaced.
fn to_original(segments: &[Segment], offset: usize, is_end: bool) -> usize {
    // The byte the offset is about: the one at a start, the one before an end.
    let byte = if is_end {
        offset.saturating_sub(1)
    } else {
        offset
    };
    // Segments tile the masked text in order: the first one ending after `byte` holds it.
    let i = segments.partition_point(|s| s.masked.1 <= byte);
    match segments.get(i) {
        Some(s) if s.is_mask => {
            if is_end {
                s.original.1
            } else {
                s.original.0
            }
        }
        Some(s) => s.original.0 + (offset - s.masked.0),
        None => segments.last().map_or(offset, |s| s.original.1),
    }
}

/// The mask that replaces a secret in `mask` mode.
pub fn mask_for(rule: &str) -> String {
    format!("[REDACTED:{rule}]")
}

/// Sorts candidates and merges overlapping (or touching) ones into one finding named after
/// the highest-priority rule among them (the earliest on a tie), so every byte any rule
/// claimed is covered and no two findings overlap.
fn merge(mut candidates: Vec<(Finding, u8)>) -> Vec<Finding> {
    candidates.sort_by_key(|(f, _)| (f.start, f.end));
    let mut merged: Vec<(Finding, u8)> = Vec::with_capacity(candidates.len());
    for (finding, priority) in candidates {
        match merged.last_mut() {
            Some((last, last_priority)) if finding.start < last.end => {
                last.end = last.end.max(finding.end);
                if priority > *last_priority {
                    last.rule = finding.rule;
                    *last_priority = priority;
                }
            }
            _ => merged.push((finding, priority)),
        }
    }
    merged.into_iter().map(|(f, _)| f).collect()
}

fn mask(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        out.push_str(&text[at..f.start]);
        out.push_str(&mask_for(f.rule));
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Replaces every line holding part of a finding with [`BLOCK_NOTICE`], keeping `\n` and
/// `\r\n` terminators.
fn block_lines(text: &str, findings: &[Finding]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // Everything before `at` is written; `at` is 0 or the `\n` ending a blocked line.
    let mut at = 0;
    for f in findings {
        if f.end <= at {
            continue; // on a line already blocked
        }
        // Lines start after `at`'s `\n` at the earliest; search no further back than that,
        // so many findings on one long line stay linear.
        let floor = if at == 0 { 0 } else { at + 1 };
        let first = if f.start <= floor {
            floor
        } else {
            bytes[floor..f.start]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(floor, |i| floor + i + 1)
        };
        // The line holding the finding's last byte ends at the next `\n` from there.
        let last_end = bytes[f.end - 1..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| f.end - 1 + i);
        out.push_str(&text[at..first]);
        let mut line_start = first;
        loop {
            let line_end = bytes[line_start..last_end]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(last_end, |i| line_start + i);
            out.push_str(BLOCK_NOTICE);
            if line_end > line_start && bytes[line_end - 1] == b'\r' {
                out.push('\r');
            }
            if line_end >= last_end {
                break;
            }
            out.push('\n');
            line_start = line_end + 1;
        }
        at = last_end;
    }
    out.push_str(&text[at..]);
    out
}
