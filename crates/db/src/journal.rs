//! The journal of a migration that cannot run in one transaction (MySQL and
//! MariaDB, which commit DDL at once; `transactional: false` everywhere).
//!
//! The journal is one table beside the history table, named
//! `<history table>_journal` (`rev_history_journal` by default), holding at
//! most one row: the step in progress, how many of its statements completed
//! (`done`), which statement was running when it could not commit together
//! with its journal row (`running`), and a hash of the completed statements'
//! text. A statement that reads or writes rows (INSERT, UPDATE, DELETE,
//! REPLACE, SELECT, WITH, MySQL's DO) commits in one transaction with the journal's
//! update, so it is either done and journalled or neither. Any other statement
//! (DDL, or raw SQL that may be DDL) commits on its own: `running` names it
//! first, so that after a kill the next run knows which one statement may or
//! may not have taken effect; the engine settles that from the live schema
//! (or the user with `--assume-applied` / `--assume-not-applied`). The row
//! goes in the transaction that changes the version table and writes the
//! history row, so a finished step leaves no journal row.
//!
//! The loop is written once, here; backends only execute (see [`Exec`]).

use sha2::{Digest, Sha256};

use rev_sql::{Dialect, DialectKind, Statement};

use crate::{DbError, Step, Tables};

/// A step that a run began and did not finish, as the journal has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The revision.
    pub revision: String,
    /// `upgrade` or `downgrade`.
    pub direction: String,
    /// How many statements, from the first, completed.
    pub done: usize,
    /// The 1-based statement that was committing on its own when the run
    /// stopped, when it was `done + 1`: it may or may not have taken effect.
    pub running: Option<usize>,
    /// The hash of the completed statements' text (see [`prefix_hash`]).
    pub prefix: String,
}

impl Entry {
    /// Returns the 1-based statement whose effect is unknown, if one is.
    pub fn uncertain(&self) -> Option<usize> {
        self.running.filter(|&r| r == self.done + 1)
    }

    /// Returns whether this entry is the journal of `step`.
    pub fn is_for(&self, step: &Step) -> bool {
        self.revision == step.revision && self.direction == step.direction.as_str()
    }
}

/// Returns the journal table's name: the history table's, with `_journal`.
pub fn table_name(tables: &Tables) -> String {
    format!("{}_journal", tables.history)
}

/// Names the first `count` statements of a migration, for messages:
/// "statement 1", "statements 1 to 3".
pub fn first_statements(count: usize) -> String {
    match count {
        1 => "statement 1".to_owned(),
        n => format!("statements 1 to {n}"),
    }
}

/// Returns whether a migration's statements run journalled on this dialect,
/// one by one, rather than in one transaction.
pub fn journalled(dialect: &dyn Dialect, step: &Step) -> bool {
    !step.statements.is_empty() && (!step.transactional || !dialect.transactional_ddl())
}

/// Returns whether a statement only reads or writes rows, so that it can
/// commit in one transaction with its journal row on every backend (MySQL
/// too: only DDL commits implicitly).
pub fn is_data(sql: &str) -> bool {
    let mut text = sql.trim_start();
    // Leading comments do not change what the statement does.
    loop {
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let word: String = text
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    // A statement that holds a second one after a `;` may hide DDL.
    let single = !text.trim_end().trim_end_matches(';').contains(';');
    single
        && matches!(
            word.as_str(),
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "SELECT" | "WITH" | "DO"
        )
}

/// Returns the hash of the text of `statements`, which the journal keeps for
/// the completed ones, so that an edit of a later statement of the file still
/// resumes while an edit of a completed one is refused.
pub fn prefix_hash(statements: &[Statement]) -> String {
    let mut hasher = Sha256::new();
    for statement in statements {
        hasher.update((statement.sql.len() as u64).to_le_bytes());
        hasher.update(statement.sql.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Returns the statement that creates the journal table when it is missing.
pub fn create_sql(dialect: &dyn Dialect, tables: &Tables) -> String {
    let table = dialect.qualified(tables.schema.as_deref(), &table_name(tables));
    let q = |name: &str| dialect.quote_ident(name);
    let columns = format!(
        "{} VARCHAR(32) NOT NULL, {} VARCHAR(16) NOT NULL, {} INTEGER NOT NULL, {} INTEGER NULL, \
         {} VARCHAR(64) NOT NULL, PRIMARY KEY ({}, {})",
        q("revision"),
        q("direction"),
        q("done"),
        q("running"),
        q("prefix"),
        q("revision"),
        q("direction"),
    );
    match dialect.kind() {
        // As the dialect's version table: the quoted name, so that a dot in
        // a name cannot split it.
        DialectKind::Mssql => format!(
            "IF OBJECT_ID({}, N'U') IS NULL CREATE TABLE {table} ({columns})",
            dialect.string_literal(&table)
        ),
        _ => format!("CREATE TABLE IF NOT EXISTS {table} ({columns})"),
    }
}

/// Returns the query that reads the journal: revision, direction, done,
/// running, prefix.
pub fn select_sql(dialect: &dyn Dialect, tables: &Tables) -> String {
    let q = |name: &str| dialect.quote_ident(name);
    format!(
        "SELECT {}, {}, {}, {}, {} FROM {}",
        q("revision"),
        q("direction"),
        q("done"),
        q("running"),
        q("prefix"),
        dialect.qualified(tables.schema.as_deref(), &table_name(tables))
    )
}

/// One journal statement with its values to bind, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The statement, with the dialect's placeholders.
    pub sql: String,
    /// The values, all text.
    pub params: Vec<String>,
}

/// Returns the statement that opens the journal of `step`.
pub fn begin(dialect: &dyn Dialect, tables: &Tables, step: &Step, running: Option<usize>) -> Bound {
    let q = |name: &str| dialect.quote_ident(name);
    let p = |i| dialect.placeholder(i);
    Bound {
        sql: format!(
            "INSERT INTO {} ({}, {}, {}, {}, {}) VALUES ({}, {}, 0, {}, {})",
            dialect.qualified(tables.schema.as_deref(), &table_name(tables)),
            q("revision"),
            q("direction"),
            q("done"),
            q("running"),
            q("prefix"),
            p(1),
            p(2),
            number(running),
            p(3),
        ),
        params: vec![
            step.revision.clone(),
            step.direction.as_str().to_owned(),
            prefix_hash(&[]),
        ],
    }
}

/// Returns the statement that records `done` statements completed and
/// `running` about to commit on its own.
pub fn progress(
    dialect: &dyn Dialect,
    tables: &Tables,
    revision: &str,
    direction: &str,
    done: usize,
    running: Option<usize>,
    prefix: &str,
) -> Bound {
    let q = |name: &str| dialect.quote_ident(name);
    let p = |i| dialect.placeholder(i);
    Bound {
        sql: format!(
            "UPDATE {} SET {} = {done}, {} = {}, {} = {} WHERE {} = {} AND {} = {}",
            dialect.qualified(tables.schema.as_deref(), &table_name(tables)),
            q("done"),
            q("running"),
            number(running),
            q("prefix"),
            p(1),
            q("revision"),
            p(2),
            q("direction"),
            p(3),
        ),
        params: vec![prefix.to_owned(), revision.to_owned(), direction.to_owned()],
    }
}

/// Returns the statement that closes the journal of `step`, for the
/// transaction that records the step as applied.
pub fn finish(dialect: &dyn Dialect, tables: &Tables, step: &Step) -> Bound {
    let q = |name: &str| dialect.quote_ident(name);
    Bound {
        sql: format!(
            "DELETE FROM {} WHERE {} = {} AND {} = {}",
            dialect.qualified(tables.schema.as_deref(), &table_name(tables)),
            q("revision"),
            dialect.placeholder(1),
            q("direction"),
            dialect.placeholder(2),
        ),
        params: vec![step.revision.clone(), step.direction.as_str().to_owned()],
    }
}

fn number(value: Option<usize>) -> String {
    value.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
}

/// What a backend does for the journalled loop: run statements, alone or in
/// one transaction, and read the journal.
pub trait Exec {
    /// Runs one statement on its own: it commits (or fails) by itself.
    fn alone(&mut self, sql: &str) -> Result<(), String>;

    /// Runs `statement` (if any) and `journal` in one transaction and commits.
    fn with_journal(&mut self, statement: Option<&str>, journal: &Bound) -> Result<(), String>;

    /// Runs a journal statement on its own. One statement commits alone
    /// atomically, so a backend may send it without BEGIN and COMMIT: a
    /// round trip where a transaction costs three.
    fn journal(&mut self, journal: &Bound) -> Result<(), String> {
        self.with_journal(None, journal)
    }

    /// Returns the journal's rows: (revision, direction, done, running, prefix).
    fn read(&mut self, sql: &str) -> Result<Vec<Entry>, String>;
}

/// Returns the journal's rows through `exec`.
pub fn read(
    exec: &mut dyn Exec,
    dialect: &dyn Dialect,
    tables: &Tables,
) -> Result<Vec<Entry>, DbError> {
    exec.read(&select_sql(dialect, tables))
        .map_err(DbError::Other)
}

/// Runs the statements of `step` that the journal does not list as done,
/// each journalled; returns with the journal row in place, for the caller to
/// delete in the transaction that records the step.
pub fn run(
    exec: &mut dyn Exec,
    dialect: &dyn Dialect,
    tables: &Tables,
    step: &Step,
) -> Result<(), DbError> {
    let statements = &step.statements;
    if statements.is_empty() {
        return Ok(());
    }
    let entries = exec.read(&select_sql(dialect, tables)).map_err(|e| {
        DbError::Other(format!(
            "cannot read the journal {} (Backend::ensure_journal makes it): {e}",
            table_name(tables)
        ))
    })?;
    let done = match entries.iter().find(|e| e.is_for(step)) {
        None => {
            if let Some(other) = entries.first() {
                return Err(DbError::Interrupted {
                    revision: other.revision.clone(),
                    direction: other.direction.clone(),
                    message: format!(
                        "its journal row stands in {}; finish it before {} {}",
                        table_name(tables),
                        step.direction,
                        step.revision
                    ),
                });
            }
            let first = statements.first().map(|s| s.sql.as_str()).unwrap_or("");
            let running = (!is_data(first)).then_some(1);
            exec.journal(&begin(dialect, tables, step, running))
                .map_err(DbError::Other)?;
            0
        }
        Some(entry) => {
            if entry.uncertain().is_some() {
                return Err(DbError::Interrupted {
                    revision: entry.revision.clone(),
                    direction: entry.direction.clone(),
                    message: "the effect of its interrupted statement is not settled".to_owned(),
                });
            }
            let ran = statements
                .get(..entry.done)
                .ok_or_else(|| DbError::Interrupted {
                    revision: entry.revision.clone(),
                    direction: entry.direction.clone(),
                    message: format!(
                        "the journal says {} statement(s) ran, and the migration has {}",
                        entry.done,
                        statements.len()
                    ),
                })?;
            if prefix_hash(ran) != entry.prefix {
                return Err(DbError::Interrupted {
                    revision: entry.revision.clone(),
                    direction: entry.direction.clone(),
                    message: format!(
                        "{} ran, and the file has changed since",
                        first_statements(entry.done)
                    ),
                });
            }
            entry.done
        }
    };
    let revision = step.revision.as_str();
    let direction = step.direction.as_str();
    for (index, statement) in statements.iter().enumerate().skip(done) {
        let next_running = statements
            .get(index + 1)
            .filter(|next| !is_data(&next.sql))
            .map(|_| index + 2);
        let prefix = prefix_hash(statements.get(..=index).unwrap_or(statements));
        let after = progress(
            dialect,
            tables,
            revision,
            direction,
            index + 1,
            next_running,
            &prefix,
        );
        let result = if is_data(&statement.sql) {
            exec.with_journal(Some(&statement.sql), &after)
        } else {
            // Named as running by the update before it (or the journal's
            // opening row): it commits on its own.
            match exec.alone(&statement.sql) {
                Ok(()) => exec.journal(&after),
                Err(e) => {
                    // It failed, so it did not take effect: say so, so that a
                    // rerun starts with it again without asking.
                    let before = prefix_hash(statements.get(..index).unwrap_or(&[]));
                    let _ = exec.journal(&progress(
                        dialect, tables, revision, direction, index, None, &before,
                    ));
                    Err(e)
                }
            }
        };
        if let Err(message) = result {
            return Err(statement_failed(tables, step, index, message));
        }
    }
    Ok(())
}

/// Returns the error of a journalled step whose statement `index` (0-based)
/// failed with `message`: the statements before it stay applied, and the
/// next run resumes at it.
pub fn statement_failed(tables: &Tables, step: &Step, index: usize, message: String) -> DbError {
    let mut message = message;
    if index > 0 {
        message.push_str(&format!(
            "\n  {} completed and {} applied (recorded in {}): once the cause is \
             fixed, rev resumes at statement {}",
            first_statements(index),
            if index == 1 { "stays" } else { "stay" },
            table_name(tables),
            index + 1
        ));
    }
    DbError::Statement {
        revision: step.revision.clone(),
        direction: step.direction.as_str(),
        index: index + 1,
        sql: step
            .statements
            .get(index)
            .map(|s| s.sql.clone())
            .unwrap_or_default(),
        message,
        partially_applied: index > 0,
    }
}

/// Returns the statement that settles an uncertain statement: `applied`
/// counts it as done, else as not run.
pub fn settle(
    dialect: &dyn Dialect,
    tables: &Tables,
    entry: &Entry,
    step: &Step,
    applied: bool,
) -> Bound {
    let done = if applied { entry.done + 1 } else { entry.done };
    let prefix = prefix_hash(step.statements.get(..done).unwrap_or(&step.statements));
    progress(
        dialect,
        tables,
        &entry.revision,
        &entry.direction,
        done,
        None,
        &prefix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rev_sql::mssql::Mssql;
    use rev_sql::Direction;

    /// Writes down what the loop asks of a backend, and fails the
    /// statement whose text is `fail`; the journal reads as `entries`.
    struct Recorder {
        log: Vec<String>,
        entries: Vec<Entry>,
        fail: Option<&'static str>,
    }

    impl Recorder {
        fn new(entries: Vec<Entry>, fail: Option<&'static str>) -> Recorder {
            Recorder {
                log: Vec::new(),
                entries,
                fail,
            }
        }

        fn run(&mut self, sql: &str) -> Result<(), String> {
            if self.fail == Some(sql) {
                self.log.push(format!("fails:   {sql}"));
                return Err("Invalid object name 'nowhere'.".to_owned());
            }
            Ok(())
        }

        fn bound(journal: &Bound) -> String {
            format!("{}  -- {}", journal.sql, journal.params.join(", "))
        }
    }

    impl Exec for Recorder {
        fn alone(&mut self, sql: &str) -> Result<(), String> {
            self.log.push(format!("alone:   {sql}"));
            self.run(sql)
        }

        fn with_journal(&mut self, statement: Option<&str>, journal: &Bound) -> Result<(), String> {
            match statement {
                Some(sql) => {
                    self.log.push(format!("tx:      {sql}"));
                    self.run(sql)?;
                    self.log
                        .push(format!("  +      {}", Recorder::bound(journal)));
                }
                None => self
                    .log
                    .push(format!("journal: {}", Recorder::bound(journal))),
            }
            Ok(())
        }

        fn read(&mut self, sql: &str) -> Result<Vec<Entry>, String> {
            self.log.push(format!("read:    {sql}"));
            Ok(self.entries.clone())
        }
    }

    fn step(statements: &[&str]) -> Step {
        Step {
            revision: "r1".to_owned(),
            direction: Direction::Upgrade,
            statements: statements.iter().map(|s| Statement::new(*s)).collect(),
            delete_versions: Vec::new(),
            insert_versions: vec!["r1".to_owned()],
            checksum: "sum".to_owned(),
            transactional: false,
        }
    }

    const THREE: [&str; 3] = [
        "CREATE TABLE [t] ([id] INT NOT NULL)",
        "INSERT INTO [t] ([id]) VALUES (1)",
        "CREATE INDEX [ix_t_id] ON [t] ([id])",
    ];

    /// The hashes are shortened in snapshots: what matters is which
    /// statements they cover, which the `done` next to them says.
    fn short(log: &[String]) -> String {
        let mut text = log.join("\n");
        for n in 0..=THREE.len() {
            let statements: Vec<Statement> =
                THREE.iter().take(n).map(|s| Statement::new(*s)).collect();
            text = text.replace(&prefix_hash(&statements), &format!("<hash of {n}>"));
        }
        text
    }

    #[test]
    fn sql_server_journal_table() {
        let tables = Tables::default();
        insta::assert_snapshot!(create_sql(&Mssql, &tables), @"IF OBJECT_ID(N'[rev_history_journal]', N'U') IS NULL CREATE TABLE [rev_history_journal] ([revision] VARCHAR(32) NOT NULL, [direction] VARCHAR(16) NOT NULL, [done] INTEGER NOT NULL, [running] INTEGER NULL, [prefix] VARCHAR(64) NOT NULL, PRIMARY KEY ([revision], [direction]))");
        let tables = Tables {
            schema: Some("app".to_owned()),
            ..Tables::default()
        };
        insta::assert_snapshot!(create_sql(&Mssql, &tables), @"IF OBJECT_ID(N'[app].[rev_history_journal]', N'U') IS NULL CREATE TABLE [app].[rev_history_journal] ([revision] VARCHAR(32) NOT NULL, [direction] VARCHAR(16) NOT NULL, [done] INTEGER NOT NULL, [running] INTEGER NULL, [prefix] VARCHAR(64) NOT NULL, PRIMARY KEY ([revision], [direction]))");
        insta::assert_snapshot!(select_sql(&Mssql, &tables), @"SELECT [revision], [direction], [done], [running], [prefix] FROM [app].[rev_history_journal]");
    }

    #[test]
    fn sql_server_journal_writes_of_a_run() {
        let tables = Tables::default();
        let step = step(&THREE);
        let mut exec = Recorder::new(Vec::new(), None);
        run(&mut exec, &Mssql, &tables, &step).unwrap();
        let closing = finish(&Mssql, &tables, &step);
        exec.log
            .push(format!("closing: {}", Recorder::bound(&closing)));
        insta::assert_snapshot!(short(&exec.log), @r"
        read:    SELECT [revision], [direction], [done], [running], [prefix] FROM [rev_history_journal]
        journal: INSERT INTO [rev_history_journal] ([revision], [direction], [done], [running], [prefix]) VALUES (@P1, @P2, 0, 1, @P3)  -- r1, upgrade, <hash of 0>
        alone:   CREATE TABLE [t] ([id] INT NOT NULL)
        journal: UPDATE [rev_history_journal] SET [done] = 1, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 1>, r1, upgrade
        tx:      INSERT INTO [t] ([id]) VALUES (1)
          +      UPDATE [rev_history_journal] SET [done] = 2, [running] = 3, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 2>, r1, upgrade
        alone:   CREATE INDEX [ix_t_id] ON [t] ([id])
        journal: UPDATE [rev_history_journal] SET [done] = 3, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 3>, r1, upgrade
        closing: DELETE FROM [rev_history_journal] WHERE [revision] = @P1 AND [direction] = @P2  -- r1, upgrade
        ");
    }

    #[test]
    fn sql_server_journal_after_a_failed_statement() {
        let tables = Tables::default();
        let mut exec = Recorder::new(Vec::new(), Some(THREE[2]));
        let err = run(&mut exec, &Mssql, &tables, &step(&THREE)).unwrap_err();
        assert!(
            matches!(
                err,
                DbError::Statement {
                    index: 3,
                    partially_applied: true,
                    ..
                }
            ),
            "{err:?}"
        );
        insta::assert_snapshot!(short(&exec.log), @r"
        read:    SELECT [revision], [direction], [done], [running], [prefix] FROM [rev_history_journal]
        journal: INSERT INTO [rev_history_journal] ([revision], [direction], [done], [running], [prefix]) VALUES (@P1, @P2, 0, 1, @P3)  -- r1, upgrade, <hash of 0>
        alone:   CREATE TABLE [t] ([id] INT NOT NULL)
        journal: UPDATE [rev_history_journal] SET [done] = 1, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 1>, r1, upgrade
        tx:      INSERT INTO [t] ([id]) VALUES (1)
          +      UPDATE [rev_history_journal] SET [done] = 2, [running] = 3, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 2>, r1, upgrade
        alone:   CREATE INDEX [ix_t_id] ON [t] ([id])
        fails:   CREATE INDEX [ix_t_id] ON [t] ([id])
        journal: UPDATE [rev_history_journal] SET [done] = 2, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 2>, r1, upgrade
        ");
    }

    #[test]
    fn sql_server_journal_resumed_and_settled() {
        let tables = Tables::default();
        let step = step(&THREE);
        // Killed while statement 3 committed on its own: in doubt.
        let entry = Entry {
            revision: "r1".to_owned(),
            direction: "upgrade".to_owned(),
            done: 2,
            running: Some(3),
            prefix: prefix_hash(&step.statements[..2]),
        };
        let mut exec = Recorder::new(vec![entry.clone()], None);
        let err = run(&mut exec, &Mssql, &tables, &step).unwrap_err();
        assert!(matches!(err, DbError::Interrupted { .. }), "{err:?}");
        let mut log = vec![
            format!(
                "applied:     {}",
                Recorder::bound(&settle(&Mssql, &tables, &entry, &step, true))
            ),
            format!(
                "not applied: {}",
                Recorder::bound(&settle(&Mssql, &tables, &entry, &step, false))
            ),
        ];
        // Settled as not applied, the rerun starts at statement 3.
        let settled = Entry {
            running: None,
            ..entry
        };
        let mut exec = Recorder::new(vec![settled], None);
        run(&mut exec, &Mssql, &tables, &step).unwrap();
        log.extend(exec.log);
        insta::assert_snapshot!(short(&log), @r"
        applied:     UPDATE [rev_history_journal] SET [done] = 3, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 3>, r1, upgrade
        not applied: UPDATE [rev_history_journal] SET [done] = 2, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 2>, r1, upgrade
        read:    SELECT [revision], [direction], [done], [running], [prefix] FROM [rev_history_journal]
        alone:   CREATE INDEX [ix_t_id] ON [t] ([id])
        journal: UPDATE [rev_history_journal] SET [done] = 3, [running] = NULL, [prefix] = @P1 WHERE [revision] = @P2 AND [direction] = @P3  -- <hash of 3>, r1, upgrade
        ");
    }

    #[test]
    fn data_statements_are_told_from_ddl() {
        assert!(is_data("INSERT INTO t VALUES (1)"));
        assert!(is_data("  -- fill\nupdate t SET x = 1"));
        assert!(is_data("/* c */ WITH a AS (SELECT 1) DELETE FROM t"));
        assert!(!is_data("CREATE TABLE t (x INT)"));
        assert!(!is_data("INSERT INTO t VALUES (1); DROP TABLE u"));
        assert!(!is_data("ALTER TABLE t ADD x INT"));
        assert!(!is_data("SELECTED"));
    }

    #[test]
    fn the_prefix_hash_depends_on_text_and_boundaries() {
        let s = |t: &str| Statement::new(t);
        assert_eq!(
            prefix_hash(&[s("a"), s("b")]),
            prefix_hash(&[s("a"), s("b")])
        );
        assert_ne!(prefix_hash(&[s("ab")]), prefix_hash(&[s("a"), s("b")]));
        assert_ne!(prefix_hash(&[]), prefix_hash(&[s("")]));
    }
}
