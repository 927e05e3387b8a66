//! Every read tool through `/mcp` against the simulator's demo data, in contract mode.

use serde_json::{json, Value};

use crate::sim::{Env, ALICE, CAROL};
use crate::support::call_tool;

fn ok(result: &Value) -> &Value {
    assert_ne!(result["isError"], true, "tool error: {result}");
    assert!(result.get("code").is_none(), "protocol error: {result}");
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    assert!(!text.is_empty(), "text content present: {result}");
    &result["structuredContent"]
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {v}"))
        .iter()
        .map(|i| i[key].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn repository_tools_read_real_content() {
    let env = Env::start(ALICE, &[]).await;
    let r = &env.router;

    // list_repositories walks Gitea's pages: the demo has more than one page of 50? no: >30.
    let res = call_tool(r, "list_repositories", json!({})).await;
    let v = ok(&res);
    let names: Vec<&str> = v["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["full_name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"acme/app") && names.contains(&"alice/notes"),
        "{names:?}"
    );
    assert!(
        names.len() > 30,
        "more than one default page: {}",
        names.len()
    );
    assert_eq!(v["total_count"].as_u64(), Some(names.len() as u64));

    let v = ok(&call_tool(
        r,
        "get_repository_info",
        json!({"owner": "acme", "repo": "app"}),
    )
    .await)
    .clone();
    assert_eq!(
        v["repository"]["description"],
        "ACME's customer-facing web application"
    );
    assert_eq!(v["repository"]["default_branch"], "main");
    assert!(v["repository"]["topics"].to_string().contains("rust"));

    let v =
        ok(&call_tool(r, "get_file_tree", json!({"owner": "acme", "repo": "app"})).await).clone();
    let top: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        top.contains(&"README.md") && top.contains(&"src"),
        "{top:?}"
    );
    assert!(!top.contains(&"src/main.rs"), "not recursive by default");
    let v = ok(&call_tool(
        r,
        "get_file_tree",
        json!({"owner": "acme", "repo": "app", "recursive": true, "ref": "feature/login"}),
    )
    .await)
    .clone();
    let all: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        all.contains(&"src/auth.rs") && all.contains(&"docs/guides/setup.md"),
        "{all:?}"
    );
    assert_eq!(v["ref"], "feature/login");

    let v = ok(&call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "README.md"}),
    )
    .await)
    .clone();
    assert_eq!(v["kind"], "text");
    assert!(v["content"].as_str().unwrap().starts_with("# ACME App"));
    let v = ok(&call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "assets/logo.png"}),
    )
    .await)
    .clone();
    assert_eq!(v["kind"], "binary");
    assert!(v.get("content").is_none());
    let v = ok(&call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "docs"}),
    )
    .await)
    .clone();
    assert_eq!(v["kind"], "directory");
    let v = ok(&call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "tests/data/large-fixture.txt"}),
    )
    .await)
    .clone();
    assert_eq!(v["truncated"], true);
    let content = v["content"].as_str().unwrap();
    assert!(
        content.chars().count() <= 20_000 && content.ends_with('\n'),
        "cut at a line boundary"
    );
    assert!(v["notice"]
        .as_str()
        .unwrap()
        .contains("MAX_TOOL_RESPONSE_CHARS"));
    // An older ref has the older file.
    let v = ok(&call_tool(
        r,
        "get_file_contents",
        json!({"owner": "acme", "repo": "app", "filepath": "src/main.rs", "ref": "v0.1.0"}),
    )
    .await)
    .clone();
    let old = v["content"].as_str().unwrap();
    assert!(
        old.contains("mod server;") && !old.contains("mod auth;"),
        "{old}"
    );

    env.assert_contract_clean();
}

#[tokio::test]
async fn history_issue_pull_and_release_tools() {
    let env = Env::start(ALICE, &[]).await;
    let r = &env.router;
    let app = |extra: Value| {
        let mut args = json!({"owner": "acme", "repo": "app"});
        if let (Some(a), Some(e)) = (args.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        args
    };

    let v = ok(&call_tool(r, "list_commits", app(json!({"limit": 3}))).await).clone();
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["items"][0]["message"].as_str().unwrap().trim(),
        "Harden config parsing"
    );
    assert_eq!(v["has_more"], true);
    assert_eq!(v["next_page"], 2);
    let head = v["items"][0]["sha"].as_str().unwrap().to_string();

    let v = ok(&call_tool(r, "get_commit_diff", app(json!({"sha": head}))).await).clone();
    assert!(v["diff"].as_str().unwrap().contains("src/config.rs"), "{v}");

    let v = ok(&call_tool(
        r,
        "compare_refs",
        app(json!({"base": "main", "head": "feature/search"})),
    )
    .await)
    .clone();
    assert!(v["total_commits"].as_i64().unwrap() >= 2, "{v}");

    let v = ok(&call_tool(r, "list_branches", app(json!({}))).await).clone();
    let branches = strings(&v, "name");
    assert!(
        branches.contains(&"feature/login".to_string()),
        "{branches:?}"
    );
    let v = ok(&call_tool(r, "get_branch", app(json!({"branch": "feature/search"}))).await).clone();
    assert_eq!(v["branch"]["name"], "feature/search");

    let v = ok(&call_tool(r, "list_tags", app(json!({}))).await).clone();
    assert!(strings(&v, "name").contains(&"v0.2.0".to_string()));

    let v = ok(&call_tool(r, "get_commit_status", app(json!({"sha": "main"}))).await).clone();
    assert_eq!(v["status"]["state"], "success", "{v}");

    let v = ok(&call_tool(r, "get_repo_languages", app(json!({}))).await).clone();
    assert!(v["languages"].as_array().is_some_and(|l| !l.is_empty()));
    let v = ok(&call_tool(r, "list_repo_topics", app(json!({}))).await).clone();
    assert!(v["topics"].to_string().contains("rust"));

    // issues: open by default, PRs excluded
    let v = ok(&call_tool(r, "list_issues", app(json!({}))).await).clone();
    let titles = strings(&v, "title");
    assert!(
        titles.contains(&"Add rate limiting to the API".to_string()),
        "{titles:?}"
    );
    assert!(
        !titles.contains(&"Add search endpoint".to_string()),
        "PRs are not issues"
    );
    assert!(
        !titles.iter().any(|t| t.contains("crashes")),
        "closed issue hidden"
    );
    let v = ok(&call_tool(
        r,
        "list_issues",
        app(json!({"state": "all", "labels": ["bug", "priority/high"]})),
    )
    .await)
    .clone();
    assert_eq!(
        strings(&v, "title"),
        vec!["Panic on empty search query".to_string()]
    );
    let v = ok(&call_tool(r, "get_issue", app(json!({"issue_number": 4}))).await).clone();
    assert_eq!(v["issue"]["milestone"]["title"], "v0.4.0");
    assert_eq!(v["issue"]["assignees"], json!(["alice", "bob"]));
    let v = ok(&call_tool(
        r,
        "list_issue_comments",
        app(json!({"issue_number": 4, "limit": 2})),
    )
    .await)
    .clone();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert_eq!(v["has_more"], true);
    assert_eq!(v["total_count"], 3);
    let v = ok(&call_tool(
        r,
        "list_issue_comments",
        app(json!({"issue_number": 4, "limit": 2, "page": 2})),
    )
    .await)
    .clone();
    assert_eq!(
        strings(&v, "body"),
        vec!["Please return Retry-After on 429.".to_string()]
    );
    assert_eq!(v["has_more"], false);

    let v = ok(&call_tool(r, "list_labels", app(json!({}))).await).clone();
    assert!(strings(&v, "name").contains(&"good first issue".to_string()));
    let v = ok(&call_tool(r, "list_milestones", app(json!({"state": "all"}))).await).clone();
    assert_eq!(v["items"].as_array().unwrap().len(), 3);

    let v = ok(&call_tool(r, "list_pull_requests", app(json!({"state": "all"}))).await).clone();
    assert!(strings(&v, "title").contains(&"Add login handler".to_string()));
    let v = ok(&call_tool(r, "get_pull_request", app(json!({"pull_number": 3}))).await).clone();
    assert_eq!(v["pull_request"]["merged"], true);
    assert_eq!(v["pull_request"]["head"]["ref"], "feature/login");
    let v =
        ok(&call_tool(r, "list_pull_request_files", app(json!({"pull_number": 6}))).await).clone();
    assert!(
        strings(&v, "filename").contains(&"src/search.rs".to_string()),
        "{v}"
    );
    let v = ok(&call_tool(
        r,
        "list_pull_request_commits",
        app(json!({"pull_number": 6})),
    )
    .await)
    .clone();
    assert!(!v["items"].as_array().unwrap().is_empty());

    let v = ok(&call_tool(r, "list_releases", app(json!({}))).await).clone();
    let releases = v["items"].as_array().unwrap().clone();
    assert!(
        releases.iter().any(|x| x["draft"] == true)
            && releases.iter().any(|x| x["prerelease"] == true)
    );
    let id = releases[0]["id"].as_i64().unwrap();
    let v = ok(&call_tool(r, "get_release", app(json!({"release_id": id}))).await).clone();
    assert_eq!(v["release"]["id"], id);
    let v = ok(&call_tool(r, "get_latest_release", app(json!({}))).await).clone();
    assert_eq!(v["release"]["tag_name"], "v0.3.0");

    let v = ok(&call_tool(r, "list_org_repositories", json!({"org": "acme"})).await).clone();
    assert!(strings(&v, "full_name").contains(&"acme/app".to_string()));
    let v = ok(&call_tool(r, "list_organizations", json!({})).await).clone();
    assert!(strings(&v, "name").contains(&"acme".to_string()));

    let v = ok(&call_tool(
        r,
        "search_code",
        app(json!({"query": "check_password", "ref": "feature/login"})),
    )
    .await)
    .clone();
    let m = &v["matches"][0];
    assert_eq!(m["path"], "src/auth.rs");
    assert!(m["line"].as_str().unwrap().contains("check_password"));
    assert!(
        v["stats"]["files_skipped_binary"].as_u64().unwrap() >= 1,
        "logo.png skipped"
    );

    env.assert_contract_clean();
}

#[tokio::test]
async fn gitea_errors_become_clear_tool_errors() {
    let env = Env::start(CAROL, &[]).await;
    let r = &env.router;
    let cases = [
        (
            "get_repository_info",
            json!({"owner": "acme", "repo": "secrets-vault"}),
            "not found",
        ),
        (
            "get_file_contents",
            json!({"owner": "acme", "repo": "app", "filepath": "nope.txt"}),
            "not found",
        ),
        (
            "get_file_contents",
            json!({"owner": "acme", "repo": "app", "filepath": "README.md", "ref": "no-such-branch"}),
            "not found",
        ),
        (
            "get_issue",
            json!({"owner": "acme", "repo": "app", "issue_number": 999}),
            "not found",
        ),
    ];
    for (tool, args, fragment) in cases {
        let res = call_tool(r, tool, args.clone()).await;
        assert_eq!(res["isError"], true, "{tool} {args}: {res}");
        let text = res["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(fragment), "{tool}: {text}");
        assert!(!text.contains("swagger"), "no raw upstream body: {text}");
    }
    env.assert_contract_clean();
}

/// Every Gitea operation the client implements is exercised and maps to a swagger
/// operation (the simulator checks the query parameters and response bodies itself).
#[tokio::test]
async fn contract_covers_every_client_request() {
    let env = Env::start(ALICE, &[]).await;
    let r = &env.router;
    let app = json!({"owner": "acme", "repo": "app"});
    let with = |extra: Value| {
        let mut a = app.clone();
        a.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        a
    };
    let calls = [
        ("list_repositories", json!({})),
        ("get_repository_info", app.clone()),
        ("get_file_tree", with(json!({"recursive": true}))),
        (
            "get_file_contents",
            with(json!({"filepath": "README.md", "ref": "main"})),
        ),
        ("search_code", with(json!({"query": "fn main"}))),
        ("list_commits", with(json!({"ref": "main"}))),
        ("get_commit_diff", with(json!({"sha": "main"}))),
        (
            "compare_refs",
            with(json!({"base": "main", "head": "feature/search"})),
        ),
        ("list_issues", with(json!({"labels": ["bug"]}))),
        ("get_issue", with(json!({"issue_number": 1}))),
        ("list_issue_comments", with(json!({"issue_number": 1}))),
        ("list_pull_requests", app.clone()),
        ("get_pull_request", with(json!({"pull_number": 6}))),
        ("list_pull_request_files", with(json!({"pull_number": 6}))),
        ("list_pull_request_commits", with(json!({"pull_number": 6}))),
        ("list_labels", app.clone()),
        ("list_tags", app.clone()),
        ("list_releases", app.clone()),
        ("get_release", with(json!({"release_id": 1}))),
        ("get_latest_release", app.clone()),
        ("list_branches", app.clone()),
        ("get_branch", with(json!({"branch": "main"}))),
        ("list_milestones", app.clone()),
        ("get_commit_status", with(json!({"sha": "main"}))),
        ("list_org_repositories", json!({"org": "acme"})),
        ("list_organizations", json!({})),
        ("get_repo_languages", app.clone()),
        ("list_repo_topics", app.clone()),
    ];
    for (tool, args) in calls {
        let res = call_tool(r, tool, args.clone()).await;
        assert!(res.get("code").is_none(), "{tool} {args}: {res}");
    }
    let contract = gitea_sim::contract::Contract::load(&crate::sim::swagger_path()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for req in env.sim.state.requests() {
        let op = contract
            .operation_id(&req.method, &req.path)
            .unwrap_or_else(|| panic!("{} {} is not in the swagger", req.method, req.path));
        seen.insert(op);
    }
    let expected: std::collections::BTreeSet<String> = [
        "userCurrentListRepos",
        "repoGet",
        "GetTree",
        "repoGetContents",
        "GetBlob",
        "repoGetAllCommits",
        "repoGetSingleCommit",
        "repoDownloadCommitDiffOrPatch",
        "repoCompareDiff",
        "issueListIssues",
        "issueGetIssue",
        "issueGetComments",
        "repoListPullRequests",
        "repoGetPullRequest",
        "repoGetPullRequestFiles",
        "repoGetPullRequestCommits",
        "issueListLabels",
        "repoListTags",
        "repoListReleases",
        "repoGetRelease",
        "repoGetLatestRelease",
        "repoListBranches",
        "repoGetBranch",
        "issueGetMilestonesList",
        "repoGetCombinedStatusByRef",
        "orgListRepos",
        "orgListCurrentUserOrgs",
        "repoGetLanguages",
        "repoListTopics",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(seen, expected);
    env.assert_contract_clean();
}

/// The edge answers a plain `tools/call` itself (`aegis_mcp::protocol::DirectToolCall`),
/// without rmcp's per-request service; its answer must be the one rmcp gives. Each call is
/// sent twice with the same request id: as it is (answered directly), and with an empty
/// `_meta` (which the direct path leaves to rmcp); status, content type and body must match
/// byte for byte.
#[tokio::test]
async fn a_direct_tool_call_answers_exactly_as_the_protocol_layer() {
    use crate::support::{mcp_request, send};
    use aegis_mcp::protocol::DirectToolCall;

    let env = Env::start(ALICE, &[]).await;
    let app = json!({"owner": "acme", "repo": "app"});
    let cases: Vec<(Value, Value)> = vec![
        (json!(1), json!({"name": "list_labels", "arguments": app})),
        (
            json!("s-2"),
            json!({"name": "get_repository_info", "arguments": app}),
        ),
        (json!(3), json!({"name": "list_repositories"})),
        (
            json!(4),
            json!({"name": "list_repositories", "arguments": {}}),
        ),
        (
            json!(5),
            json!({"name": "get_file_contents",
                   "arguments": {"owner": "acme", "repo": "app", "path": "README.md"}}),
        ),
        // a JSON-RPC error: the unknown tool
        (json!(6), json!({"name": "no_such_tool", "arguments": {}})),
        // tool results with isError: bad arguments, a write with write mode off, a 404
        (
            json!(7),
            json!({"name": "list_labels", "arguments": {"owner": "acme"}}),
        ),
        (
            json!(8),
            json!({"name": "create_issue",
                   "arguments": {"owner": "acme", "repo": "app", "title": "t"}}),
        ),
        (
            json!(9),
            json!({"name": "list_labels", "arguments": {"owner": "acme", "repo": "nope"}}),
        ),
        (
            json!(10),
            json!({"name": "get_file_contents",
                   "arguments": {"owner": "acme", "repo": "app", "path": "../etc/passwd"}}),
        ),
    ];
    for (n, (id, params)) in cases.into_iter().enumerate() {
        let direct = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        let mut meta_params = params.clone();
        meta_params["_meta"] = json!({});
        let via_rmcp =
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": meta_params});
        let request_id = format!("direct-call-{n}");
        let headers = [
            ("mcp-protocol-version", "2025-11-25"),
            ("x-request-id", request_id.as_str()),
        ];
        // The two requests take the two paths.
        let probe = mcp_request(direct.to_string(), &headers);
        let eligible = |v: &Value| {
            DirectToolCall::eligible(probe.headers(), v.to_string().as_bytes()).is_some()
        };
        assert!(eligible(&direct), "{direct}");
        assert!(!eligible(&via_rmcp), "{via_rmcp}");

        let a = send(&env.router, mcp_request(direct.to_string(), &headers)).await;
        let b = send(&env.router, mcp_request(via_rmcp.to_string(), &headers)).await;
        assert_eq!(a.status, b.status, "{direct}");
        assert_eq!(
            a.header("content-type"),
            b.header("content-type"),
            "{direct}"
        );
        assert_eq!(
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body),
            "{direct}"
        );
        assert!(a.json().get("jsonrpc").is_some(), "{direct}");
    }
    // A member given twice is refused by the protocol layer's types: the edge leaves such
    // a call to it (before, it would have run the last `name` it read).
    let bodies = [
        r#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"no_such_tool","name":"list_labels","arguments":{"owner":"acme","repo":"app"}}}"#,
        r#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"list_labels","arguments":{"owner":"acme","repo":"nope"},"arguments":{"owner":"acme","repo":"app"}}}"#,
        r#"{"jsonrpc":"2.0","id":13,"id":14,"method":"tools/call","params":{"name":"list_labels","arguments":{"owner":"acme","repo":"app"}}}"#,
    ];
    for body in bodies {
        let via_rmcp = body.replacen(r#""params":{"#, r#""params":{"_meta":{},"#, 1);
        let headers = [
            ("mcp-protocol-version", "2025-11-25"),
            ("x-request-id", "direct-call-duplicates"),
        ];
        assert!(
            DirectToolCall::eligible(
                &mcp_request("", &headers).headers().clone(),
                body.as_bytes()
            )
            .is_none(),
            "{body}"
        );
        let a = send(&env.router, mcp_request(body.to_string(), &headers)).await;
        let b = send(&env.router, mcp_request(via_rmcp, &headers)).await;
        assert_eq!(a.status, b.status, "{body}");
        assert_eq!(
            String::from_utf8_lossy(&a.body),
            String::from_utf8_lossy(&b.body),
            "{body}"
        );
    }
}

/// What the direct path leaves to rmcp: other protocol revisions and their headers,
/// `_meta`, unexpected members, non-object arguments, a missing Host, other media types.
#[tokio::test]
async fn only_plain_legacy_tool_calls_are_answered_directly() {
    use crate::support::mcp_request;
    use aegis_mcp::protocol::DirectToolCall;

    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "list_labels", "arguments": {}}});
    let eligible = |message: &Value, headers: &[(&str, &str)], drop: &[&str]| {
        let mut req = mcp_request(message.to_string(), headers);
        for name in drop {
            req.headers_mut().remove(*name);
        }
        DirectToolCall::eligible(req.headers(), message.to_string().as_bytes()).is_some()
    };
    for version in ["2025-11-25", "2025-06-18", "2025-03-26"] {
        assert!(
            eligible(&call, &[("mcp-protocol-version", version)], &[]),
            "{version}"
        );
    }
    assert!(eligible(&call, &[], &[]), "no version header: 2025-03-26");
    // (headers added, headers removed)
    type Change<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let refused_headers: &[Change] = &[
        (&[("mcp-protocol-version", "2026-07-28")], &[]),
        (&[("mcp-protocol-version", "1999-01-01")], &[]),
        (&[("mcp-method", "tools/call")], &[]),
        (&[("mcp-name", "list_labels")], &[]),
        (&[("accept", "application/json")], &[]),
        (&[("content-type", "text/plain")], &[]),
        (&[], &["host"]),
        (&[], &["content-type"]),
    ];
    for (headers, drop) in refused_headers {
        assert!(!eligible(&call, headers, drop), "{headers:?} {drop:?}");
    }
    let refused_messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "list_labels", "arguments": {}, "_meta": {"progressToken": 1}}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "list_labels", "arguments": {}, "task": {}}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "list_labels", "arguments": "x"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 3}}),
        json!({"jsonrpc": "2.0", "id": 1.5, "method": "tools/call",
               "params": {"name": "list_labels"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "extra": 1,
               "params": {"name": "list_labels"}}),
    ];
    for message in refused_messages {
        assert!(!eligible(&message, &[], &[]), "{message}");
    }
}
