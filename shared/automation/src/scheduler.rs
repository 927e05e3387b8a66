//! The local shim's scheduler loop (`AUTOMATION_SCHEDULER_ENABLED`): every
//! `AUTOMATION_SCHEDULER_INTERVAL_SECONDS` it runs the same jobs an EventBridge schedule
//! runs on AWS, through the same gate. On Lambda there is no loop: the rule invokes the
//! jobs function.

use std::time::Duration;

use time::OffsetDateTime;

use super::state::AutomationState;
use super::{run_scheduled, Job};

/// Starts the loop when the configuration asks for it; the first run is immediate. The
/// task stops when the returned handle is aborted or the runtime shuts down.
pub fn spawn(state: AutomationState) -> Option<tokio::task::JoinHandle<()>> {
    if !state.edge.config.automation.scheduler_enabled {
        return None;
    }
    let period = Duration::from_secs(state.edge.config.automation.scheduler_interval_seconds);
    tracing::info!(
        interval_seconds = period.as_secs(),
        "automation scheduler started"
    );
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let report = run_scheduled(&state, &Job::ALL, OffsetDateTime::now_utc()).await;
            tracing::info!(report = %report, "scheduled automation run finished");
        }
    }))
}
