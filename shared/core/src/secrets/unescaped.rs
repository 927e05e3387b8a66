//! The JSON-unescaped view of a text: `gh\u0070_...` read as `ghp_...`, so a secret written
//! with `\u` escapes (in a JSON file, a config dump, a log line) is seen by the rules, and
//! its finding is mapped back onto the escaped bytes of the original. One view undoes one
//! level of escaping; a JSON document quoting such a text (`gh\\u0070_`) needs two.

/// A text with its JSON escapes decoded (`\uXXXX` with surrogate pairs joined, `\\`,
/// `\"`, `\n`, ...; a lone surrogate or a malformed escape stays as written), and, per byte
/// of the view, the span of the original it came from.
pub(super) struct Unescaped {
    pub text: String,
    /// For each byte of `text`: the start and end (exclusive) of its source in the original
    spans: Vec<(usize, usize)>,
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let s = std::str::from_utf8(digits).ok()?;
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// The escape at `at` (a `\uXXXX`, a low surrogate after a high one, or a one-letter
/// escape): the character and the length of the escape in the original.
fn escape_at(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    if bytes.get(at) != Some(&b'\\') {
        return None;
    }
    let simple = match bytes.get(at + 1)? {
        b'"' => Some('"'),
        b'\\' => Some('\\'),
        b'/' => Some('/'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'u' | b'U' => None,
        _ => return None,
    };
    if let Some(c) = simple {
        return Some((c, 2));
    }
    let first = hex4(bytes, at + 2)?;
    if (0xD800..0xDC00).contains(&first) {
        if bytes.get(at + 6) != Some(&b'\\') || bytes.get(at + 7) != Some(&b'u') {
            return None;
        }
        let second = hex4(bytes, at + 8)?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        return char::from_u32(c).map(|c| (c, 12));
    }
    char::from_u32(first).map(|c| (c, 6))
}

impl Unescaped {
    /// The view, or `None` when `text` holds no `\u` escape, at any level (the common
    /// case: no copy).
    pub fn of(text: &str) -> Option<Unescaped> {
        let bytes = text.as_bytes();
        let has_unicode_escape = text
            .match_indices("\\u")
            .any(|(at, _)| hex4(bytes, at + 2).is_some());
        if !has_unicode_escape {
            return None;
        }
        let first = text.find('\\')?;
        let mut view = String::with_capacity(text.len());
        let mut spans = Vec::with_capacity(text.len());
        view.push_str(&text[..first]);
        spans.extend((0..first).map(|i| char_span(text, i)));
        let mut at = first;
        while at < text.len() {
            let (c, len) = escape_at(bytes, at).unwrap_or_else(|| {
                let c = text[at..].chars().next().unwrap_or('\u{FFFD}');
                (c, c.len_utf8())
            });
            let start = view.len();
            view.push(c);
            spans.extend((start..view.len()).map(|_| (at, at + len)));
            at += len;
        }
        Some(Unescaped { text: view, spans })
    }

    /// The original span of the view's `start..end` (both on char boundaries of the view).
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        let from = self.spans.get(start).map_or(0, |s| s.0);
        let to = end
            .checked_sub(1)
            .and_then(|last| self.spans.get(last))
            .map_or(from, |s| s.1);
        (from, to)
    }
}

/// The span of the character holding byte `i` of `text`.
fn char_span(text: &str, i: usize) -> (usize, usize) {
    let mut start = i;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let len = text[start..].chars().next().map_or(1, char::len_utf8);
    (start, start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded_and_mapped_back() {
        let text = r"a gh\u0070_x \ud83d\ude00 \uZZZZ é";
        let view = Unescaped::of(text).expect("has escapes");
        assert_eq!(view.text, "a ghp_x \u{1F600} \\uZZZZ é");
        let start = view.text.find("ghp_x").unwrap();
        let (from, to) = view.original(start, start + "ghp_x".len());
        assert_eq!(&text[from..to], r"gh\u0070_x");
        let e = view.text.find('é').unwrap();
        assert_eq!(view.original(e, e + 2), (text.len() - 2, text.len()));
        assert!(Unescaped::of("no escapes \\n here").is_none());
        // A quoted escape takes two views.
        let twice = r#"{"t": "gh\\u0070_x \"q\""}"#;
        let one = Unescaped::of(twice).expect("one");
        assert_eq!(one.text, r#"{"t": "gh\u0070_x "q""}"#);
        let two = Unescaped::of(&one.text).expect("two");
        assert!(two.text.contains("ghp_x"), "{}", two.text);
    }
}
