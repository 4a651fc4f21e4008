//! The commands that need no database, run as a user runs them.

use insta::assert_snapshot;

use crate::common::TestEnv;

#[test]
fn the_issue_walkthrough_makes_and_joins_two_heads() {
    let env = TestEnv::new();
    env.ok(&["revision", "-m", "a", "--rev-id", "aaaa"]);
    env.ok(&["revision", "-m", "b", "--rev-id", "bbbb"]);
    env.ok(&["revision", "-m", "c", "--rev-id", "cccc", "--head", "aaaa"]);
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    bbbb (head) b
    cccc (head) c
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    error: there are 2 heads: bbbb, cccc; run `rev merge -m <message>` to join them
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["merge", "-m", "join", "--rev-id", "mmmm"]).all(), @r"
    Created merge revision mmmm: migrations/versions/mmmm_join.ron
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    mmmm (head) (mergepoint) join
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["graph"]).all(), @r"
    * mmmm (head) (mergepoint) join
    |\
    * | bbbb b
    | * cccc c
    |/
    * aaaa (branchpoint) a
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    ok: 4 revisions, one head, no problems found
    [exit 0]
    ");
}

#[test]
fn revision_refuses_to_guess_a_parent_among_several_heads() {
    let env = TestEnv::new();
    env.ok(&["revision", "-m", "a", "--rev-id", "aaaa"]);
    env.ok(&["revision", "-m", "b", "--rev-id", "bbbb"]);
    env.ok(&["revision", "-m", "c", "--rev-id", "cccc", "--head", "aaaa"]);
    assert_snapshot!(env.rev(&["revision", "-m", "d"]).all(), @r"
    error: there are 2 heads (bbbb, cccc): a new revision needs one parent
    hint: pass `--head <rev>` to pick one, or run `rev merge -m <message>` to join them first
    [exit 1]
    ");
}

#[test]
fn new_files_parse_back_and_carry_what_was_asked() {
    let env = TestEnv::new();
    env.ok(&[
        "revision",
        "-m",
        "Create the Users table!",
        "--rev-id",
        "aaaa",
    ]);
    env.ok(&[
        "revision",
        "-m",
        "feature",
        "--rev-id",
        "ffff",
        "--head",
        "base",
        "--branch-label",
        "feat",
    ]);
    env.ok(&[
        "revision",
        "-m",
        "needs a",
        "--rev-id",
        "dddd",
        "--head",
        "feat@head",
        "--depends-on",
        "aaa",
    ]);
    let text = std::fs::read_to_string(env.versions().join("dddd_needs_a.ron")).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("created:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_snapshot!(text, @r#"
    // needs a
    Migration(
        id: "dddd",
        parents: [
            "ffff",
        ],
        message: "needs a",
        branch_labels: [],
        depends_on: [
            "aaaa",
        ],
        upgrade: [],
    )
    "#);
    assert!(env
        .versions()
        .join("aaaa_create_the_users_table.ron")
        .exists());
    let json = env.ok(&["show", "dddd", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["depends_on"], serde_json::json!(["aaaa"]));
    assert_eq!(value["parents"], serde_json::json!(["ffff"]));
}

#[test]
fn json_output_has_the_documented_shape() {
    let env = TestEnv::new();
    env.diamond();
    assert_snapshot!(env.ok(&["history", "--format", "json"]), @r#"
    [
      {
        "branch_labels": [],
        "depends_on": [],
        "id": "mmmm",
        "message": "join",
        "parents": [
          "bbbb",
          "cccc"
        ],
        "path": "migrations/versions/mmmm_join.ron"
      },
      {
        "branch_labels": [],
        "depends_on": [],
        "id": "bbbb",
        "message": "b",
        "parents": [
          "aaaa"
        ],
        "path": "migrations/versions/bbbb_b.ron"
      },
      {
        "branch_labels": [],
        "depends_on": [],
        "id": "cccc",
        "message": "c",
        "parents": [
          "aaaa"
        ],
        "path": "migrations/versions/cccc_c.ron"
      },
      {
        "branch_labels": [],
        "depends_on": [],
        "id": "aaaa",
        "message": "a",
        "parents": [],
        "path": "migrations/versions/aaaa_a.ron"
      }
    ]
    "#);
    let branches: serde_json::Value =
        serde_json::from_str(&env.ok(&["branches", "--format", "json"])).unwrap();
    assert_eq!(branches.as_array().map(Vec::len), Some(1));
    assert_eq!(branches[0]["id"], "aaaa");
}

#[test]
fn history_and_branches_as_text() {
    let env = TestEnv::new();
    env.diamond();
    assert_snapshot!(env.rev(&["history"]).all(), @r"
    bbbb, cccc -> mmmm (head) (mergepoint), join
    aaaa -> bbbb, b
    aaaa -> cccc, c
    <base> -> aaaa (branchpoint), a
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["history", "-r", "bbbb:"]).all(), @r"
    bbbb, cccc -> mmmm (head) (mergepoint), join
    aaaa -> bbbb, b
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["history", "-r", ":cccc"]).all(), @r"
    aaaa -> cccc, c
    <base> -> aaaa (branchpoint), a
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["branches"]).all(), @r"
    aaaa (branchpoint) a
        -> bbbb, b
        -> cccc, c
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["history", "-r", "nope"]).all(), @r"
    error: invalid range `nope`: expected FROM:TO, e.g. base:heads, ae10:, :ae10, current:
    [exit 2]
    ");
}

#[test]
fn graph_formats() {
    let env = TestEnv::new();
    env.diamond();
    assert_snapshot!(env.ok(&["graph", "--format", "mermaid"]), @r#"
    flowchart BT
        r_mmmm["mmmm (head) (mergepoint)<br/>join"]
        r_bbbb["bbbb<br/>b"]
        r_cccc["cccc<br/>c"]
        r_aaaa["aaaa (branchpoint)<br/>a"]
        r_aaaa --> r_bbbb
        r_aaaa --> r_cccc
        r_bbbb --> r_mmmm
        r_cccc --> r_mmmm
    "#);
    let dot = env.ok(&["graph", "--format", "dot"]);
    assert!(dot.starts_with("digraph revisions {"));
    assert!(dot.contains("\"cccc\" -> \"mmmm\";"));
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["graph", "--format", "json"])).unwrap();
    assert_eq!(json["edges"].as_array().map(Vec::len), Some(4));
    assert_snapshot!(env.rev(&["heads", "--format", "dot"]).all(), @r"
    error: `rev heads` does not offer --format dot; it offers text, json
    [exit 2]
    ");
}

#[test]
fn target_errors_name_the_choices() {
    let env = TestEnv::new();
    env.ok(&["revision", "-m", "a", "--rev-id", "ab01"]);
    env.ok(&["revision", "-m", "b", "--rev-id", "ab02"]);
    env.ok(&["revision", "-m", "c", "--rev-id", "cd01", "--head", "ab01"]);
    assert_snapshot!(env.rev(&["show", "ab"]).all(), @r"
    error: revision `ab` is ambiguous: ab01, ab02
    hint: type more characters of the id
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["show", "zz"]).all(), @r"
    error: no revision matches `zz`
    hint: `rev history` lists the revisions
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["show", "head"]).all(), @r"
    error: there are 2 heads (ab02, cd01); name one, or use `heads`, `<label>@head` or `rev merge`
    hint: `rev heads` lists them
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["show", "ab01+1"]).all(), @r"
    error: `ab01+1` is ambiguous at `ab01`: it could go to ab02 or cd01; name the revision instead
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["show", "a;b"]).all(), @r"
    error: invalid target `a;b`: expected base, heads, head, an id, an id prefix, a branch label, <x>@head, <label>@<rev>, +N, -N, <rev>+N or <rev>-N
    [exit 2]
    ");
    assert_snapshot!(env.rev(&["show", "cd01-1"]).all(), @r"
    Rev: ab01 (branchpoint)
    Parent: <base>
    Children: ab02, cd01
    Path: migrations/versions/ab01_a.ron
    Created: [created]
    Checksum: a988b59a59ec506fa70cc27b341110edfc3a7a1126e44f125aa3046e07623caf

        a

    Upgrade: 0 operation(s)
    Downgrade: derived from the upgrade
    [exit 0]
    ");
}

#[test]
fn merge_refuses_related_revisions_and_lone_heads() {
    let env = TestEnv::new();
    env.ok(&["revision", "-m", "a", "--rev-id", "aaaa"]);
    env.ok(&["revision", "-m", "b", "--rev-id", "bbbb"]);
    assert_snapshot!(env.rev(&["merge", "aaaa", "bbbb", "-m", "x"]).all(), @r"
    error: cannot merge `aaaa` and `bbbb`: `aaaa` is an ancestor of `bbbb`
    hint: merge only revisions on different branches, such as the heads `rev heads` lists
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["merge", "-m", "x"]).all(), @r"
    error: nothing to merge: there is only one head (bbbb)
    hint: `rev heads` lists the heads a merge can join
    [exit 1]
    ");
}

const A: &str = r#"Migration(id: "aaaa", parents: [], message: "a")"#;

#[test]
fn malformed_ron_names_file_line_and_column() {
    let env = TestEnv::new();
    env.write_migration("aaaa_a.ron", A);
    env.write_migration(
        "bbbb_b.ron",
        "Migration(\n    id: \"bbbb\",\n    parents: [\"aaaa\"\n    message: \"b\",\n)\n",
    );
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    error: migrations/versions/bbbb_b.ron:4:5: Expected comma
    [exit 1]
    ");
    env.write_migration(
        "bbbb_b.ron",
        "Migration(id: \"bbbb\", parents: [\"aaaa\"], mesage: \"b\")",
    );
    let run = env.rev(&["heads"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("bbbb_b.ron:1:"), "{}", run.all());
    assert!(run.stderr.contains("mesage"), "{}", run.all());
}

#[test]
fn graph_errors_name_the_file_and_position() {
    let env = TestEnv::new();
    env.write_migration("aaaa_a.ron", A);
    env.write_migration(
        "bbbb_b.ron",
        "Migration(\n    id: \"bbbb\",\n    parents: [\"zzzz\"],\n)\n",
    );
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    error: migrations/versions/bbbb_b.ron:3:15: revision `bbbb` names parent `zzzz`, which does not exist
    hint: fix the file; nothing was run against the database
    [exit 1]
    ");
    env.write_migration(
        "bbbb_b.ron",
        "Migration(\n    id: \"aaaa\",\n    parents: [],\n)\n",
    );
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    error: migrations/versions/bbbb_b.ron:2:9: revision id `aaaa` is declared twice (also in migrations/versions/aaaa_a.ron)
    hint: fix the file; nothing was run against the database
    [exit 1]
    ");
    std::fs::remove_file(env.versions().join("aaaa_a.ron")).unwrap();
    env.write_migration("aaaa_a.ron", r#"Migration(id: "aaaa", parents: ["bbbb"])"#);
    env.write_migration("bbbb_b.ron", r#"Migration(id: "bbbb", parents: ["aaaa"])"#);
    assert_snapshot!(env.rev(&["heads"]).all(), @"
    error: migrations/versions/aaaa_a.ron:1:23: revisions form a cycle through parents or depends_on: aaaa -> bbbb -> aaaa (each needs the next)
    hint: fix the file; nothing was run against the database
    [exit 1]
    ");
}

#[test]
fn usage_errors_exit_2_and_a_missing_config_is_explained() {
    let env = TestEnv::empty();
    assert_snapshot!(env.rev(&["heads"]).all(), @r"
    error: no config file at $ROOT/rev.ron
    hint: run `rev init` to create a project here, or pass --config <path/to/rev.ron>
    [exit 1]
    ");
    assert_eq!(env.rev(&["frobnicate"]).code, 2);
    assert_eq!(env.rev(&["revision"]).code, 2);
}

#[test]
fn check_warns_about_a_redundant_parent_without_failing() {
    let env = TestEnv::new();
    env.write_migration("aaaa_a.ron", A);
    env.write_migration("bbbb_b.ron", r#"Migration(id: "bbbb", parents: ["aaaa"])"#);
    env.write_migration(
        "cccc_c.ron",
        r#"Migration(id: "cccc", parents: ["aaaa", "bbbb"])"#,
    );
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    warning: revision `cccc` names parent `aaaa`, which is already an ancestor of its parent `bbbb`; it adds nothing and can be removed from `parents`
    [exit 0]
    ");
}
