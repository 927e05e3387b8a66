//! Refusals as audit records, without letting an attacker flood the trail.
//!
//! Wherever the gateway refuses a request before a handler could record it (the Host/Origin
//! guard, a body over the limit, a malformed JSON-RPC envelope, an OAuth security failure:
//! a replayed code or refresh token, a failed CSRF, PKCE or state check), the refusing code
//! tags its response with [`Refused`]. One edge layer ([`record_refusals`]) turns tags into
//! `security_event` records: the first refusal of a kind from a source (the client address)
//! in a window is recorded at once; the others of that window are counted, and one summary
//! record with the count follows when the window is over (written by the next request this
//! instance sees after it). So a flood of one kind from one address costs two records per
//! window, and the number of windows tracked at once is bounded ([`MAX_TRACKED`]; beyond
//! it, sources are pooled as `*`).
//!
//! Refusals are recorded without waiting for the record to be durable: a refusal is not
//! delayed by the trail, and a flood cannot queue behind it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aegis_core::audit::AuditEvent;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::RequestId;
use crate::Edge;

/// The aggregation window of one kind of refusal from one source.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Windows tracked at once per instance; further sources share the source `*`.
pub const MAX_TRACKED: usize = 4096;
/// Longest detail kept in a record (characters).
const MAX_DETAIL_CHARS: usize = 200;

/// A response's tag: this request was refused, of this kind (`host_origin`,
/// `body_too_large`, `jsonrpc_parse_error`, `oauth_code_replayed`, ...), for this reason.
#[derive(Debug, Clone)]
pub struct Refused {
    pub kind: &'static str,
    pub detail: String,
}

impl Refused {
    /// Tags `response` as a refusal of `kind`.
    pub fn tag(mut response: Response, kind: &'static str, detail: impl Into<String>) -> Response {
        let detail: String = detail.into().chars().take(MAX_DETAIL_CHARS).collect();
        response.extensions_mut().insert(Refused { kind, detail });
        response
    }
}

/// What the window of one (kind, source) has seen.
#[derive(Debug)]
struct Window {
    started: Instant,
    /// Refusals after the first (the first is recorded when it happens)
    more: u64,
    status: u16,
}

/// Counts refusals per (kind, source) and window; decides which become records.
#[derive(Debug, Default)]
pub struct RefusalCounter {
    windows: Mutex<HashMap<(&'static str, String), Window>>,
}

/// A record to write: the first refusal of a window, or the summary of a closed one.
#[derive(Debug, PartialEq, Eq)]
pub enum Note {
    First,
    Summary {
        kind: &'static str,
        source: String,
        /// Refusals in the window after the first
        count: u64,
        status: u16,
    },
}

impl RefusalCounter {
    /// Notes one refusal at `now`; returns what to record: the closed windows' summaries
    /// (of any kind and source) and, when this one opens a window, `Note::First`.
    pub fn observe(
        &self,
        kind: &'static str,
        source: &str,
        status: u16,
        now: Instant,
    ) -> Vec<Note> {
        let mut notes = self.close_expired(now);
        let Ok(mut windows) = self.windows.lock() else {
            return notes;
        };
        let source =
            if windows.len() >= MAX_TRACKED && !windows.contains_key(&(kind, source.to_string())) {
                "*".to_string()
            } else {
                source.to_string()
            };
        match windows.get_mut(&(kind, source.clone())) {
            Some(w) => w.more += 1,
            None => {
                windows.insert(
                    (kind, source),
                    Window {
                        started: now,
                        more: 0,
                        status,
                    },
                );
                notes.push(Note::First);
            }
        }
        notes
    }

    /// Ends the windows older than [`WINDOW`] at `now`; those that counted more refusals
    /// than their first become summaries.
    pub fn close_expired(&self, now: Instant) -> Vec<Note> {
        let Ok(mut windows) = self.windows.lock() else {
            return Vec::new();
        };
        let mut notes = Vec::new();
        windows.retain(|(kind, source), w| {
            if now.duration_since(w.started) < WINDOW {
                return true;
            }
            if w.more > 0 {
                notes.push(Note::Summary {
                    kind,
                    source: source.clone(),
                    count: w.more,
                    status: w.status,
                });
            }
            false
        });
        notes
    }
}

/// The edge layer: runs the request, and when the response carries a [`Refused`] tag,
/// records it through the counter (and writes the summaries of windows that closed).
pub async fn record_refusals(State(edge): State<Edge>, req: Request, next: Next) -> Response {
    let source = crate::ratelimit::request_ip(&edge, &req)
        .map(|ip: IpAddr| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let path = req.uri().path().to_string();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let response = next.run(req).await;
    let Some(refused) = response.extensions().get::<Refused>().cloned() else {
        return response;
    };
    let status = response.status().as_u16();
    for note in edge
        .refusals
        .observe(refused.kind, &source, status, Instant::now())
    {
        let event = match note {
            Note::First => AuditEvent::security_event(refused.kind)
                .with_request_id(&request_id)
                .with_correlation_id(&request_id)
                .with_decision("deny")
                .with_context("source", source.as_str())
                .with_context("path", path.as_str())
                .with_context("status", status)
                .with_context("detail", refused.detail.as_str())
                .with_context("count", 1)
                .with_context("window_seconds", WINDOW.as_secs()),
            Note::Summary {
                kind,
                source,
                count,
                status,
            } => AuditEvent::security_event(kind)
                .with_decision("deny")
                .with_context("source", source)
                .with_context("status", status)
                .with_context("count", count)
                .with_context("window_seconds", WINDOW.as_secs())
                .with_context("summary", true),
        };
        tracing::warn!(kind = refused.kind, source = %source, status, "request refused");
        // Not awaited: the refusal is answered now; the writer stores the record.
        drop(edge.audit.submit(event));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_one_kind_from_one_source_is_one_record_and_one_summary_per_window() {
        let counter = RefusalCounter::default();
        let t0 = Instant::now();
        assert_eq!(
            counter.observe("host_origin", "10.0.0.1", 403, t0),
            vec![Note::First]
        );
        for i in 1..1000 {
            let at = t0 + Duration::from_millis(i);
            assert!(counter
                .observe("host_origin", "10.0.0.1", 403, at)
                .is_empty());
        }
        // Another kind or another source opens a window of its own.
        assert_eq!(
            counter.observe("body_too_large", "10.0.0.1", 413, t0),
            vec![Note::First]
        );
        assert_eq!(
            counter.observe("host_origin", "10.0.0.2", 403, t0),
            vec![Note::First]
        );
        // After the window: the summary of what was counted, then a new first.
        let later = t0 + WINDOW + Duration::from_secs(1);
        let notes = counter.observe("host_origin", "10.0.0.1", 403, later);
        assert_eq!(
            notes,
            vec![
                Note::Summary {
                    kind: "host_origin",
                    source: "10.0.0.1".into(),
                    count: 999,
                    status: 403
                },
                Note::First
            ]
        );
    }

    #[test]
    fn a_window_with_one_refusal_has_no_summary() {
        let counter = RefusalCounter::default();
        let t0 = Instant::now();
        counter.observe("host_origin", "10.0.0.1", 403, t0);
        assert!(counter.close_expired(t0 + WINDOW).is_empty());
    }

    #[test]
    fn the_tracked_windows_are_bounded() {
        let counter = RefusalCounter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED + 100) {
            counter.observe("host_origin", &format!("src{i}"), 403, t0);
        }
        let windows = counter.windows.lock().unwrap();
        assert!(windows.len() <= MAX_TRACKED + 1, "{}", windows.len());
        assert!(windows.contains_key(&("host_origin", "*".to_string())));
    }
}
