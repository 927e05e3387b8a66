//! Argument types several tools share. Every one rejects unknown fields.

use schemars::JsonSchema;
use serde::Deserialize;

/// `owner`, `repo`, optional `page` and `limit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoPageArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

/// `owner`, `repo`, optional `state`, `page` and `limit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoStatePageArgs {
    /// Repository owner (user or organization)
    pub owner: String,
    /// Repository name
    pub repo: String,
    /// `open` (default), `closed` or `all`
    #[serde(default)]
    pub state: Option<StateFilter>,
    /// Page number, from 1 (default 1)
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub page: Option<u32>,
    /// Items per page, 1 to 50 (default 30)
    #[serde(default)]
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

/// An open/closed/all filter.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    Open,
    Closed,
    All,
}

impl StateFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Open => "open",
            StateFilter::Closed => "closed",
            StateFilter::All => "all",
        }
    }
}
