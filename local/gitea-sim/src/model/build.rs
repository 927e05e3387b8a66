//! Turns a parsed seed file into a `World`: resolves names, replays commits into git objects, numbers issues.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use time::{Duration, OffsetDateTime};

use super::git::{EntryMode, FileRef, GitRepo, Oid, Signature};
use super::{
    AccessMode, Comment, CommitStatus, Issue, Label, Merged, Milestone, Org, PullInfo, Release,
    Repo, Scopes, Token, User, UserId, World,
};
use crate::error::SeedError;
use crate::seed::{
    AuthorSpec, CommitSpec, FileDetail, FileSpec, GenerateSpec, IssueSpec, RepoSpec, SeedFile,
};

/// Global id counters: Gitea numbers labels, issues, comments, ... across all repositories.
#[derive(Default)]
struct Ids {
    label: i64,
    milestone: i64,
    issue: i64,
    pull: i64,
    comment: i64,
    release: i64,
    status: i64,
}

fn next(counter: &mut i64) -> i64 {
    *counter += 1;
    *counter
}

pub(crate) fn build_world(file: SeedFile) -> Result<World, SeedError> {
    let mut world = World {
        version: file.version,
        users: Vec::new(),
        orgs: Vec::new(),
        repos: Vec::new(),
        tokens: HashMap::new(),
    };
    let mut names = HashSet::new();
    let mut token_order = 0;
    for spec in file.users {
        if !names.insert(spec.login.to_ascii_lowercase()) {
            return Err(SeedError::Duplicate(spec.login));
        }
        let id = world.users.len() as UserId + 1;
        for t in spec.tokens {
            let scopes = Scopes::parse(&t.scopes).ok_or_else(|| {
                SeedError::Invalid(format!(
                    "token `{}` of `{}` has an unknown scope in {:?}",
                    t.name, spec.login, t.scopes
                ))
            })?;
            token_order += 1;
            let token = Token {
                user: id,
                scopes,
                order: token_order,
            };
            if world.tokens.insert(t.token.clone(), token).is_some() {
                return Err(SeedError::Duplicate(format!("token of {}", spec.login)));
            }
        }
        world.users.push(User {
            id,
            email: spec
                .email
                .unwrap_or_else(|| format!("{}@example.com", spec.login.to_ascii_lowercase())),
            login: spec.login,
            full_name: spec.full_name,
            admin: spec.admin,
            created: spec.created,
            last_login: spec.last_login,
            description: spec.description,
            location: spec.location,
            website: spec.website,
            visibility: spec.visibility,
            restricted: spec.restricted,
            password: spec.password,
        });
    }
    for spec in file.orgs {
        if !names.insert(spec.name.to_ascii_lowercase()) {
            return Err(SeedError::Duplicate(spec.name));
        }
        let id = (world.users.len() + world.orgs.len()) as UserId + 1;
        let mut members = Vec::new();
        for m in spec.members {
            let user = world
                .user_by_login(&m.login)
                .ok_or_else(|| SeedError::UnknownUser(m.login.clone()))?;
            let role = AccessMode::parse(&m.role).ok_or_else(|| {
                SeedError::Invalid(format!("org `{}`: unknown role `{}`", spec.name, m.role))
            })?;
            members.push((user.id, role));
        }
        world.orgs.push(Org {
            id,
            name: spec.name,
            full_name: spec.full_name,
            email: spec.email,
            description: spec.description,
            website: spec.website,
            location: spec.location,
            visibility: spec.visibility,
            created: spec.created,
            members,
        });
    }
    let mut specs = file.repos;
    for g in file.generate {
        specs.extend(generated_repos(g));
    }
    let mut ids = Ids::default();
    let mut full_names = HashSet::new();
    for spec in specs {
        let key = format!("{}/{}", spec.owner, spec.name).to_ascii_lowercase();
        if !full_names.insert(key.clone()) {
            return Err(SeedError::Duplicate(key));
        }
        let id = world.repos.len() as i64 + 1;
        let repo = build_repo(&world, &mut ids, id, spec)?;
        world.repos.push(repo);
    }
    Ok(world)
}

fn generated_repos(g: GenerateSpec) -> Vec<RepoSpec> {
    (1..=g.count)
        .map(|n| {
            let name = format!("{}{n:02}", g.prefix);
            let date = g.start + Duration::days(n as i64 - 1);
            let mut files = BTreeMap::new();
            files.insert(
                "README.md".to_string(),
                Some(FileSpec::Text(format!(
                    "# {name}\n\nService {n:02} of the fleet. Build with `cargo build`.\n"
                ))),
            );
            files.insert(
                "Cargo.toml".to_string(),
                Some(FileSpec::Text(format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.{n}.0\"\nedition = \"2021\"\n"
                ))),
            );
            files.insert(
                "src/lib.rs".to_string(),
                Some(FileSpec::Text(format!(
                    "//! {name}\n\npub fn id() -> u32 {{\n    {n}\n}}\n"
                ))),
            );
            let mut branches = BTreeMap::new();
            branches.insert("main".to_string(), "c1".to_string());
            RepoSpec {
                owner: g.owner.clone(),
                name,
                description: g.description.replace("{n}", &format!("{n:02}")),
                website: String::new(),
                private: g.private,
                archived: false,
                template: false,
                default_branch: "main".to_string(),
                topics: g.topics.clone(),
                created: date,
                stars: 0,
                collaborators: Vec::new(),
                commits: vec![CommitSpec {
                    id: "c1".to_string(),
                    parents: None,
                    author: AuthorSpec::Login(g.author.clone()),
                    committer: None,
                    date,
                    message: "Initial commit".to_string(),
                    files,
                }],
                branches,
                tags: Vec::new(),
                labels: Vec::new(),
                milestones: Vec::new(),
                issues: Vec::new(),
                releases: Vec::new(),
                statuses: Vec::new(),
                languages: None,
            }
        })
        .collect()
}

fn signature(
    world: &World,
    repo: &str,
    author: &AuthorSpec,
    when: OffsetDateTime,
) -> Result<Signature, SeedError> {
    match author {
        AuthorSpec::Login(login) => {
            let user = world
                .user_by_login(login)
                .ok_or_else(|| SeedError::repo(repo, format!("unknown commit author `{login}`")))?;
            Ok(Signature {
                name: if user.full_name.is_empty() {
                    user.login.clone()
                } else {
                    user.full_name.clone()
                },
                email: user.email.clone(),
                when,
            })
        }
        AuthorSpec::Ident { name, email } => Ok(Signature {
            name: name.clone(),
            email: email.clone(),
            when,
        }),
    }
}

fn clean_path(repo: &str, path: &str) -> Result<String, SeedError> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| *p == "." || *p == ".." || *p == ".git")
    {
        return Err(SeedError::repo(repo, format!("invalid file path `{path}`")));
    }
    Ok(parts.join("/"))
}

fn file_content(
    repo: &str,
    path: &str,
    spec: &FileSpec,
) -> Result<(EntryMode, Vec<u8>), SeedError> {
    let detail = match spec {
        FileSpec::Text(text) => return Ok((EntryMode::Blob, text.clone().into_bytes())),
        FileSpec::Detail(d) => d,
    };
    let FileDetail {
        text,
        base64,
        pattern,
        lines,
        symlink,
        executable,
    } = detail;
    let bad = |m: &str| SeedError::repo(repo, format!("file `{path}`: {m}"));
    let given = [
        text.is_some(),
        base64.is_some(),
        pattern.is_some(),
        symlink.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err(bad("give exactly one of text, base64, pattern, symlink"));
    }
    let mode = if *executable {
        EntryMode::Exec
    } else {
        EntryMode::Blob
    };
    if let Some(text) = text {
        return Ok((mode, text.clone().into_bytes()));
    }
    if let Some(encoded) = base64 {
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let data = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| bad(&format!("invalid base64: {e}")))?;
        return Ok((mode, data));
    }
    if let Some(pattern) = pattern {
        let count = lines.ok_or_else(|| bad("`pattern` needs `lines`"))?;
        let mut out = String::new();
        for n in 1..=count {
            out.push_str(&pattern.replace("{n}", &n.to_string()));
        }
        return Ok((mode, out.into_bytes()));
    }
    match symlink {
        Some(target) => Ok((EntryMode::Symlink, target.clone().into_bytes())),
        None => Err(bad("no content")),
    }
}

fn replay_commits(
    world: &World,
    full: &str,
    commits: &[CommitSpec],
) -> Result<(GitRepo, HashMap<String, Oid>), SeedError> {
    let mut git = GitRepo::default();
    let mut labels: HashMap<String, Oid> = HashMap::new();
    let mut previous: Option<Oid> = None;
    for spec in commits {
        let parents: Vec<Oid> = match &spec.parents {
            Some(list) => list
                .iter()
                .map(|l| {
                    labels.get(l).copied().ok_or_else(|| {
                        SeedError::repo(full, format!("commit `{}`: unknown parent `{l}`", spec.id))
                    })
                })
                .collect::<Result<_, _>>()?,
            None => previous.into_iter().collect(),
        };
        let mut files: BTreeMap<String, FileRef> = parents
            .first()
            .and_then(|p| git.commit_by_id(p))
            .map(|c| c.files.clone())
            .unwrap_or_default();
        for (path, change) in &spec.files {
            let path = clean_path(full, path)?;
            match change {
                None => {
                    // deleting a directory removes everything below it
                    let prefix = format!("{path}/");
                    files.retain(|p, _| p != &path && !p.starts_with(&prefix));
                }
                Some(content) => {
                    let (mode, data) = file_content(full, &path, content)?;
                    let oid = git.add_blob(data);
                    // a file replaces a directory of the same name, and the other way round
                    let below = format!("{path}/");
                    files.retain(|p, _| {
                        !p.starts_with(&below) && !path.starts_with(&format!("{p}/"))
                    });
                    files.insert(path, (mode, oid));
                }
            }
        }
        let author = signature(world, full, &spec.author, spec.date)?;
        let committer = match &spec.committer {
            Some(c) => signature(world, full, c, spec.date)?,
            None => author.clone(),
        };
        let oid = git.commit(parents, author, committer, &spec.message, files);
        if labels.insert(spec.id.clone(), oid).is_some() {
            return Err(SeedError::repo(
                full,
                format!("duplicate commit id `{}`", spec.id),
            ));
        }
        previous = Some(oid);
    }
    Ok((git, labels))
}

/// A commit label, or a branch name.
fn commit_ref(git: &GitRepo, labels: &HashMap<String, Oid>, r: &str) -> Option<Oid> {
    labels
        .get(r)
        .copied()
        .or_else(|| git.branches.get(r).copied())
}

fn user_id(world: &World, full: &str, login: &str) -> Result<UserId, SeedError> {
    world
        .user_by_login(login)
        .map(|u| u.id)
        .ok_or_else(|| SeedError::repo(full, format!("unknown user `{login}`")))
}

fn build_repo(world: &World, ids: &mut Ids, id: i64, spec: RepoSpec) -> Result<Repo, SeedError> {
    let full = format!("{}/{}", spec.owner, spec.name);
    let (owner_id, owner_name) = if let Some(u) = world.user_by_login(&spec.owner) {
        (u.id, u.login.clone())
    } else if let Some(o) = world.org_by_name(&spec.owner) {
        (o.id, o.name.clone())
    } else {
        return Err(SeedError::UnknownOwner(spec.owner));
    };
    let (mut git, labels) = replay_commits(world, &full, &spec.commits)?;
    for (branch, label) in &spec.branches {
        let oid = labels.get(label).copied().ok_or_else(|| {
            SeedError::repo(
                &full,
                format!("branch `{branch}`: unknown commit `{label}`"),
            )
        })?;
        git.branches.insert(branch.clone(), oid);
    }
    if !git.is_empty() && !git.branches.contains_key(&spec.default_branch) {
        return Err(SeedError::repo(
            &full,
            format!(
                "default branch `{}` is not in `branches`",
                spec.default_branch
            ),
        ));
    }
    for t in &spec.tags {
        let oid = commit_ref(&git, &labels, &t.commit).ok_or_else(|| {
            SeedError::repo(
                &full,
                format!("tag `{}`: unknown commit `{}`", t.name, t.commit),
            )
        })?;
        let annotation = match &t.message {
            Some(message) => {
                let commit = git
                    .commit_by_id(&oid)
                    .ok_or_else(|| SeedError::repo(&full, "tag points at a missing commit"))?;
                let when = t.date.unwrap_or(commit.committer.when);
                let tagger = match &t.tagger {
                    Some(a) => signature(world, &full, a, when)?,
                    None => Signature {
                        when,
                        ..commit.author.clone()
                    },
                };
                Some((message.as_str(), tagger))
            }
            None => None,
        };
        git.tag(&t.name, oid, annotation);
    }
    let mut collaborators = Vec::new();
    for c in &spec.collaborators {
        let level = AccessMode::parse(&c.permission)
            .filter(|l| *l != AccessMode::Owner)
            .ok_or_else(|| {
                SeedError::repo(&full, format!("unknown permission `{}`", c.permission))
            })?;
        collaborators.push((user_id(world, &full, &c.login)?, level));
    }
    let mut label_list = Vec::new();
    for l in &spec.labels {
        let color = l.color.trim_start_matches('#').to_ascii_lowercase();
        if color.len() != 6 || !color.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SeedError::repo(
                &full,
                format!("label `{}`: bad color `{}`", l.name, l.color),
            ));
        }
        label_list.push(Label {
            id: next(&mut ids.label),
            name: l.name.clone(),
            color,
            description: l.description.clone(),
            exclusive: l.exclusive,
            archived: l.archived,
        });
    }
    let mut milestones = Vec::new();
    for m in &spec.milestones {
        let closed = match m.state.as_str() {
            "open" => false,
            "closed" => true,
            other => return Err(SeedError::repo(&full, format!("milestone state `{other}`"))),
        };
        let closed_at = if closed {
            Some(m.closed.unwrap_or(m.created))
        } else {
            None
        };
        milestones.push(Milestone {
            id: next(&mut ids.milestone),
            title: m.title.clone(),
            description: m.description.clone(),
            closed,
            created: m.created,
            updated: closed_at.unwrap_or(m.created),
            due_on: m.due_on,
            closed_at,
        });
    }
    let mut repo = Repo {
        id,
        owner_id,
        owner_name,
        name: spec.name.clone(),
        description: spec.description.clone(),
        website: spec.website.clone(),
        private: spec.private,
        archived: spec.archived,
        template: spec.template,
        default_branch: spec.default_branch.clone(),
        topics: spec.topics.clone(),
        created: spec.created,
        updated: spec.created,
        stars: spec.stars,
        collaborators,
        git,
        labels: label_list,
        milestones,
        issues: Vec::new(),
        releases: Vec::new(),
        statuses: Vec::new(),
        languages: BTreeMap::new(),
    };
    for (i, issue) in spec.issues.iter().enumerate() {
        let built = build_issue(world, ids, &repo, &labels, i as i64 + 1, issue)?;
        repo.issues.push(built);
    }
    for r in &spec.releases {
        let target = r
            .target
            .clone()
            .unwrap_or_else(|| repo.default_branch.clone());
        if !r.draft && !repo.git.tags.contains_key(&r.tag) {
            return Err(SeedError::repo(
                &full,
                format!("release `{}`: no such tag", r.tag),
            ));
        }
        repo.releases.push(Release {
            id: next(&mut ids.release),
            tag: r.tag.clone(),
            target,
            name: r.name.clone(),
            body: r.body.clone(),
            draft: r.draft,
            prerelease: r.prerelease,
            author: user_id(world, &full, &r.author)?,
            created: r.created,
        });
    }
    for s in &spec.statuses {
        let commit = commit_ref(&repo.git, &labels, &s.commit).ok_or_else(|| {
            SeedError::repo(&full, format!("status: unknown commit `{}`", s.commit))
        })?;
        if !["pending", "success", "error", "failure", "warning"].contains(&s.state.as_str()) {
            return Err(SeedError::repo(
                &full,
                format!("status state `{}`", s.state),
            ));
        }
        let index = repo.statuses.iter().filter(|x| x.commit == commit).count() as i64 + 1;
        repo.statuses.push(CommitStatus {
            id: next(&mut ids.status),
            index,
            commit,
            context: s.context.clone(),
            state: s.state.clone(),
            description: s.description.clone(),
            target_url: s.target_url.clone(),
            creator: user_id(world, &full, &s.creator)?,
            created: s.created,
        });
    }
    repo.languages = match &spec.languages {
        Some(l) => l.clone(),
        None => detect_languages(&repo),
    };
    let newest_commit = repo
        .git
        .branches
        .values()
        .filter_map(|oid| repo.git.commit_by_id(oid))
        .map(|c| c.committer.when)
        .max();
    repo.updated = newest_commit.map_or(repo.created, |d| d.max(repo.created));
    Ok(repo)
}

fn build_issue(
    world: &World,
    ids: &mut Ids,
    repo: &Repo,
    labels: &HashMap<String, Oid>,
    number: i64,
    spec: &IssueSpec,
) -> Result<Issue, SeedError> {
    let full = repo.full_name();
    let closed = match spec.state.as_str() {
        "open" => false,
        "closed" => true,
        other => {
            return Err(SeedError::repo(
                &full,
                format!("issue #{number}: state `{other}`"),
            ))
        }
    };
    let mut label_ids = Vec::new();
    for name in &spec.labels {
        let l = repo
            .labels
            .iter()
            .find(|l| &l.name == name)
            .ok_or_else(|| {
                SeedError::repo(&full, format!("issue #{number}: unknown label `{name}`"))
            })?;
        label_ids.push(l.id);
    }
    let milestone = match &spec.milestone {
        Some(title) => Some(
            repo.milestones
                .iter()
                .find(|m| &m.title == title)
                .map(|m| m.id)
                .ok_or_else(|| {
                    SeedError::repo(
                        &full,
                        format!("issue #{number}: unknown milestone `{title}`"),
                    )
                })?,
        ),
        None => None,
    };
    let mut assignees = Vec::new();
    for login in &spec.assignees {
        assignees.push(user_id(world, &full, login)?);
    }
    let mut comments = Vec::new();
    for c in &spec.comments {
        comments.push(Comment {
            id: next(&mut ids.comment),
            author: user_id(world, &full, &c.author)?,
            body: c.body.clone(),
            created: c.created,
            updated: c.updated.unwrap_or(c.created),
        });
    }
    let closed_at = if closed {
        Some(spec.closed.unwrap_or(spec.created))
    } else {
        None
    };
    let pull = match &spec.pull {
        Some(p) => {
            let base = *repo.git.branches.get(&p.base).ok_or_else(|| {
                SeedError::repo(
                    &full,
                    format!("pull #{number}: unknown base branch `{}`", p.base),
                )
            })?;
            let head = match &p.head_commit {
                Some(label) => labels.get(label).copied(),
                None => repo.git.branches.get(&p.head).copied(),
            }
            .ok_or_else(|| {
                SeedError::repo(&full, format!("pull #{number}: unknown head `{}`", p.head))
            })?;
            let merge_base = match &p.merge_base {
                Some(label) => labels.get(label).copied(),
                None => repo.git.merge_base(head, base),
            }
            .ok_or_else(|| SeedError::repo(&full, format!("pull #{number}: no merge base")))?;
            let merged = match &p.merged {
                Some(m) => Some(Merged {
                    at: m.at,
                    by: user_id(world, &full, &m.by)?,
                    commit: match &m.commit {
                        Some(label) => Some(labels.get(label).copied().ok_or_else(|| {
                            SeedError::repo(
                                &full,
                                format!("pull #{number}: unknown merge commit `{label}`"),
                            )
                        })?),
                        None => None,
                    },
                }),
                None => None,
            };
            Some(PullInfo {
                id: next(&mut ids.pull),
                head_branch: p.head.clone(),
                base_branch: p.base.clone(),
                head,
                merge_base,
                merged,
                draft: p.draft,
                mergeable: p.mergeable,
            })
        }
        None => None,
    };
    let last_activity = comments
        .iter()
        .map(|c| c.updated)
        .chain(closed_at)
        .chain(std::iter::once(spec.created))
        .max()
        .unwrap_or(spec.created);
    Ok(Issue {
        id: next(&mut ids.issue),
        number,
        title: spec.title.clone(),
        body: spec.body.clone(),
        author: user_id(world, &full, &spec.author)?,
        closed,
        labels: label_ids,
        milestone,
        assignees,
        created: spec.created,
        updated: spec.updated.unwrap_or(last_activity),
        closed_at,
        due: spec.due,
        locked: spec.locked,
        comments,
        pull,
    })
}

/// Bytes per programming/markup language on the default branch, by file extension
/// (Gitea uses go-enry and skips prose, data and configuration files the same way).
fn detect_languages(repo: &Repo) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let Some(head) = repo
        .git
        .branches
        .get(&repo.default_branch)
        .and_then(|oid| repo.git.commit_by_id(oid))
    else {
        return out;
    };
    for (path, (mode, oid)) in &head.files {
        if *mode == EntryMode::Symlink {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let language = match name {
            "Dockerfile" => Some("Dockerfile"),
            "Makefile" => Some("Makefile"),
            _ => name.rsplit_once('.').and_then(|(_, ext)| match ext {
                "rs" => Some("Rust"),
                "go" => Some("Go"),
                "py" => Some("Python"),
                "js" => Some("JavaScript"),
                "ts" => Some("TypeScript"),
                "sh" => Some("Shell"),
                "c" | "h" => Some("C"),
                "html" => Some("HTML"),
                "css" => Some("CSS"),
                "sql" => Some("SQL"),
                _ => None,
            }),
        };
        if let Some(language) = language {
            *out.entry(language.to_string()).or_insert(0) += repo.git.entry_size(*mode, oid) as i64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::seed::Seed;

    const USERS: &str = "users:\n  - {login: ann, created: 2024-01-01T00:00:00Z}\n";

    fn repo(body: &str) -> String {
        format!(
            "{USERS}repos:\n  - owner: ann\n    name: r\n    created: 2024-01-01T00:00:00Z\n{body}"
        )
    }

    const COMMIT: &str = "    commits:\n      - {id: c1, author: ann, date: 2024-01-02T00:00:00Z, message: one, files: {a.txt: hi}}\n";

    #[test]
    fn broken_seeds_are_rejected_with_a_reason() {
        let cases: Vec<(String, &str)> = vec![
            ("users: []\nfoo: 1\n".into(), "unknown field `foo`"),
            (format!("{USERS}{}", USERS.trim_start_matches("users:\n")), "duplicate name `ann`"),
            (format!("{USERS}orgs:\n  - {{name: o, created: 2024-01-01T00:00:00Z, members: [{{login: zed, role: read}}]}}\n"), "unknown user `zed`"),
            (format!("{USERS}orgs:\n  - {{name: o, created: 2024-01-01T00:00:00Z, members: [{{login: ann, role: boss}}]}}\n"), "unknown role `boss`"),
            (format!("{USERS}repos:\n  - {{owner: nobody, name: r, created: 2024-01-01T00:00:00Z}}\n"), "unknown owner `nobody`"),
            (repo("    commits:\n      - {id: c1, author: zed, date: 2024-01-02T00:00:00Z, message: x}\n"), "unknown commit author `zed`"),
            (repo("    commits:\n      - {id: c1, parents: [c0], author: ann, date: 2024-01-02T00:00:00Z, message: x}\n"), "unknown parent `c0`"),
            (repo(COMMIT), "default branch `main` is not in `branches`"),
            (repo(&format!("{COMMIT}    branches: {{main: c9}}\n")), "unknown commit `c9`"),
            (repo("    commits:\n      - {id: c1, author: ann, date: 2024-01-02T00:00:00Z, message: x, files: {b.bin: {base64: '!!'}}}\n"), "invalid base64"),
            (repo("    commits:\n      - {id: c1, author: ann, date: 2024-01-02T00:00:00Z, message: x, files: {b.txt: {pattern: 'x'}}}\n"), "`pattern` needs `lines`"),
            (repo("    commits:\n      - {id: c1, author: ann, date: 2024-01-02T00:00:00Z, message: x, files: {../x: y}}\n"), "invalid file path `../x`"),
            (repo("    labels:\n      - {name: bug, color: red}\n"), "bad color `red`"),
            (repo("    issues:\n      - {title: t, author: ann, labels: [nope], created: 2024-01-02T00:00:00Z}\n"), "unknown label `nope`"),
            (repo("    issues:\n      - {title: t, author: ann, state: done, created: 2024-01-02T00:00:00Z}\n"), "state `done`"),
            (repo(&format!("{COMMIT}    branches: {{main: c1}}\n    releases:\n      - {{tag: v1, author: ann, created: 2024-01-03T00:00:00Z}}\n")), "release `v1`: no such tag"),
            (repo(&format!("{COMMIT}    branches: {{main: c1}}\n    issues:\n      - {{title: t, author: ann, created: 2024-01-02T00:00:00Z, pull: {{head: nope, base: main}}}}\n")), "unknown head `nope`"),
            ("users:\n  - {login: ann, created: 2024-01-01T00:00:00Z, tokens: [{name: t, token: x, scopes: [read:everything]}]}\n".into(), "unknown scope"),
            ("users:\n  - {login: ann, created: yesterday}\n".into(), "created"),
            (format!("{USERS}oauth_apps:\n  - {{name: a, client_id: c, redirect_uris: [http://127.0.0.1/cb]}}\n"), "needs a client_secret"),
            (format!("{USERS}oauth_apps:\n  - {{name: a, client_id: c, confidential: false, redirect_uris: []}}\n"), "no redirect_uris"),
            (format!("{USERS}oauth_apps:\n  - {{name: a, client_id: c, confidential: false, redirect_uris: [x]}}\n  - {{name: b, client_id: c, confidential: false, redirect_uris: [x]}}\n"), "duplicate name `oauth client_id c`"),
            (format!("{USERS}oauth:\n  rotate: true\n"), "unknown field `rotate`"),
        ];
        for (yaml, needle) in cases {
            let err = Seed::from_yaml_str(&yaml).expect_err(needle).to_string();
            assert!(err.contains(needle), "want `{needle}` in `{err}`\n{yaml}");
        }
    }

    #[test]
    fn a_minimal_seed_builds() {
        let seed =
            Seed::from_yaml_str(&repo(&format!("{COMMIT}    branches: {{main: c1}}\n"))).unwrap();
        assert_eq!(seed.repo_full_names(), ["ann/r"]);
        assert_eq!(seed.user_logins(), ["ann"]);
    }

    #[test]
    fn the_demo_seed_builds() {
        let seed = Seed::demo().unwrap();
        assert_eq!(
            seed.token_for("alice").as_deref(),
            Some("alice-token-0001a4519d63df9568768119d218")
        );
        let names = seed.repo_full_names();
        assert!(names.len() > 40, "{}", names.len());
        for want in [
            "acme/app",
            "acme/secrets-vault",
            "alice/notes",
            "bob/playground",
            "acme/svc-35",
        ] {
            assert!(names.iter().any(|n| n == want), "{want}");
        }
    }
}
