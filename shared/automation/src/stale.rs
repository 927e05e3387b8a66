//! `stale_issue_detection`: open issues without activity for `AUTOMATION_STALE_DAYS`.
//!
//! Reads the open issues (pull requests excluded) page by page; an issue is stale when its
//! `updated_at` (Gitea bumps it on every comment, edit or label change) is older than the
//! threshold. In write mode it adds the `stale` label (created when the repository has
//! none); an issue that already carries it is left alone, so reruns change nothing.

use std::ops::ControlFlow;

use serde::Serialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{JobContext, StepError, MAX_PAGES};
use aegis_core::config::RepoName;
use aegis_gitea::{walk_pages, Issue, LabelFields};

/// The label stale issues get.
pub const STALE_LABEL: &str = "stale";

/// One stale issue and what the run did with it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StaleIssue {
    pub number: i64,
    pub title: String,
    pub updated_at: String,
    pub days_inactive: i64,
    /// `reported`, `labelled`, `already_labelled` or `would_label` (dry run)
    pub action: &'static str,
}

/// Whether `issue` is stale at `now`; `None` when its timestamp cannot be read.
pub fn inactive_days(issue: &Issue, now: OffsetDateTime) -> Option<i64> {
    let updated = OffsetDateTime::parse(&issue.updated_at, &Rfc3339).ok()?;
    Some((now - updated).whole_days())
}

pub async fn run(
    ctx: &JobContext<'_>,
    repo: &RepoName,
    write: bool,
    dry_run: bool,
) -> Result<Value, StepError> {
    let threshold = i64::from(ctx.stale_days);
    let (open, complete) = ctx.issues(repo, "open").await?;
    let open_count = open.len();
    let mut stale: Vec<(Issue, i64)> = Vec::new();
    for issue in open {
        match inactive_days(&issue, ctx.now) {
            Some(days) if days >= threshold => stale.push((issue, days)),
            Some(_) => {}
            None => {
                tracing::warn!(repository = %repo, number = issue.number, "issue without a readable updated_at")
            }
        }
    }
    stale.sort_by_key(|(i, _)| i.number);

    let needs_label = |i: &Issue| !i.labels.iter().any(|l| l.eq_ignore_ascii_case(STALE_LABEL));
    let label_id = if write && stale.iter().any(|(i, _)| needs_label(i)) {
        Some(stale_label(ctx, repo).await?)
    } else {
        None
    };
    let mut report = Vec::new();
    let (mut labelled, mut already) = (0u64, 0u64);
    for (issue, days) in stale {
        let action = if !needs_label(&issue) {
            already += 1;
            "already_labelled"
        } else if let Some(id) = label_id {
            if ctx.out_of_time() {
                return Err(StepError::OutOfTime);
            }
            let number = u64::try_from(issue.number).unwrap_or_default();
            ctx.gitea
                .add_issue_labels(ctx.credential, &repo.owner, &repo.repo, number, &[id])
                .await?;
            tracing::info!(repository = %repo, number, "labelled stale");
            labelled += 1;
            "labelled"
        } else if dry_run {
            "would_label"
        } else {
            "reported"
        };
        report.push(StaleIssue {
            number: issue.number,
            title: issue.title,
            updated_at: issue.updated_at,
            days_inactive: days,
            action,
        });
    }
    Ok(json!({
        "stale_days": threshold,
        "truncated": !complete,
        "counts": {
            "open_issues": open_count,
            "stale": report.len(),
            "labelled": labelled,
            "already_labelled": already,
        },
        "stale_issues": report,
    }))
}

/// The id of the repository's `stale` label, created when missing.
async fn stale_label(ctx: &JobContext<'_>, repo: &RepoName) -> Result<i64, StepError> {
    let mut found = None;
    walk_pages(
        MAX_PAGES,
        |page| {
            ctx.gitea
                .list_labels(ctx.credential, &repo.owner, &repo.repo, page)
        },
        |labels| {
            found = labels
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(STALE_LABEL))
                .map(|l| l.id);
            if found.is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let label = ctx
        .gitea
        .create_label(
            ctx.credential,
            &repo.owner,
            &repo.repo,
            &LabelFields {
                name: Some(STALE_LABEL.into()),
                color: Some("#cfd3d7".into()),
                description: Some(
                    "No activity for AUTOMATION_STALE_DAYS days (AegisGitea automation)".into(),
                ),
                exclusive: None,
            },
        )
        .await?;
    Ok(label.id)
}
