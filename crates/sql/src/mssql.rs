//! The SQL Server dialect (T-SQL), DESIGN.md §7.
//!
//! Names are quoted as `[x]` with `]` doubled; string values become `N'..'`
//! literals with `'` doubled. Column defaults are named constraints
//! `DF_<table>_<column>` so that later migrations can drop them by name.
//!
//! Statements that declare T-SQL variables, that T-SQL requires to open a
//! batch (CREATE VIEW/PROCEDURE/FUNCTION/TRIGGER), or that come from raw text
//! split on `GO` are marked `own_batch`. An offline script must give such a
//! statement a batch to itself, with `GO` before and after it: CREATE PROCEDURE
//! takes in everything up to the end of its batch, and declaring `@sql` twice
//! in one batch is an error. Live runs send every statement as its own batch.

use rev_schema::{
    expr_mentions, Check, Column, ColumnType, Default, ForeignKey, OnDelete, Operation, Schema,
    Table, Unique,
};

use crate::{Dialect, DialectKind, HistoryTypes, RenderError, Statement};

/// Renders operations and version-table statements as T-SQL for SQL Server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mssql;

/// The longest NVARCHAR(n) SQL Server accepts; longer strings become NVARCHAR(MAX).
const NVARCHAR_LIMIT: u32 = 4000;
/// The longest VARBINARY(n) SQL Server accepts; longer ones become VARBINARY(MAX).
const VARBINARY_LIMIT: u32 = 8000;

impl Mssql {
    /// Returns the SQL Server spelling of a column type.
    pub fn column_type(&self, ty: &ColumnType) -> Result<String, RenderError> {
        Ok(match ty {
            ColumnType::Integer => "INT".to_owned(),
            ColumnType::BigInt => "BIGINT".to_owned(),
            ColumnType::SmallInt => "SMALLINT".to_owned(),
            ColumnType::Boolean => "BIT".to_owned(),
            ColumnType::String(0) => return Err(self.unsupported("declare a String(0) column")),
            ColumnType::String(n) if *n > NVARCHAR_LIMIT => "NVARCHAR(MAX)".to_owned(),
            ColumnType::String(n) => format!("NVARCHAR({n})"),
            ColumnType::Text | ColumnType::Json => "NVARCHAR(MAX)".to_owned(),
            ColumnType::Decimal(p, s) => format!("DECIMAL({p}, {s})"),
            ColumnType::Float => "FLOAT".to_owned(),
            ColumnType::Date => "DATE".to_owned(),
            ColumnType::Time => "TIME".to_owned(),
            ColumnType::DateTime => "DATETIME2".to_owned(),
            ColumnType::DateTimeTz => "DATETIMEOFFSET".to_owned(),
            ColumnType::Uuid => "UNIQUEIDENTIFIER".to_owned(),
            ColumnType::Binary(0) => return Err(self.unsupported("declare a Binary(0) column")),
            ColumnType::Binary(n) if *n > VARBINARY_LIMIT => "VARBINARY(MAX)".to_owned(),
            ColumnType::Binary(n) => format!("VARBINARY({n})"),
            ColumnType::Blob => "VARBINARY(MAX)".to_owned(),
            ColumnType::Custom(text) => text.clone(),
        })
    }

    /// Returns the T-SQL expression of a default value for a column of type `ty`.
    pub fn default_expr(&self, default: &Default, ty: &ColumnType) -> Result<String, RenderError> {
        Ok(match default {
            Default::Int(value) => value.to_string(),
            Default::Float(value) if value.is_finite() => format!("{value:?}"),
            Default::Float(value) => {
                return Err(self.unsupported(&format!("store the float default {value}")))
            }
            Default::Str(value) => self.string_literal(value),
            Default::Bool(value) => u8::from(*value).to_string(),
            // SYSDATETIME() converted to DATETIMEOFFSET would claim +00:00
            // whatever the server's zone is, so zoned columns get the offset too.
            Default::Now if *ty == ColumnType::DateTimeTz => "SYSDATETIMEOFFSET()".to_owned(),
            Default::Now => "SYSDATETIME()".to_owned(),
            Default::NewUuid => "NEWID()".to_owned(),
            Default::Expr(sql) => format!("({sql})"),
        })
    }

    /// Returns the name rev gives the default constraint of a column.
    pub fn default_constraint_name(table: &str, column: &str) -> String {
        format!("DF_{table}_{column}")
    }

    fn unsupported(&self, what: &str) -> RenderError {
        RenderError::Unsupported {
            dialect: DialectKind::Mssql,
            what: what.to_owned(),
        }
    }

    /// Writes `[name] TYPE [IDENTITY(1,1)] NULL|NOT NULL [CONSTRAINT [DF_..] DEFAULT ..]`;
    /// key constraints are the caller's, since they differ between CREATE and ALTER.
    fn column_def(&self, table: &str, column: &Column) -> Result<String, RenderError> {
        let mut def = format!(
            "{} {}",
            self.quote_ident(&column.name),
            self.column_type(&column.ty)?
        );
        if column.identity {
            def.push_str(" IDENTITY(1,1)");
        }
        def.push_str(if column.is_nullable() {
            " NULL"
        } else {
            " NOT NULL"
        });
        if let Some(default) = &column.default {
            def.push_str(&format!(
                " CONSTRAINT {} DEFAULT {}",
                self.quote_ident(&Self::default_constraint_name(table, &column.name)),
                self.default_expr(default, &column.ty)?
            ));
        }
        Ok(def)
    }

    fn create_table(
        &self,
        schema: Option<&str>,
        name: &str,
        columns: &[Column],
        foreign_keys: &[ForeignKey],
        uniques: &[Unique],
        checks: &[Check],
    ) -> Result<Statement, RenderError> {
        let mut lines = Vec::new();
        for column in columns {
            lines.push(self.column_def(name, column)?);
        }
        let key: Vec<String> = columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect();
        if !key.is_empty() {
            lines.push(format!(
                "CONSTRAINT {} PRIMARY KEY ({})",
                self.quote_ident(&format!("PK_{name}")),
                self.column_list(&key)
            ));
        }
        for column in columns.iter().filter(|c| c.unique && !c.primary_key) {
            lines.push(format!(
                "CONSTRAINT {} UNIQUE ({})",
                self.quote_ident(&format!("UQ_{name}_{}", column.name)),
                self.quote_ident(&column.name)
            ));
        }
        lines.extend(uniques.iter().map(|u| self.unique_clause(u)));
        lines.extend(
            foreign_keys
                .iter()
                .map(|fk| self.foreign_key_clause(schema, fk)),
        );
        lines.extend(checks.iter().map(|c| self.check_clause(c)));
        Ok(Statement::new(format!(
            "CREATE TABLE {} (\n    {}\n)",
            self.qualified(schema, name),
            lines.join(",\n    ")
        )))
    }

    fn add_column(
        &self,
        schema: Option<&str>,
        table: &str,
        column: &Column,
    ) -> Result<Statement, RenderError> {
        let mut def = self.column_def(table, column)?;
        if column.primary_key {
            def.push_str(&format!(
                " CONSTRAINT {} PRIMARY KEY",
                self.quote_ident(&format!("PK_{table}"))
            ));
        } else if column.unique {
            def.push_str(&format!(
                " CONSTRAINT {} UNIQUE",
                self.quote_ident(&format!("UQ_{table}_{}", column.name))
            ));
        }
        Ok(Statement::new(format!(
            "ALTER TABLE {} ADD {def}",
            self.qualified(schema, table)
        )))
    }

    /// Declares `@table` and `@column` as escaped literals so that the
    /// catalog queries that follow never splice a name into SQL text.
    fn dynamic_prelude(&self, schema: Option<&str>, table: &str, column: &str) -> String {
        format!(
            "DECLARE @table NVARCHAR(MAX) = {};\n\
             DECLARE @column SYSNAME = {};\n\
             DECLARE @object_id INT = OBJECT_ID(@table, N'U');\n\
             DECLARE @column_id INT = COLUMNPROPERTY(@object_id, @column, 'ColumnId');\n\
             DECLARE @sql NVARCHAR(MAX) = N'';\n",
            self.string_literal(&self.qualified(schema, table)),
            self.string_literal(column),
        )
    }

    /// Returns a batch that drops the column's default constraint, whatever its
    /// name: a table renamed since, or a default made outside rev, leaves a name
    /// that `DF_<table>_<column>` would miss.
    fn drop_default_dynamic(&self, schema: Option<&str>, table: &str, column: &str) -> Statement {
        let mut sql = self.dynamic_prelude(schema, table, column);
        sql.push_str(
            "SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(dc.name) + N';'\n\
             FROM sys.default_constraints AS dc\n\
             WHERE dc.parent_object_id = @object_id AND dc.parent_column_id = @column_id;\n\
             EXEC sp_executesql @sql;",
        );
        Statement {
            sql,
            own_batch: true,
        }
    }

    /// Returns a batch that drops the unique constraint on the column alone,
    /// whatever its name (a column-level `unique: true` is named
    /// `UQ_<table>_<column>` after the table's name when it was made).
    fn drop_column_unique_dynamic(
        &self,
        schema: Option<&str>,
        table: &str,
        column: &str,
    ) -> Statement {
        let mut sql = self.dynamic_prelude(schema, table, column);
        sql.push_str(
            "SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(kc.name) + N';'\n\
             FROM sys.key_constraints AS kc\n\
             WHERE kc.parent_object_id = @object_id AND kc.type = 'UQ'\n\
             \x20 AND NOT EXISTS (SELECT 1 FROM sys.index_columns AS ic\n\
             \x20                 WHERE ic.object_id = @object_id AND ic.index_id = kc.unique_index_id\n\
             \x20                   AND ic.column_id <> @column_id)\n\
             \x20 AND EXISTS (SELECT 1 FROM sys.index_columns AS ic\n\
             \x20             WHERE ic.object_id = @object_id AND ic.index_id = kc.unique_index_id\n\
             \x20               AND ic.column_id = @column_id);\n\
             EXEC sp_executesql @sql;",
        );
        Statement {
            sql,
            own_batch: true,
        }
    }

    /// Returns a batch that drops every default, check, foreign-key and unique
    /// constraint standing on the column, since SQL Server refuses to drop a
    /// column that one of them depends on.
    fn drop_column_constraints(
        &self,
        schema: Option<&str>,
        table: &str,
        column: &str,
    ) -> Statement {
        let mut sql = self.dynamic_prelude(schema, table, column);
        sql.push_str(
            "SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(dc.name) + N';'\n\
             FROM sys.default_constraints AS dc\n\
             WHERE dc.parent_object_id = @object_id AND dc.parent_column_id = @column_id;\n\
             SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(cc.name) + N';'\n\
             FROM sys.check_constraints AS cc\n\
             WHERE cc.parent_object_id = @object_id\n\
             \x20 AND (cc.parent_column_id = @column_id\n\
             \x20   OR EXISTS (SELECT 1 FROM sys.sql_expression_dependencies AS d\n\
             \x20              WHERE d.referencing_id = cc.object_id AND d.referenced_id = @object_id\n\
             \x20                AND d.referenced_minor_id = @column_id));\n\
             SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(fk.name) + N';'\n\
             FROM sys.foreign_keys AS fk\n\
             WHERE fk.parent_object_id = @object_id\n\
             \x20 AND EXISTS (SELECT 1 FROM sys.foreign_key_columns AS fkc\n\
             \x20             WHERE fkc.constraint_object_id = fk.object_id AND fkc.parent_column_id = @column_id);\n\
             SELECT @sql += N'ALTER TABLE ' + @table + N' DROP CONSTRAINT ' + QUOTENAME(kc.name) + N';'\n\
             FROM sys.key_constraints AS kc\n\
             WHERE kc.parent_object_id = @object_id AND kc.type = 'UQ'\n\
             \x20 AND EXISTS (SELECT 1 FROM sys.index_columns AS ic\n\
             \x20             WHERE ic.object_id = @object_id AND ic.index_id = kc.unique_index_id\n\
             \x20               AND ic.column_id = @column_id);\n\
             EXEC sp_executesql @sql;",
        );
        Statement {
            sql,
            own_batch: true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alter_column(
        &self,
        before: &Schema,
        schema: Option<&str>,
        table: &str,
        name: &str,
        ty: Option<&ColumnType>,
        nullable: Option<bool>,
        default: Option<&Default>,
        drop_default: bool,
    ) -> Result<Vec<Statement>, RenderError> {
        let display = match schema {
            Some(schema) => format!("{schema}.{table}"),
            None => table.to_owned(),
        };
        let existing = before.table(schema, table).ok_or_else(|| {
            RenderError::UnknownObject(format!(
                "AlterColumn: table `{display}` does not exist at this revision"
            ))
        })?;
        let column = existing
            .columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                RenderError::UnknownObject(format!(
                    "AlterColumn: table `{display}` has no column `{name}` at this revision"
                ))
            })?;
        if drop_default && default.is_some() {
            return Err(self.unsupported("both set and drop a default in one AlterColumn"));
        }
        let new_ty = ty.unwrap_or(&column.ty);
        let changes_default = drop_default || default.is_some();
        // ALTER COLUMN to another type fails while a default constraint
        // depends on the column, so the default is dropped and put back.
        let retypes_with_default = ty.is_some() && column.default.is_some();
        let final_default = if drop_default {
            None
        } else {
            default.or(column.default.as_ref())
        };

        let (drop_dependents, restore_dependents) =
            self.retype_dependents(before, schema, existing, column, new_ty, &display)?;
        let mut statements = drop_dependents;
        if changes_default || retypes_with_default {
            statements.push(self.drop_default_dynamic(schema, table, name));
        }
        if ty.is_some() || nullable.is_some() {
            let null = if nullable.unwrap_or_else(|| column.is_nullable()) {
                "NULL"
            } else {
                "NOT NULL"
            };
            statements.push(Statement::new(format!(
                "ALTER TABLE {} ALTER COLUMN {} {} {null}",
                self.qualified(schema, table),
                self.quote_ident(name),
                self.column_type(new_ty)?
            )));
        }
        if changes_default || retypes_with_default {
            if let Some(value) = final_default {
                statements.push(Statement::new(format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} DEFAULT {} FOR {}",
                    self.qualified(schema, table),
                    self.quote_ident(&Self::default_constraint_name(table, name)),
                    self.default_expr(value, new_ty)?,
                    self.quote_ident(name)
                )));
            }
        }
        statements.extend(restore_dependents);
        Ok(statements)
    }

    /// Returns the statements that drop what SQL Server will not keep on a
    /// column whose type changes (error 5074, "the object is dependent on
    /// column"), and those that put it back afterwards, as the folded schema
    /// knows them: foreign keys from and to the column and, unless the
    /// change only widens a variable-length type, its indexes, unique
    /// constraints and the checks that mention it.
    fn retype_dependents(
        &self,
        before: &Schema,
        schema: Option<&str>,
        table: &Table,
        column: &Column,
        new_ty: &ColumnType,
        display: &str,
    ) -> Result<(Vec<Statement>, Vec<Statement>), RenderError> {
        let (mut drops, mut creates) = (Vec::new(), Vec::new());
        if *new_ty == column.ty {
            return Ok((drops, creates));
        }
        let name = column.name.as_str();
        if column.primary_key {
            return Err(self.unsupported(&format!(
                "change the type of `{display}.{name}` in place while it is in the primary key: \
                 drop the key and the foreign keys that reference it first, and add them back after"
            )));
        }
        let widens = widens(&column.ty, new_ty);
        let own = self.qualified(schema, &table.name);
        let drop_constraint = |on: &str, constraint: &str| {
            Statement::new(format!(
                "ALTER TABLE {on} DROP CONSTRAINT {}",
                self.quote_ident(constraint)
            ))
        };
        // Foreign keys of other tables (or of this one) that reference the column.
        for (key, other) in &before.tables {
            if key.schema.as_deref() != schema {
                continue;
            }
            let on = self.qualified(schema, &other.name);
            for fk in &other.foreign_keys {
                let references =
                    fk.ref_table == table.name && fk.ref_columns.iter().any(|c| c == name);
                let own_key = other.name == table.name && fk.columns.iter().any(|c| c == name);
                if references || own_key {
                    drops.push(drop_constraint(&on, &fk.name));
                    creates.push(Statement::new(format!(
                        "ALTER TABLE {on} ADD {}",
                        self.foreign_key_clause(schema, fk)
                    )));
                }
            }
        }
        if column.unique && !widens {
            drops.push(self.drop_column_unique_dynamic(schema, &table.name, name));
            creates.push(Statement::new(format!(
                "ALTER TABLE {own} ADD CONSTRAINT {} UNIQUE ({})",
                self.quote_ident(&format!("UQ_{}_{name}", table.name)),
                self.quote_ident(name)
            )));
        }
        if !widens {
            for index in table
                .indexes
                .iter()
                .filter(|i| i.columns.iter().any(|c| c == name))
            {
                drops.push(Statement::new(format!(
                    "DROP INDEX {} ON {own}",
                    self.quote_ident(&index.name)
                )));
                creates.push(Statement::new(format!(
                    "CREATE {}INDEX {} ON {own} ({})",
                    if index.unique { "UNIQUE " } else { "" },
                    self.quote_ident(&index.name),
                    self.column_list(&index.columns)
                )));
            }
            for unique in table
                .uniques
                .iter()
                .filter(|u| u.columns.iter().any(|c| c == name))
            {
                drops.push(drop_constraint(&own, &unique.name));
                creates.push(Statement::new(format!(
                    "ALTER TABLE {own} ADD {}",
                    self.unique_clause(unique)
                )));
            }
            for check in table.checks.iter().filter(|c| expr_mentions(&c.expr, name)) {
                drops.push(drop_constraint(&own, &check.name));
                creates.push(Statement::new(format!(
                    "ALTER TABLE {own} ADD {}",
                    self.check_clause(check)
                )));
            }
        }
        // Put back in the reverse order: checks and keys of this table before
        // the foreign keys that may reference them.
        creates.reverse();
        Ok((drops, creates))
    }

    /// Splits raw text into batches, refusing `GO <count>`: sqlcmd would run
    /// the batch before it that many times in an offline script, while a
    /// live run would send the line to the server as text.
    fn raw_batches(&self, text: &str) -> Result<Vec<Statement>, RenderError> {
        let repeated = text.lines().find(|line| {
            let mut words = line.split_whitespace();
            matches!(
                (words.next(), words.next(), words.next()),
                (Some(go), Some(count), None)
                    if go.eq_ignore_ascii_case("go") && count.bytes().all(|b| b.is_ascii_digit())
            )
        });
        match repeated {
            Some(line) => Err(self.unsupported(&format!(
                "run `{}`: a GO line with a repeat count; repeat the batch in the text instead",
                line.trim()
            ))),
            None => Ok(split_batches(text)),
        }
    }

    fn rename(&self, object: &str, new_name: &str, kind: Option<&str>) -> Statement {
        let mut sql = format!(
            "EXEC sp_rename {}, {}",
            self.string_literal(object),
            self.string_literal(new_name)
        );
        if let Some(kind) = kind {
            sql.push_str(&format!(", {}", self.string_literal(kind)));
        }
        Statement::new(sql)
    }
}

/// Returns whether changing a column from `old` to `new` only lengthens a
/// variable-length type, which SQL Server allows under an index or a
/// constraint (as long as the type stays below MAX).
fn widens(old: &ColumnType, new: &ColumnType) -> bool {
    match (old, new) {
        (ColumnType::String(a), ColumnType::String(b)) => {
            b >= a && (*b <= NVARCHAR_LIMIT || *a > NVARCHAR_LIMIT)
        }
        (ColumnType::Binary(a), ColumnType::Binary(b)) => {
            b >= a && (*b <= VARBINARY_LIMIT || *a > VARBINARY_LIMIT)
        }
        _ => false,
    }
}

/// Returns the command word of the first line of `sql` that sqlcmd or SSMS
/// would read as a command of their own instead of T-SQL: a line whose first
/// word is `GO` (alone it ends the batch; with anything but a count after it
/// the script fails to parse), a `:command`, or a `!!` shell escape.
fn sqlcmd_command_line(sql: &str) -> Option<&str> {
    sql.split(['\n', '\r']).find_map(|line| {
        let line = line.trim_start();
        let word_end = line
            .find(|c: char| c.is_whitespace() || matches!(c, ';' | ']' | '\'' | '-'))
            .unwrap_or(line.len());
        let word = line.get(..word_end)?;
        let command = word.eq_ignore_ascii_case("go")
            || (word.starts_with(':') && word.len() > 1 && !word.starts_with("::"))
            || word.starts_with("!!");
        command.then_some(word)
    })
}

/// Splits raw T-SQL on lines that hold only `GO` (any case, surrounding
/// whitespace allowed), as sqlcmd and SSMS do.
///
/// Each piece of text that was split becomes its own batch; text without a
/// `GO` line is one statement that opens a batch only when T-SQL requires it
/// or when it declares a variable (two `DECLARE @n` in one batch collide).
pub fn split_batches(text: &str) -> Vec<Statement> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut split = false;
    for line in text.split_inclusive('\n') {
        if line.trim().eq_ignore_ascii_case("go") {
            split = true;
            pieces.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
        }
    }
    pieces.push(current);
    pieces
        .into_iter()
        .map(|piece| piece.trim().to_owned())
        .filter(|piece| !piece.is_empty())
        .map(|sql| Statement {
            own_batch: split || must_open_batch(&sql) || declares_variable(&sql),
            sql,
        })
        .collect()
}

/// Returns whether T-SQL text holds `DECLARE @`, in any case and spacing
/// (a mention in a comment or string counts too: a batch of its own is
/// always safe).
fn declares_variable(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    lower.match_indices("declare").any(|(at, word)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + word.len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@')
            && after.starts_with('@')
    })
}

/// Returns whether T-SQL requires this statement to be the first of its batch:
/// CREATE [OR ALTER] / ALTER of a VIEW, PROCEDURE (PROC), FUNCTION or TRIGGER,
/// and CREATE SCHEMA, DEFAULT or RULE (SQL Server error 111), after any
/// leading comments and whitespace.
pub fn must_open_batch(sql: &str) -> bool {
    const MODULES: [&str; 5] = ["VIEW", "PROCEDURE", "PROC", "FUNCTION", "TRIGGER"];
    const CREATE_ONLY: [&str; 3] = ["SCHEMA", "DEFAULT", "RULE"];
    let words = leading_words(sql, 4);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["CREATE", "OR", "ALTER", kind, ..] => MODULES.contains(kind),
        ["CREATE", kind, ..] => MODULES.contains(kind) || CREATE_ONLY.contains(kind),
        ["ALTER", kind, ..] => MODULES.contains(kind),
        _ => false,
    }
}

/// Returns the first `count` words of T-SQL text, upper-cased, skipping
/// whitespace, `--` line comments and (nested) `/* */` block comments.
fn leading_words(sql: &str, count: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = sql;
    while words.len() < count {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else if rest.starts_with("/*") {
            rest = skip_block_comment(rest);
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            words.push(rest[..end].to_ascii_uppercase());
            rest = &rest[end..];
        }
    }
    words
}

/// Skips a block comment at the start of `text`; T-SQL block comments nest.
fn skip_block_comment(text: &str) -> &str {
    let mut depth = 0usize;
    let mut rest = text;
    loop {
        let open = rest.find("/*");
        let close = rest.find("*/");
        match (open, close) {
            (Some(o), Some(c)) if o < c => {
                depth += 1;
                rest = &rest[o + 2..];
            }
            (_, Some(c)) => {
                depth = depth.saturating_sub(1);
                rest = &rest[c + 2..];
                if depth == 0 {
                    return rest;
                }
            }
            // An unterminated comment swallows the rest, as SQL Server reads it.
            (_, None) => return "",
        }
    }
}

impl Dialect for Mssql {
    fn kind(&self) -> DialectKind {
        DialectKind::Mssql
    }

    fn quote_ident(&self, ident: &str) -> String {
        format!("[{}]", ident.replace(']', "]]"))
    }

    fn string_literal(&self, value: &str) -> String {
        format!("N'{}'", value.replace('\'', "''"))
    }

    /// Renders an operation; a name or text that would put a sqlcmd
    /// command (`GO` above all) alone on a line of a `--sql` script is refused,
    /// as sqlcmd and SSMS would split the batch there or run the command.
    /// Raw `Sql` is the author's own script, split on its `GO` lines already.
    fn render_op(&self, op: &Operation, before: &Schema) -> Result<Vec<Statement>, RenderError> {
        let statements = self.render_op_text(op, before)?;
        if !matches!(op, Operation::Sql(_) | Operation::SqlFor(_)) {
            if let Some(line) = statements
                .iter()
                .find_map(|statement| sqlcmd_command_line(&statement.sql))
            {
                return Err(self.unsupported(&format!(
                    "write a name or text that starts a line with `{line}`: in a --sql \
                     script sqlcmd and SSMS would read that line as a command ({}), not as \
                     part of the statement; take the line break out of the name or text",
                    if line.eq_ignore_ascii_case("go") {
                        "GO ends the batch"
                    } else {
                        "sqlcmd runs it"
                    }
                )));
            }
        }
        Ok(statements)
    }
    fn placeholder(&self, index: usize) -> String {
        format!("@P{index}")
    }

    fn create_version_table(&self, schema: Option<&str>, table: &str) -> Vec<Statement> {
        let name = self.qualified(schema, table);
        vec![Statement::new(format!(
            "IF OBJECT_ID({}, N'U') IS NULL\n\
             CREATE TABLE {name} (\n    \
             [version_num] VARCHAR(32) NOT NULL,\n    \
             CONSTRAINT {} PRIMARY KEY ([version_num])\n)",
            self.string_literal(&name),
            self.quote_ident(&format!("{table}_pkc")),
        ))]
    }

    fn on_delete_sql(&self, action: OnDelete) -> &'static str {
        match action {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            // SQL Server has no RESTRICT; NO ACTION refuses the delete the same way.
            OnDelete::Restrict | OnDelete::NoAction => "NO ACTION",
        }
    }

    fn history_types(&self) -> HistoryTypes {
        HistoryTypes {
            id: "BIGINT IDENTITY(1,1) NOT NULL",
            timestamp: "DATETIME2",
            integer: "BIGINT",
            applied_by: "NVARCHAR(128)",
        }
    }

    fn create_history_table(&self, schema: Option<&str>, table: &str) -> Vec<Statement> {
        let name = self.qualified(schema, table);
        let types = self.history_types();
        vec![Statement::new(format!(
            "IF OBJECT_ID({}, N'U') IS NULL\n\
             CREATE TABLE {name} (\n    \
             [id] {},\n    \
             [revision] VARCHAR(32) NOT NULL,\n    \
             [direction] VARCHAR(16) NOT NULL,\n    \
             [checksum] VARCHAR(128) NOT NULL,\n    \
             [started_at] {} NOT NULL,\n    \
             [duration_ms] {} NOT NULL,\n    \
             [applied_by] {} NOT NULL,\n    \
             CONSTRAINT {} PRIMARY KEY ([id])\n)",
            self.string_literal(&name),
            types.id,
            types.timestamp,
            types.integer,
            types.applied_by,
            self.quote_ident(&format!("{table}_pkc")),
        ))]
    }

    fn begin_transaction(&self) -> &'static str {
        "BEGIN TRANSACTION"
    }

    fn commit_transaction(&self) -> &'static str {
        "COMMIT TRANSACTION"
    }

    /// Says, for whoever runs the script, how it stops on an error.
    fn script_preamble(&self) -> Vec<Statement> {
        vec![Statement::new(
            "-- Run it with `sqlcmd -b -i <file>` or in SSMS. After a failed batch, the\n\
             -- IF @@ERROR guards set NOEXEC ON: the rest of the script is compiled but not\n\
             -- run, and the last batch rolls back what is open and raises an error.\n\
             SET XACT_ABORT ON",
        )]
    }

    fn batch_separator(&self) -> Option<&'static str> {
        Some("GO")
    }

    /// Sets NOEXEC ON after a failed batch, so that sqlcmd and SSMS compile
    /// the rest of the script without running it. @@ERROR still holds the
    /// error of an aborted batch (and of one that failed to compile, which
    /// XACT_ABORT does not roll back); inside a migration a zero @@TRANCOUNT
    /// means XACT_ABORT rolled the transaction back.
    fn script_guard(&self, in_transaction: bool) -> Option<String> {
        Some(
            if in_transaction {
                "IF @@ERROR <> 0 OR @@TRANCOUNT = 0 SET NOEXEC ON"
            } else {
                "IF @@ERROR <> 0 SET NOEXEC ON"
            }
            .to_owned(),
        )
    }

    /// Turns NOEXEC back off and, when a guard had set it (the assignment
    /// to `@rev_completed` then never ran), rolls back the transaction a
    /// failed batch may have left open and raises an error, so that
    /// `sqlcmd -b` exits with a failure.
    fn script_epilogue(&self) -> Vec<Statement> {
        vec![Statement {
            sql: "DECLARE @rev_completed BIT;\n\
                  SET @rev_completed = 1;\n\
                  SET NOEXEC OFF;\n\
                  IF @rev_completed IS NULL\n\
                  BEGIN\n    \
                  IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;\n    \
                  RAISERROR (N'rev: a batch above failed, so the script stopped there; the migration it belongs to did not complete and the later ones did not run.', 16, 1);\n\
                  END"
                .to_owned(),
            own_batch: true,
        }]
    }

    fn expect_one_row(&self, message: &str) -> Option<String> {
        Some(format!(
            "IF @@ROWCOUNT <> 1 THROW 50000, {}, 1",
            self.string_literal(message)
        ))
    }

    fn now_utc(&self) -> &'static str {
        "SYSUTCDATETIME()"
    }
}

impl Mssql {
    fn render_op_text(
        &self,
        op: &Operation,
        before: &Schema,
    ) -> Result<Vec<Statement>, RenderError> {
        Ok(match op {
            Operation::CreateTable {
                name,
                columns,
                foreign_keys,
                uniques,
                checks,
                schema,
            } => vec![self.create_table(
                schema.as_deref(),
                name,
                columns,
                foreign_keys,
                uniques,
                checks,
            )?],
            Operation::DropTable { name, schema } => vec![Statement::new(format!(
                "DROP TABLE {}",
                self.qualified(schema.as_deref(), name)
            ))],
            Operation::RenameTable {
                name,
                new_name,
                schema,
            } => vec![self.rename(
                &self.qualified(schema.as_deref(), name),
                new_name,
                // Babelfish for PostgreSQL refuses a rename without it;
                // SQL Server takes it as the default spelt out.
                Some("OBJECT"),
            )],
            Operation::AddColumn {
                table,
                column,
                schema,
            } => vec![self.add_column(schema.as_deref(), table, column)?],
            Operation::DropColumn {
                table,
                name,
                schema,
            } => vec![
                self.drop_column_constraints(schema.as_deref(), table, name),
                Statement::new(self.drop_column_sql(schema.as_deref(), table, name)),
            ],
            Operation::AlterColumn {
                table,
                name,
                ty,
                nullable,
                default,
                drop_default,
                schema,
            } => self.alter_column(
                before,
                schema.as_deref(),
                table,
                name,
                ty.as_ref(),
                *nullable,
                default.as_ref(),
                *drop_default,
            )?,
            Operation::RenameColumn {
                table,
                name,
                new_name,
                schema,
            } => {
                let object = format!(
                    "{}.{}",
                    self.qualified(schema.as_deref(), table),
                    self.quote_ident(name)
                );
                vec![self.rename(&object, new_name, Some("COLUMN"))]
            }
            Operation::CreateIndex {
                name,
                table,
                columns,
                unique,
                schema,
            } => vec![Statement::new(format!(
                "CREATE {}INDEX {} ON {} ({})",
                if *unique { "UNIQUE " } else { "" },
                self.quote_ident(name),
                self.qualified(schema.as_deref(), table),
                self.column_list(columns)
            ))],
            Operation::DropIndex {
                name,
                table,
                schema,
            } => vec![Statement::new(format!(
                "DROP INDEX {} ON {}",
                self.quote_ident(name),
                self.qualified(schema.as_deref(), table)
            ))],
            Operation::AddForeignKey { .. }
            | Operation::AddUnique { .. }
            | Operation::AddCheck { .. } => {
                vec![Statement::new(self.add_constraint(op).ok_or_else(
                    || RenderError::UnknownObject(format!("{} adds no constraint", op.kind())),
                )?)]
            }
            Operation::DropConstraint {
                table,
                name,
                schema,
            } => vec![Statement::new(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                self.qualified(schema.as_deref(), table),
                self.quote_ident(name)
            ))],
            Operation::Sql(text) => self.raw_batches(text)?,
            Operation::SqlFor(per_dialect) => match &per_dialect.mssql {
                Some(text) => self.raw_batches(text)?,
                None => return Err(RenderError::MissingSqlFor(DialectKind::Mssql)),
            },
            Operation::Untranslated { .. } => {
                return Err(crate::untranslated(DialectKind::Mssql, op))
            }
        })
    }
}
