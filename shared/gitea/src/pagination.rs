//! Gitea's pagination: 1-based `page`, `limit` capped at 50, `X-Total-Count` and `Link`.

use std::ops::ControlFlow;

use reqwest::header::HeaderMap;

/// Gitea caps `limit` at `[api] MAX_RESPONSE_ITEMS`, 50 by default.
pub const GITEA_MAX_LIMIT: u32 = 50;
/// Gitea's `[api] DEFAULT_PAGING_NUM`.
pub const GITEA_DEFAULT_LIMIT: u32 = 30;

/// A page the caller asks for, already clamped to what Gitea accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn new(page: Option<u32>, limit: Option<u32>) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            limit: limit
                .unwrap_or(GITEA_DEFAULT_LIMIT)
                .clamp(1, GITEA_MAX_LIMIT),
        }
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("page", self.page.to_string()),
            ("limit", self.limit.to_string()),
        ]
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(None, None)
    }
}

/// What the response headers said about pagination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// `X-Total-Count`
    pub total: Option<u64>,
    /// The `page` of `Link: <...>; rel="next"`
    pub next_page: Option<u32>,
    /// The `page` of `Link: <...>; rel="last"`
    pub last_page: Option<u32>,
    /// The page that was asked for, when known
    pub page: Option<u32>,
    pub limit: Option<u32>,
}

impl PageInfo {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let total = headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let mut info = PageInfo {
            total,
            ..Default::default()
        };
        if let Some(link) = headers.get("link").and_then(|v| v.to_str().ok()) {
            for (url, rel) in parse_link(link) {
                let page = page_of(&url);
                match rel.as_str() {
                    "next" => info.next_page = page,
                    "last" => info.last_page = page,
                    _ => {}
                }
            }
        }
        info
    }

    pub fn with_request(mut self, req: PageRequest) -> Self {
        self.page = Some(req.page);
        self.limit = Some(req.limit);
        self
    }

    /// Whether another page exists: from `Link` when Gitea sent one, else from the total.
    pub fn has_more(&self, items_on_page: usize) -> bool {
        if self.next_page.is_some() {
            return true;
        }
        match (self.total, self.page, self.limit) {
            (Some(total), Some(page), Some(limit)) => {
                (page as u64 - 1) * limit as u64 + (items_on_page as u64) < total
            }
            _ => false,
        }
    }
}

/// Splits an RFC 8288 `Link` header into (url, rel) pairs.
fn parse_link(header: &str) -> Vec<(String, String)> {
    header
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            let (url_part, params) = part.split_once(';')?;
            let url = url_part.trim().strip_prefix('<')?.strip_suffix('>')?;
            let rel = params.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k.trim() == "rel").then(|| v.trim().trim_matches('"').to_string())
            })?;
            Some((url.to_string(), rel))
        })
        .collect()
}

fn page_of(url: &str) -> Option<u32> {
    let parsed = url::Url::parse(url).ok()?;
    let page = parsed
        .query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok());
    page
}

/// Walks a listing from page 1, `GITEA_MAX_LIMIT` items a page, at most `max_pages` pages,
/// handing each page's items to `visit` (which may stop the walk with
/// `ControlFlow::Break`). Returns whether the walk reached the listing's last page: `false`
/// when it stopped at `max_pages` or because `visit` said so. `fetch` may fail with its own
/// error type (a job's closure checks its time budget before each request).
pub async fn walk_pages<T, E, F, Fut>(
    max_pages: u32,
    mut fetch: F,
    mut visit: impl FnMut(Vec<T>) -> ControlFlow<()>,
) -> Result<bool, E>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<super::Page<T>, E>>,
{
    for page in 1..=max_pages {
        let got = fetch(PageRequest::new(Some(page), Some(GITEA_MAX_LIMIT))).await?;
        let n = got.items.len();
        let more = n > 0 && got.info.has_more(n);
        if visit(got.items).is_break() {
            return Ok(false);
        }
        if !more {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_total_are_read_as_gitea_sends_them() {
        let mut h = HeaderMap::new();
        h.insert("x-total-count", "65".parse().unwrap());
        h.insert(
            "link",
            "<http://g/api/v1/user/repos?limit=30&page=2>; rel=\"next\",<http://g/api/v1/user/repos?limit=30&page=3>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        let info = PageInfo::from_headers(&h).with_request(PageRequest::new(Some(1), Some(30)));
        assert_eq!(info.total, Some(65));
        assert_eq!(info.next_page, Some(2));
        assert_eq!(info.last_page, Some(3));
        assert!(info.has_more(30));
    }

    /// A listing of `total` numbers served as Gitea would, with the pages asked for.
    fn listing(
        total: u64,
    ) -> impl FnMut(PageRequest) -> std::future::Ready<Result<super::super::Page<u64>, ()>> {
        move |req: PageRequest| {
            let start = u64::from(req.page - 1) * u64::from(req.limit);
            let items = (start..total.min(start + u64::from(req.limit))).collect();
            let info = PageInfo {
                total: Some(total),
                ..PageInfo::default()
            }
            .with_request(req);
            std::future::ready(Ok(super::super::Page { items, info }))
        }
    }

    #[tokio::test]
    async fn walk_pages_reports_whether_it_reached_the_end() {
        let mut seen = Vec::new();
        let complete = walk_pages(10, listing(120), |items| {
            seen.extend(items);
            ControlFlow::Continue(())
        })
        .await;
        assert_eq!(complete, Ok(true));
        assert_eq!(seen, (0..120).collect::<Vec<_>>());

        // Cut by the page bound: two pages of 50, not complete.
        let mut n = 0;
        let complete = walk_pages(2, listing(120), |items| {
            n += items.len();
            ControlFlow::Continue(())
        })
        .await;
        assert_eq!((complete, n), (Ok(false), 100));

        // Stopped by the visitor after the first page.
        let mut pages = 0;
        let complete = walk_pages(10, listing(120), |_| {
            pages += 1;
            ControlFlow::Break(())
        })
        .await;
        assert_eq!((complete, pages), (Ok(false), 1));

        // An empty listing is complete after one request.
        let complete = walk_pages(10, listing(0), |items| {
            assert!(items.is_empty());
            ControlFlow::Continue(())
        })
        .await;
        assert_eq!(complete, Ok(true));
    }

    #[test]
    fn total_alone_decides_when_there_is_no_link() {
        let mut h = HeaderMap::new();
        h.insert("x-total-count", "60".parse().unwrap());
        let last = PageInfo::from_headers(&h).with_request(PageRequest::new(Some(2), Some(30)));
        assert!(!last.has_more(30));
        let first = PageInfo::from_headers(&h).with_request(PageRequest::new(Some(1), Some(30)));
        assert!(first.has_more(30));
    }

    #[test]
    fn limits_are_clamped_to_gitea_rules() {
        assert_eq!(
            PageRequest::new(Some(0), Some(500)),
            PageRequest { page: 1, limit: 50 }
        );
        assert_eq!(
            PageRequest::new(None, Some(0)),
            PageRequest { page: 1, limit: 1 }
        );
        assert_eq!(
            PageRequest::new(None, None),
            PageRequest { page: 1, limit: 30 }
        );
    }
}
