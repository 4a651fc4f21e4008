//! Steps sent to MySQL as one multi-statement query: a window of steps in
//! one round trip, where one at a time costs a dozen.
//!
//! The server runs the statements of a multi-statement query in order and
//! stops at the first that fails, so a failed step's successors never run.
//! Each step keeps the guarantees of the statement-by-statement path
//! ([`crate::journal::run`]): the server runs the same journal writes
//! around the same statements, and every check it made between them is
//! made by the server itself, with no round trip:
//! - before the first statement, the journal must be empty and the version
//!   rows as planned, or the journal's opening row refuses to go in (a
//!   single-row INSERT of NULL into a NOT NULL column fails in every
//!   `sql_mode`), and nothing of the step runs;
//! - each version-table change must touch exactly one row, or the history
//!   row refuses to go in, before COMMIT, in the same way.
//!
//! The MySQL protocol binds no parameters in a multi-statement query, so
//! the values (revisions, hashes) go in as hexadecimal literals
//! (`_utf8mb4 X'..'`): digits and `a`-`f` only, which no quoting rule or
//! `sql_mode` can turn into SQL. A statement goes in a batch only when a
//! lexer finds it plainly one statement that answers with no rows (see
//! [`plain`]); any other step takes the statement-by-statement path.

use std::fmt::Write as _;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use rev_sql::mysql::Mysql;
use rev_sql::{Dialect, VersionChange};

use crate::journal::{self, Bound};
use crate::{Step, Tables};

/// A batch larger than this is split, far below the server's
/// `max_allowed_packet` (16 MiB by default on MariaDB, 64 MiB on MySQL).
pub(super) const MAX_BATCH_BYTES: usize = 1 << 20;

/// What a statement of a batch stands for, so that its failure can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Bookkeeping: a variable, BEGIN, the journal's removal.
    Setup,
    /// The journal's opening row, which goes in only when the journal is
    /// empty and the version rows are as the plan says.
    Open,
    /// The step's statement (0-based).
    Statement(usize),
    /// The journal's record that statement (0-based) completed.
    Progress(usize),
    /// A version-table change (0-based, in [`Step::version_changes`] order).
    Change(usize),
    /// The history row, which goes in only when every change touched one row.
    History,
    /// The step's COMMIT.
    Commit,
}

/// Statements for one multi-statement query, with what each stands for.
#[derive(Debug, Default)]
pub(super) struct Batch {
    sql: String,
    /// Per statement: the 0-based step of the batch, and its part.
    parts: Vec<(usize, Part)>,
}

impl Batch {
    /// Returns the batch's text.
    pub(super) fn sql(&self) -> &str {
        &self.sql
    }

    /// Returns the step and part of statement `position` of the batch.
    pub(super) fn part(&self, position: usize) -> Option<(usize, Part)> {
        self.parts.get(position).copied()
    }

    /// Returns how many statements the batch holds.
    pub(super) fn len(&self) -> usize {
        self.parts.len()
    }

    fn push(&mut self, step: usize, part: Part, sql: &str) {
        self.sql.push_str(sql.trim_end().trim_end_matches(';'));
        // A line comment at the end of a statement ends with the line,
        // before the separator.
        self.sql.push_str("\n;\n");
        self.parts.push((step, part));
    }

    /// Adds `step` as the batch's step `offset`; returns false, adding
    /// nothing, when it must take the statement-by-statement path.
    pub(super) fn add(&mut self, offset: usize, step: &Step, tables: &Tables) -> bool {
        // A migration this large (bulk data) may not fit the server's
        // packet limit as one query, where each statement alone does.
        let size: usize = step.statements.iter().map(|s| s.sql.len()).sum();
        if size > MAX_BATCH_BYTES || !step.statements.iter().all(|s| plain(&s.sql)) {
            return false;
        }
        let Some(script) = script(step, tables) else {
            return false;
        };
        for (part, sql) in script {
            self.push(offset, part, &sql);
        }
        true
    }
}

/// Returns the statements of `step`, each with its part, or None when a
/// statement of rev's own could not be written with literals.
fn script(step: &Step, tables: &Tables) -> Option<Vec<(Part, String)>> {
    let dialect = &Mysql;
    let schema = tables.schema.as_deref();
    let version_table = dialect.qualified(schema, &tables.version);
    let history_table = dialect.qualified(schema, &tables.history);
    let journal_table = dialect.qualified(schema, &journal::table_name(tables));
    let revision = text(&step.revision);
    let direction = text(step.direction.as_str());
    let changes = step.version_changes();
    let mut out = vec![(Part::Setup, "SET @rev_started = NOW(6)".to_owned())];
    let statements = &step.statements;
    if !statements.is_empty() {
        // As `check_versions` and `journal::run` check before a statement runs.
        let mut ok = format!("(SELECT COUNT(*) FROM {journal_table}) = 0");
        for (version, expected) in super::expected_versions(step) {
            let _ = write!(
                ok,
                " AND (SELECT COUNT(*) FROM {version_table} WHERE `version_num` = {}) = {expected}",
                text(version)
            );
        }
        out.push((Part::Setup, format!("SET @rev_ok = {ok}")));
        let first = statements.first().map(|s| s.sql.as_str()).unwrap_or("");
        let running = (!journal::is_data(first)).then_some(1);
        let open = journal::begin(dialect, tables, step, running);
        out.push((
            Part::Open,
            inline(&open, |index, value| {
                if index == 0 {
                    format!("IF(@rev_ok, {}, NULL)", text(value))
                } else {
                    text(value)
                }
            })?,
        ));
        for (index, statement) in statements.iter().enumerate() {
            let next_running = statements
                .get(index + 1)
                .filter(|next| !journal::is_data(&next.sql))
                .map(|_| index + 2);
            let prefix = journal::prefix_hash(statements.get(..=index).unwrap_or(statements));
            let after = journal::progress(
                dialect,
                tables,
                &step.revision,
                step.direction.as_str(),
                index + 1,
                next_running,
                &prefix,
            );
            let after = inline(&after, |_, value| text(value))?;
            // A statement that only reads or writes rows commits with its
            // journal row; any other commits on its own, named as running
            // by the journal write before it.
            let data = journal::is_data(&statement.sql);
            if data {
                out.push((Part::Setup, "START TRANSACTION".to_owned()));
            }
            out.push((Part::Statement(index), statement.sql.clone()));
            out.push((Part::Progress(index), after));
            if data {
                out.push((Part::Progress(index), "COMMIT".to_owned()));
            }
        }
    }
    out.push((Part::Setup, "START TRANSACTION".to_owned()));
    let mut counted = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        out.push((Part::Change(index), change_sql(change, tables)?));
        out.push((Part::Setup, format!("SET @rev_c{index} = ROW_COUNT()")));
        counted.push(format!("@rev_c{index} = 1"));
    }
    let all_one = if counted.is_empty() {
        "TRUE".to_owned()
    } else {
        counted.join(" AND ")
    };
    out.push((
        Part::History,
        format!(
            "INSERT INTO {history_table} (`revision`, `direction`, `checksum`, `started_at`, \
             `duration_ms`, `applied_by`) VALUES (IF({all_one}, {revision}, NULL), {direction}, \
             {}, @rev_started, TIMESTAMPDIFF(MICROSECOND, @rev_started, NOW(6)) DIV 1000, \
             LEFT(CURRENT_USER(), 128))",
            text(&step.checksum)
        ),
    ));
    if !statements.is_empty() {
        let closing = journal::finish(dialect, tables, step);
        out.push((Part::Setup, inline(&closing, |_, value| text(value))?));
    }
    out.push((Part::Commit, "COMMIT".to_owned()));
    Some(out)
}

/// Returns the query of the row counts `@rev_c0..` that the history row of a
/// step with `changes` version changes checked, for the message of a failed check.
pub(super) fn counts_sql(changes: usize) -> Option<String> {
    (changes > 0).then(|| {
        let columns: Vec<String> = (0..changes).map(|i| format!("@rev_c{i}")).collect();
        format!("SELECT {}", columns.join(", "))
    })
}

/// Returns a version change with its values as literals.
fn change_sql(change: &VersionChange, tables: &Tables) -> Option<String> {
    let bound = Bound {
        sql: change.sql(&Mysql, tables),
        params: change.params().into_iter().map(str::to_owned).collect(),
    };
    inline(&bound, |_, value| text(value))
}

/// Returns a string as a MySQL literal that holds only hexadecimal digits:
/// safe whatever the server's quoting rules, and, like a bound parameter,
/// coercible to the column's collation.
pub(super) fn text(value: &str) -> String {
    let mut literal = String::with_capacity(value.len() * 2 + 12);
    literal.push_str("_utf8mb4 X'");
    for byte in value.bytes() {
        let _ = write!(literal, "{byte:02x}");
    }
    literal.push('\'');
    literal
}

/// Returns `bound` with each `?` placeholder replaced by `literal(index,
/// value)`, or None when the statement's placeholders and values disagree.
fn inline(bound: &Bound, literal: impl Fn(usize, &str) -> String) -> Option<String> {
    let places = lex(&bound.sql)?;
    if places.len() != bound.params.len() {
        return None;
    }
    let mut out = String::with_capacity(bound.sql.len() + 64 * places.len());
    let mut from = 0;
    for (index, (place, value)) in places.iter().zip(&bound.params).enumerate() {
        out.push_str(bound.sql.get(from..*place)?);
        out.push_str(&literal(index, value));
        from = place + 1;
    }
    out.push_str(bound.sql.get(from..)?);
    Some(out)
}

/// Returns whether `sql` is plainly one statement that answers with no
/// rows, so that the batch's answers line up with its statements: no `;`
/// outside quotes (a trailing one aside), no block comment (MySQL runs
/// `/*! .. */`), every quote closed, and not a statement that can answer with
/// rows or several results (SELECT, CALL, SHOW ..), nor one that may end
/// early when the client is gone ([`waits`]).
pub(super) fn plain(sql: &str) -> bool {
    let body = sql.trim_end().trim_end_matches(';');
    if lex(body).is_none() || waits(body) {
        return false;
    }
    let first = body
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    !matches!(
        first.as_str(),
        "" | "SELECT"
            | "WITH"
            | "CALL"
            | "SHOW"
            | "DESCRIBE"
            | "DESC"
            | "EXPLAIN"
            | "VALUES"
            | "TABLE"
            | "HANDLER"
            | "ANALYZE"
            | "CHECK"
            | "CHECKSUM"
            | "OPTIMIZE"
            | "REPAIR"
            | "DELIMITER"
            | "BEGIN"
            | "START"
            | "COMMIT"
            | "ROLLBACK"
            | "LOAD"
    )
}

/// Returns whether a statement may wait on the server in a way that ends
/// early, without an error, when the client is gone (SLEEP, GET_LOCK): in
/// a batch, the statements after it would then run as though it had done
/// its work, where alone the next statement is never sent.
fn waits(sql: &str) -> bool {
    let squeezed: String = sql
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    squeezed.contains("SLEEP(") || squeezed.contains("GET_LOCK(")
}

/// Returns the byte offsets of the `?` outside quotes and comments of one
/// statement, or None when it holds a `;` or a block comment outside
/// quotes, or ends inside a quote.
fn lex(sql: &str) -> Option<Vec<usize>> {
    let bytes = sql.as_bytes();
    let mut places = Vec::new();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\'' | b'"' | b'`' => {
                // Backslash escapes in strings (not with NO_BACKSLASH_ESCAPES,
                // where a backslash is plain: then this may end a string
                // late, never early, which at worst refuses a batch); a
                // doubled quote is one quote character in every mode.
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return None,
                        Some(b'\\') if byte != b'`' => i += 2,
                        Some(&c) if c == byte => {
                            if bytes.get(i + 1) == Some(&byte) {
                                i += 2;
                            } else {
                                break;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-')
                && bytes
                    .get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => return None,
            b';' => return None,
            b'?' => places.push(i),
            _ => {}
        }
        i += 1;
    }
    Some(places)
}

/// Sends `batch` as one query and reads its answers in order, calling
/// `committed(step)` as each step's COMMIT is answered. Returns the
/// position of the statement that failed, and its error.
pub(super) async fn send(
    conn: &mut Conn,
    batch: &Batch,
    committed: &mut dyn FnMut(usize),
) -> Result<(), (usize, mysql_async::Error)> {
    let mut result = conn.query_iter(batch.sql()).await.map_err(|e| (0, e))?;
    // The driver keeps a statement's error until the set before it is read
    // past: reading answer `position` fails when that statement failed.
    for position in 0..batch.len() {
        result.collect::<Row>().await.map_err(|e| (position, e))?;
        if let Some((step, Part::Commit)) = batch.part(position) {
            committed(step);
        }
    }
    if !result.is_empty() {
        let more =
            mysql_async::Error::Other("MySQL answered more statements than the batch holds".into());
        let _ = result.drop_result().await;
        return Err((batch.len().saturating_sub(1), more));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_hold_only_hex_digits() {
        assert_eq!(text("ab'c"), "_utf8mb4 X'61622763'");
        assert_eq!(text(""), "_utf8mb4 X''");
        assert_eq!(text("é\\"), "_utf8mb4 X'c3a95c'");
    }

    #[test]
    fn placeholders_outside_quotes_are_found() {
        assert_eq!(
            lex("UPDATE `a?b` SET x = ? WHERE y = '?' AND z = ?"),
            Some(vec![21, 45])
        );
        assert_eq!(lex("SELECT 1 -- a ; b ?\n, ?"), Some(vec![22]));
        assert_eq!(lex("SELECT 'it\\'s ?', ?"), Some(vec![18]));
        assert_eq!(lex("SELECT 'a''b?' , ?"), Some(vec![17]));
    }

    #[test]
    fn only_plain_single_statements_batch() {
        assert!(plain("CREATE TABLE `t` (`a` INT)"));
        assert!(plain("CREATE TABLE t (a INT);\n"));
        assert!(plain("INSERT INTO t VALUES ('a;b') # note; more"));
        assert!(plain("ALTER TABLE t ADD COLUMN b INT -- why\n"));
        assert!(!plain("CREATE TABLE a (x INT); CREATE TABLE b (y INT)"));
        assert!(!plain("INSERT INTO t VALUES ('open"));
        assert!(!plain("CREATE TABLE t (a INT) /*! ENGINE=InnoDB */"));
        assert!(!plain("SELECT 1"));
        assert!(!plain("  call p()"));
        assert!(!plain("with x as (select 1) select * from x"));
        assert!(!plain("DELIMITER //"));
        assert!(!plain("DO SLEEP (3)"));
        assert!(!plain("CREATE TABLE slow AS SELECT sleep(3) AS s"));
        assert!(!plain(""));
        // `--` without a space is an operator, so the `;` after it counts.
        assert!(!plain("UPDATE t SET a = a--1; DROP TABLE t"));
    }

    #[test]
    fn inlined_statements_replace_each_placeholder_once() {
        let bound = Bound {
            sql: "UPDATE `j?` SET `p` = ? WHERE `r` = ? AND `d` = ?".to_owned(),
            params: vec!["x".to_owned(), "'".to_owned(), "up".to_owned()],
        };
        assert_eq!(
            inline(&bound, |_, v| text(v)).as_deref(),
            Some(
                "UPDATE `j?` SET `p` = _utf8mb4 X'78' WHERE `r` = _utf8mb4 X'27' \
                 AND `d` = _utf8mb4 X'7570'"
            )
        );
        let short = Bound {
            sql: "SELECT ?, ?".to_owned(),
            params: vec!["x".to_owned()],
        };
        assert_eq!(inline(&short, |_, v| text(v)), None);
    }

    #[test]
    fn a_migration_beyond_the_batch_bound_goes_statement_by_statement() {
        let row = format!("INSERT INTO t VALUES ('{}')", "x".repeat(1000));
        let step = Step {
            revision: "b".to_owned(),
            direction: rev_sql::Direction::Upgrade,
            statements: vec![rev_sql::Statement::new(row); MAX_BATCH_BYTES / 1000 + 1],
            delete_versions: vec![],
            insert_versions: vec!["b".to_owned()],
            transactional: true,
            checksum: "c".to_owned(),
        };
        let mut batch = Batch::default();
        assert!(!batch.add(0, &step, &Tables::default()));
        assert_eq!(batch.len(), 0);
    }

    #[test]
    fn a_script_names_the_part_of_every_statement() {
        let step = Step {
            revision: "b".to_owned(),
            direction: rev_sql::Direction::Upgrade,
            statements: vec![
                rev_sql::Statement::new("CREATE TABLE t (a INT)"),
                rev_sql::Statement::new("INSERT INTO t VALUES (1)"),
            ],
            delete_versions: vec!["a".to_owned()],
            insert_versions: vec!["b".to_owned()],
            transactional: true,
            checksum: "c".to_owned(),
        };
        let mut batch = Batch::default();
        assert!(batch.add(0, &step, &Tables::default()));
        let parts: Vec<Part> = (0..batch.len())
            .filter_map(|p| batch.part(p).map(|(_, part)| part))
            .collect();
        assert_eq!(
            parts,
            [
                Part::Setup,
                Part::Setup,
                Part::Open,
                Part::Statement(0),
                Part::Progress(0),
                Part::Setup,
                Part::Statement(1),
                Part::Progress(1),
                Part::Progress(1),
                Part::Setup,
                Part::Change(0),
                Part::Setup,
                Part::History,
                Part::Setup,
                Part::Commit,
            ]
        );
        // One statement per part, and nothing bound: no placeholder is left.
        assert_eq!(batch.sql().matches("\n;\n").count(), batch.len());
        assert_eq!(lex(&batch.sql().replace("\n;\n", " ")), Some(vec![]));
    }
}
