//! The DynamoDB rate limiter's instance-local part: token leases and spent windows.
//!
//! A counter item counts tokens handed out in one window, and one conditional `UpdateItem`
//! may take several at once (a lease) when the key's scope allows it
//! ([`crate::RateScope::leasable`]). This instance then answers the next hits on that key
//! from the lease, with no request, until it is used up or the window ends (the tokens
//! were counted in that window's item, so they die with it). The table stays the truth:
//! every token was counted there before it is used, so no instance, and no number of
//! them, admits more than the limit. The price is under-admission: tokens leased by an
//! instance that stops serving the key are never used (at most `LEASE_MAX - 1` per
//! instance, key and window; ADR 0012).
//!
//! Also remembered: a window found spent (its count at the limit). Counts only grow within
//! a window, so every later hit in it is refused without asking again; that is exact.
//!
//! No I/O here; `dynamo.rs` makes the requests.

use std::collections::HashMap;
use std::sync::Mutex;

/// The most tokens one lease takes.
const LEASE_MAX: u32 = 8;
/// A lease takes at most this fraction (1/n) of what the instance last saw left in the
/// window, so leases shrink to single tokens near the limit.
const LEASE_SHARE: u32 = 4;
/// Keys held at once; past that, hits take single tokens (nothing is lost, only the saving).
const KEYS_MAX: usize = 4096;

/// What a lease is for: a key's counter under one limit and window length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct LeaseKey {
    key: String,
    window_secs: u64,
    limit: u32,
}

impl LeaseKey {
    pub(super) fn new(key: &str, window_secs: u64, limit: u32) -> Self {
        Self {
            key: key.to_string(),
            window_secs,
            limit,
        }
    }
}

/// One key's state in the window starting at `start`.
#[derive(Debug)]
struct Held {
    start: u64,
    /// Tokens counted for this instance and not used yet: their numbers, `next..=last`
    /// (a token's number is the counter's value once it was counted)
    tokens: Vec<(u64, u64)>,
    /// The counter's value as last seen (the window is spent once it reaches the limit)
    seen: u64,
}

/// A hit this instance can answer without a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// A leased token: its number
    Token(u64),
    /// The window is spent: refused
    Spent,
}

/// What one conditional count on the table did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// The tokens were counted; the counter is now at `count`
    Taken { count: u64 },
    /// Fewer were left than asked for: the counter stands at `count`
    TooFew { count: u64 },
}

/// The leases and spent windows of one limiter object (one Lambda instance).
#[derive(Debug, Default)]
pub(super) struct RateLeases {
    held: Mutex<HashMap<LeaseKey, Held>>,
}

impl RateLeases {
    /// One hit on `key` in the window starting at `start`: `Some(token number)` when
    /// allowed, `None` when refused. Served from a lease, or refused because this instance
    /// saw the window spent, without a request; otherwise `count(want)` counts `want`
    /// tokens on the table if that many are left (1, or a lease when `leasable`). Only when
    /// fewer are left than asked for is a smaller lease asked for again, at most until a
    /// single token is refused (near the limit, with other instances spending it too).
    pub(super) async fn hit<E, F>(
        &self,
        key: &LeaseKey,
        start: u64,
        leasable: bool,
        mut count: impl FnMut(u32) -> F,
    ) -> Result<Option<u64>, E>
    where
        F: std::future::Future<Output = Result<Counted, E>>,
    {
        match self.serve(key, start) {
            Some(Served::Token(token)) => return Ok(Some(token)),
            Some(Served::Spent) => return Ok(None),
            None => {}
        }
        let mut want = self.want(key, start, leasable, None);
        loop {
            let count = match count(want).await? {
                Counted::Taken { count } => return Ok(Some(self.counted(key, start, want, count))),
                Counted::TooFew { count } => count,
            };
            // Another hit of this instance may have leased the last tokens meanwhile.
            if let Some(Served::Token(token)) = self.serve(key, start) {
                return Ok(Some(token));
            }
            // One token refused, or none left: the window is spent, and stays so.
            if want == 1 || count >= u64::from(key.limit) {
                self.spent(key, start, count);
                return Ok(None);
            }
            // Strictly fewer than before, so this ends.
            let left = u32::try_from(u64::from(key.limit) - count).unwrap_or(1);
            want = self
                .want(key, start, leasable, Some(count))
                .min(left)
                .min(want - 1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LeaseKey, Held>> {
        // The map holds no invariant a panic could break halfway: a poisoned lock is taken.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A hit on `key` in the window starting at `start`, when this instance can answer it.
    fn serve(&self, key: &LeaseKey, start: u64) -> Option<Served> {
        let mut held = self.lock();
        let entry = held.get_mut(key).filter(|h| h.start == start)?;
        if entry.seen >= u64::from(key.limit) && entry.tokens.is_empty() {
            return Some(Served::Spent);
        }
        let (next, last) = entry.tokens.first_mut()?;
        let token = *next;
        if *next == *last {
            entry.tokens.remove(0);
        } else {
            *next += 1;
        }
        Some(Served::Token(token))
    }

    /// How many tokens to ask for: 1 unless `leasable`; else at most `LEASE_MAX` and at
    /// most `1/LEASE_SHARE` of what was left when this instance last saw the counter (or
    /// `seen`, a count just read), never less than 1.
    fn want(&self, key: &LeaseKey, start: u64, leasable: bool, seen: Option<u64>) -> u32 {
        if !leasable {
            return 1;
        }
        let held = self.lock();
        let seen = seen.unwrap_or_else(|| {
            held.get(key)
                .filter(|h| h.start == start)
                .map_or(0, |h| h.seen)
        });
        if held.len() >= KEYS_MAX && !held.contains_key(key) {
            return 1;
        }
        lease_size(u64::from(key.limit).saturating_sub(seen))
    }

    /// `want` tokens were counted in the window starting at `start`, the counter now at
    /// `count`: the first is used now (its number returned), the rest kept for later hits.
    fn counted(&self, key: &LeaseKey, start: u64, want: u32, count: u64) -> u64 {
        let first = count + 1 - u64::from(want.max(1));
        if let Some(entry) = self.lock().entry_at(key, start) {
            entry.seen = entry.seen.max(count);
            if first < count {
                entry.tokens.push((first + 1, count));
            }
        }
        first
    }

    /// The window starting at `start` is spent: its count was `count`, at least the limit.
    fn spent(&self, key: &LeaseKey, start: u64, count: u64) {
        if let Some(entry) = self.lock().entry_at(key, start) {
            entry.seen = entry.seen.max(count);
        }
    }
}

/// The held map's one way in for writers: it stays within `KEYS_MAX`.
trait HeldMap {
    /// `key`'s entry for the window starting at `start` (a fresh one when it held an
    /// earlier window), or `None` when the map is full of live windows of other keys.
    fn entry_at(&mut self, key: &LeaseKey, start: u64) -> Option<&mut Held>;
}

impl HeldMap for HashMap<LeaseKey, Held> {
    fn entry_at(&mut self, key: &LeaseKey, start: u64) -> Option<&mut Held> {
        if self.len() >= KEYS_MAX && !self.contains_key(key) {
            // Windows that ended before this one started hold nothing usable.
            self.retain(|k, h| h.start + k.window_secs.max(1) > start);
            if self.len() >= KEYS_MAX {
                return None;
            }
        }
        let fresh = || Held {
            start,
            tokens: Vec::new(),
            seen: 0,
        };
        let entry = self.entry(key.clone()).or_insert_with(fresh);
        if entry.start != start {
            *entry = fresh();
        }
        Some(entry)
    }
}

/// The lease for `left` tokens remaining: `left / LEASE_SHARE`, between 1 and `LEASE_MAX`.
fn lease_size(left: u64) -> u32 {
    let share = left / u64::from(LEASE_SHARE);
    u32::try_from(share.clamp(1, u64::from(LEASE_MAX))).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_sizes_shrink_near_the_limit() {
        let cases = [
            (1_000_000, 8),
            (120, 8),
            (32, 8),
            (31, 7),
            (20, 5),
            (8, 2),
            (7, 1),
            (1, 1),
            (0, 1),
        ];
        for (left, size) in cases {
            assert_eq!(lease_size(left), size, "{left} left");
        }
    }

    /// The table's counter item, as `dynamo.rs` asks it: `ADD want` if `count <= limit - want`.
    struct Table {
        count: u64,
        requests: usize,
    }

    impl Table {
        fn count(&mut self, want: u32, limit: u32) -> Result<Counted, ()> {
            self.requests += 1;
            if self.count + u64::from(want) <= u64::from(limit) {
                self.count += u64::from(want);
                Ok(Counted::Taken { count: self.count })
            } else {
                Ok(Counted::TooFew { count: self.count })
            }
        }
    }

    /// `n` hits of one instance on `key` over `table`: the tokens it was given, in order.
    fn hits(leases: &RateLeases, key: &LeaseKey, table: &mut Table, n: u32) -> Vec<u64> {
        let limit = key.limit;
        let mut tokens = Vec::new();
        for _ in 0..n {
            let hit = leases.hit(key, 0, true, |want| {
                std::future::ready(table.count(want, limit))
            });
            if let Some(token) = futures_lite(hit).expect("fake table") {
                tokens.push(token);
            }
        }
        tokens
    }

    /// Runs a future that never waits (the fake table answers at once).
    fn futures_lite<F: std::future::Future>(fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => unreachable!("the fake table never waits"),
        }
    }

    /// One instance spending a budget alone: every token is used, in order, none twice,
    /// the window is spent exactly at the limit, and the requests it took are few; once
    /// spent, no further request.
    #[test]
    fn a_lone_instance_spends_the_whole_budget_in_few_requests() {
        // (limit, requests to spend it all: one per token without leases)
        let cases = [(1_000, 134), (120, 24), (60, 16), (10, 8), (1, 1)];
        for (limit, requests) in cases {
            let leases = RateLeases::default();
            let key = LeaseKey::new("token:x", 60, limit);
            let mut table = Table {
                count: 0,
                requests: 0,
            };
            let used = hits(&leases, &key, &mut table, limit + 5);
            assert_eq!(
                used,
                (1..=u64::from(limit)).collect::<Vec<_>>(),
                "limit {limit}"
            );
            assert_eq!(table.count, u64::from(limit));
            assert_eq!(table.requests, requests, "limit {limit}: requests");
        }
    }

    #[test]
    fn leases_die_with_their_window_and_scopes_that_may_not_lease_take_one() {
        let leases = RateLeases::default();
        let key = LeaseKey::new("ip:203.0.113.7", 60, 120);
        assert_eq!(leases.want(&key, 60, false, None), 1);
        assert_eq!(leases.want(&key, 60, true, None), 8);
        assert_eq!(leases.counted(&key, 60, 8, 8), 1);
        assert_eq!(leases.serve(&key, 60), Some(Served::Token(2)));
        // The next window: nothing held, a full lease again.
        assert_eq!(leases.serve(&key, 120), None);
        assert_eq!(leases.want(&key, 120, true, None), 8);
        // Another limit on the same key is another counter check.
        assert_eq!(
            leases.serve(&LeaseKey::new("ip:203.0.113.7", 60, 10), 60),
            None
        );
        leases.spent(&key, 120, 120);
        assert_eq!(leases.serve(&key, 120), Some(Served::Spent));
    }

    #[test]
    fn the_map_stays_bounded() {
        let leases = RateLeases::default();
        for i in 0..KEYS_MAX + 10 {
            let key = LeaseKey::new(&format!("ip:{i}"), 60, 120);
            leases.counted(&key, 60, 8, 8);
        }
        assert_eq!(leases.lock().len(), KEYS_MAX);
        let late = LeaseKey::new("ip:late", 60, 120);
        assert_eq!(leases.want(&late, 60, true, None), 1, "full: single tokens");
        // Once those windows have ended, a new key drops them.
        assert_eq!(leases.counted(&late, 120, 8, 8), 1);
        assert_eq!(leases.lock().len(), 1);
        assert_eq!(leases.serve(&late, 120), Some(Served::Token(2)));
    }
}
