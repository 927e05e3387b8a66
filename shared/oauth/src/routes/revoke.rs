//! `POST /oauth/revoke`: token revocation (RFC 7009).

use super::*;

/// RFC 7009: revokes the grant behind a refresh or access token of this client. Always
/// 200 for an authenticated client, whether or not the token was known.
pub(super) async fn revoke(
    State(state): State<OAuthState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let server = server(&state)?.clone();
    let req: TokenRequest = form_or_json(&headers, body)?;
    let client = authenticate_client(&state, &server, &headers, &req).await?;
    let token = req
        .token
        .as_deref()
        .ok_or_else(|| OAuthError::bad("invalid_request", "`token` is required"))?;
    let gid = if token.matches('.').count() == 2 {
        // An access token: its grant, signature checked, expiry not.
        tokens::grant_of(&server.keys, token)
    } else {
        token.split_once('.').map(|(g, _)| g.to_string())
    };
    if let Some(gid) = gid {
        if let Some(grant) = state
            .edge
            .storage
            .grants
            .get_grant(&gid)
            .await
            .map_err(OAuthError::server)?
        {
            if grant.client_id == client.id {
                state
                    .edge
                    .storage
                    .grants
                    .revoke_grant(&gid)
                    .await
                    .map_err(OAuthError::server)?;
                server.grant_cache.forget(&gid);
            }
        }
    }
    Ok(revoked())
}

impl From<StorageError> for OAuthError {
    fn from(e: StorageError) -> Self {
        OAuthError::server(e)
    }
}
