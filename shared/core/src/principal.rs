//! Who is calling: the principal of one request, its scopes and the Gitea credential its
//! calls carry. Pure data; `crate::auth` decides who a request's principal is.

use std::collections::BTreeSet;

use crate::config::Secret;

/// The OAuth scope every read tool needs.
pub const SCOPE_READ: &str = "read:repository";
/// The OAuth scope every write tool needs.
pub const SCOPE_WRITE: &str = "write:repository";

/// How the gateway talks to Gitea on a principal's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No `Authorization` header: public data only
    Anonymous,
    /// A Gitea token (service PAT or the user's OAuth token)
    Token(Secret),
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// A stable, non-secret name for logs and audit (`api-key:1a2b3c4d`, a Gitea login, ...)
    pub subject: String,
    pub scopes: BTreeSet<String>,
    /// What Gitea calls made for this principal carry
    pub credential: Credential,
    /// The Gitea user behind the principal (OAuth mode)
    pub gitea_login: Option<String>,
    /// Whether each repository must be checked against this user's own permission before
    /// the (service) credential is used: OAuth mode with `GITEA_TOKEN`
    pub check_repo_permission: bool,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        // write implies read, as in Gitea's own scope model
        self.scopes.contains(scope) || (scope == SCOPE_READ && self.scopes.contains(SCOPE_WRITE))
    }
}
