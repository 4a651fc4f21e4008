//! The header cache from the command line (DESIGN.md §9): `heads`,
//! `branches`, `history` and `graph` print the same with the cache as with
//! `REV_NO_CACHE=1`, after every kind of change to the files and the cache.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::{Run, TestEnv};

/// Every output of the graph-only commands that the cache serves.
const COMMANDS: &[&[&str]] = &[
    &["heads"],
    &["heads", "-v"],
    &["heads", "--format", "json"],
    &["branches"],
    &["branches", "-v"],
    &["branches", "--format", "json"],
    &["history"],
    &["history", "-v"],
    &["history", "--format", "json"],
    &["history", "-r", "aaaa:heads"],
    &["history", "-r", ":bbbb", "--format", "json"],
    &["graph"],
    &["graph", "--format", "json"],
    &["graph", "--format", "dot"],
];

fn cache_file(env: &TestEnv) -> PathBuf {
    env.path().join(".rev-cache").join("headers-v1")
}

/// Sets every migration file's mtime `secs` seconds back, so that the cache
/// trusts them (a file written within two seconds of the cache is re-read).
fn age_all(env: &TestEnv, secs: u64) {
    for entry in fs::read_dir(env.versions()).unwrap() {
        age(&entry.unwrap().path(), secs);
    }
}

fn age(path: &Path, secs: u64) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

fn file_of(env: &TestEnv, id: &str) -> PathBuf {
    fs::read_dir(env.versions())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(id))
        .unwrap()
}

fn both(env: &TestEnv, args: &[&str]) -> (Run, Run) {
    let cached = env.rev(args);
    let uncached = env.rev_env(args, &[("REV_NO_CACHE", "1")]);
    (cached, uncached)
}

/// Runs every command with and without the cache and checks they print the same.
fn agree(env: &TestEnv, when: &str) {
    for args in COMMANDS {
        let (cached, uncached) = both(env, args);
        assert_eq!(cached.all(), uncached.all(), "rev {args:?} {when}");
        assert_eq!(cached.code, 0, "rev {args:?} {when}: {}", cached.all());
    }
}

/// The diamond a → (b, c) → m, then d on a `side` branch from b that
/// depends on c, every file an hour old.
fn project() -> TestEnv {
    let env = TestEnv::new();
    env.diamond();
    env.ok(&[
        "revision",
        "-m",
        "side work",
        "--rev-id",
        "dddd",
        "--head",
        "bbbb",
        "--branch-label",
        "side",
        "--depends-on",
        "cccc",
    ]);
    age_all(&env, 3600);
    env
}

#[test]
fn init_keeps_the_cache_out_of_git() {
    let env = TestEnv::new();
    let ignore = fs::read_to_string(env.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/.rev-cache/"), "{ignore}");
}

#[test]
fn the_graph_commands_print_the_same_with_and_without_the_cache() {
    let env = project();
    assert!(!cache_file(&env).exists());
    agree(&env, "on the first run");
    assert!(cache_file(&env).exists());
    let written = fs::read(cache_file(&env)).unwrap();
    agree(&env, "from the cache");
    assert_eq!(
        fs::read(cache_file(&env)).unwrap(),
        written,
        "rewritten without a change"
    );

    // An edit that changes the size.
    let b = file_of(&env, "bbbb");
    let text = fs::read_to_string(&b).unwrap();
    fs::write(
        &b,
        text.replace("message: \"b\"", "message: \"b, longer now\""),
    )
    .unwrap();
    age(&b, 1800);
    agree(&env, "after an edit of another size");
    assert!(env.ok(&["history"]).contains("b, longer now"));

    // An edit of the same size with a newer mtime.
    let text = fs::read_to_string(&b).unwrap();
    fs::write(&b, text.replace("b, longer now", "B, LONGER NOW")).unwrap();
    age(&b, 900);
    agree(&env, "after an edit of the same size");
    assert!(env.ok(&["history"]).contains("B, LONGER NOW"));

    // A new revision, written just now (re-read until it is old enough).
    env.ok(&[
        "revision", "-m", "on top", "--rev-id", "eeee", "--head", "mmmm",
    ]);
    agree(&env, "after a revision was added");
    age(&file_of(&env, "eeee"), 600);
    agree(&env, "after the new revision aged");

    // A removed head, and a renamed file.
    fs::remove_file(file_of(&env, "eeee")).unwrap();
    agree(&env, "after a file was removed");
    let c = file_of(&env, "cccc");
    fs::rename(&c, env.versions().join("cccc_renamed.ron")).unwrap();
    agree(&env, "after a file was renamed");
    assert!(env.ok(&["history", "-v"]).contains("cccc_renamed.ron"));

    // A damaged cache, then a cache that is not a file.
    fs::write(cache_file(&env), b"rev headers v1\n\0garbage").unwrap();
    agree(&env, "with a damaged cache");
    fs::remove_file(cache_file(&env)).unwrap();
    fs::create_dir(cache_file(&env)).unwrap();
    agree(&env, "with a directory for a cache");
    fs::remove_dir(cache_file(&env)).unwrap();

    // Deleting the cache directory is always safe.
    fs::remove_dir_all(env.path().join(".rev-cache")).unwrap();
    agree(&env, "after the cache was deleted");
}

#[test]
fn a_file_changed_behind_the_caches_back_shows_the_cache_is_used() {
    // Same size, same inode, mtime put back: only the cache can still say "b".
    let env = project();
    env.ok(&["history"]);
    let b = file_of(&env, "bbbb");
    let mtime = fs::metadata(&b).unwrap().modified().unwrap();
    let text = fs::read_to_string(&b).unwrap();
    fs::write(&b, text.replace("message: \"b\"", "message: \"X\"")).unwrap();
    fs::File::options()
        .write(true)
        .open(&b)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let (cached, uncached) = both(&env, &["history"]);
    let line_of_b = |run: &Run| {
        run.stdout
            .lines()
            .find(|l| l.starts_with("aaaa -> bbbb"))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(line_of_b(&cached).ends_with(", b"), "{}", cached.stdout);
    assert!(line_of_b(&uncached).ends_with(", X"), "{}", uncached.stdout);
    // `show` reads the files in full: the cache never serves it.
    assert!(env.ok(&["show", "bbbb"]).contains("\n    X\n"));
}

#[test]
fn a_bad_file_fails_the_same_with_the_cache() {
    let env = project();
    env.ok(&["history"]);
    let c = file_of(&env, "cccc");
    let text = fs::read_to_string(&c).unwrap();
    fs::write(&c, text.replace("message:", "mesage:")).unwrap();
    for args in COMMANDS {
        let (cached, uncached) = both(&env, args);
        assert_ne!(cached.code, 0);
        assert_eq!(cached.all(), uncached.all(), "rev {args:?}");
    }
    // A parent that does not exist: a graph error, the same too.
    fs::write(&c, text.replace("\"aaaa\"", "\"zzzz\"")).unwrap();
    let (cached, uncached) = both(&env, &["heads"]);
    assert_ne!(cached.code, 0);
    assert!(cached.stderr.contains("zzzz"), "{}", cached.stderr);
    assert_eq!(cached.all(), uncached.all());
    // Fixed: the cache serves again, and agrees.
    fs::write(&c, &text).unwrap();
    age(&c, 60);
    agree(&env, "after the file was fixed");
}

#[cfg(unix)]
#[test]
fn a_read_only_project_prints_the_same() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = project();
    let mode = |m| fs::Permissions::from_mode(m);
    fs::set_permissions(env.path(), mode(0o555)).unwrap();
    agree(&env, "in a read-only directory");
    fs::set_permissions(env.path(), mode(0o755)).unwrap();
    // A cache directory that is a file: nothing can be written, nothing fails.
    if env.path().join(".rev-cache").exists() {
        fs::remove_dir_all(env.path().join(".rev-cache")).unwrap();
    }
    fs::write(env.path().join(".rev-cache"), "in the way").unwrap();
    agree(&env, "with no way to write the cache");
}

#[test]
fn random_edits_agree_with_no_cache() {
    let env = project();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut heads = vec!["mmmm".to_owned(), "dddd".to_owned()];
    for round in 0..12u64 {
        match next(4) {
            0 => {
                let id = format!("f{round:03}");
                let head = heads[next(heads.len() as u64) as usize].clone();
                env.ok(&[
                    "revision",
                    "-m",
                    &format!("step {round}"),
                    "--rev-id",
                    &id,
                    "--head",
                    &head,
                ]);
                heads.retain(|h| *h != head);
                heads.push(id);
            }
            1 | 2 => {
                let head = heads[next(heads.len() as u64) as usize].clone();
                let path = file_of(&env, &head);
                let text = fs::read_to_string(&path).unwrap();
                let edited = match next(2) {
                    0 => text.replacen("message: \"", "message: \"edited ", 1),
                    // The comment's first blank: same size, same header.
                    _ => text.replacen(' ', "\t", 1),
                };
                fs::write(&path, edited).unwrap();
                age(&path, 300 - round);
            }
            _ => {
                if let Ok(mut bytes) = fs::read(cache_file(&env)) {
                    let at = next(bytes.len() as u64) as usize;
                    bytes[at] = bytes[at].wrapping_add(1);
                    fs::write(cache_file(&env), bytes).unwrap();
                }
            }
        }
        let args = ["history", "--format", "json"];
        let (cached, uncached) = both(&env, &args);
        assert_eq!(cached.all(), uncached.all(), "round {round}");
        assert_eq!(cached.code, 0, "{}", cached.all());
    }
}
