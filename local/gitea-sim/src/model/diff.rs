//! Line diffs: unified hunks with git's context rules, `git diff` text, `format-patch` text and stats.

use time::format_description::well_known::Rfc2822;

use super::git::{Commit, FileChange, GitRepo, Oid};

/// The diff of one file's content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDiff {
    pub additions: usize,
    pub deletions: usize,
    pub binary: bool,
    /// The `@@` hunks, empty when the content is equal or binary.
    pub hunks: String,
}

const CONTEXT: usize = 3;
/// Above this many DP cells the middle of a file is diffed as a full replacement.
const MAX_CELLS: usize = 4_000_000;

/// True when git would treat the content as binary (a NUL in the first 8000 bytes).
pub fn is_binary(data: &[u8]) -> bool {
    data.iter().take(8000).any(|b| *b == 0)
}

fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, b) in data.iter().enumerate() {
        if *b == b'\n' {
            lines.push(&data[start..=i]);
            start = i + 1;
        }
    }
    if start < data.len() {
        lines.push(&data[start..]);
    }
    lines
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

fn edit_script(a: &[&[u8]], b: &[&[u8]]) -> Vec<Op> {
    let prefix = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Equal(i, i)).collect();
    let (n, m) = (a_mid.len(), b_mid.len());
    if n * m > MAX_CELLS {
        ops.extend((0..n).map(|i| Op::Delete(prefix + i)));
        ops.extend((0..m).map(|j| Op::Insert(prefix + j)));
    } else {
        // longest common subsequence table, filled from the end
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        let idx = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[idx(i, j)] = if a_mid[i] == b_mid[j] {
                    lcs[idx(i + 1, j + 1)] + 1
                } else {
                    lcs[idx(i + 1, j)].max(lcs[idx(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a_mid[i] == b_mid[j] {
                ops.push(Op::Equal(prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if j < m && (i == n || lcs[idx(i, j + 1)] >= lcs[idx(i + 1, j)]) {
                ops.push(Op::Insert(prefix + j));
                j += 1;
            } else {
                ops.push(Op::Delete(prefix + i));
                i += 1;
            }
        }
    }
    let (a_off, b_off) = (a.len() - suffix, b.len() - suffix);
    ops.extend((0..suffix).map(|k| Op::Equal(a_off + k, b_off + k)));
    deletions_first(&mut ops);
    slide_down(&mut ops, a, b);
    ops
}

/// Within each run of changes git prints the removed lines before the added ones.
fn deletions_first(ops: &mut [Op]) {
    let mut start = 0;
    while start < ops.len() {
        if matches!(ops[start], Op::Equal(..)) {
            start += 1;
            continue;
        }
        let end = (start..ops.len())
            .find(|&k| matches!(ops[k], Op::Equal(..)))
            .unwrap_or(ops.len());
        ops[start..end].sort_by_key(|op| matches!(op, Op::Insert(_)));
        start = end;
    }
}

/// Like xdiff's change compaction: a run of only added (or only removed) lines moves down while
/// its first line equals the line after it, so closing `}` lines pair up the way git shows them.
fn slide_down(ops: &mut [Op], a: &[&[u8]], b: &[&[u8]]) {
    let mut k = 0;
    while k < ops.len() {
        if matches!(ops[k], Op::Equal(..)) {
            k += 1;
            continue;
        }
        let end = (k..ops.len())
            .find(|&e| matches!(ops[e], Op::Equal(..)))
            .unwrap_or(ops.len());
        let run = &ops[k..end];
        let inserts = run.iter().all(|op| matches!(op, Op::Insert(_)));
        let deletes = run.iter().all(|op| matches!(op, Op::Delete(_)));
        let (mut start, mut stop) = (k, end);
        while stop < ops.len() {
            let Op::Equal(ei, ej) = ops[stop] else {
                break;
            };
            let len = stop - start;
            match ops[start] {
                Op::Insert(j0) if inserts && b[j0] == b[ej] => {
                    ops[start] = Op::Equal(ei, j0);
                    for t in 0..len {
                        ops[start + 1 + t] = Op::Insert(j0 + 1 + t);
                    }
                }
                Op::Delete(i0) if deletes && a[i0] == a[ei] => {
                    ops[start] = Op::Equal(i0, ej);
                    for t in 0..len {
                        ops[start + 1 + t] = Op::Delete(i0 + 1 + t);
                    }
                }
                _ => break,
            }
            start += 1;
            stop += 1;
        }
        k = stop;
    }
}

fn push_line(out: &mut String, sign: char, line: &[u8]) {
    out.push(sign);
    let text = String::from_utf8_lossy(line);
    match text.strip_suffix('\n') {
        Some(body) => {
            out.push_str(body);
            out.push('\n');
        }
        None => {
            out.push_str(&text);
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

fn range(start: usize, count: usize) -> String {
    // git prints the line before an empty range, and omits a count of 1
    match count {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{count}", start + 1),
    }
}

/// Diffs two file contents line by line.
pub fn diff_content(old: &[u8], new: &[u8]) -> FileDiff {
    if is_binary(old) || is_binary(new) {
        return FileDiff {
            binary: old != new,
            ..FileDiff::default()
        };
    }
    let (a, b) = (split_lines(old), split_lines(new));
    let ops = edit_script(&a, &b);
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Equal(..)))
        .map(|(i, _)| i)
        .collect();
    let mut diff = FileDiff::default();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT + 1).min(ops.len());
        match groups.last_mut() {
            Some(last) if lo <= last.1 => last.1 = hi,
            _ => groups.push((lo, hi)),
        }
    }
    for (lo, hi) in groups {
        let mut body = String::new();
        let (mut old_start, mut new_start) = (None, None);
        let (mut old_count, mut new_count) = (0, 0);
        // positions of the first op, used when a side of the hunk is empty
        let (mut old_pos, mut new_pos) = position_before(&ops, lo);
        for op in &ops[lo..hi] {
            match *op {
                Op::Equal(i, j) => {
                    old_start.get_or_insert(i);
                    new_start.get_or_insert(j);
                    old_count += 1;
                    new_count += 1;
                    old_pos = i + 1;
                    new_pos = j + 1;
                    push_line(&mut body, ' ', a[i]);
                }
                Op::Delete(i) => {
                    old_start.get_or_insert(i);
                    old_count += 1;
                    old_pos = i + 1;
                    diff.deletions += 1;
                    push_line(&mut body, '-', a[i]);
                }
                Op::Insert(j) => {
                    new_start.get_or_insert(j);
                    new_count += 1;
                    new_pos = j + 1;
                    diff.additions += 1;
                    push_line(&mut body, '+', b[j]);
                }
            }
        }
        let old_first = old_start.unwrap_or(old_pos);
        let new_first = new_start.unwrap_or(new_pos);
        diff.hunks.push_str(&format!(
            "@@ -{} +{} @@{}\n",
            range(old_first, old_count),
            range(new_first, new_count),
            function_context(&a, old_first)
        ));
        diff.hunks.push_str(&body);
    }
    diff
}

/// git's default hunk-header context: the nearest line above the hunk that starts with a letter,
/// `_` or `$`, cut at 80 bytes.
fn function_context(lines: &[&[u8]], before: usize) -> String {
    let found = lines[..before.min(lines.len())].iter().rev().find(|l| {
        l.first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b'$')
    });
    match found {
        Some(line) => {
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end();
            let mut end = text.len().min(80);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!(" {}", &text[..end])
        }
        None => String::new(),
    }
}

fn position_before(ops: &[Op], lo: usize) -> (usize, usize) {
    let (mut i_pos, mut j_pos) = (0, 0);
    for op in &ops[..lo] {
        match *op {
            Op::Equal(i, j) => {
                i_pos = i + 1;
                j_pos = j + 1;
            }
            Op::Delete(i) => i_pos = i + 1,
            Op::Insert(j) => j_pos = j + 1,
        }
    }
    (i_pos, j_pos)
}

fn blob_bytes(repo: &GitRepo, oid: Option<Oid>) -> &[u8] {
    oid.and_then(|o| repo.blob(&o)).map_or(&[], |b| &b[..])
}

/// The content diff of one changed path.
pub fn change_diff(repo: &GitRepo, change: &FileChange) -> FileDiff {
    diff_content(
        blob_bytes(repo, change.old.map(|f| f.1)),
        blob_bytes(repo, change.new.map(|f| f.1)),
    )
}

/// `git diff` output for a list of changes.
pub fn git_diff(repo: &GitRepo, changes: &[FileChange]) -> String {
    let mut out = String::new();
    for change in changes {
        let p = &change.path;
        out.push_str(&format!("diff --git a/{p} b/{p}\n"));
        let old_id = change.old.map_or(Oid::zero(), |f| f.1).short();
        let new_id = change.new.map_or(Oid::zero(), |f| f.1).short();
        match (change.old, change.new) {
            (None, Some((mode, _))) => {
                out.push_str(&format!(
                    "new file mode {}\nindex {old_id}..{new_id}\n",
                    mode.api()
                ));
            }
            (Some((mode, _)), None) => {
                out.push_str(&format!(
                    "deleted file mode {}\nindex {old_id}..{new_id}\n",
                    mode.api()
                ));
            }
            (Some((old_mode, _)), Some((new_mode, _))) if old_mode != new_mode => {
                out.push_str(&format!(
                    "old mode {}\nnew mode {}\nindex {old_id}..{new_id}\n",
                    old_mode.api(),
                    new_mode.api()
                ));
            }
            (Some((mode, _)), Some(_)) => {
                out.push_str(&format!("index {old_id}..{new_id} {}\n", mode.api()));
            }
            (None, None) => {}
        }
        let diff = change_diff(repo, change);
        let a = if change.old.is_some() {
            format!("a/{p}")
        } else {
            "/dev/null".to_string()
        };
        let b = if change.new.is_some() {
            format!("b/{p}")
        } else {
            "/dev/null".to_string()
        };
        if diff.binary {
            out.push_str(&format!("Binary files {a} and {b} differ\n"));
        } else if !diff.hunks.is_empty() {
            out.push_str(&format!("--- {a}\n+++ {b}\n"));
            out.push_str(&diff.hunks);
        }
    }
    out
}

/// `git diff --stat` summary, as `format-patch` prints it (bars are capped, not scaled).
fn diffstat(repo: &GitRepo, changes: &[FileChange]) -> String {
    let diffs: Vec<FileDiff> = changes.iter().map(|c| change_diff(repo, c)).collect();
    let name_width = changes.iter().map(|c| c.path.len()).max().unwrap_or(0);
    let max_total = diffs
        .iter()
        .map(|d| d.additions + d.deletions)
        .max()
        .unwrap_or(0);
    let mut count_width = max_total.to_string().len();
    if diffs.iter().any(|d| d.binary) {
        count_width = count_width.max(3);
    }
    let (mut ins, mut del) = (0, 0);
    let mut out = String::new();
    for (change, d) in changes.iter().zip(&diffs) {
        if d.binary {
            out.push_str(&format!(
                " {:name_width$} | {:>count_width$}\n",
                change.path, "Bin"
            ));
            continue;
        }
        ins += d.additions;
        del += d.deletions;
        let bar = format!(
            "{}{}",
            "+".repeat(d.additions.min(50)),
            "-".repeat(d.deletions.min(50))
        );
        let total = d.additions + d.deletions;
        out.push_str(&format!(
            " {:name_width$} | {total:>count_width$} {bar}\n",
            change.path
        ));
    }
    let files = changes.len();
    let mut summary = format!(" {files} file{} changed", if files == 1 { "" } else { "s" });
    if ins > 0 || del == 0 {
        summary.push_str(&format!(
            ", {ins} insertion{}(+)",
            if ins == 1 { "" } else { "s" }
        ));
    }
    if del > 0 || ins == 0 {
        summary.push_str(&format!(
            ", {del} deletion{}(-)",
            if del == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&summary);
    out.push('\n');
    for change in changes {
        match (change.old, change.new) {
            (None, Some((mode, _))) => {
                out.push_str(&format!(" create mode {} {}\n", mode.api(), change.path));
            }
            (Some((mode, _)), None) => {
                out.push_str(&format!(" delete mode {} {}\n", mode.api(), change.path));
            }
            _ => {}
        }
    }
    out
}

/// `git format-patch` output for a series of commits (oldest first).
pub fn format_patch(repo: &GitRepo, commits: &[&Commit]) -> String {
    let mut out = String::new();
    let total = commits.len();
    for (n, commit) in commits.iter().enumerate() {
        if n > 0 {
            // `format-patch --stdout` leaves an empty line between patches
            out.push('\n');
        }
        let changes = repo.commit_changes(commit);
        let date = commit
            .author
            .when
            .format(&Rfc2822)
            .unwrap_or_else(|_| commit.author.when.unix_timestamp().to_string());
        let subject = if total > 1 {
            format!("[PATCH {}/{total}] {}", n + 1, commit.summary())
        } else {
            format!("[PATCH] {}", commit.summary())
        };
        out.push_str(&format!(
            "From {} Mon Sep 17 00:00:00 2001\nFrom: {} <{}>\nDate: {date}\nSubject: {subject}\n\n",
            commit.oid, commit.author.name, commit.author.email
        ));
        let body: Vec<&str> = commit.message.lines().skip(1).collect();
        let body = body.join("\n");
        let body = body.trim();
        if !body.is_empty() {
            out.push_str(body);
            out.push('\n');
        }
        out.push_str("---\n");
        out.push_str(&diffstat(repo, &changes));
        out.push('\n');
        out.push_str(&git_diff(repo, &changes));
        out.push_str("-- \n2.47.3\n\n");
    }
    out
}

/// Additions and deletions over a set of changes (binary files count as 0).
pub fn stats(repo: &GitRepo, changes: &[FileChange]) -> (usize, usize) {
    changes.iter().fold((0, 0), |(a, d), c| {
        let diff = change_diff(repo, c);
        (a + diff.additions, d + diff.deletions)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        old: &'static str,
        new: &'static str,
        hunks: &'static str,
        adds: usize,
        dels: usize,
    }

    // expected hunks are what `git diff` prints for the same files
    const CASES: &[Case] = &[
        Case {
            name: "equal",
            old: "a\nb\n",
            new: "a\nb\n",
            hunks: "",
            adds: 0,
            dels: 0,
        },
        Case {
            name: "new file",
            old: "",
            new: "a\nb\n",
            hunks: "@@ -0,0 +1,2 @@\n+a\n+b\n",
            adds: 2,
            dels: 0,
        },
        Case {
            name: "deleted file",
            old: "a\n",
            new: "",
            hunks: "@@ -1 +0,0 @@\n-a\n",
            adds: 0,
            dels: 1,
        },
        Case {
            name: "middle change with context",
            old: "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
            new: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
            hunks: "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
            adds: 1,
            dels: 1,
        },
        Case {
            name: "missing newline at end",
            old: "a\nb",
            new: "a\nb\n",
            hunks: "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
            adds: 1,
            dels: 1,
        },
        Case {
            name: "append",
            old: "a\n",
            new: "a\nb\n",
            hunks: "@@ -1 +1,2 @@\n a\n+b\n",
            adds: 1,
            dels: 0,
        },
    ];

    #[test]
    fn hunks_match_git() {
        for case in CASES {
            let d = diff_content(case.old.as_bytes(), case.new.as_bytes());
            assert_eq!(d.hunks, case.hunks, "{}", case.name);
            assert_eq!(
                (d.additions, d.deletions),
                (case.adds, case.dels),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new: String = (1..=20)
            .map(|i| match i {
                2 => "two\n".to_string(),
                19 => "nineteen\n".to_string(),
                _ => format!("{i}\n"),
            })
            .collect();
        let d = diff_content(old.as_bytes(), new.as_bytes());
        assert_eq!(d.hunks.matches("@@ -").count(), 2, "{}", d.hunks);
    }

    #[test]
    fn binary_content_has_no_hunks() {
        let d = diff_content(b"\x89PNG\0\x01", b"\x89PNG\0\x02");
        assert!(d.binary);
        assert!(d.hunks.is_empty());
    }
}
