//! Who is calling: token / basic / query-token authentication and token scope checks, Gitea style.

use base64::Engine;
use http::{HeaderMap, Method};

use crate::error::ApiError;
use crate::model::{ScopeCategory, Scopes, UserId, World};
use crate::oauth::{self, OAuthState};

/// The authenticated caller of a request.
#[derive(Clone, Debug, Default)]
pub struct Doer {
    pub user: Option<UserId>,
    pub login: Option<String>,
    /// Scopes of the token used; `None` when no token limits the caller (anonymous, password).
    pub scopes: Option<Scopes>,
}

impl Doer {
    /// `public-only` tokens cannot see private repositories or organizations.
    pub fn public_only(&self) -> bool {
        self.scopes.as_ref().is_some_and(|s| s.public_only)
    }
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid username, password or token")
}

/// An OAuth access token (a JWT): the grant's user with the grant's scopes, while unexpired.
pub fn by_oauth_token(world: &World, oauth: &OAuthState, token: &str) -> Option<Doer> {
    let claims = oauth::signing_key().ok()?.verify(token)?;
    if claims.tt != oauth::ACCESS_TOKEN || claims.exp <= oauth.now().unix_timestamp() {
        return None;
    }
    let grant = oauth.grant(claims.gnt)?;
    let user = world.user(grant.user)?;
    Some(Doer {
        user: Some(user.id),
        login: Some(user.login.clone()),
        scopes: Some(grant.api_scopes()),
    })
}

fn by_token(world: &World, oauth: &OAuthState, token: &str) -> Result<Doer, ApiError> {
    if token.contains('.') {
        if let Some(doer) = by_oauth_token(world, oauth, token) {
            return Ok(doer);
        }
    }
    let t = world.tokens.get(token).ok_or_else(invalid)?;
    let user = world.user(t.user).ok_or_else(invalid)?;
    Ok(Doer {
        user: Some(user.id),
        login: Some(user.login.clone()),
        scopes: Some(t.scopes.clone()),
    })
}

/// Authenticates a request: `Authorization: token|bearer <T>` (scheme case-insensitive), HTTP Basic
/// with a password or a token, or `?token=` / `?access_token=`. No credentials means anonymous;
/// wrong credentials are a 401 whatever the route.
pub fn authenticate(
    world: &World,
    oauth: &OAuthState,
    headers: &HeaderMap,
    query: &str,
) -> Result<Doer, ApiError> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| invalid())?.trim();
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
            return by_token(world, oauth, credential);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credential)
                .map_err(|_| invalid())?;
            let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
            let (login, secret) = decoded.split_once(':').ok_or_else(invalid)?;
            let user = world.user_by_login(login).ok_or_else(invalid)?;
            if user.password.as_deref() == Some(secret) {
                return Ok(Doer {
                    user: Some(user.id),
                    login: Some(user.login.clone()),
                    scopes: None,
                });
            }
            let doer = by_token(world, oauth, secret)?;
            return if doer.user == Some(user.id) {
                Ok(doer)
            } else {
                Err(invalid())
            };
        }
    }
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == "token" || key == "access_token" {
            return by_token(world, oauth, &value);
        }
    }
    Ok(Doer::default())
}

/// The token scope category a route belongs to (`routers/api/v1/api.go` `tokenRequiresScopes`).
pub fn scope_category(path: &str) -> Option<ScopeCategory> {
    let rest = path.strip_prefix("/api/v1")?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    Some(match parts.as_slice() {
        [] | ["version"] | ["settings", ..] | ["markdown", ..] => return None,
        ["user", "orgs", ..] | ["users", _, "orgs", ..] | ["orgs", ..] => {
            ScopeCategory::Organization
        }
        ["user", "repos", ..] => ScopeCategory::Repository,
        ["user", ..] | ["users", ..] => ScopeCategory::User,
        ["repos", "issues", ..] => ScopeCategory::Issue,
        ["repos", _, _, "issues" | "labels" | "milestones", ..] => ScopeCategory::Issue,
        ["repos", ..] => ScopeCategory::Repository,
        ["admin", ..] => ScopeCategory::Admin,
        ["notifications", ..] => ScopeCategory::Notification,
        ["packages", ..] => ScopeCategory::Package,
        _ => ScopeCategory::Misc,
    })
}

/// 403 when the caller's token lacks the scope the route needs.
pub fn check_scope(doer: &Doer, method: &Method, path: &str) -> Result<(), ApiError> {
    let (Some(scopes), Some(category)) = (&doer.scopes, scope_category(path)) else {
        return Ok(());
    };
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if scopes.allows(category, write) {
        return Ok(());
    }
    let level = if write { "write" } else { "read" };
    Err(ApiError::forbidden(format!(
        "token does not have at least one of required scope(s), required=[{level}:{}], token scope={}",
        category.as_str(),
        scopes.text
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_scope_categories() {
        let cases = [
            ("/api/v1/version", None),
            ("/api/v1/user", Some(ScopeCategory::User)),
            ("/api/v1/user/repos", Some(ScopeCategory::Repository)),
            ("/api/v1/user/orgs", Some(ScopeCategory::Organization)),
            ("/api/v1/orgs/acme/repos", Some(ScopeCategory::Organization)),
            ("/api/v1/repos/acme/app", Some(ScopeCategory::Repository)),
            (
                "/api/v1/repos/acme/app/issues/1",
                Some(ScopeCategory::Issue),
            ),
            ("/api/v1/repos/acme/app/labels", Some(ScopeCategory::Issue)),
            (
                "/api/v1/repos/acme/app/pulls/2",
                Some(ScopeCategory::Repository),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(scope_category(path), want, "{path}");
        }
    }
}
