//! Gitea pagination: `page`/`limit` parsing, the paginator, `Link` and the `X-*` paging headers.

use http::{HeaderMap, HeaderValue};

use crate::routes::QueryParams;

/// `[api] DEFAULT_PAGING_NUM`.
pub const DEFAULT_PAGING_NUM: usize = 30;
/// `[api] MAX_RESPONSE_ITEMS`.
pub const MAX_RESPONSE_ITEMS: usize = 50;
/// `[api] DEFAULT_GIT_TREES_PER_PAGE` (also the maximum).
pub const GIT_TREES_PER_PAGE: usize = 1000;

/// `utils.GetListOptions`: a 1-based page and a corrected page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListOptions {
    pub page: usize,
    pub page_size: usize,
}

impl ListOptions {
    pub fn from_query(q: &QueryParams) -> ListOptions {
        ListOptions {
            page: q.int("page").max(1) as usize,
            page_size: correct_page_size(q.int("limit")),
        }
    }

    /// The items of the current page.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1).saturating_mul(self.page_size);
        if start >= items.len() {
            return &[];
        }
        let end = start.saturating_add(self.page_size).min(items.len());
        &items[start..end]
    }

    pub fn page_count(&self, total: usize) -> usize {
        total.div_ceil(self.page_size)
    }
}

/// `convert.ToCorrectPageSize`.
pub fn correct_page_size(limit: i64) -> usize {
    if limit <= 0 {
        DEFAULT_PAGING_NUM
    } else if limit as usize > MAX_RESPONSE_ITEMS {
        MAX_RESPONSE_ITEMS
    } else {
        limit as usize
    }
}

/// `modules/paginator`: the current page is clamped into `1..=total_pages`.
#[derive(Clone, Copy, Debug)]
pub struct Paginator {
    total: usize,
    page_size: usize,
    current: usize,
}

impl Paginator {
    pub fn new(total: usize, page_size: usize, requested: i64) -> Paginator {
        let page_size = page_size.max(1);
        let mut p = Paginator {
            total,
            page_size,
            current: requested.max(1) as usize,
        };
        p.current = p.current.min(p.total_pages());
        p
    }
    pub fn total_pages(&self) -> usize {
        if self.total == 0 {
            1
        } else {
            self.total.div_ceil(self.page_size)
        }
    }
    fn has_next(&self) -> bool {
        self.total > self.current * self.page_size
    }
    fn is_last(&self) -> bool {
        self.total == 0 || (self.total > (self.current - 1) * self.page_size && !self.has_next())
    }
}

/// Go's `url.QueryEscape`.
pub fn go_query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.Values.Encode`: keys sorted, values of a key in their original order.
pub fn go_encode(pairs: &[(String, String)]) -> String {
    let mut keys: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let mut parts = Vec::new();
    for key in keys {
        for (_, v) in pairs.iter().filter(|(k, _)| k == key) {
            parts.push(format!("{}={}", go_query_escape(key), go_query_escape(v)));
        }
    }
    parts.join("&")
}

/// `ctx.SetLinkHeader`: next, last, first, prev (each only when it applies), comma-joined.
pub fn link_header(
    base_url: &str,
    path: &str,
    pairs: &[(String, String)],
    total: usize,
    page_size: usize,
    requested_page: i64,
) -> Option<String> {
    let p = Paginator::new(total, page_size, requested_page);
    let link = |page: usize, rel: &str| {
        let mut q: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
        q.push(("page".to_string(), page.to_string()));
        format!("<{base_url}{path}?{}>; rel=\"{rel}\"", go_encode(&q))
    };
    let mut links = Vec::new();
    if p.has_next() {
        links.push(link(p.current + 1, "next"));
    }
    if !p.is_last() {
        links.push(link(p.total_pages(), "last"));
    }
    if p.current != 1 {
        links.push(link(1, "first"));
    }
    if p.current > 1 {
        links.push(link(p.current - 1, "prev"));
    }
    (!links.is_empty()).then(|| links.join(","))
}

/// `ctx.AppendAccessControlExposeHeaders`.
pub fn expose(headers: &mut HeaderMap, names: &[&str]) {
    let joined = names.join(", ");
    let value = match headers
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
    {
        Some(existing) if !existing.is_empty() => format!("{existing}, {joined}"),
        _ => joined,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert("access-control-expose-headers", v);
    }
}

pub fn set(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn link_header_table() {
        let b = "http://h";
        let path = "/api/v1/user/repos";
        // (total, page size, requested page, expected)
        let cases: &[(usize, usize, i64, Option<&str>)] = &[
            (10, 30, 1, None),
            (0, 30, 1, None),
            (
                40,
                30,
                1,
                Some("<http://h/api/v1/user/repos?limit=30&page=2>; rel=\"next\",<http://h/api/v1/user/repos?limit=30&page=2>; rel=\"last\""),
            ),
            (
                40,
                30,
                2,
                Some("<http://h/api/v1/user/repos?limit=30&page=1>; rel=\"first\",<http://h/api/v1/user/repos?limit=30&page=1>; rel=\"prev\""),
            ),
            (
                100,
                30,
                2,
                Some("<http://h/api/v1/user/repos?limit=30&page=3>; rel=\"next\",<http://h/api/v1/user/repos?limit=30&page=4>; rel=\"last\",<http://h/api/v1/user/repos?limit=30&page=1>; rel=\"first\",<http://h/api/v1/user/repos?limit=30&page=1>; rel=\"prev\""),
            ),
            // a page past the end is clamped to the last one
            (
                40,
                30,
                9,
                Some("<http://h/api/v1/user/repos?limit=30&page=1>; rel=\"first\",<http://h/api/v1/user/repos?limit=30&page=1>; rel=\"prev\""),
            ),
        ];
        for (total, size, page, want) in cases {
            let got = link_header(
                b,
                path,
                &pairs(&[("page", &page.to_string()), ("limit", "30")]),
                *total,
                *size,
                *page,
            );
            assert_eq!(
                got.as_deref(),
                *want,
                "total={total} size={size} page={page}"
            );
        }
    }

    #[test]
    fn go_encoding_sorts_keys_and_escapes() {
        let q = pairs(&[("state", "open"), ("labels", "bug,ui x"), ("a", "1")]);
        assert_eq!(go_encode(&q), "a=1&labels=bug%2Cui+x&state=open");
    }

    #[test]
    fn page_size_is_corrected() {
        for (limit, want) in [(0, 30), (-4, 30), (10, 10), (50, 50), (51, 50), (1000, 50)] {
            assert_eq!(correct_page_size(limit), want, "{limit}");
        }
    }
}
