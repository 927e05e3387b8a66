//! Policy tests: the decision table of `tests/data/policy/`, parse errors, the example
//! policies of `policies/` and their JSON Schema, and properties over generated input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

fn workspace_dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap_or_else(|e| panic!("test repo `{s}`: {e}"))
}

// ---------------------------------------------------------------------------------------
// The decision table

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    policy: String,
    tool: Option<String>,
    kind: Option<String>,
    repo: Option<String>,
    path: Option<String>,
    want: Effect,
    reason: String,
}

fn table_policies() -> BTreeMap<String, Policy> {
    let dir = workspace_dir("tests/data/policy");
    let mut policies = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("tests/data/policy exists") {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "yaml") && name != "cases" {
            let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
            policies.insert(name, policy);
        }
    }
    policies
}

/// Runs one row; returns a description of the mismatch, if any.
fn check(policies: &BTreeMap<String, Policy>, case: &Case) -> Option<String> {
    let policy = &policies[&case.policy];
    let repo = case.repo.as_deref().map(repo);
    let decision = match &case.tool {
        Some(tool) => {
            let kind = match case.kind.as_deref() {
                Some("read") => ToolClass::Read,
                Some("write") => ToolClass::Write,
                Some("automation") => ToolClass::Automation,
                Some(other) => panic!("bad kind `{other}` in {case:?}"),
                // An unknown tool is asked about as a read tool: it must fail on the name.
                None => policy.catalogue().class_of(tool).unwrap_or(ToolClass::Read),
            };
            policy.authorize(&PolicyRequest {
                tool,
                kind,
                repo: repo.as_ref(),
                path: case.path.as_deref(),
            })
        }
        None => policy.path_allowed(
            repo.as_ref().expect("a path_allowed row names a repo"),
            case.path
                .as_deref()
                .expect("a path_allowed row names a path"),
        ),
    };
    let want_allowed = case.want == Effect::Allow;
    let has_reason = decision.reasons.iter().any(|r| r.contains(&case.reason));
    (decision.allowed != want_allowed || !has_reason)
        .then(|| format!("{case:?}\n    got {decision:?}"))
}

#[test]
fn decision_table() {
    let policies = table_policies();
    let src = std::fs::read_to_string(workspace_dir("tests/data/policy/cases.yaml")).unwrap();
    let cases: Vec<Case> = serde_yaml::from_str(&src).unwrap();
    assert!(
        cases.len() >= 60,
        "the table shrank to {} rows",
        cases.len()
    );
    let failures: Vec<String> = cases.iter().filter_map(|c| check(&policies, c)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Every fixture policy is used by some row, so none rots unnoticed.
    for name in policies.keys() {
        assert!(
            cases.iter().any(|c| &c.policy == name),
            "no row uses `{name}`"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Parse errors

/// (policy source, line the error must name, fragment of the message)
const BAD_POLICIES: &[(&str, Option<usize>, &str)] = &[
    (
        "tools:\n  alow: [get_issue]\n",
        Some(2),
        "unknown field `alow`",
    ),
    ("repos:\n  a/b: {}\n", Some(1), "unknown field `repos`"),
    ("paths:\n  deny: [x]\n", Some(1), "unknown field `paths`"),
    (
        "repositories:\n  a/b:\n    tools: {}\n    path: {}\n",
        Some(4),
        "unknown field `path`",
    ),
    (
        "repositories:\n  a/b:\n    paths:\n      deny: [x]\n      allowed: [y]\n",
        Some(5),
        "unknown field `allowed`",
    ),
    ("defaults: {read: maybe}\n", Some(1), "`allow` or `deny`"),
    (
        "defaults: {read: allow, execute: deny}\n",
        Some(1),
        "unknown field `execute`",
    ),
    (
        "# comment\ntools:\n  allow:\n    - get_issue\n    - creat_issue\n",
        Some(5),
        "tools.allow[1]: unknown tool `creat_issue`; did you mean `create_issue`?",
    ),
    (
        "repositories:\n  a/b:\n    tools:\n      deny: [get_file_contents, delete_repository]\n",
        Some(4),
        "repositories.a/b.tools.deny[1]: unknown tool `delete_repository`",
    ),
    (
        "tools:\n  deny: [\"create_*\"]\n",
        Some(2),
        "not a tool name",
    ),
    (
        "tools:\n  deny: [Create_Issue]\n",
        Some(2),
        "not a tool name",
    ),
    (
        "repositories:\n  acme/app: {}\n  ACME/App: {}\n",
        Some(3),
        "repositories: `ACME/App` is listed twice",
    ),
    (
        "repositories:\n  acme: {}\n",
        Some(2),
        "repository key `acme` is not `owner/repo`",
    ),
    (
        "repositories:\n  acme/app/x: {}\n",
        Some(2),
        "is not `owner/repo`",
    ),
    (
        "repositories:\n  a/b: {}\n  org/repo-*x*/y:\n    tools: {}\n",
        Some(3),
        "repository key `org/repo-*x*/y` is not `owner/repo`",
    ),
    (
        "repositories:\n  a/b:\n    paths:\n      deny: [\"src/[\"]\n",
        Some(4),
        "path pattern `src/[` is not a glob",
    ),
    (
        "repositories:\n  a/b:\n    paths:\n      allow: [\"../other/*\"]\n",
        Some(4),
        "has a `..` segment",
    ),
    (
        "repositories:\n  a/b:\n    paths:\n      deny: [\"\"]\n",
        Some(4),
        "is empty",
    ),
    (
        "tools: [get_issue]\n",
        Some(1),
        "expected `tools`: a mapping",
    ),
    ("- get_issue\n", Some(1), "expected a policy"),
    (
        "tools:\n  allow: get_issue\n",
        Some(2),
        "expected a sequence",
    ),
    (
        "tools:\n  allow: [get_issue, \"x]\n",
        Some(3),
        "quoted scalar at line 2",
    ),
    // YAML folds the over-indented line into the value above it.
    (
        "defaults:\n  read: allow\n   write: deny\n",
        Some(2),
        "unknown variant `allow write`",
    ),
    ("defaults:\n  read: allow\n write: deny\n", Some(3), ""),
    (
        "---\ndefaults: {read: allow}\n---\ntools: {}\n",
        Some(3),
        "more than one document",
    ),
    (
        "repositories: {acme/app: {}, ACME/App: {}}\n",
        Some(1),
        "`ACME/App` is listed twice",
    ),
    ("", None, "the policy is empty"),
    ("# only a comment\n---\n", None, "the policy is empty"),
];

#[test]
fn parse_errors_point_at_the_line() {
    for (src, line, fragment) in BAD_POLICIES {
        let err = match Policy::from_yaml(src) {
            Ok(_) => panic!("{src:?} loaded"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert_eq!(err.line(), *line, "{src:?}: {text}");
        if let Some(l) = line {
            assert!(text.contains(&format!("line {l}")), "{src:?}: {text}");
        }
        assert!(text.contains(fragment), "{src:?}: {text}");
        assert!(text.starts_with("invalid policy"), "{text}");
    }
}

#[test]
fn load_names_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "tools:\n  deny: [serch_code]\n").unwrap();
    let text = Policy::load(&path).unwrap_err().to_string();
    assert!(text.contains("bad.yaml"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains("did you mean `search_code`"), "{text}");
    let missing = Policy::load(&dir.path().join("absent.yaml")).unwrap_err();
    assert!(matches!(missing, PolicyError::Read { .. }), "{missing}");
}

#[test]
fn a_custom_catalogue_decides_what_is_known() {
    let mut catalogue = ToolCatalogue::spec();
    catalogue.insert("get_wiki_page", ToolClass::Read).unwrap();
    let src = "tools:\n  deny: [get_wiki_page]\n";
    assert!(Policy::from_yaml(src).is_err());
    let policy = Policy::from_yaml_with(src, catalogue).unwrap();
    let decision = policy.authorize(&PolicyRequest::new("get_wiki_page", ToolClass::Read));
    assert!(!decision.allowed);
    // With no tools at all, even the defaults cannot allow anything.
    let empty = Policy::from_yaml_with("{}", ToolCatalogue::empty()).unwrap();
    assert!(
        !empty
            .authorize(&PolicyRequest::new("get_issue", ToolClass::Read))
            .allowed
    );
}

#[test]
fn the_default_policy_is_the_empty_file() {
    let from_file = Policy::from_yaml("{}").unwrap();
    let default = Policy::default();
    assert_eq!(default.defaults(), (Effect::Allow, Effect::Deny));
    assert_eq!(from_file.defaults(), default.defaults());
    let app = repo("acme/app");
    for (name, class) in ToolCatalogue::spec().iter() {
        let request = PolicyRequest::new(name, class).repo(&app);
        assert_eq!(
            from_file.authorize(&request),
            default.authorize(&request),
            "{name}"
        );
        assert_eq!(
            default.authorize(&request).allowed,
            class == ToolClass::Read,
            "{name}"
        );
    }
}

#[test]
fn warnings_flag_rules_that_cannot_win() {
    let policy = Policy::from_yaml(
        "defaults: {write: allow}\ntools: {allow: [get_issue], deny: [get_issue]}\n\
         repositories:\n  a/b:\n    tools: {allow: [list_issues], deny: [list_issues]}\n",
    )
    .unwrap();
    let warnings = policy.warnings().join("\n");
    assert!(warnings.contains("defaults.write is allow"), "{warnings}");
    assert!(
        warnings.contains("tools.allow names `get_issue`, but tools.deny[0] names `get_issue`"),
        "{warnings}"
    );
    assert!(
        warnings.contains("repositories.a/b.tools.allow names `list_issues`"),
        "{warnings}"
    );
    assert!(Policy::default().warnings().is_empty());
}

#[test]
fn listings_drop_denied_paths() {
    let policy = Policy::from_yaml(
        "repositories:\n  acme/app:\n    paths:\n      deny: [\"src/secrets\", \"**/*.pem\"]\n",
    )
    .unwrap();
    let mut entries = vec![
        "README.md",
        "src",
        "src/secrets",
        "src/secrets/key",
        "src/main.rs",
        "certs/ca.PEM",
        "../escape",
    ];
    policy.retain_allowed(&repo("acme/app"), &mut entries, |e| e);
    assert_eq!(entries, ["README.md", "src", "src/main.rs"]);
}

// ---------------------------------------------------------------------------------------
// Example policies and their JSON Schema

fn example_policies() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace_dir("policies"))
        .expect("policies/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(workspace_dir("policies/policy.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn yaml_to_json(src: &str) -> serde_json::Value {
    serde_yaml::from_str(src).unwrap()
}

#[test]
fn every_example_policy_loads_cleanly() {
    let files = example_policies();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "default.yaml",
        "read-only-strict.yaml",
        "write-one-repo.yaml",
        "automation.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "policies/{wanted} is missing"
        );
    }
    let catalogue = ToolCatalogue::spec();
    for file in &files {
        let policy = Policy::load_with(file, catalogue.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            policy.warnings().is_empty(),
            "{}: {:?}",
            file.display(),
            policy.warnings()
        );
    }
    // default.yaml is the spec's defaults, decision for decision.
    let default = Policy::load(&workspace_dir("policies/default.yaml")).unwrap();
    let app = repo("acme/app");
    for (name, class) in ToolCatalogue::spec().iter() {
        let request = PolicyRequest::new(name, class).repo(&app);
        assert_eq!(
            default.authorize(&request).allowed,
            Policy::default().authorize(&request).allowed,
            "{name}"
        );
    }
}

#[test]
fn every_example_policy_matches_the_schema() {
    let validator = schema();
    for file in example_policies() {
        let instance = yaml_to_json(&std::fs::read_to_string(&file).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
    for fixture in ["spec-example", "layered", "strict", "write-one"] {
        let path = workspace_dir(&format!("tests/data/policy/{fixture}.yaml"));
        let instance = yaml_to_json(&std::fs::read_to_string(path).unwrap());
        assert!(validator.is_valid(&instance), "{fixture}");
    }
}

#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let validator = schema();
    for src in [
        "tools:\n  alow: [get_issue]\n",
        "repos: {}\n",
        "defaults: {read: maybe}\n",
        "tools:\n  allow: [creat_issue]\n",
        "tools:\n  deny: [\"create_*\"]\n",
        "repositories:\n  acme: {}\n",
        "repositories:\n  a/b:\n    path: {}\n",
        "repositories:\n  a/b:\n    paths: {deny: [\"../x\"]}\n",
        "tools: [get_issue]\n",
    ] {
        assert!(Policy::from_yaml(src).is_err(), "{src:?} loads");
        assert!(
            !validator.is_valid(&yaml_to_json(src)),
            "{src:?} passes the schema"
        );
    }
}

#[test]
fn the_schema_lists_the_catalogue() {
    let text = std::fs::read_to_string(workspace_dir("policies/policy.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<&str> = schema["$defs"]["toolName"]["enum"]
        .as_array()
        .expect("$defs.toolName.enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut known: Vec<&str> = READ_TOOLS
        .iter()
        .chain(&WRITE_TOOLS)
        .chain(&AUTOMATION_TOOLS)
        .copied()
        .collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort_unstable();
    known.sort_unstable();
    assert_eq!(listed_sorted, known);
}

// ---------------------------------------------------------------------------------------
// Properties

fn any_tool() -> impl Strategy<Value = (&'static str, ToolClass)> {
    let tools: Vec<(&'static str, ToolClass)> = READ_TOOLS
        .iter()
        .map(|n| (*n, ToolClass::Read))
        .chain(WRITE_TOOLS.iter().map(|n| (*n, ToolClass::Write)))
        .chain(AUTOMATION_TOOLS.iter().map(|n| (*n, ToolClass::Automation)))
        .collect();
    proptest::sample::select(tools)
}

fn any_repo() -> impl Strategy<Value = RepoName> {
    (
        "[a-zA-Z0-9][a-zA-Z0-9._-]{0,8}",
        "[a-zA-Z0-9][a-zA-Z0-9._-]{0,8}",
    )
        .prop_filter_map("a valid name", |(o, r)| {
            RepoName::parse(&format!("{o}/{r}")).ok()
        })
}

/// A normalised path of one to four plain segments.
fn any_path() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,6}", 1..5).prop_map(|s| s.join("/"))
}

/// A path written the way an attacker might: encoded, dotted, doubled slashes.
fn any_raw_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "[a-zA-Z0-9_.-]{1,6}",
        Just(".".to_string()),
        Just("..".to_string()),
        Just("".to_string()),
        Just("%2e%2e".to_string()),
        Just("%252e".to_string()),
        Just("%2F".to_string()),
        Just("%25".to_string()),
        Just("a%5cb".to_string()),
        "%[0-9a-fA-F]{2}",
        "[^/]{1,4}",
    ];
    proptest::collection::vec(segment, 0..6).prop_map(|s| s.join("/"))
}

fn yaml_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A tool both allowed and denied, at any pair of levels, is denied.
    #[test]
    fn deny_beats_allow_for_any_tool((tool, class) in any_tool(), repo in any_repo(), levels in 0..4u8) {
        let key = format!("{}/{}", repo.owner.to_lowercase(), repo.repo.to_uppercase());
        let (global_allow, global_deny, repo_allow, repo_deny) = match levels {
            0 => (vec![tool], vec![tool], vec![], vec![]),
            1 => (vec![tool], vec![], vec![], vec![tool]),
            2 => (vec![], vec![tool], vec![tool], vec![]),
            _ => (vec![], vec![], vec![tool], vec![tool]),
        };
        let src = format!(
            "defaults: {{read: allow, write: allow}}\ntools: {{allow: {}, deny: {}}}\n\
             repositories:\n  {key:?}:\n    tools: {{allow: {}, deny: {}}}\n",
            yaml_list(&global_allow), yaml_list(&global_deny), yaml_list(&repo_allow), yaml_list(&repo_deny),
        );
        let policy = Policy::from_yaml(&src).unwrap();
        let decision = policy.authorize(&PolicyRequest::new(tool, class).repo(&repo));
        prop_assert!(!decision.allowed, "{src}\n{decision:?}");
        prop_assert!(decision.reasons.iter().any(|r| r.contains("deny")), "{decision:?}");
    }

    /// A path both allowed and denied (the deny rule in any case) is denied, for every tool
    /// and for listings.
    #[test]
    fn deny_beats_allow_for_any_path(
        path in any_path(), (tool, class) in any_tool(), upper in any::<bool>(), repo in any_repo(),
    ) {
        let deny = if upper { path.to_uppercase() } else { path.to_lowercase() };
        let key = format!("{}/{}", repo.owner, repo.repo);
        let src = format!(
            "tools: {{allow: [{tool}]}}\nrepositories:\n  {key:?}:\n    paths: {{allow: [\"**\", {path:?}], deny: [{deny:?}]}}\n"
        );
        let policy = Policy::from_yaml(&src).unwrap();
        let request = PolicyRequest::new(tool, class).repo(&repo).path(&path);
        prop_assert!(!policy.authorize(&request).allowed, "{src}");
        prop_assert!(!policy.path_allowed(&repo, &path).allowed, "{src}");
        let child = format!("{path}/child.txt");
        prop_assert!(!policy.path_allowed(&repo, &child).allowed, "{src}");
    }

    /// Normalising a normalised path changes nothing, and never lets `..` through.
    #[test]
    fn normalisation_is_idempotent(raw in any_raw_path()) {
        if let Ok(once) = normalize_repo_path(&raw) {
            let twice = normalize_repo_path(&once);
            prop_assert_eq!(twice.as_deref(), Ok(once.as_str()));
            prop_assert!(once.split('/').all(|s| !s.is_empty() && s != "." && s != ".."), "{}", once);
            prop_assert!(!once.contains('\\'));
        }
    }

    /// With no rules at all, no write tool runs anywhere, with or without a path.
    #[test]
    fn an_empty_policy_denies_every_write_tool(
        index in 0..WRITE_TOOLS.len(), repo in proptest::option::of(any_repo()), path in proptest::option::of(any_raw_path()),
    ) {
        let tool = WRITE_TOOLS[index];
        for policy in [Policy::default(), Policy::from_yaml("{}").unwrap(), Policy::from_yaml("defaults: {}").unwrap()] {
            let mut request = PolicyRequest::new(tool, ToolClass::Write);
            request.repo = repo.as_ref();
            request.path = path.as_deref();
            prop_assert!(!policy.authorize(&request).allowed);
        }
    }

    /// Whatever a listing holds, filtering keeps no path under a denied directory, in any
    /// case, and nothing that cannot be normalised.
    #[test]
    fn filtering_never_returns_a_denied_path(
        denied in proptest::collection::vec(any_path(), 1..4),
        mut listing in proptest::collection::vec(prop_oneof![any_path(), any_raw_path()], 0..24),
        extra in proptest::collection::vec(any_path(), 0..4),
    ) {
        // Put some denied paths, their children and case variants into the listing.
        for (i, d) in denied.iter().enumerate() {
            listing.push(d.clone());
            listing.push(d.to_uppercase());
            if let Some(e) = extra.get(i) {
                listing.push(format!("{d}/{e}"));
            }
        }
        let src = format!(
            "repositories:\n  acme/app:\n    paths:\n      deny: {}\n",
            yaml_list(&denied.iter().map(String::as_str).collect::<Vec<_>>())
        );
        let policy = Policy::from_yaml(&src).unwrap();
        let app = repo("acme/app");
        policy.retain_allowed(&app, &mut listing, |p| p);
        for kept in &listing {
            let normal = normalize_repo_path(kept);
            prop_assert!(normal.is_ok(), "kept unnormalisable `{}`", kept);
            let normal = normal.unwrap().to_lowercase();
            for d in &denied {
                let d = d.to_lowercase();
                prop_assert!(normal != d && !normal.starts_with(&format!("{d}/")), "kept `{}` under `{}`", kept, d);
            }
        }
    }

    /// Names the catalogue does not know are denied whatever the policy says of defaults.
    #[test]
    fn unknown_tools_are_denied(name in "[a-z][a-z0-9_]{0,20}", repo in any_repo()) {
        prop_assume!(!ToolCatalogue::spec().contains(&name));
        let policy = Policy::from_yaml("defaults: {read: allow, write: allow}\n").unwrap();
        for class in [ToolClass::Read, ToolClass::Write, ToolClass::Automation] {
            prop_assert!(!policy.authorize(&PolicyRequest::new(&name, class).repo(&repo)).allowed);
        }
    }

    /// A rule for `owner/repo` covers that repository in any case and no other name.
    #[test]
    fn repository_keys_match_exactly(base in any_repo(), suffix in "[a-zA-Z0-9._-]{1,4}", upper in any::<bool>()) {
        let key = format!("{}/{}", base.owner, base.repo);
        let src = format!("repositories:\n  {key:?}:\n    tools: {{deny: [get_issue]}}\n");
        let policy = Policy::from_yaml(&src).unwrap();
        let asked = if upper { key.to_uppercase() } else { key.to_lowercase() };
        let same = repo(&asked);
        prop_assert!(!policy.authorize(&PolicyRequest::new("get_issue", ToolClass::Read).repo(&same)).allowed);
        for other in [format!("{key}{suffix}"), format!("{}{suffix}/{}", base.owner, base.repo)] {
            if let Ok(other) = RepoName::parse(&other) {
                prop_assert!(policy.authorize(&PolicyRequest::new("get_issue", ToolClass::Read).repo(&other)).allowed);
            }
        }
    }
}

#[test]
fn warnings_flag_an_exact_key_a_glob_key_narrows() {
    let policy = Policy::from_yaml(
        "repositories:\n  acme/*:\n    tools: {allow: [get_issue]}\n  \
         acme/app:\n    tools: {allow: [get_issue, create_issue]}\n",
    )
    .unwrap();
    assert_eq!(
        policy.warnings(),
        [
            "repositories.acme/app.tools.allow names `create_issue`, but \
          repositories.acme/*.tools.allow also applies to `acme/app` and does not"
        ]
    );
    let app = repo("acme/app");
    let decision =
        policy.authorize(&PolicyRequest::new("create_issue", ToolClass::Write).repo(&app));
    assert!(!decision.allowed, "{decision:?}");
}
