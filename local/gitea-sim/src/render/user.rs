//! `User` and `Organization` JSON (`convert.ToUser`, `convert.ToOrganization`).

use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::{ts, View, GO_ZERO_TIME};
use crate::model::{Org, User};

fn avatar(view: &View, key: &str) -> String {
    let digest = Sha1::digest(key.as_bytes());
    view.html(&format!("/avatars/{}", &hex::encode(digest)[..32]))
}

/// A user as another caller sees it: private details only for the user themself and site admins.
pub fn user(view: &View, u: &User) -> Value {
    let authed = view.doer.is_some_and(|d| d.id == u.id || d.admin);
    let signed = view.doer.is_some();
    let email = if signed {
        u.email.clone()
    } else {
        format!("{}@noreply.localhost", u.login.to_ascii_lowercase())
    };
    json!({
        "id": u.id,
        "login": u.login,
        // modules/structs/user.go MarshalJSON adds this duplicate of `login`
        "username": u.login,
        "login_name": "",
        "source_id": 0,
        "full_name": u.full_name,
        "email": email,
        "avatar_url": avatar(view, &u.login),
        "html_url": view.html(&format!("/{}", u.login)),
        "language": if authed { "en-US" } else { "" },
        "is_admin": authed && u.admin,
        "last_login": match (authed, u.last_login) {
            (true, Some(t)) => ts(t),
            (true, None) => "1970-01-01T00:00:00Z".to_string(),
            _ => GO_ZERO_TIME.to_string(),
        },
        "created": ts(u.created),
        "restricted": u.restricted,
        "active": authed,
        "prohibit_login": false,
        "location": u.location,
        "website": u.website,
        "description": u.description,
        "visibility": u.visibility,
        "followers_count": 0,
        "following_count": 0,
        "starred_repos_count": 0,
    })
}

/// An organization rendered as a `User` (the `owner` of its repositories).
pub fn org_as_user(view: &View, o: &Org) -> Value {
    json!({
        "id": o.id,
        "login": o.name,
        "username": o.name,
        "login_name": "",
        "source_id": 0,
        "full_name": o.full_name,
        "email": o.email,
        "avatar_url": avatar(view, &o.name),
        "html_url": view.html(&format!("/{}", o.name)),
        "language": "",
        "is_admin": false,
        "last_login": GO_ZERO_TIME,
        "created": ts(o.created),
        "restricted": false,
        "active": false,
        "prohibit_login": false,
        "location": o.location,
        "website": o.website,
        "description": o.description,
        "visibility": o.visibility,
        "followers_count": 0,
        "following_count": 0,
        "starred_repos_count": 0,
    })
}

pub fn organization(view: &View, o: &Org) -> Value {
    json!({
        "id": o.id,
        "name": o.name,
        "username": o.name,
        "full_name": o.full_name,
        "email": o.email,
        "avatar_url": avatar(view, &o.name),
        "description": o.description,
        "website": o.website,
        "location": o.location,
        "visibility": o.visibility,
        "repo_admin_change_team_access": true,
    })
}

/// A user by id, or JSON null.
pub fn user_by_id(view: &View, id: i64) -> Value {
    view.world.user(id).map_or(Value::Null, |u| user(view, u))
}
