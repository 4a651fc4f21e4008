//! The header cache of `Project::load_headers` (DESIGN.md §9): it is
//! written, it is used (files are not opened: the counters say so, and a file
//! changed behind the cache's back with the same size, mtime and inode shows
//! its old header), and after every kind of change (an edit, an addition, a
//! removal, a rename, a damaged cache, a cache that cannot be written) the
//! project is the one a full read gives, errors included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rev_project::{HeaderLoad, Project, CACHE_DIR};

/// A project in a temporary directory: `rev.ron` and its versions directory.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("rev.ron"), "Config()\n").unwrap();
        fs::create_dir_all(dir.path().join("migrations").join("versions")).unwrap();
        Fixture { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("rev.ron")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("migrations")
            .join("versions")
            .join(name)
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join(CACHE_DIR).join("headers-v1")
    }

    /// Writes a migration file with an mtime an hour ago, old enough for the
    /// cache to trust (a file written now is re-read: the racy rule).
    fn write(&self, name: &str, text: &str) {
        fs::write(self.file(name), text).unwrap();
        self.age(name, 3600);
    }

    /// Sets a file's mtime `secs` seconds in the past.
    fn age(&self, name: &str, secs: u64) {
        let file = fs::File::options()
            .write(true)
            .open(self.file(name))
            .unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    }

    fn headers(&self) -> (Summary, HeaderLoad) {
        let project = Project::load_headers(&self.config(), true).unwrap();
        let load = project.headers_only().unwrap();
        (summary(&project), load)
    }

    /// What a full read without any cache gives.
    fn full(&self) -> Summary {
        summary(&Project::load(&self.config()).unwrap())
    }

    /// Loads through the cache and checks the result is the full read's.
    fn agree(&self) -> HeaderLoad {
        let (headers, load) = self.headers();
        assert_eq!(headers, self.full());
        let uncached = Project::load_headers(&self.config(), false).unwrap();
        assert_eq!(summary(&uncached), headers);
        load
    }
}

/// Everything the graph-only commands print: each file's path and header
/// fields in graph order, and the heads.
#[derive(Debug, PartialEq)]
struct Summary {
    files: Vec<String>,
    replaced: Vec<String>,
    heads: Vec<String>,
    order: Vec<String>,
}

fn summary(project: &Project) -> Summary {
    let line = |f: &rev_project::MigrationFile| {
        let m = &f.migration;
        format!(
            "{} {} {:?} {:?} {:?} {:?} {:?} {} {:?}",
            f.path.display(),
            m.id,
            m.parents,
            m.message,
            m.created,
            m.branch_labels,
            m.depends_on,
            m.transactional,
            m.replaces
        )
    };
    let graph = &project.graph;
    Summary {
        files: project.files.iter().map(line).collect(),
        replaced: project.replaced.iter().map(line).collect(),
        heads: graph.ids(&graph.heads()),
        order: graph.ids(&graph.history_order()),
    }
}

fn migration(id: &str, parents: &[&str], message: &str) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        "// {message}\nMigration(\n    id: \"{id}\",\n    parents: [{}],\n    message: \"{message}\",\n    created: \"2026-01-01T00:00:00Z\",\n    upgrade: [\n        CreateTable(name: \"t_{id}\", columns: [Column(name: \"id\", type: Integer, primary_key: true)]),\n    ],\n)\n",
        parents.join(", ")
    )
}

/// a ─ b ─ c, and d from a on the `side` branch depending on b.
fn history(fx: &Fixture) {
    fx.write("a_first.ron", &migration("a", &[], "first"));
    fx.write("b_second.ron", &migration("b", &["a"], "second"));
    fx.write("c_third.ron", &migration("c", &["b"], "third"));
    fx.write(
        "d_side.ron",
        "Migration(id: \"d\", parents: [\"a\"], message: \"side\", branch_labels: [\"side\"], depends_on: [\"b\"], transactional: false)\n",
    );
}

fn loaded(cached: usize, read: usize, written: bool) -> HeaderLoad {
    HeaderLoad {
        cached,
        read,
        written,
    }
}

#[test]
fn the_cache_is_written_then_used_and_not_rewritten() {
    let fx = Fixture::new();
    history(&fx);
    assert!(!fx.cache().exists());
    assert_eq!(fx.agree(), loaded(0, 4, true));
    let bytes = fs::read(fx.cache()).unwrap();
    let mtime = fs::metadata(fx.cache()).unwrap().modified().unwrap();
    assert_eq!(fx.agree(), loaded(4, 0, false));
    assert_eq!(fs::read(fx.cache()).unwrap(), bytes);
    assert_eq!(fs::metadata(fx.cache()).unwrap().modified().unwrap(), mtime);
    // The cache directory keeps itself out of git.
    let ignore = fs::read_to_string(fx.dir.path().join(CACHE_DIR).join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"));
}

#[test]
fn a_file_changed_with_its_size_mtime_and_inode_kept_is_served_from_the_cache() {
    // The proof that files are not opened: the cache answers for a file
    // whose stamp it recorded, whatever the file now says (git's index has
    // the same blind spot; editors and git checkouts change the mtime).
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    let path = fx.file("b_second.ron");
    let before = fs::metadata(&path).unwrap();
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("second", "SECOND");
    fs::write(&path, &text).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(before.modified().unwrap())
        .unwrap();
    let (headers, load) = fx.headers();
    assert_eq!(load, loaded(4, 0, false));
    assert!(
        headers.files[1].contains("\"second\""),
        "{:?}",
        headers.files
    );
    assert!(fx.full().files[1].contains("\"SECOND\""));
    // Without the cache the file is read.
    let uncached = Project::load_headers(&fx.config(), false).unwrap();
    assert_eq!(summary(&uncached), fx.full());
    assert_eq!(uncached.headers_only(), Some(loaded(0, 4, false)));
}

#[test]
fn an_edit_of_another_size_is_read() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    fx.write("c_third.ron", &migration("c", &["b"], "the third, renamed"));
    assert_eq!(fx.agree(), loaded(3, 1, true));
    assert_eq!(fx.agree(), loaded(4, 0, false));
}

#[test]
fn an_edit_of_the_same_size_with_a_newer_mtime_is_read() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    let text = migration("c", &["b"], "THIRD");
    assert_eq!(text.len(), migration("c", &["b"], "third").len());
    fs::write(fx.file("c_third.ron"), &text).unwrap();
    fx.age("c_third.ron", 1800);
    assert_eq!(fx.agree(), loaded(3, 1, true));
    assert!(fx.headers().0.files[2].contains("\"THIRD\""));
}

#[test]
fn added_removed_and_renamed_files_are_noticed() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    fx.write("e_fifth.ron", &migration("e", &["c"], "fifth"));
    assert_eq!(fx.agree(), loaded(4, 1, true));
    fs::remove_file(fx.file("d_side.ron")).unwrap();
    assert_eq!(fx.agree(), loaded(4, 0, true));
    // A rename keeps size, mtime and inode: the new name has no entry.
    fs::rename(fx.file("a_first.ron"), fx.file("a_base.ron")).unwrap();
    assert_eq!(fx.agree(), loaded(3, 1, true));
    assert!(fx.headers().0.files[0].contains("a_base.ron"));
    // Two files swapped by name: each name's entry names the other inode.
    let (b, c) = (fx.file("b_second.ron"), fx.file("c_third.ron"));
    let t = fx.file("t.tmp");
    fs::rename(&b, &t).unwrap();
    fs::rename(&c, &b).unwrap();
    fs::rename(&t, &c).unwrap();
    // (The graph would be b ← c swapped in content only; still the full read's.)
    assert_eq!(fx.agree(), loaded(2, 2, true));
}

#[test]
fn a_damaged_or_foreign_cache_is_ignored_and_rebuilt() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    let good = fs::read(fx.cache()).unwrap();
    let damaged: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"not a cache at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        good.iter().rev().copied().collect(),
        {
            let mut flipped = good.clone();
            let at = flipped.len() - 10;
            flipped[at] ^= 1;
            flipped
        },
        good.iter().chain(b"tail").copied().collect(),
    ];
    for bytes in damaged {
        fs::write(fx.cache(), &bytes).unwrap();
        assert_eq!(fx.agree(), loaded(0, 4, true));
        assert_eq!(fs::read(fx.cache()).unwrap().len(), good.len());
    }
    // A directory where the cache file should be: ignored, and not writable.
    fs::remove_file(fx.cache()).unwrap();
    fs::create_dir(fx.cache()).unwrap();
    assert_eq!(fx.agree(), loaded(0, 4, false));
}

#[test]
fn a_cache_of_another_migrations_directory_is_not_used() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    // The same root, another config naming another migrations directory.
    let other = fx.dir.path().join("other.ron");
    fs::write(&other, "Config(migrations: \"elsewhere\")\n").unwrap();
    let project = Project::load_headers(&other, true).unwrap();
    assert!(project.files.is_empty());
    assert_eq!(project.headers_only(), Some(loaded(0, 0, true)));
    assert_eq!(fx.agree(), loaded(0, 4, true));
}

#[test]
fn a_cache_that_cannot_be_written_is_silent() {
    let fx = Fixture::new();
    history(&fx);
    // A file where the cache directory should be: creating it fails, whoever runs.
    fs::write(fx.dir.path().join(CACHE_DIR), "in the way").unwrap();
    assert_eq!(fx.agree(), loaded(0, 4, false));
    assert_eq!(fx.agree(), loaded(0, 4, false));
}

#[cfg(unix)]
#[test]
fn a_read_only_checkout_is_read_without_a_cache() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = Fixture::new();
    history(&fx);
    let root = fx.dir.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o555)).unwrap();
    // Root may write anyway; the outcome must be right either way.
    let writable = fs::write(root.join("probe"), "").is_ok();
    let load = fx.agree();
    assert_eq!(load.written, writable);
    assert_eq!(load.read, 4);
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_file_written_just_now_is_read_until_it_is_old_enough() {
    let fx = Fixture::new();
    history(&fx);
    fs::write(fx.file("e_new.ron"), migration("e", &["c"], "new")).unwrap();
    assert_eq!(fx.agree(), loaded(0, 5, true));
    // Within the margin of the cache's mtime: read again, and no rewrite
    // (one would leave it just as untrusted).
    assert_eq!(fx.agree(), loaded(4, 1, false));
    // Changed within the same tick, same size: the re-read sees it.
    fs::write(fx.file("e_new.ron"), migration("e", &["c"], "NEW")).unwrap();
    let (headers, load) = fx.headers();
    assert_eq!(load.read, 1);
    assert!(headers.files[4].contains("\"NEW\""));
    // Once the file is older than the margin, a rewrite makes it trusted.
    fx.age("e_new.ron", 10);
    assert_eq!(fx.agree(), loaded(4, 1, true));
    // The cache's own mtime is now; the file is 10 s older: trusted.
    assert_eq!(fx.agree(), loaded(5, 0, false));
}

#[test]
fn a_bad_file_fails_as_without_the_cache_and_is_never_cached() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    let good = fs::read(fx.cache()).unwrap();
    fx.write(
        "c_third.ron",
        "Migration(id: \"c\", parents: [\"b\"], mesage: \"typo\")\n",
    );
    let full = Project::load(&fx.config()).unwrap_err().to_string();
    let cached = Project::load_headers(&fx.config(), true)
        .unwrap_err()
        .to_string();
    assert_eq!(cached, full);
    assert!(cached.contains("c_third.ron:1:"), "{cached}");
    assert_eq!(fs::read(fx.cache()).unwrap(), good);
    // A file that is not UTF-8, and one past a bad one in name order.
    fs::write(fx.file("b_second.ron"), [b'M', 0xff, 0xfe]).unwrap();
    let full = Project::load(&fx.config()).unwrap_err().to_string();
    assert_eq!(
        Project::load_headers(&fx.config(), true)
            .unwrap_err()
            .to_string(),
        full
    );
    assert!(full.contains("b_second.ron"), "{full}");
}

#[test]
fn a_graph_error_is_reported_as_without_the_cache() {
    let fx = Fixture::new();
    history(&fx);
    fx.agree();
    fx.write("c_third.ron", &migration("c", &["nope"], "third"));
    let full = Project::load(&fx.config()).unwrap_err().to_string();
    assert!(full.contains("nope"), "{full}");
    let error = Project::load_headers(&fx.config(), true).unwrap_err();
    assert_eq!(error.to_string(), full);
    // The cached headers were fine; the next load still fails the same way.
    let again = Project::load_headers(&fx.config(), true).unwrap_err();
    assert_eq!(again.to_string(), full);
}

#[test]
fn squashes_read_the_same_through_the_cache() {
    let fx = Fixture::new();
    fx.write("a_first.ron", &migration("a", &[], "first"));
    fx.write("b_second.ron", &migration("b", &["a"], "second"));
    fx.write("c_third.ron", &migration("c", &["b"], "third"));
    fx.write("d_after.ron", &migration("d", &["c"], "after the run"));
    fx.write(
        "s_squash.ron",
        "Migration(id: \"s\", parents: [\"a\"], message: \"squash\", replaces: [\"b\", \"c\"])\n",
    );
    fx.agree();
    let (headers, load) = fx.headers();
    assert_eq!(load, loaded(5, 0, false));
    assert_eq!(headers.replaced.len(), 2);
}

#[test]
fn random_edits_agree_with_a_full_read() {
    let fx = Fixture::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut ids: Vec<String> = Vec::new();
    for round in 0..60 {
        let action = if ids.is_empty() { 0 } else { next(6) };
        match action {
            // Add a revision on a random parent.
            0 | 1 => {
                let id = format!("r{round:03}");
                let parent =
                    (!ids.is_empty()).then(|| ids[next(ids.len() as u64) as usize].clone());
                let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
                fx.write(&format!("{id}.ron"), &migration(&id, &parents, "added"));
                ids.push(id);
            }
            // Edit a message: another size, or the same size and a newer mtime.
            2 | 3 => {
                let id = &ids[next(ids.len() as u64) as usize];
                let path = fx.file(&format!("{id}.ron"));
                let text = fs::read_to_string(&path).unwrap();
                let text = if action == 2 {
                    text.replace("message: \"", "message: \"longer ")
                } else {
                    // The comment line: same size, same header.
                    match text.strip_prefix("// added") {
                        Some(rest) => format!("// ADDED{rest}"),
                        None => text.replacen("// ADDED", "// added", 1),
                    }
                };
                fs::write(&path, text).unwrap();
                fx.age(&format!("{id}.ron"), 600 - round);
            }
            // Remove a head (nothing names it).
            4 => {
                let project = Project::load(&fx.config()).unwrap();
                let heads = project.graph.ids(&project.graph.heads());
                let id = heads[next(heads.len() as u64) as usize].clone();
                fs::remove_file(fx.file(&format!("{id}.ron"))).unwrap();
                ids.retain(|i| *i != id);
            }
            // Damage the cache.
            _ => {
                if fx.cache().exists() {
                    let mut bytes = fs::read(fx.cache()).unwrap();
                    let at = next(bytes.len() as u64) as usize;
                    bytes[at] ^= 0x40;
                    fs::write(fx.cache(), bytes).unwrap();
                }
            }
        }
        fx.agree();
    }
}

#[test]
fn a_headers_only_project_holds_no_operations() {
    let fx = Fixture::new();
    history(&fx);
    for _ in 0..2 {
        let project = Project::load_headers(&fx.config(), true).unwrap();
        assert!(project.headers_only().is_some());
        assert!(project.files.iter().all(|f| f.migration.upgrade.is_empty()));
    }
    let full = Project::load(&fx.config()).unwrap();
    assert!(full.headers_only().is_none());
    assert!(full
        .files
        .iter()
        .all(|f| !f.migration.upgrade.is_empty() || f.path.ends_with(Path::new("d_side.ron"))));
}
