//! The command line as a new user meets it: help, errors, `-q` and `-v`.

use insta::assert_snapshot;

use crate::common::TestEnv;

/// A table and an index, so that `-v` has SQL to show.
const USERS: &str = r#"Migration(
    id: "aaaa",
    parents: [],
    message: "create users",
    upgrade: [
        CreateTable(name: "users", columns: [Column(name: "id", type: Integer, primary_key: true)]),
        CreateIndex(name: "ix_users_id", table: "users", columns: ["id"]),
    ],
)"#;

const EMAIL: &str = r#"Migration(
    id: "bbbb",
    parents: ["aaaa"],
    message: "add email",
    upgrade: [AddColumn(table: "users", column: Column(name: "email", type: String(255)))],
)"#;

fn project() -> TestEnv {
    let env = TestEnv::new();
    env.write_migration("aaaa_create_users.ron", USERS);
    env.write_migration("bbbb_add_email.ron", EMAIL);
    env
}

/// Rewrites rev.ron without a database URL.
fn without_url(env: &TestEnv) {
    let path = env.path().join("rev.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(r#"url: Some("sqlite://rev.db"),"#, "url: None,");
    assert!(text.contains("url: None,"), "{text}");
    std::fs::write(path, text).unwrap();
}

#[test]
fn init_in_the_current_directory_does_not_say_cd_dot() {
    let env = TestEnv::empty();
    assert_snapshot!(env.rev(&["init"]).all(), @r#"
    Created rev.ron
    Created migrations/versions
    Created models
    Created .env.example
    Created .gitignore
    Next: cp .env.example .env   # then edit DATABASE_URL in .env
          rev revision -m "create users"
    [exit 0]
    "#);
    let env = TestEnv::empty();
    let run = env.rev(&["init", "app", "--dialect", "postgresql"]);
    assert!(
        run.stdout
            .ends_with("Next: cd app && cp .env.example .env   # then edit DATABASE_URL in .env\n      rev revision -m \"create users\"\n"),
        "{}",
        run.all()
    );
    let example = std::fs::read_to_string(env.path().join("app/.env.example")).unwrap();
    assert!(example.contains("\nDATABASE_URL=postgres://"), "{example}");
}

#[test]
fn usage_errors_name_what_is_wrong_and_exit_2() {
    let env = project();
    assert_snapshot!(env.rev(&["heads", "-q", "-v"]).all(), @r"
    error: the argument '--quiet' cannot be used with '--verbose'

    Usage: rev heads --quiet

    For more information, try '--help'.
    [exit 2]
    ");
    assert_snapshot!(env.rev(&["upgrade", "heads", "--sql", "--dialect", "oracle"]).all(), @r"
    error: invalid value 'oracle' for '--dialect <mssql|sqlite|postgres|mysql>': unknown dialect `oracle`: expected mssql, sqlite, postgres or mysql

    For more information, try '--help'.
    [exit 2]
    ");
    assert_snapshot!(env.rev(&["graph", "--format", "text"]).code.to_string(), @"0");
    assert_snapshot!(env.rev(&["history", "--format", "mermaid"]).all(), @r"
    error: `rev history` does not offer --format mermaid; it offers text, json
    [exit 2]
    ");
    assert_eq!(env.rev(&["frobnicate"]).code, 2);
    assert_eq!(env.rev(&["upgrade"]).code, 2);
    assert_eq!(env.rev(&[]).code, 2);
}

#[test]
fn a_missing_config_points_at_the_project_from_a_subdirectory() {
    let env = project();
    let sub = env.path().join("migrations");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rev"))
        .arg("heads")
        .current_dir(&sub)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&*env.path().to_string_lossy(), "$ROOT");
    assert_eq!(out.status.code(), Some(1));
    assert_snapshot!(stderr, @r"
    error: no config file at $ROOT/migrations/rev.ron
    hint: this looks like a subdirectory of the project at $ROOT: run rev there, or pass --config $ROOT/rev.ron
    ");
    let elsewhere = TestEnv::empty();
    let config = env.path().join("rev.ron");
    let run = elsewhere.rev(&["--config", &config.to_string_lossy(), "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout, "bbbb (head) add email\n");
    // The relative SQLite path in that rev.ron is taken from its directory.
    let run = elsewhere.rev(&[
        "--config",
        &config.to_string_lossy(),
        "-q",
        "upgrade",
        "heads",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(env.path().join("rev.db").exists());
    assert!(!elsewhere.path().join("rev.db").exists());
    // However the URL spells the SQLite scheme.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("sqlite://rev.db"), "{text}");
    std::fs::write(&config, text.replace("sqlite://rev.db", "sqlite:other.db")).unwrap();
    let run = elsewhere.rev(&[
        "--config",
        &config.to_string_lossy(),
        "-q",
        "upgrade",
        "heads",
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(env.path().join("other.db").exists());
    assert!(!elsewhere.path().join("other.db").exists());
}

#[test]
fn no_database_configured_says_how_to_name_one() {
    let env = project();
    without_url(&env);
    assert_snapshot!(env.rev(&["upgrade", "heads"]).all(), @r"
    error: no database URL: pass --url, set DATABASE_URL, or set `url` in rev.ron
    hint: copy .env.example to .env and edit it, or pass --url sqlite://rev.db
    [exit 1]
    ");
    // A script in a guessed dialect would be worse than none.
    assert_snapshot!(env.rev(&["upgrade", "heads", "--sql"]).all(), @r"
    error: --sql needs to know the database: no --dialect and no database URL
    hint: pass --dialect mssql|sqlite|postgres|mysql, or --url <URL>
    [exit 2]
    ");
    let script = env.ok(&["upgrade", "heads", "--sql", "--dialect", "mssql"]);
    assert!(
        script.starts_with("-- Generated by rev for mssql"),
        "{script}"
    );
    let script = env.ok(&["upgrade", "heads", "--sql", "--url", "postgres://u:pw@h/db"]);
    assert!(
        script.starts_with("-- Generated by rev for postgres"),
        "{script}"
    );
    // An ADO.NET string need not start with its server.
    let script = env.ok(&[
        "upgrade",
        "heads",
        "--sql",
        "--url",
        "Database=app;Server=tcp:h,1433;User Id=sa;Password=pw",
    ]);
    assert!(
        script.starts_with("-- Generated by rev for mssql"),
        "{script}"
    );
}

#[test]
fn a_failed_connection_hides_the_password_and_says_what_to_check() {
    let env = project();
    let run = env.rev(&[
        "current",
        "--url",
        "postgres://bob:s3cretPW@127.0.0.1:1/app",
    ]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(!run.all().contains("s3cretPW"), "{}", run.all());
    assert!(
        run.stderr
            .starts_with("error: cannot connect to postgres://bob@127.0.0.1:1/app: "),
        "{}",
        run.all()
    );
    assert!(
        run.stderr.ends_with("hint: check the URL (from --url, DATABASE_URL or `url` in rev.ron), the user and password, and that the server is running\n"),
        "{}",
        run.all()
    );
    let run = env.rev(&[
        "upgrade",
        "heads",
        "--sql",
        "--url",
        "odbc://bob:s3cretPW@h/app",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(!run.all().contains("s3cretPW"), "{}", run.all());
}

#[test]
fn merge_with_nothing_to_join_says_why() {
    let env = TestEnv::new();
    assert_snapshot!(env.rev(&["merge", "-m", "x"]).all(), @r"
    error: nothing to merge: there are no revisions yet
    hint: `rev revision -m <message>` writes the first revision
    [exit 1]
    ");
    let env = project();
    assert_snapshot!(env.rev(&["merge", "aaaa", "-m", "x"]).all(), @r"
    error: nothing to merge: aaaa names only one revision (aaaa)
    hint: `rev heads` lists the heads a merge can join
    [exit 1]
    ");
}

#[test]
fn quiet_prints_only_errors_and_the_data_asked_for() {
    let env = project();
    assert_snapshot!(env.rev(&["-q", "upgrade", "heads"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "upgrade", "heads"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "current"]).all(), @r"
    bbbb (head) add email
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["-q", "heads"]).all(), @r"
    bbbb (head) add email
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["-q", "check"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "stamp", "aaaa"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "downgrade", "base"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "current"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "revision", "-m", "c", "--rev-id", "cccc"]).all(), @"[exit 0]");
    assert_snapshot!(env.rev(&["-q", "upgrade", "nope"]).all(), @r"
    error: no revision matches `nope`
    hint: `rev history` lists the revisions
    [exit 1]
    ");
}

#[test]
fn verbose_upgrade_prints_the_sql_of_each_step() {
    let env = project();
    assert_snapshot!(env.rev(&["-v", "upgrade", "heads", "--plan"]).all(), @r#"
    from: <base>
    to:   bbbb
    upgrade   aaaa create users
    upgrade   bbbb add email
    -- upgrade aaaa
    CREATE TABLE "users" (
        "id" INTEGER PRIMARY KEY NOT NULL
    );
    CREATE INDEX "ix_users_id" ON "users" ("id");
    -- upgrade bbbb
    ALTER TABLE "users" ADD COLUMN "email" VARCHAR(255);
    [exit 0]
    "#);
    let run = env.rev(&["-v", "upgrade", "heads"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let without_times: String = run
        .stdout
        .lines()
        .map(|l| match l.find(" (") {
            Some(at) if l.ends_with(" ms)") => format!("{}\n", &l[..at]),
            _ => format!("{l}\n"),
        })
        .collect();
    assert_snapshot!(without_times, @r#"
    running   upgrade aaaa create users
    upgrade   aaaa create users
        CREATE TABLE "users" (
            "id" INTEGER PRIMARY KEY NOT NULL
        );
        CREATE INDEX "ix_users_id" ON "users" ("id");
        -- version table: added aaaa
    running   upgrade bbbb add email
    upgrade   bbbb add email
        ALTER TABLE "users" ADD COLUMN "email" VARCHAR(255);
        -- version table: removed aaaa
        -- version table: added bbbb
    "#);
    // A stamp says what it did to the version table.
    assert_snapshot!(env.rev(&["-v", "stamp", "aaaa"]).all(), @r"
    stamp     added aaaa create users; removed bbbb
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["stamp", "base", "--purge"]).all(), @r"
    stamp     removed aaaa
    [exit 0]
    ");
}

#[test]
fn verbose_history_heads_and_current_show_parents_and_paths() {
    let env = project();
    assert_snapshot!(env.rev(&["-v", "history"]).all(), @r"
    Rev: bbbb (head)
    Parent: aaaa
    Path: migrations/versions/bbbb_add_email.ron

        add email

    Rev: aaaa
    Parent: <base>
    Path: migrations/versions/aaaa_create_users.ron

        create users

    [exit 0]
    ");
    assert_snapshot!(env.rev(&["-v", "heads"]).all(), @r"
    Rev: bbbb (head)
    Parent: aaaa
    Path: migrations/versions/bbbb_add_email.ron

        add email

    [exit 0]
    ");
    env.ok(&["-q", "upgrade", "aaaa"]);
    assert_snapshot!(env.rev(&["-v", "current"]).all(), @r"
    database: sqlite://rev.db
    Rev: aaaa
    Parent: <base>
    Path: migrations/versions/aaaa_create_users.ron

        create users

    [exit 0]
    ");
    // JSON stays JSON with -v.
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["-v", "history", "--format", "json"])).unwrap();
    assert_eq!(json[0]["id"], "bbbb");
}

#[test]
fn help_lists_global_options_apart() {
    let env = TestEnv::empty();
    assert_snapshot!(env.ok(&["heads", "--help"]), @r"
    List the heads

    Usage: rev heads [OPTIONS]

    Options:
      -h, --help  Print help

    Global options:
          --config <FILE>
              The project's config file [default: rev.ron]
          --url <URL>
              The database URL (overrides DATABASE_URL and `url` in rev.ron)
          --env <NAME>
              An environment of rev.ron: one database, or a fleet run `jobs` at a time
          --continue-on-error
              In a fleet, keep starting databases after one failed (canaries apart)
          --jobs <N>
              In a fleet, how many databases run at once (overrides the environment's `jobs`)
          --format <text|json|ascii|dot|mermaid>
              Output format: text (the default) or json; `graph` draws ascii, dot or mermaid
          --dialect <mssql|sqlite|postgres|mysql>
              The dialect of `--sql` scripts without a URL, and of the project `init` writes
      -q, --quiet
              Print only errors and the data asked for
      -v, --verbose
              Print more detail: parents and paths of revisions, the SQL of each step
    ");
}

#[test]
fn a_failed_sqlite_statement_is_shown_once() {
    let env = project();
    env.write_migration(
        "cccc_broken.ron",
        r#"Migration(id: "cccc", parents: ["bbbb"], message: "broken", upgrade: [Sql("CREATE TABLE users (id INTEGER)")], downgrade: [])"#,
    );
    let run = env.rev(&["upgrade", "heads"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(
        run.stderr.matches("CREATE TABLE users").count(),
        1,
        "{}",
        run.all()
    );
    assert_snapshot!(run.stderr, @r"
    error: revision cccc (upgrade) failed at statement 1: table users already exists (at offset 13)
      statement: CREATE TABLE users (id INTEGER)
    completed before the failure: upgrade aaaa, upgrade bbbb
    ");
}

#[test]
fn verbose_check_says_what_it_compared_and_what_it_skipped() {
    let env = project();
    assert_snapshot!(env.rev(&["-v", "check"]).all(), @r"
    checked the graph: 2 revisions, 1 head
    skipped the checksums of applied migrations: rev.db does not exist yet
    checked the models in models/ against the migrations
    ok: 2 revisions, one head, no problems found
    [exit 0]
    ");
    env.ok(&["-q", "upgrade", "heads"]);
    assert_snapshot!(env.rev(&["-v", "check"]).stdout.lines().nth(1).unwrap_or_default(), @"checked the checksums of applied migrations in sqlite://rev.db");
    assert_snapshot!(env.rev(&["-q", "check"]).all(), @"[exit 0]");
}

#[test]
fn check_leaves_a_missing_sqlite_file_uncreated_however_the_url_spells_it() {
    let env = project();
    for url in ["sqlite:other.db", "SQLITE://other.db"] {
        let run = env.rev(&["-v", "check", "--url", url]);
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(
            run.stdout.contains(
                "skipped the checksums of applied migrations: other.db does not exist yet"
            ),
            "{}",
            run.all()
        );
        assert!(
            !env.path().join("other.db").exists(),
            "{url} created the file"
        );
    }
}

#[test]
fn mistyped_arguments_get_a_way_forward() {
    let env = project();
    env.write_migration(
        "cccc_other.ron",
        r#"Migration(id: "cccc", parents: ["aaaa"], message: "other")"#,
    );
    assert_snapshot!(env.rev(&["init"]).all(), @r"
    error: rev.ron already exists: this directory holds a project
    hint: `rev init <dir>` makes a new project in another directory
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["revision", "-m", " "]).all(), @r#"
    error: the message is empty
    hint: say what the migration does, e.g. -m "add users.email"
    [exit 2]
    "#);
    assert_snapshot!(env.rev(&["show", "heads"]).all(), @r"
    error: `heads` names 2 revisions (bbbb, cccc); name one
    [exit 1]
    ");
    assert_snapshot!(env.rev(&["upgrade", "head"]).all(), @r"
    error: there are 2 heads (bbbb, cccc); name one, or use `heads`, `<label>@head` or `rev merge`
    hint: `rev heads` lists them
    [exit 1]
    ");
    let dir = env.path().to_string_lossy().to_string();
    assert_snapshot!(env.rev(&["--config", &dir, "heads"]).all(), @r"
    error: --config $ROOT is a directory; it names the config file
    hint: pass --config $ROOT/rev.ron
    [exit 2]
    ");
}

#[test]
fn check_spells_types_and_defaults_as_a_person_reads_them() {
    let env = project();
    std::fs::write(
        env.path().join("models/users.ron"),
        r#"[Table(name: "users", columns: [
            Column(name: "id", type: Integer, primary_key: true),
            Column(name: "email", type: Custom("citext"), default: Str("it's \"x\"")),
        ])]"#,
    )
    .unwrap();
    assert_snapshot!(env.rev(&["check"]).all(), @r#"
    error: the models differ from what the migrations build; `rev revision --autogenerate -m <message>` would write:
      - index ix_users_id on users
      ~ column users.email: type citext, default 'it''s "x"'
    [exit 1]
    "#);
}

#[test]
fn check_counts_revisions_in_words() {
    let env = TestEnv::new();
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    ok: no revisions yet, no problems found
    [exit 0]
    ");
    env.write_migration("aaaa_create_users.ron", USERS);
    assert_snapshot!(env.rev(&["check"]).all(), @r"
    ok: 1 revision, one head, no problems found
    [exit 0]
    ");
}

#[test]
fn commands_without_json_refuse_format_json() {
    let env = project();
    assert_snapshot!(env.rev(&["upgrade", "heads", "--sql", "--format", "json"]).all(), @r"
    error: `rev upgrade` does not offer --format json; it offers text
    [exit 2]
    ");
    assert_snapshot!(env.rev(&["current"]).all(), @r"
    <base> (nothing applied)
    [exit 0]
    ");
    assert_eq!(
        env.rev(&["stamp", "heads", "--sql", "--format", "json"])
            .code,
        2
    );
    let plan = env.ok(&["upgrade", "heads", "--plan", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["to"], serde_json::json!(["bbbb"]));
}

/// Returns each JSON event of a run as `event revision`, leaving out the
/// timings, which differ from run to run.
fn event_lines(out: &str) -> String {
    out.lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            let name = event["event"].as_str().unwrap().to_owned();
            match event["revision"].as_str() {
                Some(revision) => format!("{name} {revision}"),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn runs_with_format_json_print_one_event_per_line() {
    let env = project();
    let out = env.ok(&["upgrade", "heads", "--format", "json"]);
    assert_snapshot!(event_lines(&out), @r"
    planned
    started aaaa
    finished aaaa
    started bbbb
    finished bbbb
    done
    ");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["applied"], 2);
    let out = env.ok(&["downgrade", "base", "--format", "json"]);
    assert_snapshot!(event_lines(&out), @r"
    planned
    started bbbb
    finished bbbb
    started aaaa
    finished aaaa
    done
    ");
    let out = env.ok(&["stamp", "heads", "--format", "json"]);
    let finished: serde_json::Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
    assert_eq!(finished["added"], serde_json::json!(["bbbb"]));
}

#[test]
fn verbose_branches_show_the_branch_point_and_the_files_of_its_children() {
    let env = project();
    env.write_migration(
        "cccc_other.ron",
        r#"Migration(id: "cccc", parents: ["aaaa"], message: "other")"#,
    );
    assert_snapshot!(env.rev(&["-v", "branches"]).all(), @r"
    Rev: aaaa (branchpoint)
    Parent: <base>
    Path: migrations/versions/aaaa_create_users.ron

        create users

        -> bbbb (head), add email (migrations/versions/bbbb_add_email.ron)
        -> cccc (head), other (migrations/versions/cccc_other.ron)

    [exit 0]
    ");
}

#[test]
fn verbose_show_lists_each_operation() {
    let env = project();
    let run = env.rev(&["-v", "show", "aaaa"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let tail: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Upgrade"))
        .collect();
    assert_snapshot!(tail.join("\n"), @r"
    Upgrade: 2 operation(s):
        + table users
        + index ix_users_id on users
    Downgrade: derived from the upgrade
    ");
    let run = env.rev(&["show", "aaaa"]);
    assert!(
        run.stdout
            .contains("Upgrade: 2 operation(s): CreateTable, CreateIndex\n"),
        "{}",
        run.all()
    );
}

#[test]
fn verbose_revision_and_merge_name_the_parents() {
    let env = project();
    assert_snapshot!(env.rev(&["-v", "revision", "-m", "c", "--rev-id", "cccc", "--head", "aaaa", "--branch-label", "side"]).all(), @r"
    Created revision cccc: migrations/versions/cccc_c.ron
    Parent: aaaa
    Branch names: side
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["-v", "merge", "-m", "join", "--rev-id", "mmmm"]).all(), @r"
    Created merge revision mmmm: migrations/versions/mmmm_join.ron
    Parent: bbbb, cccc
    [exit 0]
    ");
}

#[test]
fn current_and_plan_do_not_create_a_missing_sqlite_file() {
    let env = project();
    assert_snapshot!(env.rev(&["current"]).all(), @r"
    <base> (nothing applied)
    [exit 0]
    ");
    assert_snapshot!(env.rev(&["upgrade", "heads", "--plan"]).all(), @r"
    from: <base>
    to:   bbbb
    upgrade   aaaa create users
    upgrade   bbbb add email
    [exit 0]
    ");
    assert!(!env.path().join("rev.db").exists());
    env.ok(&["-q", "upgrade", "aaaa"]);
    assert_snapshot!(env.rev(&["upgrade", "heads", "--plan"]).all(), @r"
    from: aaaa
    to:   bbbb
    upgrade   bbbb add email
    [exit 0]
    ");
}

#[test]
fn a_dialect_that_disagrees_with_the_database_is_refused() {
    let env = project();
    assert_snapshot!(env.rev(&["--dialect", "mssql", "upgrade", "heads"]).all(), @r"
    error: --dialect mssql disagrees with the database URL, which is sqlite
    hint: --dialect is for --sql scripts; for another database pass --url
    [exit 2]
    ");
    assert!(!env.path().join("rev.db").exists());
    env.ok(&["--dialect", "sqlite", "-q", "upgrade", "heads"]);
    let script = env.ok(&["--dialect", "mssql", "upgrade", "heads", "--sql"]);
    assert!(
        script.starts_with("-- Generated by rev for mssql"),
        "{script}"
    );
}
