//! Git object store with real SHA-1 object ids: blobs, trees, commits, annotated tags, refs and history walks.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use sha1::{Digest, Sha1};
use time::OffsetDateTime;

/// A git object id (SHA-1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// The id git gives an object: sha1 of `"<kind> <len>\0<data>"`.
    pub fn hash_object(kind: &str, data: &[u8]) -> Oid {
        let mut hasher = Sha1::new();
        hasher.update(format!("{kind} {}\0", data.len()).as_bytes());
        hasher.update(data);
        Oid(hasher.finalize().into())
    }
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
    /// The 7-character abbreviation git prints in diffs.
    pub fn short(&self) -> String {
        let mut s = self.hex();
        s.truncate(7);
        s
    }
    /// The all-zero id git prints for a missing side of a diff.
    pub fn zero() -> Oid {
        Oid([0; 20])
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.short())
    }
}

/// The mode of a tree entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EntryMode {
    Blob,
    Exec,
    Symlink,
    Tree,
}

impl EntryMode {
    /// Mode as written inside a raw tree object.
    fn raw(self) -> &'static str {
        match self {
            EntryMode::Blob => "100644",
            EntryMode::Exec => "100755",
            EntryMode::Symlink => "120000",
            EntryMode::Tree => "40000",
        }
    }
    /// Mode as Gitea prints it (`%06o`).
    pub fn api(self) -> &'static str {
        match self {
            EntryMode::Tree => "040000",
            other => other.raw(),
        }
    }
    /// Object type as `git ls-tree` prints it.
    pub fn object_type(self) -> &'static str {
        match self {
            EntryMode::Tree => "tree",
            _ => "blob",
        }
    }
    pub fn is_tree(self) -> bool {
        self == EntryMode::Tree
    }
}

#[derive(Clone, Debug)]
pub struct TreeEntry {
    pub name: String,
    pub mode: EntryMode,
    pub oid: Oid,
}

/// Name, email and time of an author, committer or tagger.
#[derive(Clone, Debug)]
pub struct Signature {
    pub name: String,
    pub email: String,
    pub when: OffsetDateTime,
}

impl Signature {
    fn raw(&self) -> String {
        let offset = self.when.offset();
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        format!(
            "{} <{}> {} {sign}{:02}{:02}",
            self.name,
            self.email,
            self.when.unix_timestamp(),
            h.unsigned_abs(),
            m.unsigned_abs()
        )
    }
}

/// A file of a snapshot: its mode and blob id.
pub type FileRef = (EntryMode, Oid);

#[derive(Clone, Debug)]
pub struct Commit {
    pub oid: Oid,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    pub author: Signature,
    pub committer: Signature,
    /// The full message, ending in a newline like git stores it.
    pub message: String,
    /// Every file of the commit by full path (no directories).
    pub files: BTreeMap<String, FileRef>,
}

impl Commit {
    /// First line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

#[derive(Clone, Debug)]
pub struct Annotation {
    pub oid: Oid,
    pub message: String,
    pub tagger: Signature,
}

#[derive(Clone, Debug)]
pub struct Tag {
    pub name: String,
    pub commit: Oid,
    pub annotation: Option<Annotation>,
}

/// How a user-supplied ref was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Branch,
    Tag,
    Commit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub kind: RefKind,
    /// Branch or tag name, or the full commit id.
    pub name: String,
    pub commit: Oid,
}

impl Resolved {
    /// `branch/main`, `tag/v1.0.0` or `commit/<sha>`: the segment Gitea puts in web links.
    pub fn web_path(&self) -> String {
        let kind = match self.kind {
            RefKind::Branch => "branch",
            RefKind::Tag => "tag",
            RefKind::Commit => "commit",
        };
        format!("{kind}/{}", crate::render::escape_segments(&self.name))
    }
}

/// What a path names inside a commit.
#[derive(Clone, Debug)]
pub struct PathEntry {
    pub name: String,
    pub mode: EntryMode,
    pub oid: Oid,
}

/// One git repository: the object store and its refs.
#[derive(Clone, Debug, Default)]
pub struct GitRepo {
    blobs: HashMap<Oid, Arc<[u8]>>,
    trees: HashMap<Oid, Vec<TreeEntry>>,
    commits: HashMap<Oid, Commit>,
    pub branches: BTreeMap<String, Oid>,
    pub tags: BTreeMap<String, Tag>,
}

enum Node {
    File(FileRef),
    Dir(BTreeMap<String, Node>),
}

impl GitRepo {
    pub fn add_blob(&mut self, data: Vec<u8>) -> Oid {
        let oid = Oid::hash_object("blob", &data);
        self.blobs.entry(oid).or_insert_with(|| data.into());
        oid
    }

    /// Writes the nested trees for a flat snapshot and returns the root tree id.
    pub fn write_tree(&mut self, files: &BTreeMap<String, FileRef>) -> Oid {
        let mut root = BTreeMap::new();
        for (path, file) in files {
            let mut dir = &mut root;
            let parts: Vec<&str> = path.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                if i + 1 == parts.len() {
                    dir.insert(part.to_string(), Node::File(*file));
                } else {
                    let node = dir
                        .entry(part.to_string())
                        .or_insert_with(|| Node::Dir(BTreeMap::new()));
                    if let Node::File(_) = node {
                        // a file and a directory with the same name: the directory wins
                        *node = Node::Dir(BTreeMap::new());
                    }
                    let Node::Dir(children) = node else {
                        break;
                    };
                    dir = children;
                }
            }
        }
        self.write_dir(&root)
    }

    fn write_dir(&mut self, dir: &BTreeMap<String, Node>) -> Oid {
        let mut entries: Vec<TreeEntry> = dir
            .iter()
            .map(|(name, node)| match node {
                Node::File((mode, oid)) => TreeEntry {
                    name: name.clone(),
                    mode: *mode,
                    oid: *oid,
                },
                Node::Dir(children) => TreeEntry {
                    name: name.clone(),
                    mode: EntryMode::Tree,
                    oid: self.write_dir(children),
                },
            })
            .collect();
        // git orders entries by name, comparing a directory as if its name ended in '/'
        entries.sort_by_key(sort_key);
        let mut raw = Vec::new();
        for e in &entries {
            raw.extend_from_slice(format!("{} {}\0", e.mode.raw(), e.name).as_bytes());
            raw.extend_from_slice(&e.oid.0);
        }
        let oid = Oid::hash_object("tree", &raw);
        self.trees.insert(oid, entries);
        oid
    }

    /// Creates a commit object for a snapshot.
    pub fn commit(
        &mut self,
        parents: Vec<Oid>,
        author: Signature,
        committer: Signature,
        message: &str,
        files: BTreeMap<String, FileRef>,
    ) -> Oid {
        let tree = self.write_tree(&files);
        let mut message = message.to_string();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        let mut raw = format!("tree {tree}\n");
        for p in &parents {
            raw.push_str(&format!("parent {p}\n"));
        }
        raw.push_str(&format!("author {}\n", author.raw()));
        raw.push_str(&format!("committer {}\n\n", committer.raw()));
        raw.push_str(&message);
        let oid = Oid::hash_object("commit", raw.as_bytes());
        self.commits.insert(
            oid,
            Commit {
                oid,
                tree,
                parents,
                author,
                committer,
                message,
                files,
            },
        );
        oid
    }

    /// Adds a tag; with a message it is an annotated tag object.
    pub fn tag(&mut self, name: &str, commit: Oid, message: Option<(&str, Signature)>) {
        let annotation = message.map(|(text, tagger)| {
            let mut text = text.to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            let raw = format!(
                "object {commit}\ntype commit\ntag {name}\ntagger {}\n\n{text}",
                tagger.raw()
            );
            Annotation {
                oid: Oid::hash_object("tag", raw.as_bytes()),
                message: text,
                tagger,
            }
        });
        self.tags.insert(
            name.to_string(),
            Tag {
                name: name.to_string(),
                commit,
                annotation,
            },
        );
    }

    pub fn commit_by_id(&self, oid: &Oid) -> Option<&Commit> {
        self.commits.get(oid)
    }
    pub fn blob(&self, oid: &Oid) -> Option<&Arc<[u8]>> {
        self.blobs.get(oid)
    }
    pub fn tree(&self, oid: &Oid) -> Option<&[TreeEntry]> {
        self.trees.get(oid).map(Vec::as_slice)
    }
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// Resolves a branch, a tag, or a full or abbreviated (7+ hex) commit id.
    pub fn resolve(&self, rev: &str) -> Option<Resolved> {
        if let Some(oid) = self.branches.get(rev) {
            return Some(Resolved {
                kind: RefKind::Branch,
                name: rev.to_string(),
                commit: *oid,
            });
        }
        if let Some(tag) = self.tags.get(rev) {
            return Some(Resolved {
                kind: RefKind::Tag,
                name: rev.to_string(),
                commit: tag.commit,
            });
        }
        self.find_commit(rev).map(|oid| Resolved {
            kind: RefKind::Commit,
            name: oid.hex(),
            commit: oid,
        })
    }

    /// A commit by full or unambiguous abbreviated id.
    pub fn find_commit(&self, hex_prefix: &str) -> Option<Oid> {
        let lower = hex_prefix.to_ascii_lowercase();
        if lower.len() < 7 || lower.len() > 40 || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut found = self
            .commits
            .keys()
            .filter(|oid| oid.hex().starts_with(&lower));
        let first = found.next().copied();
        if found.next().is_some() {
            return None;
        }
        first
    }

    /// Finds any object (commit, tree or blob) by full id.
    pub fn parse_full(hex_id: &str) -> Option<Oid> {
        let bytes = hex::decode(hex_id).ok()?;
        let arr: [u8; 20] = bytes.try_into().ok()?;
        Some(Oid(arr))
    }

    /// The entry a path names in a commit; the empty path is the root tree.
    pub fn entry_at(&self, commit: &Commit, path: &str) -> Option<PathEntry> {
        let mut current = PathEntry {
            name: String::new(),
            mode: EntryMode::Tree,
            oid: commit.tree,
        };
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !current.mode.is_tree() {
                return None;
            }
            let entries = self.tree(&current.oid)?;
            let e = entries.iter().find(|e| e.name == part)?;
            current = PathEntry {
                name: e.name.clone(),
                mode: e.mode,
                oid: e.oid,
            };
        }
        Some(current)
    }

    /// Size in bytes of a blob, 0 for trees (as `git ls-tree -l` reports).
    pub fn entry_size(&self, mode: EntryMode, oid: &Oid) -> usize {
        if mode.is_tree() {
            0
        } else {
            self.blob(oid).map_or(0, |b| b.len())
        }
    }

    /// `git ls-tree -r -t`: every entry below a tree with full paths, trees before their content.
    pub fn walk_tree(&self, tree: &Oid, prefix: &str, out: &mut Vec<(String, TreeEntry)>) {
        let Some(entries) = self.tree(tree) else {
            return;
        };
        for e in entries {
            let path = if prefix.is_empty() {
                e.name.clone()
            } else {
                format!("{prefix}/{}", e.name)
            };
            out.push((path.clone(), e.clone()));
            if e.mode.is_tree() {
                self.walk_tree(&e.oid, &path, out);
            }
        }
    }

    /// `git log <start>`: every ancestor (start included), newest committer date first.
    pub fn history(&self, start: Oid) -> Vec<Oid> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut heap = BinaryHeap::new();
        if let Some(c) = self.commits.get(&start) {
            heap.push((c.committer.when, start));
            seen.insert(start);
        }
        while let Some((_, oid)) = heap.pop() {
            out.push(oid);
            if let Some(c) = self.commits.get(&oid) {
                for p in &c.parents {
                    if seen.insert(*p) {
                        if let Some(pc) = self.commits.get(p) {
                            heap.push((pc.committer.when, *p));
                        }
                    }
                }
            }
        }
        out
    }

    /// The newest common ancestor of two commits.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Option<Oid> {
        let ancestors: HashSet<Oid> = self.history(a).into_iter().collect();
        self.history(b).into_iter().find(|c| ancestors.contains(c))
    }

    /// `git log base..head`: commits reachable from head but not from base, newest first.
    pub fn commits_between(&self, base: Oid, head: Oid) -> Vec<Oid> {
        let excluded: HashSet<Oid> = self.history(base).into_iter().collect();
        self.history(head)
            .into_iter()
            .filter(|c| !excluded.contains(c))
            .collect()
    }

    /// `git log -1 -- <path>` from a commit, with git's history simplification.
    pub fn last_commit_for_path(&self, start: Oid, path: &str) -> Option<Oid> {
        let mut current = self.commits.get(&start)?;
        let wanted = self.entry_at(current, path).map(|e| e.oid);
        loop {
            let mut next = None;
            for p in &current.parents {
                let parent = self.commits.get(p)?;
                if self.entry_at(parent, path).map(|e| e.oid) == wanted {
                    next = Some(parent);
                    break;
                }
            }
            match next {
                Some(parent) => current = parent,
                None => return Some(current.oid),
            }
        }
    }

    /// The files a commit changed relative to its first parent.
    pub fn commit_changes(&self, commit: &Commit) -> Vec<FileChange> {
        let empty = BTreeMap::new();
        let before = commit
            .parents
            .first()
            .and_then(|p| self.commits.get(p))
            .map_or(&empty, |c| &c.files);
        diff_snapshots(before, &commit.files)
    }
}

fn sort_key(e: &TreeEntry) -> Vec<u8> {
    let mut key = e.name.as_bytes().to_vec();
    if e.mode.is_tree() {
        key.push(b'/');
    }
    key
}

/// How one path differs between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub old: Option<FileRef>,
    pub new: Option<FileRef>,
}

impl FileChange {
    /// Status word used by Gitea's commit `files` list.
    pub fn commit_status(&self) -> &'static str {
        match (&self.old, &self.new) {
            (None, _) => "added",
            (_, None) => "removed",
            _ => "modified",
        }
    }
    /// Status word used by Gitea's `ChangedFile` (pull request files).
    pub fn changed_file_status(&self) -> &'static str {
        match (&self.old, &self.new) {
            (None, _) => "added",
            (_, None) => "deleted",
            _ => "changed",
        }
    }
}

/// Path-by-path difference of two snapshots, sorted by path.
pub fn diff_snapshots(
    before: &BTreeMap<String, FileRef>,
    after: &BTreeMap<String, FileRef>,
) -> Vec<FileChange> {
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let old = before.get(path).copied();
            let new = after.get(path).copied();
            (old != new).then(|| FileChange {
                path: path.clone(),
                old,
                new,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig() -> Signature {
        Signature {
            name: "A U Thor".into(),
            email: "author@example.com".into(),
            when: OffsetDateTime::from_unix_timestamp(1_112_911_993).unwrap(),
        }
    }

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin` and the empty blob
        let cases: &[(&[u8], &str)] = &[
            (b"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"),
            (b"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"),
        ];
        for (data, want) in cases {
            assert_eq!(Oid::hash_object("blob", data).hex(), *want);
        }
    }

    #[test]
    fn tree_and_commit_ids_match_git() {
        // `git init; printf 'hello\n' > a.txt; git add a.txt; git write-tree`
        let mut repo = GitRepo::default();
        let blob = repo.add_blob(b"hello\n".to_vec());
        let mut files = BTreeMap::new();
        files.insert("a.txt".to_string(), (EntryMode::Blob, blob));
        let tree = repo.write_tree(&files);
        assert_eq!(tree.hex(), "2e81171448eb9f2ee3821e3d447aa6b2fe3ddba1");
        // the empty tree is a well-known id
        assert_eq!(
            repo.write_tree(&BTreeMap::new()).hex(),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
        let c = repo.commit(vec![], sig(), sig(), "initial", files);
        // GIT_AUTHOR_DATE="1112911993 +0000" git commit -m initial (same for committer)
        assert_eq!(c.hex(), "7130d6929db6b51e8b1efb9351bbcfd93dcfea96");
        let commit = repo.commit_by_id(&c).unwrap();
        assert_eq!(commit.message, "initial\n");
        // git tag -a v1 -m "release one", tagged by the same signature
        repo.tag("v1", c, Some(("release one", sig())));
        let tag = repo.tags.get("v1").unwrap();
        assert_eq!(
            tag.annotation.as_ref().unwrap().oid.hex(),
            "ce99b762920271e7626fccec8a6fb7175c174051"
        );
        assert_eq!(repo.resolve(&c.hex()[..7]).unwrap().commit, c);
    }

    #[test]
    fn directories_sort_as_if_suffixed_with_slash() {
        let mut repo = GitRepo::default();
        let blob = repo.add_blob(b"x".to_vec());
        let mut files = BTreeMap::new();
        for p in ["a.b", "a/c", "a-b"] {
            files.insert(p.to_string(), (EntryMode::Blob, blob));
        }
        let tree = repo.write_tree(&files);
        let names: Vec<&str> = repo
            .tree(&tree)
            .unwrap()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["a-b", "a.b", "a"]);
    }
}
