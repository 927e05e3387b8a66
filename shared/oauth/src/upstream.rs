//! Our confidential client at Gitea's OAuth2 provider: the authorize URL, the code
//! exchange and refreshes. Gitea's tokens never leave the server.

use serde::{Deserialize, Serialize};

use super::OAuthServer;

/// Gitea's tokens for one grant, sealed at rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GiteaTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Seconds since the epoch
    pub expires_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("gitea refused the grant: {0}")]
    Refused(String),
    #[error("could not reach gitea: {0}")]
    Transport(String),
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Whether a Gitea grant's scope string lets its tokens write issues and repositories: it
/// names both write scopes, or `all`, or no API scope at all (Gitea then grants `all`).
pub fn gitea_scope_allows_writes(scope: &str) -> bool {
    let api: Vec<&str> = scope
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .filter(|s| !matches!(*s, "openid" | "profile" | "email" | "groups"))
        .collect();
    api.is_empty()
        || api.contains(&"all")
        || (api.contains(&"write:repository") && api.contains(&"write:issue"))
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthServer {
    /// Where to send the user at Gitea.
    pub fn gitea_authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        scope: &str,
        challenge: &str,
    ) -> String {
        let mut url = format!("{}/login/oauth/authorize?", self.gitea_web);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("state", state)
            .append_pair("scope", scope)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        url.push_str(&q.finish());
        url
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<GiteaTokens, UpstreamError> {
        let url = format!("{}/login/oauth/access_token", self.gitea_web);
        let resp = self
            .http
            .post(url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| UpstreamError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| UpstreamError::Transport(e.without_url().to_string()))?;
        if !status.is_success() {
            let err: ErrorResponse = serde_json::from_slice(&bytes).unwrap_or(ErrorResponse {
                error: None,
                error_description: None,
            });
            return Err(UpstreamError::Refused(format!(
                "{} {}",
                err.error.unwrap_or_else(|| status.as_u16().to_string()),
                err.error_description.unwrap_or_default()
            )));
        }
        let t: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| UpstreamError::Refused(format!("unreadable token response: {e}")))?;
        Ok(GiteaTokens {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: aegis_storage::now_secs() + t.expires_in.unwrap_or(3600),
        })
    }

    /// What can be learnt about our client at Gitea without a user (`STARTUP_VALIDATE_GITEA`):
    /// a code exchange with a made-up code. Gitea loads the client and checks its secret
    /// before it looks at the code, so `invalid_client` means Gitea does not know
    /// `GITEA_OAUTH_CLIENT_ID`, `unauthorized_client` that `GITEA_OAUTH_CLIENT_SECRET` is
    /// wrong; the refusal of the code itself means both hold. The error names the variable.
    pub async fn check_client(&self) -> Result<(), aegis_gitea::StartupCheckError> {
        use aegis_gitea::StartupCheckError;
        let refused = match self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", "aegis-startup-check"),
                (
                    "code_verifier",
                    "aegis-startup-check-0123456789abcdefghijklmnopqrstuvwxyz",
                ),
            ])
            .await
        {
            // A made-up code accepted: nothing wrong with the client, at least.
            Ok(_) => return Ok(()),
            Err(UpstreamError::Transport(reason)) => {
                return Err(StartupCheckError::Unreachable {
                    url: self.gitea_web.clone(),
                    reason,
                })
            }
            Err(UpstreamError::Refused(detail)) => detail,
        };
        let variable = if refused.starts_with("invalid_client") {
            "GITEA_OAUTH_CLIENT_ID"
        } else if refused.starts_with("unauthorized_client") && refused.contains("secret") {
            "GITEA_OAUTH_CLIENT_SECRET"
        } else {
            return Ok(());
        };
        Err(StartupCheckError::OAuthClientRejected {
            variable,
            detail: refused,
        })
    }

    /// Exchanges Gitea's code (with our PKCE verifier).
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<GiteaTokens, UpstreamError> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// The scope Gitea granted behind an access token (its introspection endpoint). Gitea
    /// keeps the scope of a user's first authorization of our confidential client and reuses
    /// that grant whatever scope a later authorization asks for, so this can be narrower
    /// than what we requested. `None` when Gitea does not say.
    pub async fn granted_scope(&self, access_token: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Introspection {
            #[serde(default)]
            active: bool,
            #[serde(default)]
            scope: Option<String>,
        }
        let url = format!("{}/login/oauth/introspect", self.gitea_web);
        let resp = self
            .http
            .post(url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header("accept", "application/json")
            .form(&[("token", access_token)])
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let found: Introspection = resp.json().await.ok()?;
        found.active.then_some(found.scope).flatten()
    }

    /// Refreshes Gitea's tokens; Gitea issues a new refresh token every time.
    pub async fn refresh(&self, refresh_token: &str) -> Result<GiteaTokens, UpstreamError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::gitea_scope_allows_writes;

    #[test]
    fn write_scopes_of_a_gitea_grant() {
        for (scope, writes) in [
            (
                "read:repository read:issue read:organization read:user",
                false,
            ),
            (
                "read:repository read:issue write:repository write:issue",
                true,
            ),
            ("write:repository,write:issue", true),
            ("write:repository", false),
            ("all", true),
            ("", true),
            ("openid profile", true),
        ] {
            assert_eq!(gitea_scope_allows_writes(scope), writes, "{scope}");
        }
    }
}
