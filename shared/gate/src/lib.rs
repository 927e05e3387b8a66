//! The authorisation gate's shared pieces, used by tool calls (the MCP dispatcher) and by
//! automation runs (the automation crate): why a call is refused ([`Denial`]), the write
//! gate (`WRITE_MODE` and the write whitelist) and the signed-in user's own permission on a
//! repository ([`RepoPermissions`], OAuth mode with a service token; lockdown mode asks it
//! for push access).

use std::sync::Arc;

use aegis_core::config::{Config, RepoName};
use aegis_core::policy::ToolKind;
use aegis_core::principal::{Credential, Principal};
use aegis_gitea::{GiteaClient, GiteaError};
use aegis_storage::{AuthzCache, CachedPermission, Storage};

/// Why a call was refused before it ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// No such tool here (write tools are absent when write mode is off)
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The token lacks the scope the tool needs
    #[error("the token lacks the `{needed}` scope this tool needs")]
    InsufficientScope { needed: &'static str },
    /// Write mode, the write whitelist, the user's repository permission or the policy
    /// said no (`by`), and why in words
    #[error("{message}")]
    Forbidden { by: ForbiddenBy, message: String },
    /// An argument the gate reads (owner, repo, filepath) is malformed: a bad request,
    /// answered like any other invalid argument, before any policy is asked
    #[error("invalid arguments: {0}")]
    BadArguments(String),
}

/// Which gate refused a call with [`Denial::Forbidden`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenBy {
    /// `WRITE_MODE=false`
    WriteMode,
    /// not on `WRITE_REPOSITORY_WHITELIST`
    Whitelist,
    /// the signed-in user's own permission on the repository (OAuth mode)
    Permission,
    /// the YAML policy
    Policy,
}

impl Denial {
    pub fn forbidden(by: ForbiddenBy, message: impl Into<String>) -> Self {
        Denial::Forbidden {
            by,
            message: message.into(),
        }
    }

    /// What would allow the call, for the model (and the person behind it) to act on.
    pub fn remedy(&self) -> &'static str {
        match self {
            Denial::UnknownTool(_) => "Call `tools/list` for the tools offered here",
            Denial::BadArguments(_) => {
                "Correct the arguments to match the tool's inputSchema and call again"
            }
            Denial::InsufficientScope { .. } => {
                "Sign in again granting the scope this tool needs"
            }
            Denial::Forbidden { by, .. } => match by {
                ForbiddenBy::WriteMode => {
                    "Only the gateway's operator can allow it (WRITE_MODE=true); do not retry this call"
                }
                ForbiddenBy::Whitelist => {
                    "Only the gateway's operator can allow it by adding the repository to WRITE_REPOSITORY_WHITELIST; do not retry this call"
                }
                ForbiddenBy::Permission => {
                    "The signed-in user needs that permission on the repository in Gitea; do not retry this call"
                }
                ForbiddenBy::Policy => {
                    "Only a change to the gateway's policy file (POLICY_FILE_PATH) can allow it; do not retry this call unchanged"
                }
            },
        }
    }

    /// A short fixed word for metrics: `scope`, `write_mode`, `whitelist`, `permission`,
    /// `policy`, `unknown_tool` or `bad_arguments`.
    pub fn reason(&self) -> &'static str {
        match self {
            Denial::UnknownTool(_) => "unknown_tool",
            Denial::BadArguments(_) => "bad_arguments",
            Denial::InsufficientScope { .. } => "scope",
            Denial::Forbidden { by, .. } => match by {
                ForbiddenBy::WriteMode => "write_mode",
                ForbiddenBy::Whitelist => "whitelist",
                ForbiddenBy::Permission => "permission",
                ForbiddenBy::Policy => "policy",
            },
        }
    }
}

/// `WRITE_MODE`, then `WRITE_REPOSITORY_WHITELIST` unless `WRITE_ALLOW_ALL_TOKEN_REPOS`
/// (automation jobs that write pass it too).
pub fn write_gate(config: &Config, repo: Option<&RepoName>) -> Result<(), Denial> {
    if !config.write.enabled {
        return Err(Denial::forbidden(
            ForbiddenBy::WriteMode,
            "write mode is disabled (WRITE_MODE=false)",
        ));
    }
    if config.write.allow_all_token_repos {
        return Ok(());
    }
    let Some(repo) = repo else {
        return Err(Denial::forbidden(
            ForbiddenBy::Whitelist,
            "write tools need an `owner`/`repo` on the write whitelist",
        ));
    };
    let listed = config.write.repository_whitelist.iter().any(|w| {
        w.owner.eq_ignore_ascii_case(&repo.owner) && w.repo.eq_ignore_ascii_case(&repo.repo)
    });
    if listed {
        Ok(())
    } else {
        Err(Denial::forbidden(
            ForbiddenBy::Whitelist,
            format!("`{repo}` is not on the write whitelist (WRITE_REPOSITORY_WHITELIST)"),
        ))
    }
}

/// A user's permission on a repository, as Gitea's collaborator permission endpoint names
/// it, in increasing order. Anything else Gitea might say counts as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RepoPermission {
    None,
    Read,
    Write,
    /// `admin` or `owner`
    Admin,
}

impl RepoPermission {
    pub fn parse(gitea: &str) -> Self {
        match gitea {
            "read" => RepoPermission::Read,
            "write" => RepoPermission::Write,
            "admin" | "owner" => RepoPermission::Admin,
            _ => RepoPermission::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RepoPermission::None => "none",
            RepoPermission::Read => "read",
            RepoPermission::Write => "write",
            RepoPermission::Admin => "admin",
        }
    }

    /// The least a call of a tool of `kind` needs: `read` for reads, `write` for writes.
    pub fn needed_for(kind: ToolKind) -> Self {
        match kind {
            ToolKind::Read => RepoPermission::Read,
            ToolKind::Write => RepoPermission::Write,
        }
    }
}

/// The signed-in user's own permission on a repository, from Gitea, cached for
/// `REPO_AUTHZ_CACHE_TTL_SECONDS` in the authorization cache.
#[derive(Clone)]
pub struct RepoPermissions {
    gitea: GiteaClient,
    cache: Arc<dyn AuthzCache>,
    ttl_seconds: u64,
}

impl RepoPermissions {
    pub fn new(gitea: GiteaClient, storage: &Storage, config: &Config) -> Self {
        Self {
            gitea,
            cache: Arc::clone(&storage.authz_cache),
            ttl_seconds: config.repo_authz_cache_ttl_seconds,
        }
    }

    /// OAuth mode with a service token: the signed-in user's own permission on the
    /// repository decides (read tools need `read`, write tools `write`). Without a
    /// repository in the call, or for a principal that needs no check, there is nothing to
    /// check.
    pub async fn check(
        &self,
        principal: &Principal,
        kind: ToolKind,
        repo: Option<&RepoName>,
    ) -> Result<(), Denial> {
        if !principal.check_repo_permission {
            return Ok(());
        }
        let (Some(repo), Some(login)) = (repo, principal.gitea_login.as_deref()) else {
            return Ok(());
        };
        let permission = match self.permission(&principal.credential, repo, login).await {
            Ok(p) => p,
            Err(e) => {
                return Err(Denial::forbidden(
                    ForbiddenBy::Permission,
                    format!(
                    "repository_permission_denied: the permission check could not complete ({e})"
                ),
                ))
            }
        };
        let needed = RepoPermission::needed_for(kind);
        if permission >= needed {
            Ok(())
        } else {
            Err(Denial::forbidden(
                ForbiddenBy::Permission,
                format!(
                    "repository_permission_denied: `{login}` has `{}` permission on `{repo}`, {} is required",
                    permission.as_str(),
                    needed.as_str()
                ),
            ))
        }
    }

    /// Whether `login` may push to `repo` (`write`, `admin` or `owner`); unknown is no.
    pub async fn has_push_access(
        &self,
        credential: &Credential,
        repo: &RepoName,
        login: &str,
    ) -> bool {
        match self.permission(credential, repo, login).await {
            Ok(p) => p >= RepoPermission::Write,
            Err(e) => {
                tracing::info!(error = %e, "lockdown: permission unknown, hiding");
                false
            }
        }
    }

    /// `login`'s permission on `repo` as Gitea's collaborator permission endpoint says,
    /// cached. A repository or user the credential cannot see is `none`.
    async fn permission(
        &self,
        credential: &Credential,
        repo: &RepoName,
        login: &str,
    ) -> Result<RepoPermission, GiteaError> {
        let key = format!(
            "perm:{}:{}/{}",
            login.to_ascii_lowercase(),
            repo.owner.to_ascii_lowercase(),
            repo.repo.to_ascii_lowercase()
        );
        if let Some(cached) = self.cache.get(&key).await.ok().flatten() {
            return Ok(RepoPermission::parse(&cached.permission));
        }
        let permission = match self
            .gitea
            .get_repo_permission(credential, &repo.owner, &repo.repo, login)
            .await
        {
            Ok(p) => p,
            Err(GiteaError::NotFound(_)) | Err(GiteaError::Forbidden(_)) => "none".to_string(),
            Err(e) => return Err(e),
        };
        if self.ttl_seconds > 0 {
            let _ = self
                .cache
                .put(
                    &key,
                    CachedPermission {
                        permission: permission.clone(),
                        expires_at: aegis_storage::now_secs() + self.ttl_seconds,
                    },
                )
                .await;
        }
        Ok(RepoPermission::parse(&permission))
    }
}

#[cfg(test)]
mod tests {
    use super::RepoPermission;
    use aegis_core::policy::ToolKind;

    #[test]
    fn permission_levels_order_and_parse() {
        let cases = [
            ("none", RepoPermission::None),
            ("read", RepoPermission::Read),
            ("write", RepoPermission::Write),
            ("admin", RepoPermission::Admin),
            ("owner", RepoPermission::Admin),
            ("", RepoPermission::None),
            ("Write", RepoPermission::None),
        ];
        for (text, level) in cases {
            assert_eq!(RepoPermission::parse(text), level, "{text}");
        }
        assert!(RepoPermission::Admin >= RepoPermission::needed_for(ToolKind::Write));
        assert!(RepoPermission::Read >= RepoPermission::needed_for(ToolKind::Read));
        assert!(RepoPermission::Read < RepoPermission::needed_for(ToolKind::Write));
        assert!(RepoPermission::None < RepoPermission::needed_for(ToolKind::Read));
    }
}
