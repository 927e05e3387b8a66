//! The consent page: who is asking, where the browser will be sent, which scopes. Plain
//! HTML, no script, every value escaped; the response forbids framing.

use std::fmt::Write;

/// HTML-escapes text for element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text a client supplied (its name, its id), as the consent page shows it: without the
/// invisible and bidirectional characters that could make it pass for another
/// (`Trusted\u{202E}exe.gpj`), joiners included, and without control characters.
pub fn visible_text(s: &str) -> String {
    aegis_core::hygiene::strip_invisible(s)
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{200C}' | '\u{200D}'))
        .collect()
}

pub struct Consent<'a> {
    pub client_name: &'a str,
    pub client_id: &'a str,
    pub redirect_host: &'a str,
    pub scopes: &'a [&'a str],
    pub request: &'a str,
    pub csrf: &'a str,
    pub action: &'a str,
}

fn describe(scope: &str) -> &'static str {
    match scope {
        aegis_edge::auth::SCOPE_READ => "Read your repositories, issues, pull requests and files",
        aegis_edge::auth::SCOPE_WRITE => {
            "Create and edit issues, comments, labels, milestones, branches, releases and pull requests (when the server allows writes)"
        }
        _ => "Unknown permission",
    }
}

pub fn consent(c: &Consent<'_>) -> String {
    let mut scopes = String::new();
    for s in c.scopes {
        let _ = write!(
            scopes,
            "<li><code>{}</code>: {}</li>",
            escape(s),
            escape(describe(s))
        );
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {name}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}}
.card{{border:1px solid #ccc;border-radius:8px;padding:1.5rem}}
.warn{{background:#fff4e5;border-left:4px solid #f0a020;padding:.5rem .75rem}}
button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem;border-radius:6px;border:1px solid #888;cursor:pointer}}
button.approve{{background:#1f6feb;color:#fff;border-color:#1f6feb}}
code{{background:#f3f3f3;padding:0 .25rem}}
</style></head>
<body><div class="card">
<h1>Authorize <span id="client-name">{name}</span>?</h1>
<p>The application <strong>{name}</strong> (<code>{id}</code>) asks to use your Gitea account through AegisGitea MCP.</p>
<p class="warn">After you approve and sign in to Gitea, your browser is sent to <strong id="redirect-host">{host}</strong>. Only approve if you started this from an application you trust.</p>
<p>It asks for:</p>
<ul id="scopes">{scopes}</ul>
<form method="post" action="{action}">
<input type="hidden" name="request" value="{request}">
<input type="hidden" name="csrf_token" value="{csrf}">
<button class="approve" type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</div></body></html>"#,
        name = escape(&visible_text(c.client_name)),
        id = escape(&visible_text(c.client_id)),
        host = escape(c.redirect_host),
        scopes = scopes,
        action = escape(c.action),
        request = escape(c.request),
        csrf = escape(c.csrf),
    )
}

/// A short error page (for errors that cannot be redirected to the client).
pub fn error(title: &str, detail: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto\">\
         <h1>{t}</h1><p>{d}</p></body></html>",
        t = escape(title),
        d = escape(detail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_escaped() {
        let page = consent(&Consent {
            client_name: "<script>alert(1)</script>\"",
            client_id: "x",
            redirect_host: "evil\"><img>",
            scopes: &["read:repository"],
            request: "r",
            csrf: "c",
            action: "/oauth/authorize",
        });
        assert!(!page.contains("<script>") && !page.contains("<img>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
