//! Response bounds: `MAX_TOOL_RESPONSE_ITEMS`, `MAX_TOOL_RESPONSE_CHARS`, `MAX_FILE_SIZE_BYTES`.
//!
//! Every cut is visible: the result says it was truncated and how to see more.

use aegis_core::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_items: usize,
    pub max_chars: usize,
    pub max_file_size_bytes: u64,
}

impl From<&Config> for Limits {
    fn from(c: &Config) -> Self {
        Self {
            max_items: c.limits.max_tool_response_items,
            max_chars: c.limits.max_tool_response_chars,
            max_file_size_bytes: c.limits.max_file_size_bytes,
        }
    }
}

impl Limits {
    /// Keeps at most `max_items`; returns whether anything was dropped.
    pub fn cap_items<T>(&self, items: &mut Vec<T>) -> bool {
        if items.len() > self.max_items {
            items.truncate(self.max_items);
            true
        } else {
            false
        }
    }

    /// Cuts `text` to at most `max_chars` characters, at the last line boundary before
    /// the limit when there is one. Returns the kept text and whether it was cut.
    pub fn cap_text(&self, text: &str) -> (String, bool) {
        cap_chars(text, self.max_chars)
    }
}

/// Cuts `text` to at most `max` characters at a line boundary when possible.
pub fn cap_chars(text: &str, max: usize) -> (String, bool) {
    let Some((byte_end, _)) = text.char_indices().nth(max) else {
        return (text.to_string(), false);
    };
    let head = &text[..byte_end];
    let cut = match head.rfind('\n') {
        // keep the newline; only fall back to a mid-line cut when no line fits at all
        Some(nl) if nl > 0 => &head[..=nl],
        _ => head,
    };
    (cut.to_string(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_line_boundaries() {
        let cases = [
            ("short", 10, "short", false),
            ("line1\nline2\nline3\n", 14, "line1\nline2\n", true),
            ("abcdefghij", 4, "abcd", true),
            ("ééé\nééé", 5, "ééé\n", true),
            ("exact", 5, "exact", false),
        ];
        for (input, max, want, cut) in cases {
            assert_eq!(
                cap_chars(input, max),
                (want.to_string(), cut),
                "{input:?}/{max}"
            );
        }
    }

    #[test]
    fn items_are_capped() {
        let limits = Limits {
            max_items: 3,
            max_chars: 10,
            max_file_size_bytes: 10,
        };
        let mut v = vec![1, 2, 3, 4];
        assert!(limits.cap_items(&mut v));
        assert_eq!(v, vec![1, 2, 3]);
        assert!(!limits.cap_items(&mut v));
    }
}
