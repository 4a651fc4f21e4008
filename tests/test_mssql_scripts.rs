//! Whole offline T-SQL scripts (`rev ... --sql --dialect mssql`) of the demo
//! project and of the projects under fixtures/mssql/, as file snapshots, and
//! read back the way sqlcmd reads them: batches split on lines holding only
//! `GO`.

use std::path::PathBuf;

use crate::common::TestEnv;

/// One script: a snapshot name, the project's config (relative to the
/// repository) and the command that prints it.
struct Case {
    name: &'static str,
    config: &'static str,
    args: &'static [&'static str],
}

const DEMO: &str = "rev.ron";
const SHOP: &str = "fixtures/mssql/shop/rev.ron";
const SALES: &str = "fixtures/mssql/sales/rev.ron";

const CASES: &[Case] = &[
    Case {
        name: "demo_upgrade_heads",
        config: DEMO,
        args: &["upgrade", "heads"],
    },
    Case {
        name: "demo_downgrade_heads_to_base",
        config: DEMO,
        args: &["downgrade", "heads:base"],
    },
    Case {
        name: "demo_stamp_heads",
        config: DEMO,
        args: &["stamp", "heads"],
    },
    Case {
        name: "shop_upgrade_heads",
        config: SHOP,
        args: &["upgrade", "heads"],
    },
    Case {
        name: "shop_downgrade_heads_to_base",
        config: SHOP,
        args: &["downgrade", "heads:base"],
    },
    Case {
        name: "shop_upgrade_to_the_billing_label",
        config: SHOP,
        args: &["upgrade", "billing"],
    },
    Case {
        name: "shop_upgrade_c1_to_d1_pulls_in_billing",
        config: SHOP,
        args: &["upgrade", "c1:d1"],
    },
    Case {
        name: "shop_downgrade_r1_to_c1_splits_the_merge",
        config: SHOP,
        args: &["downgrade", "r1:c1"],
    },
    Case {
        name: "shop_stamp_c1_to_m1",
        config: SHOP,
        args: &["stamp", "c1:m1"],
    },
    Case {
        name: "sales_upgrade_heads",
        config: SALES,
        args: &["upgrade", "heads"],
    },
    Case {
        name: "sales_downgrade_heads_to_base",
        config: SALES,
        args: &["downgrade", "heads:base"],
    },
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the case's command with `--sql --dialect mssql` from an empty
/// directory, so that nothing but `--config` finds the project.
fn script(case: &Case) -> String {
    let config = repo().join(case.config);
    let config = config.to_str().unwrap();
    let mut args = vec!["--config", config, "--dialect", "mssql"];
    args.extend(case.args);
    args.push("--sql");
    TestEnv::empty().ok(&args)
}

fn case(name: &str) -> &'static Case {
    CASES.iter().find(|c| c.name == name).unwrap()
}

macro_rules! snapshot_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let case = case(stringify!($name));
                insta::with_settings!({
                    description => format!("rev --config {} {} --sql --dialect mssql", case.config, case.args.join(" ")),
                    omit_expression => true,
                }, {
                    insta::assert_snapshot!(case.name, script(case));
                });
            }
        )*
    };
}

snapshot_tests!(
    demo_upgrade_heads,
    demo_downgrade_heads_to_base,
    demo_stamp_heads,
    shop_upgrade_heads,
    shop_downgrade_heads_to_base,
    shop_upgrade_to_the_billing_label,
    shop_upgrade_c1_to_d1_pulls_in_billing,
    shop_downgrade_r1_to_c1_splits_the_merge,
    shop_stamp_c1_to_m1,
    sales_upgrade_heads,
    sales_downgrade_heads_to_base,
);

/// Returns whether sqlcmd ends a batch at this line: `GO`, alone or with a
/// repeat count.
fn is_separator(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let go = words.next().is_some_and(|w| w.eq_ignore_ascii_case("go"));
    let count = words
        .next()
        .is_none_or(|w| w.bytes().all(|b| b.is_ascii_digit()));
    go && count && words.next().is_none()
}

/// Splits a script as sqlcmd does: on lines that hold only `GO`.
fn batches(script: &str) -> (Vec<String>, String) {
    let mut batches = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if is_separator(line) {
            assert!(
                line.trim().eq_ignore_ascii_case("go"),
                "a GO with a repeat count: {line}"
            );
            batches.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    (batches, current)
}

/// Returns the text without `--` and `/* */` comments (the fixtures put no
/// comment markers inside strings).
fn strip_comments(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    loop {
        let line = rest.find("--");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].split_once('\n').map_or("", |(_, tail)| tail);
                out.push('\n');
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b..].split_once("*/").map_or("", |(_, tail)| tail);
                out.push(' ');
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
            (Some(_), None) => unreachable!(),
        }
    }
}

/// Returns the upper-cased words of the text, comments left out.
fn words(sql: &str) -> Vec<String> {
    strip_comments(sql)
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '@'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// Returns the position of `CREATE [OR ALTER] VIEW|PROC|PROCEDURE|FUNCTION|TRIGGER` in `words`.
fn module_creation(words: &[String]) -> Option<usize> {
    const MODULES: [&str; 5] = ["VIEW", "PROC", "PROCEDURE", "FUNCTION", "TRIGGER"];
    (0..words.len()).find(|&i| {
        let kind = match words.get(i + 1).map(String::as_str) {
            Some("OR") if words.get(i + 2).map(String::as_str) == Some("ALTER") => words.get(i + 3),
            _ => words.get(i + 1),
        };
        words[i] == "CREATE" && kind.is_some_and(|k| MODULES.contains(&k.as_str()))
    })
}

const GUARD: &str = "IF @@ERROR <> 0";

#[test]
fn every_script_splits_into_batches_that_sqlcmd_accepts() {
    for case in CASES {
        let script = script(case);
        let (batches, tail) = batches(&script);
        let name = case.name;
        assert!(
            tail.trim().is_empty(),
            "{name}: text after the last GO: {tail}"
        );
        assert!(batches.len() >= 4, "{name}: too few batches");
        for (i, batch) in batches.iter().enumerate() {
            let words = words(batch);
            assert!(!words.is_empty(), "{name}: batch {i} is empty:\n{batch}");
            if let Some(at) = module_creation(&words) {
                assert_eq!(
                    at, 0,
                    "{name}: batch {i} creates a module after other statements:\n{batch}"
                );
            }
            let mut declared: Vec<&String> = words
                .windows(2)
                .filter(|w| w[0] == "DECLARE")
                .map(|w| &w[1])
                .collect();
            let count = declared.len();
            declared.sort();
            declared.dedup();
            assert_eq!(
                declared.len(),
                count,
                "{name}: batch {i} declares a variable twice:\n{batch}"
            );
        }
        // The preamble and rev's tables, then every batch behind a guard
        // batch that stops the script after a failure.
        assert_eq!(words(&batches[0]), ["SET", "XACT_ABORT", "ON"], "{name}");
        for (i, batch) in batches.iter().enumerate().skip(2) {
            let guard = strip_comments(batch).trim().starts_with(GUARD);
            assert_eq!(
                guard,
                i % 2 == 0,
                "{name}: batch {i} should {}be a guard:\n{batch}",
                if i % 2 == 0 { "" } else { "not " }
            );
        }
        let last = batches.last().unwrap();
        assert!(last.contains("SET NOEXEC OFF"), "{name}: no epilogue");
    }
}

/// Returns each step's header comment and the text up to the next one.
fn steps(script: &str) -> Vec<(String, String)> {
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in script.lines() {
        let header = ["-- Upgrade ", "-- Downgrade ", "-- Stamp "]
            .iter()
            .any(|p| line.starts_with(p));
        match steps.last_mut() {
            _ if header => steps.push((line.to_owned(), String::new())),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    steps
}

#[test]
fn every_migration_commits_its_version_change_in_one_transaction() {
    for case in CASES {
        let script = script(case);
        let name = case.name;
        let steps = steps(&script);
        assert!(!steps.is_empty(), "{name}: no steps");
        for (header, rest) in &steps {
            let body = strip_comments(rest);
            let begin = body.find("BEGIN TRANSACTION;");
            let commit = body.rfind("COMMIT TRANSACTION;");
            assert_eq!(
                body.matches("BEGIN TRANSACTION;").count(),
                1,
                "{name}: {header}"
            );
            assert_eq!(
                body.matches("COMMIT TRANSACTION;").count(),
                1,
                "{name}: {header}"
            );
            let (begin, commit) = (begin.unwrap(), commit.unwrap());
            for bookkeeping in ["rev_version]", "alembic_version]", "rev_history]"] {
                for (at, _) in body.match_indices(bookkeeping) {
                    assert!(
                        begin < at && at < commit,
                        "{name}: {header}: {bookkeeping} changed outside the transaction"
                    );
                }
            }
            let outside = body[..begin].trim();
            if header.contains("not transactional") {
                assert!(
                    outside.contains("ALTER DATABASE"),
                    "{name}: {header}: its statements should run before the transaction"
                );
            } else {
                assert!(
                    words(outside).iter().all(|w| {
                        [
                            "IF",
                            "@@ERROR",
                            "0",
                            "OR",
                            "@@TRANCOUNT",
                            "SET",
                            "NOEXEC",
                            "ON",
                            "GO",
                        ]
                        .contains(&w.as_str())
                    }),
                    "{name}: {header}: statements before BEGIN TRANSACTION:\n{outside}"
                );
            }
            // An UPDATE or DELETE of the version table is checked to touch one row.
            let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
            for (i, line) in lines.iter().enumerate() {
                let version_change = (line.starts_with("UPDATE ")
                    || line.starts_with("DELETE FROM "))
                    && line.contains("[version_num] = N'");
                if version_change {
                    let next = lines.get(i + 1).copied().unwrap_or_default();
                    assert!(
                        next.starts_with("IF @@ROWCOUNT <> 1 THROW 50000, N'rev: "),
                        "{name}: {header}: no row check after {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_batch_reader_sees_what_sqlcmd_sees() {
    let (batches, tail) = batches("a\nGO\n  go  \nb\n-- GO\nGOTO c\nGO\nd\n");
    assert_eq!(batches, ["a\n", "", "b\n-- GO\nGOTO c\n"]);
    assert_eq!(tail, "d\n");
    assert!(is_separator("GO 2") && is_separator(" go\t") && !is_separator("GO x"));
    assert_eq!(
        words("/* CREATE VIEW */ -- PROC\nCREATE  OR ALTER\nPROCEDURE p"),
        ["CREATE", "OR", "ALTER", "PROCEDURE", "P"]
    );
    assert_eq!(
        module_creation(&words("SELECT 1; CREATE VIEW v AS SELECT 1")),
        Some(2)
    );
    assert_eq!(
        module_creation(&words("CREATE OR ALTER TRIGGER t")),
        Some(0)
    );
    assert_eq!(module_creation(&words("CREATE TABLE t (a INT)")), None);
}
