//! Many developers at once (DESIGN.md §3b): the conflict report of `rev check`
//! and `rev merge`, and `rev rebase`, through the binary.

use std::path::Path;
use std::process::Command;

use insta::assert_snapshot;

use crate::common::{Run, TestEnv};

const USERS: &str = r#"Migration(
    id: "aaaa",
    parents: [],
    message: "create users",
    upgrade: [
        CreateTable(name: "users", columns: [
            Column(name: "id", type: Integer, primary_key: true),
            Column(name: "name", type: String(50)),
        ]),
    ],
)
"#;

const RENAME: &str = r#"Migration(
    id: "bbbb",
    parents: ["aaaa"],
    message: "rename users.name",
    upgrade: [RenameColumn(table: "users", name: "name", new_name: "full_name")],
)
"#;

const INDEX: &str = r#"Migration(
    id: "cccc",
    parents: ["aaaa"],
    message: "index users.name",
    upgrade: [CreateIndex(name: "ix_users_name", table: "users", columns: ["name"])],
)
"#;

/// a ─ (b renames users.name, c indexes users.name)
fn two_heads_that_conflict() -> TestEnv {
    let env = TestEnv::new();
    env.write_migration("aaaa_create_users.ron", USERS);
    env.write_migration("bbbb_rename.ron", RENAME);
    env.write_migration("cccc_index.ron", INDEX);
    env
}

#[test]
fn check_reports_the_conflict_and_merge_refuses_until_allowed() {
    let env = two_heads_that_conflict();
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    error: there are 2 heads: bbbb, cccc; run `rev merge -m <message>` to join them
      conflict: column users.name is renamed on one branch and used by its old name on the other
        bbbb migrations/versions/bbbb_rename.ron: ~ column users.name renamed to full_name
        cccc migrations/versions/cccc_index.ron: + index ix_users_name on users
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["merge", "-m", "join", "--rev-id", "mmmm"]).all(), @r"
    conflict: column users.name is renamed on one branch and used by its old name on the other
      bbbb migrations/versions/bbbb_rename.ron: ~ column users.name renamed to full_name
      cccc migrations/versions/cccc_index.ron: + index ix_users_name on users
    error: 1 conflict between the branches; nothing was written
    hint: resolve them in a new revision on one branch, or pass --allow-conflicts to accept them (the merge records them)
    [exit 1]
    ");
    assert!(!env.versions().join("mmmm_join.ron").exists());
    let run = env.rev(&[
        "merge",
        "-m",
        "join",
        "--rev-id",
        "mmmm",
        "--allow-conflicts",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("Recorded 1 acknowledged conflict(s) in the merge file"),
        "{}",
        run.all()
    );
    let merge = std::fs::read_to_string(env.versions().join("mmmm_join.ron")).unwrap();
    assert!(
        merge.contains("object: \"column users.name\"")
            && merge.contains("kind: \"renamed_but_used\""),
        "{merge}"
    );
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    ok: 4 revisions, one head, no problems found
    [exit 0]
    ");
}

#[test]
fn check_json_carries_the_conflicts_inside_the_finding() {
    let env = two_heads_that_conflict();
    let run = env.rev(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let finding = &value["findings"][0];
    assert_eq!(finding["kind"], "multiple_heads");
    let conflict = &finding["conflicts"][0];
    assert_eq!(conflict["object"], "column users.name");
    assert_eq!(conflict["kind"], "renamed_but_used");
    assert_eq!(conflict["left"]["revision"], "bbbb");
    assert_eq!(
        conflict["left"]["path"],
        "migrations/versions/bbbb_rename.ron"
    );
    assert_eq!(
        conflict["left"]["op"],
        "~ column users.name renamed to full_name"
    );
    assert_eq!(conflict["right"]["revision"], "cccc");
}

#[test]
fn separate_labelled_trees_are_not_several_heads() {
    let env = TestEnv::new();
    env.write_migration(
        "app1.ron",
        r#"Migration(id: "app1", parents: [], branch_labels: ["app"])"#,
    );
    env.write_migration(
        "aud1.ron",
        r#"Migration(id: "aud1", parents: [], branch_labels: ["audit"])"#,
    );
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    ok: 2 revisions, 2 heads on separate labelled lineages, no problems found
    [exit 0]
    ");
    // Without a label the second tree may be a mistake: still an error.
    env.write_migration("x.ron", r#"Migration(id: "x", parents: [])"#);
    assert_eq!(env.rev(&["check"]).code, 1);
}

#[test]
fn rebase_moves_a_branch_and_refuses_bad_targets() {
    let env = TestEnv::new();
    env.write_migration("aaaa_create_users.ron", USERS);
    env.write_migration(
        "bbbb_orders.ron",
        "// orders\nMigration(\n    id: \"bbbb\",\n    parents: [\"aaaa\"], // forked here\n    message: \"orders\",\n    upgrade: [CreateTable(name: \"orders\", columns: [Column(name: \"id\", type: Integer)])],\n)\n",
    );
    env.write_migration(
        "b2b2_more.ron",
        r#"Migration(id: "b2b2", parents: ["bbbb"], message: "more")"#,
    );
    env.write_migration(
        "cccc_invoices.ron",
        r#"Migration(id: "cccc", parents: ["aaaa"], message: "invoices", upgrade: [CreateTable(name: "invoices", columns: [Column(name: "id", type: Integer)])])"#,
    );
    let before = std::fs::read_to_string(env.versions().join("bbbb_orders.ron")).unwrap();
    assert_snapshot!(env.rev(&["rebase", "b2b2", "--onto", "bbbb"]).all(), @r"
    error: cannot rebase the branch starting at bbbb onto itself
    hint: --onto names a revision on another branch, such as another head
    [exit 2]
    ");
    assert_snapshot!(env.rev(&["rebase", "b2b2", "--onto", "b2b2"]).all(), @r"
    error: cannot rebase the branch starting at bbbb onto b2b2: b2b2 is on that branch (a descendant of bbbb)
    hint: --onto names a revision outside the branch, such as another head
    [exit 2]
    ");
    // A database that applied the branch keeps it where it is.
    let url = format!("sqlite://{}", env.path().join("app.db").display());
    assert_eq!(env.rev(&["upgrade", "bbbb", "--url", &url]).code, 0);
    let run = env.rev(&["rebase", "b2b2", "--onto", "cccc", "--url", &url]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("has applied one revision of the branch (bbbb)"),
        "{}",
        run.all()
    );
    assert_eq!(
        std::fs::read_to_string(env.versions().join("bbbb_orders.ron")).unwrap(),
        before
    );
    // The project's own database (rev.db) does not exist: nothing applied, and it stays absent.
    assert_snapshot!(env.rev(&["rebase", "b2b2", "--onto", "cccc"]).all(), @r"
    Rebased bbbb (2 revision(s)) onto cccc
      migrations/versions/bbbb_orders.ron: parents [aaaa] -> [cccc]
    [exit 0]
    ");
    assert!(!env.path().join("rev.db").exists());
    assert_eq!(
        std::fs::read_to_string(env.versions().join("bbbb_orders.ron")).unwrap(),
        before.replace("parents: [\"aaaa\"]", "parents: [\"cccc\"]")
    );
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    b2b2 (head) more
    [exit 0]
    ");
}

#[test]
fn rebase_runs_the_conflict_check_first() {
    let env = two_heads_that_conflict();
    let run = env.rev(&["rebase", "cccc", "--onto", "bbbb"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("conflict: column users.name"),
        "{}",
        run.all()
    );
    let run = env.rev(&["rebase", "cccc", "--onto", "bbbb", "--allow-conflicts"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

/// Runs `git` in `dir`, asserting it succeeds.
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `rev` in `dir`.
fn rev_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rev"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Writes a revision with `rev revision`, then fills in its operations as a developer would.
fn revision_with(dir: &Path, id: &str, message: &str, ops: &str) {
    let run = rev_in(dir, &["revision", "-m", message, "--rev-id", id]);
    assert_eq!(run.code, 0, "{}", run.all());
    let versions = dir.join("migrations").join("versions");
    let path = std::fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(id))
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("upgrade: [],"), "{text}");
    std::fs::write(
        &path,
        text.replace("upgrade: [],", &format!("upgrade: [{ops}],")),
    )
    .unwrap();
}

/// Two developers in two git worktrees branch from one head; `git merge` brings
/// both into one tree. A pair on different tables merges with no report and a
/// database that had the first branch upgrades through the second and the
/// merge; a pair on one column is reported, refused, then accepted.
#[test]
fn two_worktrees_meet_in_git() {
    let top = tempfile::tempdir().unwrap();
    let one = top.path().join("one");
    let two = top.path().join("two");
    std::fs::create_dir_all(&one).unwrap();
    git(&one, &["init", "-q", "-b", "main"]);
    assert_eq!(rev_in(&one, &["init", "."]).code, 0);
    std::fs::write(one.join(".gitignore"), "*.db\n").unwrap();
    revision_with(
        &one,
        "aaaa",
        "create users",
        r#"CreateTable(name: "users", columns: [Column(name: "id", type: Integer, primary_key: true), Column(name: "name", type: String(50))])"#,
    );
    git(&one, &["add", "-A"]);
    git(&one, &["commit", "-q", "-m", "users"]);
    git(
        &one,
        &["worktree", "add", "-q", "-b", "two", two.to_str().unwrap()],
    );

    // Pair 1: different tables. Developer one's database has their branch applied.
    revision_with(
        &one,
        "b1b1",
        "create orders",
        r#"CreateTable(name: "orders", columns: [Column(name: "id", type: Integer)])"#,
    );
    assert_eq!(rev_in(&one, &["upgrade", "heads"]).code, 0);
    git(&one, &["add", "-A"]);
    git(&one, &["commit", "-q", "-m", "orders"]);
    revision_with(
        &two,
        "c1c1",
        "create invoices",
        r#"CreateTable(name: "invoices", columns: [Column(name: "id", type: Integer)])"#,
    );
    git(&two, &["add", "-A"]);
    git(&two, &["commit", "-q", "-m", "invoices"]);
    git(&one, &["merge", "-q", "two"]);
    let run = rev_in(&one, &["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(!run.stdout.contains("conflict"), "{}", run.all());
    let run = rev_in(&one, &["merge", "-m", "join pair one", "--rev-id", "m1m1"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains("conflict"), "{}", run.all());
    let run = rev_in(&one, &["upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.all().contains("c1c1") && run.all().contains("m1m1"),
        "{}",
        run.all()
    );
    git(&one, &["add", "-A"]);
    git(&one, &["commit", "-q", "-m", "merge pair one"]);
    git(&two, &["merge", "-q", "main"]);

    // Pair 2: one renames users.name, the other indexes it.
    revision_with(
        &one,
        "b2b2",
        "rename users name",
        r#"RenameColumn(table: "users", name: "name", new_name: "full_name")"#,
    );
    git(&one, &["add", "-A"]);
    git(&one, &["commit", "-q", "-m", "rename"]);
    revision_with(
        &two,
        "c2c2",
        "index users name",
        r#"CreateIndex(name: "ix_users_name", table: "users", columns: ["name"])"#,
    );
    git(&two, &["add", "-A"]);
    git(&two, &["commit", "-q", "-m", "index"]);
    git(&one, &["merge", "-q", "two"]);
    let run = rev_in(&one, &["check"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("column users.name")
            && run.stdout.contains("b2b2_rename_users_name.ron")
            && run.stdout.contains("c2c2_index_users_name.ron"),
        "{}",
        run.all()
    );
    let run = rev_in(&one, &["merge", "-m", "join pair two"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let run = rev_in(&one, &["merge", "-m", "join pair two", "--allow-conflicts"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(rev_in(&one, &["check"]).code, 0);
}
