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
            expires_at: crate::storage::now_secs() + t.expires_in.unwrap_or(3600),
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

    /// Refreshes Gitea's tokens; Gitea issues a new refresh token every time.
    pub async fn refresh(&self, refresh_token: &str) -> Result<GiteaTokens, UpstreamError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}
