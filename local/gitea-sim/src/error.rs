//! Error types: seed loading errors and the Gitea-style API error every handler returns.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// Why a seed file could not be turned into a simulated Gitea.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid seed yaml: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("unknown user `{0}`")]
    UnknownUser(String),
    #[error("unknown owner `{0}` (neither a user nor an organization)")]
    UnknownOwner(String),
    #[error("duplicate name `{0}`")]
    Duplicate(String),
    #[error("repository `{repo}`: {message}")]
    Repo { repo: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl SeedError {
    pub(crate) fn repo(repo: &str, message: impl Into<String>) -> Self {
        SeedError::Repo {
            repo: repo.to_string(),
            message: message.into(),
        }
    }
}

/// Why contract mode could not be enabled.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("cannot read swagger file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid swagger json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("swagger document has no `{0}` section")]
    Missing(&'static str),
}

/// A Gitea API error: rendered by the simulator middleware as `{"message": ..., "url": "<base>/api/swagger"}`.
///
/// The body needs the base URL, which handlers do not carry, so `into_response` only stashes the
/// error in the response extensions and `routes::sim_layer` renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// Gitea 1.27 answers every plain not-found with the message `not found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not found")
    }
    /// A 404 whose handler passes its own message (`ctx.APIError(404, err)` in Gitea).
    pub fn not_found_with(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    /// `ctx.APIErrorInternal(err)`: the error text only reaches site admins (production mode).
    pub fn internal(detail: impl Into<String>, doer_is_admin: bool) -> Self {
        let message = if doer_is_admin {
            detail.into()
        } else {
            String::new()
        };
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    /// `reqRepoWriter()` in Gitea.
    pub fn not_writer() -> Self {
        Self::forbidden("user should have a permission to write to a repo")
    }
    /// `mustNotBeArchived` in Gitea.
    pub fn archived() -> Self {
        Self::new(StatusCode::LOCKED, "repo is archived")
    }
    /// A binding failure of a request body: `[Field]: Rule`, as Gitea's `bind` reports the first one.
    pub fn binding(field: &str, rule: &str) -> Self {
        Self::unprocessable(format!("[{field}]: {rule}"))
    }
    /// `reqToken()` in Gitea: the route needs a signed-in user.
    pub fn token_required() -> Self {
        Self::unauthorized("token is required")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// What every handler returns.
pub type ApiResult = Result<Response, ApiError>;
