//! One Alembic revision file, translated: its identity, its docstring, and
//! the bodies of `upgrade()` and `downgrade()` as rev operations.
//!
//! Each statement of a body translates whole or not at all: a statement that
//! is not understood becomes one [`Operation::Untranslated`] holding its source
//! and line, never a partial operation and never nothing.

use std::collections::{BTreeSet, HashMap};

use rev_project::Migration;
use rev_schema::{Check, Column, ColumnType, ForeignKey, OnDelete, Operation, Unique};
use rustpython_parser::ast::{self, Expr, Ranged, Stmt};

use crate::names;
use crate::python::{literal, Scope, Source, TableLit, Value};

/// Something of a file that was not translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `upgrade`, `downgrade` or `metadata` (a revision-level field).
    pub direction: &'static str,
    /// The 1-based line it starts on.
    pub line: usize,
    /// Why it was not translated.
    pub reason: String,
    /// Its source text.
    pub source: String,
}

/// A detail that rev does not keep but that changes nothing it builds
/// (a comment, a Python-side default, a MySQL table option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The 1-based line.
    pub line: usize,
    /// What was left out.
    pub message: String,
}

/// A `DropIndex` whose table the file does not name: the import finds the
/// table from the revisions that create the index.
#[derive(Debug, Clone)]
pub struct Unplaced {
    /// Whether it is in the upgrade (else the downgrade).
    pub upgrade: bool,
    /// Its position in that list.
    pub at: usize,
    /// The line of the call.
    pub line: usize,
    /// The call's source.
    pub source: String,
}

/// What one file becomes.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The revision, its operations included.
    pub migration: Migration,
    /// What was not translated, in file order.
    pub items: Vec<Item>,
    /// Details left out.
    pub notes: Vec<Note>,
    /// Type mappings whose DDL differs from SQLAlchemy's on some dialect.
    pub type_notes: BTreeSet<&'static str>,
    /// `DropIndex` operations whose table the file does not name.
    pub index_without_table: Vec<Unplaced>,
}

/// Translates the text of a revision file; `origin` names it in markers
/// (`versions/1a2b_add_users.py`). The error says why the file cannot be a
/// revision at all (it does not parse, or has no `revision`).
pub fn translate(text: &str, origin: &str) -> Result<Translated, String> {
    let src = Source::new(text);
    let suite = src.parse(origin)?;
    let mut scope = Scope::default();
    let mut functions: HashMap<String, &ast::StmtFunctionDef> = HashMap::new();
    let mut docstring: Option<String> = None;
    let mut assigned: HashMap<String, (&Expr, &Stmt)> = HashMap::new();
    for (i, stmt) in suite.iter().enumerate() {
        match stmt {
            Stmt::Expr(e) if i == 0 => {
                if let Expr::Constant(c) = &*e.value {
                    if let ast::Constant::Str(s) = &c.value {
                        docstring = Some(s.clone());
                    }
                }
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => scope.import(stmt, false),
            Stmt::FunctionDef(f) => {
                functions.insert(f.name.to_string(), f);
            }
            Stmt::Assign(a) => {
                for target in &a.targets {
                    if let Expr::Name(n) = target {
                        assigned.insert(n.id.to_string(), (&a.value, stmt));
                        match literal(&scope, &src, &a.value) {
                            Ok(v) => {
                                scope.module.insert(n.id.to_string(), v);
                            }
                            Err(_) => {
                                scope.module.remove(n.id.as_str());
                            }
                        }
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(value)) = (&*a.target, &a.value) {
                    assigned.insert(n.id.to_string(), (value, stmt));
                    match literal(&scope, &src, value) {
                        Ok(v) => {
                            scope.module.insert(n.id.to_string(), v);
                        }
                        Err(_) => {
                            scope.module.remove(n.id.as_str());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    let mut items = Vec::new();
    let field = |name: &str| -> Result<Option<Value>, Item> {
        match assigned.get(name) {
            None => Ok(None),
            Some((value, stmt)) => literal(&scope, &src, value).map(Some).map_err(|why| Item {
                direction: "metadata",
                line: src.line_of(*stmt),
                reason: format!("`{name}` is not a literal: {why}; set it by hand"),
                source: src.segment(*stmt),
            }),
        }
    };
    let id = match field("revision") {
        Ok(Some(Value::Str(id))) => id,
        Ok(_) => return Err("it sets no `revision` string".to_owned()),
        Err(item) => return Err(item.reason),
    };
    let parents = match field("down_revision") {
        Ok(None | Some(Value::None)) => Vec::new(),
        Ok(Some(v)) => {
            strings_of(&v).ok_or("`down_revision` is not a string, a tuple of strings or None")?
        }
        Err(item) => return Err(item.reason),
    };
    let mut list_field = |name: &str| match field(name) {
        Ok(None | Some(Value::None)) => Vec::new(),
        Ok(Some(v)) => match strings_of(&v) {
            Some(list) => list,
            None => {
                let Some((_, stmt)) = assigned.get(name) else {
                    return Vec::new();
                };
                items.push(Item {
                    direction: "metadata",
                    line: src.line_of(*stmt),
                    reason: format!(
                        "`{name}` is not a string, a tuple of strings or None; set it by hand"
                    ),
                    source: src.segment(*stmt),
                });
                Vec::new()
            }
        },
        Err(item) => {
            items.push(item);
            Vec::new()
        }
    };
    let branch_labels = list_field("branch_labels");
    let depends_on = list_field("depends_on");

    let (message, created) = docstring.as_deref().map(read_docstring).unwrap_or_default();

    let mut out = Translated {
        migration: Migration {
            id,
            parents,
            message,
            created,
            branch_labels,
            depends_on,
            transactional: true,
            upgrade: Vec::new(),
            downgrade: None,
            acknowledged: Vec::new(),
            replaces: Vec::new(),
        },
        items: Vec::new(),
        notes: Vec::new(),
        type_notes: BTreeSet::new(),
        index_without_table: Vec::new(),
    };
    // Metadata markers run first in the upgrade, so the revision cannot be
    // applied until they are settled.
    let mut upgrade: Vec<Operation> = items.iter().map(|item| marker(origin, item)).collect();
    out.items.extend(items);
    for (direction, is_upgrade) in [("upgrade", true), ("downgrade", false)] {
        let mut body = Body {
            src: &src,
            origin,
            scope: scope.clone(),
            functions: &functions,
            direction,
            ops: Vec::new(),
            items: Vec::new(),
            notes: Vec::new(),
            type_notes: BTreeSet::new(),
            index_without_table: Vec::new(),
            line: 1,
            depth: 0,
        };
        match functions.get(direction) {
            Some(f) if has_parameters(f) => {
                body.line = src.line_of(*f);
                body.untranslated(
                    *f,
                    "the function takes arguments (a multi-database template); translate it by hand"
                        .to_owned(),
                );
            }
            Some(f) => body.stmts(&f.body),
            None => {
                body.items.push(Item {
                    direction,
                    line: 1,
                    reason: format!("the file has no {direction}() function"),
                    source: String::new(),
                });
                let item = body.items.last().cloned();
                if let Some(item) = item {
                    body.ops.push(marker(origin, &item));
                }
            }
        }
        let offset = if is_upgrade { upgrade.len() } else { 0 };
        out.index_without_table
            .extend(
                body.index_without_table
                    .into_iter()
                    .map(|(at, line, source)| Unplaced {
                        upgrade: is_upgrade,
                        at: at + offset,
                        line,
                        source,
                    }),
            );
        out.items.extend(body.items);
        out.notes.extend(body.notes);
        out.type_notes.extend(body.type_notes);
        if is_upgrade {
            upgrade.extend(body.ops);
        } else {
            out.migration.downgrade = Some(body.ops);
        }
    }
    out.migration.upgrade = upgrade;
    Ok(out)
}

/// Returns the marker operation of an item.
fn marker(origin: &str, item: &Item) -> Operation {
    Operation::Untranslated {
        source: item.source.clone(),
        origin: format!("{origin}:{}", item.line),
        reason: item.reason.clone(),
    }
}

fn has_parameters(f: &ast::StmtFunctionDef) -> bool {
    let a = &f.args;
    !a.args.is_empty()
        || !a.posonlyargs.is_empty()
        || !a.kwonlyargs.is_empty()
        || a.vararg.is_some()
        || a.kwarg.is_some()
}

/// Returns a string or a sequence of strings as a list.
fn strings_of(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Str(s) => Some(vec![s.clone()]),
        Value::Seq(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// Reads the message (the first line) and `Create Date:` of a revision's docstring.
fn read_docstring(doc: &str) -> (String, Option<String>) {
    let message = doc
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_owned();
    let created = doc.lines().find_map(|line| {
        let value = line.trim().strip_prefix("Create Date:")?.trim();
        created_date(value)
    });
    (message, created)
}

/// Turns Alembic's `2023-01-02 03:04:05.123456` (zone offset optional) into
/// `2023-01-02T03:04:05` (keeping the offset when there is one): without
/// one, Alembic wrote the local time of whoever made the file, so no zone
/// is claimed.
pub fn created_date(value: &str) -> Option<String> {
    let (date, rest) = value.split_once([' ', 'T'])?;
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !date_ok || rest.len() < 8 {
        return None;
    }
    let time = &rest[..8];
    if !time.bytes().enumerate().all(|(i, b)| {
        if i == 2 || i == 5 {
            b == b':'
        } else {
            b.is_ascii_digit()
        }
    }) {
        return None;
    }
    let tail = rest[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let zone = match tail.trim() {
        "" => String::new(),
        "Z" | "+00:00" | "UTC" => "Z".to_owned(),
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 6 => z.to_owned(),
        _ => String::new(),
    };
    Some(format!("{date}T{time}{zone}"))
}

/// Whether a column is generated by the database, as `autoincrement=` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auto {
    /// SQLAlchemy decides: a lone integer primary key without a foreign key.
    Decide,
    /// `autoincrement=True`.
    Yes,
    /// `autoincrement=False`.
    No,
}

/// A foreign key before its name is settled.
#[derive(Debug, Clone)]
struct FkSpec {
    name: Option<String>,
    columns: Vec<String>,
    ref_table: String,
    ref_columns: Vec<String>,
    on_delete: Option<OnDelete>,
}

/// A `sa.Column(...)` as read.
#[derive(Debug, Clone)]
struct ColSpec {
    column: Column,
    fks: Vec<FkSpec>,
    checks: Vec<(Option<String>, String)>,
    index: bool,
    autoincrement: Auto,
    has_server_default: bool,
}

/// The arguments of a call, consumed as they are read; [`Args::finish`]
/// refuses any that were not.
pub(crate) struct Args<'e> {
    what: String,
    pos: &'e [Expr],
    kw: Vec<(&'e str, &'e Expr)>,
    used_kw: Vec<bool>,
    used_pos: usize,
}

impl<'e> Args<'e> {
    /// Returns the arguments of a bare name used as a call (`sa.Integer`).
    pub(crate) fn empty(what: impl Into<String>) -> Self {
        Args {
            what: what.into(),
            pos: &[],
            kw: Vec::new(),
            used_kw: Vec::new(),
            used_pos: 0,
        }
    }

    pub(crate) fn new(call: &'e ast::ExprCall, what: impl Into<String>) -> Result<Self, String> {
        let what = what.into();
        if call.args.iter().any(|a| matches!(a, Expr::Starred(_))) {
            return Err(format!("`{what}` is called with *args"));
        }
        let mut kw = Vec::with_capacity(call.keywords.len());
        for k in &call.keywords {
            match &k.arg {
                Some(name) => kw.push((name.as_str(), &k.value)),
                None => return Err(format!("`{what}` is called with **kwargs")),
            }
        }
        Ok(Args {
            what,
            pos: &call.args,
            used_kw: vec![false; kw.len()],
            kw,
            used_pos: 0,
        })
    }

    /// Returns the keyword argument `name`.
    pub(crate) fn kw(&mut self, name: &str) -> Option<&'e Expr> {
        let at = self.kw.iter().position(|(k, _)| *k == name)?;
        if let Some(used) = self.used_kw.get_mut(at) {
            *used = true;
        }
        self.kw.get(at).map(|(_, e)| *e)
    }

    /// Returns positional argument `i`, else the keyword argument `name`.
    pub(crate) fn get(&mut self, i: usize, name: &str) -> Option<&'e Expr> {
        let by_name = self.kw(name);
        if let Some(e) = self.pos.get(i) {
            self.used_pos = self.used_pos.max(i + 1);
            return Some(e);
        }
        by_name
    }

    /// Returns the positional arguments from `i` on.
    pub(crate) fn rest(&mut self, i: usize) -> &'e [Expr] {
        self.used_pos = self.pos.len();
        self.pos.get(i..).unwrap_or_default()
    }

    /// Checks that every argument was read; keywords in `ignored` (or with
    /// one of its prefixes ending in `_`) may be left, and are returned.
    pub(crate) fn finish(&mut self, ignored: &[&str]) -> Result<Vec<String>, String> {
        if self.pos.len() > self.used_pos {
            return Err(format!(
                "`{}` has more positional arguments than rev knows",
                self.what
            ));
        }
        let mut left = Vec::new();
        for ((name, value), used) in self.kw.iter().zip(&self.used_kw) {
            if *used {
                continue;
            }
            let known = ignored.iter().any(|i| {
                if let Some(prefix) = i.strip_suffix('*') {
                    name.starts_with(prefix)
                } else {
                    i == name
                }
            });
            // A keyword given its default value changes nothing.
            let default =
                matches!(value, Expr::Constant(c) if matches!(c.value, ast::Constant::None));
            if !known && !default {
                return Err(format!("`{}` with `{name}=` is not translated", self.what));
            }
            if !default {
                left.push((*name).to_owned());
            }
        }
        Ok(left)
    }
}

/// The dialect-specific keyword prefixes SQLAlchemy and Alembic take.
const DIALECT_KW: [&str; 6] = [
    "mysql_*",
    "mariadb_*",
    "mssql_*",
    "postgresql_*",
    "sqlite_*",
    "oracle_*",
];

/// The body of one function being translated.
pub(crate) struct Body<'a> {
    pub(crate) src: &'a Source<'a>,
    origin: &'a str,
    pub(crate) scope: Scope,
    functions: &'a HashMap<String, &'a ast::StmtFunctionDef>,
    direction: &'static str,
    ops: Vec<Operation>,
    items: Vec<Item>,
    notes: Vec<Note>,
    pub(crate) type_notes: BTreeSet<&'static str>,
    /// Positions in `ops` of `DropIndex` without a table, with their lines and source.
    index_without_table: Vec<(usize, usize, String)>,
    /// The line of the statement being translated, for notes.
    line: usize,
    /// How deep helper functions are inlined.
    depth: usize,
}

type Ops = Result<Vec<Operation>, String>;

impl Body<'_> {
    fn stmts(&mut self, stmts: &[Stmt]) {
        for stmt in stmts {
            self.stmt(stmt);
        }
    }

    fn note(&mut self, message: impl Into<String>) {
        self.notes.push(Note {
            line: self.line,
            message: message.into(),
        });
    }

    /// Records `node` as untranslated, with its source, and puts its marker in place.
    fn untranslated(&mut self, node: &impl Ranged, reason: String) {
        let item = Item {
            direction: self.direction,
            line: self.src.line_of(node),
            reason,
            source: self.src.segment(node),
        };
        self.ops.push(marker(self.origin, &item));
        self.items.push(item);
    }

    fn stmt(&mut self, stmt: &Stmt) {
        self.line = self.src.line_of(stmt);
        let result: Ops = match stmt {
            Stmt::Pass(_) => Ok(Vec::new()),
            Stmt::Expr(e) => match &*e.value {
                // A docstring or a bare string: a comment.
                Expr::Constant(c) if matches!(c.value, ast::Constant::Str(_)) => Ok(Vec::new()),
                Expr::Call(call) => self.call_stmt(call),
                _ => Err("an expression that is not a call".to_owned()),
            },
            Stmt::Assign(a) => match a.targets.as_slice() {
                [Expr::Name(n)] => self.assign(n.id.as_str(), &a.value),
                _ => Err("an assignment to something other than one name".to_owned()),
            },
            Stmt::AnnAssign(a) => match (&*a.target, &a.value) {
                (Expr::Name(n), Some(value)) => self.assign(n.id.as_str(), value),
                _ => Err("an annotated assignment without a value".to_owned()),
            },
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                self.scope.import(stmt, true);
                Ok(Vec::new())
            }
            Stmt::With(w) => return self.with(stmt, w),
            Stmt::For(_) | Stmt::AsyncFor(_) | Stmt::While(_) => Err("a loop".to_owned()),
            Stmt::If(_) => Err("a conditional".to_owned()),
            Stmt::Try(_) | Stmt::TryStar(_) => Err("a try block".to_owned()),
            Stmt::FunctionDef(_) | Stmt::AsyncFunctionDef(_) | Stmt::ClassDef(_) => {
                Err("a definition inside the function".to_owned())
            }
            Stmt::Return(r) if r.value.is_none() => Ok(Vec::new()),
            _ => Err("a statement rev does not translate".to_owned()),
        };
        match result {
            Ok(ops) => self.ops.extend(ops),
            Err(why) => self.untranslated(stmt, why),
        }
    }

    fn assign(&mut self, name: &str, value: &Expr) -> Ops {
        let bound = match value {
            Expr::Call(call) => self.call_value(call)?,
            _ => self.lit(value)?,
        };
        self.scope.local.insert(name.to_owned(), bound);
        Ok(Vec::new())
    }

    /// Returns the value of a call on the right of `=`: a table literal, the
    /// connection, or a literal.
    fn call_value(&mut self, call: &ast::ExprCall) -> Result<Value, String> {
        let path = self.scope.path(&call.func);
        let short = path.as_deref().and_then(crate::python::sa_short);
        match (path.as_deref(), short.as_deref()) {
            (Some("alembic.op.get_bind"), _) if call.args.is_empty() => Ok(Value::Connection),
            (_, Some("table" | "sql.table" | "sql.expression.table")) => {
                Ok(Value::Table(self.table_literal(call)?))
            }
            (_, Some("text" | "sql.text" | "sql.expression.text")) => Ok(Value::SqlText(
                self.sql_text(&Expr::Call(call.clone()), true)?,
            )),
            (Some("textwrap.dedent"), _) => {
                Ok(Value::Str(self.sql_text(&Expr::Call(call.clone()), false)?))
            }
            _ => self.lit(&Expr::Call(call.clone())),
        }
    }

    /// Reads `sa.table("t", sa.column("a", ...), ..., schema=...)`.
    fn table_literal(&mut self, call: &ast::ExprCall) -> Result<TableLit, String> {
        let mut args = Args::new(call, "sa.table")?;
        let name = self.string(args.get(0, "name"), "the table's name")?;
        let schema = self.opt_string(args.kw("schema"))?;
        let mut columns = Vec::new();
        for col in args.rest(1) {
            let Expr::Call(c) = col else {
                return Err("a table column that is not `sa.column(...)`".to_owned());
            };
            let short = self.scope.sa_name(&c.func);
            if !matches!(
                short.as_deref(),
                Some("column" | "sql.column" | "sql.expression.column" | "Column")
            ) {
                return Err("a table column that is not `sa.column(...)`".to_owned());
            }
            let first = c.args.first().ok_or("`sa.column` without a name")?;
            columns.push(self.string(Some(first), "a column's name")?);
        }
        args.finish(&[])?;
        Ok(TableLit {
            name,
            schema,
            columns,
        })
    }

    pub(crate) fn lit(&self, e: &Expr) -> Result<Value, String> {
        literal(&self.scope, self.src, e)
    }

    fn string(&self, e: Option<&Expr>, what: &str) -> Result<String, String> {
        let e = e.ok_or_else(|| format!("{what} is missing"))?;
        match self.lit(e)? {
            Value::Str(s) => Ok(s),
            _ => Err(format!("{what} is not a string")),
        }
    }

    fn opt_string(&self, e: Option<&Expr>) -> Result<Option<String>, String> {
        match e.map(|e| self.lit(e)).transpose()? {
            None | Some(Value::None) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s)),
            Some(_) => Err("a name that is not a string".to_owned()),
        }
    }

    fn strings(&self, e: Option<&Expr>, what: &str) -> Result<Vec<String>, String> {
        let e = e.ok_or_else(|| format!("{what} is missing"))?;
        let value = self.lit(e).map_err(|why| format!("{what}: {why}"))?;
        strings_of(&value).ok_or_else(|| format!("{what} is not a list of names"))
    }

    pub(crate) fn opt_bool(&self, e: Option<&Expr>) -> Result<Option<bool>, String> {
        match e.map(|e| self.lit(e)).transpose()? {
            None | Some(Value::None) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err("a flag that is not True or False".to_owned()),
        }
    }

    fn with(&mut self, stmt: &Stmt, w: &ast::StmtWith) {
        let batch = match w.items.as_slice() {
            [item] => match &item.context_expr {
                Expr::Call(call)
                    if self.scope.path(&call.func).as_deref()
                        == Some("alembic.op.batch_alter_table") =>
                {
                    Some((call, item.optional_vars.as_deref()))
                }
                _ => None,
            },
            _ => None,
        };
        let Some((call, var)) = batch else {
            self.untranslated(
                stmt,
                "a `with` block other than op.batch_alter_table".to_owned(),
            );
            return;
        };
        let parsed = (|| {
            let mut args = Args::new(call, "op.batch_alter_table")?;
            let table = self.string(args.get(0, "table_name"), "the table's name")?;
            let schema = self.opt_string(args.get(1, "schema"))?;
            let left = args.finish(&[
                "recreate",
                "partial_reordering",
                "copy_from",
                "table_args",
                "table_kwargs",
                "reflect_args",
                "reflect_kwargs",
                "naming_convention",
            ])?;
            Ok::<_, String>((table, schema, left))
        })();
        let (table, schema, left) = match parsed {
            Ok(parsed) => parsed,
            Err(why) => {
                self.untranslated(stmt, why);
                return;
            }
        };
        for kw in left {
            self.note(format!(
                "op.batch_alter_table(\"{table}\", {kw}=...) only shapes how Alembic rebuilds a SQLite table; rev rebuilds its own way"
            ));
        }
        let saved = match var {
            Some(Expr::Name(n)) => {
                let old = self.scope.local.insert(
                    n.id.to_string(),
                    Value::Batch {
                        table: table.clone(),
                        schema: schema.clone(),
                    },
                );
                Some((n.id.to_string(), old))
            }
            Some(_) => {
                self.untranslated(stmt, "`as` binds something other than one name".to_owned());
                return;
            }
            None => None,
        };
        self.stmts(&w.body);
        if let Some((name, old)) = saved {
            match old {
                Some(v) => self.scope.local.insert(name, v),
                None => self.scope.local.remove(&name),
            };
        }
    }

    /// Translates a call that stands as a statement.
    fn call_stmt(&mut self, call: &ast::ExprCall) -> Ops {
        if let Expr::Attribute(attr) = &*call.func {
            let method = attr.attr.as_str();
            if self.scope.path(&attr.value).as_deref() == Some("alembic.op") {
                return self.op_call(method, call, None);
            }
            if let Expr::Name(n) = &*attr.value {
                match self.scope.get(n.id.as_str()) {
                    Some(Value::Batch { table, schema }) => {
                        let batch = (table.clone(), schema.clone());
                        return self.op_call(method, call, Some(batch));
                    }
                    Some(Value::Connection) => return self.conn_call(method, call),
                    _ => {}
                }
            }
            if let Expr::Call(inner) = &*attr.value {
                if self.scope.path(&inner.func).as_deref() == Some("alembic.op.get_bind") {
                    return self.conn_call(method, call);
                }
            }
        }
        if let Expr::Name(n) = &*call.func {
            if n.id.as_str() == "print"
                && !self.functions.contains_key("print")
                && self.scope.get("print").is_none()
                // Only literals: an argument could do work (a query) of its own.
                && call.args.iter().all(|a| self.lit(a).is_ok())
                && call.keywords.iter().all(|k| self.lit(&k.value).is_ok())
            {
                // Output for whoever runs the migration: nothing for the database.
                self.note(format!(
                    "the output of `{}` is not kept",
                    self.src.segment(&Expr::Call(call.clone()))
                ));
                return Ok(Vec::new());
            }
            let helper = self.functions.get(n.id.as_str()).copied();
            if let Some(f) = helper {
                if self.scope.local.contains_key(n.id.as_str()) {
                    return Err(format!("a call of `{}`", n.id));
                }
                if has_parameters(f) || !call.args.is_empty() || !call.keywords.is_empty() {
                    return Err(format!(
                        "a call of the helper function `{}` with arguments",
                        n.id
                    ));
                }
                if self.depth >= 4 {
                    return Err(format!("helper functions nested too deep at `{}`", n.id));
                }
                // A helper without parameters is translated in place.
                let saved = std::mem::take(&mut self.scope.local);
                self.depth += 1;
                let line = self.line;
                self.stmts(&f.body);
                self.line = line;
                self.depth -= 1;
                self.scope.local = saved;
                return Ok(Vec::new());
            }
        }
        Err(format!("a call of `{}`", self.src.segment(&*call.func)))
    }

    /// Translates `conn.execute(...)` and `conn.exec_driver_sql(...)`.
    fn conn_call(&mut self, method: &str, call: &ast::ExprCall) -> Ops {
        match method {
            "execute" | "exec_driver_sql" => {
                let mut args = Args::new(call, format!("connection.{method}"))?;
                let sql = args.get(0, "statement").ok_or("no SQL given")?;
                let text = self.sql_text(sql, method == "execute")?;
                args.finish(&[])?;
                Ok(vec![Operation::Sql(text)])
            }
            _ => Err(format!("the connection's `{method}()`")),
        }
    }

    /// Returns the SQL of `"..."`, `sa.text("...")` or `textwrap.dedent(...)`;
    /// `textual` unescapes `\:` as `text()` does.
    fn sql_text(&self, e: &Expr, textual: bool) -> Result<String, String> {
        if let Expr::Call(call) = e {
            let path = self.scope.path(&call.func);
            let short = path.as_deref().and_then(crate::python::sa_short);
            if let ([arg], true) = (call.args.as_slice(), call.keywords.is_empty()) {
                if matches!(
                    short.as_deref(),
                    Some("text" | "sql.text" | "sql.expression.text")
                ) {
                    return self.sql_text(arg, true);
                }
                if path.as_deref() == Some("textwrap.dedent") {
                    let inner = self.sql_text(arg, false)?;
                    let text = dedent(&inner);
                    return Ok(if textual { unescape_text(&text) } else { text });
                }
            }
            return Err(format!(
                "`{}` is a SQLAlchemy expression, not SQL text",
                self.src.segment(e)
            ));
        }
        match self.lit(e) {
            Ok(Value::Str(s)) => Ok(if textual { unescape_text(&s) } else { s }),
            Ok(Value::SqlText(s)) if textual => Ok(s),
            Ok(Value::SqlText(_)) => {
                Err("a text() construct where a plain string is needed".to_owned())
            }
            Ok(_) => Err("the SQL is not a string".to_owned()),
            Err(why) => Err(why),
        }
    }

    /// Translates `op.<name>(...)`, or `batch_op.<name>(...)` with `batch`
    /// holding the table.
    fn op_call(
        &mut self,
        name: &str,
        call: &ast::ExprCall,
        batch: Option<(String, Option<String>)>,
    ) -> Ops {
        let prefix = if batch.is_some() { "batch_op" } else { "op" };
        let mut args = Args::new(call, format!("{prefix}.{name}"))?;
        // With a batch, the table is implied and every argument moves one place left.
        let shift = usize::from(batch.is_none());
        let (table_of, schema_of) = match &batch {
            Some((t, s)) => (Some(t.clone()), s.clone()),
            None => (None, None),
        };
        let table =
            |args: &mut Args<'_>, this: &Self, i: usize, kw: &str| -> Result<String, String> {
                match &table_of {
                    Some(t) => Ok(t.clone()),
                    None => this.string(args.get(i, kw), "the table's name"),
                }
            };
        let schema = |args: &mut Args<'_>, this: &Self| -> Result<Option<String>, String> {
            match &batch {
                Some(_) => Ok(schema_of.clone()),
                None => this.opt_string(args.kw("schema")),
            }
        };
        let ops = match name {
            "create_table" if batch.is_none() => {
                let table = self.string(args.get(0, "table_name"), "the table's name")?;
                let schema = self.opt_string(args.kw("schema"))?;
                if let Some(comment) = args.kw("comment") {
                    let _ = comment;
                    self.note(format!("the comment of table `{table}` is not kept"));
                }
                let items = args.rest(1);
                let ops = self.create_table(&table, schema, items)?;
                let mut ignored = vec!["info", "keep_existing", "extend_existing"];
                ignored.extend(DIALECT_KW);
                for kw in args.finish(&ignored)? {
                    self.note(format!("`{kw}=` of table `{table}` is not kept"));
                }
                ops
            }
            "drop_table" if batch.is_none() => {
                let name = self.string(args.get(0, "table_name"), "the table's name")?;
                let schema = self.opt_string(args.kw("schema"))?;
                args.finish(&[])?;
                vec![Operation::DropTable { name, schema }]
            }
            "rename_table" if batch.is_none() => {
                let name = self.string(args.get(0, "old_table_name"), "the table's name")?;
                let new_name = self.string(args.get(1, "new_table_name"), "the new name")?;
                let schema = self.opt_string(args.kw("schema"))?;
                args.finish(&[])?;
                vec![Operation::RenameTable {
                    name,
                    new_name,
                    schema,
                }]
            }
            "add_column" => {
                let table = table(&mut args, self, 0, "table_name")?;
                let column = args.get(shift, "column").ok_or("no column given")?;
                let schema = schema(&mut args, self)?;
                let spec = self.column(column)?;
                for kw in args.finish(&["insert_before", "insert_after"])? {
                    self.note(format!(
                        "`{kw}=` (column order) of `{table}.{}` is not kept",
                        spec.column.name
                    ));
                }
                self.add_column(&table, schema, spec)
            }
            "drop_column" => {
                let table = table(&mut args, self, 0, "table_name")?;
                let name = self.string(args.get(shift, "column_name"), "the column's name")?;
                let schema = schema(&mut args, self)?;
                args.finish(&[
                    "mssql_drop_check",
                    "mssql_drop_default",
                    "mssql_drop_foreign_key",
                ])?;
                vec![Operation::DropColumn {
                    table,
                    name,
                    schema,
                }]
            }
            "alter_column" => {
                let table = table(&mut args, self, 0, "table_name")?;
                let column = self.string(args.get(shift, "column_name"), "the column's name")?;
                let schema = schema(&mut args, self)?;
                self.alter_column(&mut args, table, column, schema)?
            }
            "create_index" => {
                let name = self.opt_string(args.get(0, "index_name"))?.ok_or(
                    "an index without a name (the naming convention of env.py decides it)",
                )?;
                let table = table(&mut args, self, 1, "table_name")?;
                let columns_expr = args.get(1 + shift, "columns").ok_or("no columns given")?;
                let columns = self.index_columns(columns_expr)?;
                let unique = self.opt_bool(args.kw("unique"))?.unwrap_or(false);
                let schema = schema(&mut args, self)?;
                args.finish(&["info", "quote"])?;
                vec![Operation::CreateIndex {
                    name,
                    table,
                    columns,
                    unique,
                    schema,
                }]
            }
            "drop_index" => {
                let name = self
                    .opt_string(args.get(0, "index_name"))?
                    .ok_or("an index without a name")?;
                let table = match &batch {
                    Some((t, _)) => t.clone(),
                    None => self
                        .opt_string(args.get(1, "table_name"))?
                        .unwrap_or_default(),
                };
                let schema = schema(&mut args, self)?;
                args.finish(&[])?;
                if table.is_empty() {
                    let source = self.src.segment(call);
                    self.index_without_table
                        .push((self.ops.len(), self.line, source));
                }
                vec![Operation::DropIndex {
                    name,
                    table,
                    schema,
                }]
            }
            "create_foreign_key" => {
                let fk_name = self.opt_string(args.get(0, "constraint_name"))?;
                let source = table(&mut args, self, 1, "source_table")?;
                let referent = self.string(
                    args.get(1 + shift, "referent_table"),
                    "the referenced table",
                )?;
                let local = self.strings(args.get(2 + shift, "local_cols"), "the local columns")?;
                let remote =
                    self.strings(args.get(3 + shift, "remote_cols"), "the remote columns")?;
                let on_delete = self.on_delete(args.kw("ondelete"))?;
                self.no_fk_extras(&mut args)?;
                let schema = match &batch {
                    Some(_) => schema_of.clone(),
                    None => self.opt_string(args.kw("source_schema"))?,
                };
                let referent_schema = self.opt_string(args.kw("referent_schema"))?;
                if referent_schema.is_some() && referent_schema != schema {
                    return Err("a foreign key to a table of another schema".to_owned());
                }
                args.finish(&[])?;
                let name = fk_name.unwrap_or_else(|| names::choose(&source, &local, "fkey", &[]));
                vec![Operation::AddForeignKey {
                    table: source,
                    foreign_key: ForeignKey {
                        name,
                        columns: local,
                        ref_table: referent,
                        ref_columns: remote,
                        on_delete,
                    },
                    schema,
                }]
            }
            "create_unique_constraint" => {
                let uq_name = self.opt_string(args.get(0, "constraint_name"))?;
                let table = table(&mut args, self, 1, "table_name")?;
                let columns = self.strings(args.get(1 + shift, "columns"), "the columns")?;
                let schema = schema(&mut args, self)?;
                self.no_deferrable(&mut args)?;
                args.finish(&[])?;
                let name = uq_name.unwrap_or_else(|| names::choose(&table, &columns, "key", &[]));
                vec![Operation::AddUnique {
                    table,
                    unique: Unique { name, columns },
                    schema,
                }]
            }
            "create_check_constraint" => {
                let ck_name = self.opt_string(args.get(0, "constraint_name"))?;
                let table = table(&mut args, self, 1, "table_name")?;
                let condition = args
                    .get(1 + shift, "condition")
                    .ok_or("no condition given")?;
                let expr = self.sql_text(condition, false)?;
                let schema = schema(&mut args, self)?;
                self.no_deferrable(&mut args)?;
                args.finish(&[])?;
                let name = ck_name.unwrap_or_else(|| names::choose(&table, &[], "check", &[]));
                vec![Operation::AddCheck {
                    table,
                    check: Check { name, expr },
                    schema,
                }]
            }
            "drop_constraint" => {
                let name = self
                    .opt_string(args.get(0, "constraint_name"))?
                    .ok_or("a constraint without a name")?;
                let table = table(&mut args, self, 1, "table_name")?;
                let kind = self.opt_string(args.get(1 + shift, "type_"))?;
                let schema = schema(&mut args, self)?;
                args.finish(&[])?;
                if kind.as_deref() == Some("primary") {
                    return Err("dropping a primary key, which rev has no operation for".to_owned());
                }
                vec![Operation::DropConstraint {
                    table,
                    name,
                    schema,
                }]
            }
            "execute" => {
                let sql = args.get(0, "sqltext").ok_or("no SQL given")?;
                let text = self.sql_text(sql, true)?;
                args.finish(&[])?;
                vec![Operation::Sql(text)]
            }
            "bulk_insert" if batch.is_none() => {
                let table = args.get(0, "table").ok_or("no table given")?;
                let table = match table {
                    Expr::Call(c) => self.table_literal(c)?,
                    other => match self.lit(other) {
                        Ok(Value::Table(t)) => t,
                        _ => match other {
                            Expr::Name(n) => match self.scope.get(n.id.as_str()) {
                                Some(Value::Table(t)) => t.clone(),
                                _ => {
                                    return Err(format!(
                                        "`{}` is not a table made by sa.table(...) in this file",
                                        n.id
                                    ))
                                }
                            },
                            _ => return Err("the table is not made by sa.table(...)".to_owned()),
                        },
                    },
                };
                let rows = args.get(1, "rows").ok_or("no rows given")?;
                let rows = match self.lit(rows)? {
                    Value::Seq(rows) => rows,
                    _ => return Err("the rows are not a list".to_owned()),
                };
                let _ = args.kw("multiinsert");
                args.finish(&[])?;
                crate::insert::inserts(&table, &rows)?
            }
            "get_bind" | "f" if call.args.len() <= 1 => Vec::new(),
            other => {
                return Err(format!("`{prefix}.{other}()` has no rev operation"));
            }
        };
        Ok(ops)
    }

    /// Refuses `deferrable=` and `initially=`, which rev's constraints lack.
    fn no_deferrable(&self, args: &mut Args<'_>) -> Result<(), String> {
        for kw in ["deferrable", "initially"] {
            if let Some(e) = args.kw(kw) {
                match self.lit(e)? {
                    Value::None | Value::Bool(false) => {}
                    _ => return Err(format!("`{kw}=` (rev's constraints are not deferrable)")),
                }
            }
        }
        Ok(())
    }

    /// Refuses what rev's foreign keys lack: ON UPDATE, deferring, MATCH.
    fn no_fk_extras(&self, args: &mut Args<'_>) -> Result<(), String> {
        self.no_deferrable(args)?;
        if let Some(e) = args.kw("onupdate") {
            match self.lit(e)? {
                Value::None => {}
                Value::Str(s) if s.eq_ignore_ascii_case("NO ACTION") => {}
                _ => {
                    return Err(
                        "`onupdate=` (rev's foreign keys have no ON UPDATE action)".to_owned()
                    )
                }
            }
        }
        if let Some(e) = args.kw("match") {
            if self.lit(e)? != Value::None {
                return Err("`match=` of a foreign key".to_owned());
            }
        }
        Ok(())
    }

    fn on_delete(&self, e: Option<&Expr>) -> Result<Option<OnDelete>, String> {
        let Some(value) = self.opt_string(e)? else {
            return Ok(None);
        };
        Ok(Some(match value.to_ascii_uppercase().as_str() {
            "CASCADE" => OnDelete::Cascade,
            "SET NULL" => OnDelete::SetNull,
            "RESTRICT" => OnDelete::Restrict,
            "NO ACTION" => OnDelete::NoAction,
            other => return Err(format!("ON DELETE {other}, which rev has no action for")),
        }))
    }

    fn index_columns(&self, e: &Expr) -> Result<Vec<String>, String> {
        let items: Vec<&Expr> = match e {
            Expr::List(l) => l.elts.iter().collect(),
            Expr::Tuple(t) => t.elts.iter().collect(),
            other => vec![other],
        };
        items
            .into_iter()
            .map(|item| match self.lit(item) {
                Ok(Value::Str(s)) => Ok(s),
                Ok(Value::Seq(_)) => self.strings(Some(item), "the columns").and_then(|v| {
                    v.into_iter()
                        .next()
                        .ok_or_else(|| "an empty column list".to_owned())
                }),
                _ => Err(format!(
                    "an index on the expression `{}`",
                    self.src.segment(item)
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|cols| {
                if cols.is_empty() {
                    Err("an index without columns".to_owned())
                } else {
                    Ok(cols)
                }
            })
    }

    fn alter_column(
        &mut self,
        args: &mut Args<'_>,
        table: String,
        name: String,
        schema: Option<String>,
    ) -> Ops {
        let nullable = self.opt_bool(args.kw("nullable"))?;
        let ty = match args.kw("type_") {
            Some(e) => Some(self.column_type(e)?),
            None => None,
        };
        let (default, drop_default) = match args.kw("server_default") {
            None => (None, false),
            Some(e) => match self.lit(e) {
                Ok(Value::Bool(false)) => (None, false),
                Ok(Value::None) => (None, true),
                _ => match self.server_default(e)? {
                    Some(d) => (Some(d), false),
                    None => (None, true),
                },
            },
        };
        let new_name = self.opt_string(args.kw("new_column_name"))?;
        if let Some(e) = args.kw("comment") {
            if self.lit(e).ok() != Some(Value::Bool(false)) {
                self.note(format!("the comment of `{table}.{name}` is not kept"));
            }
        }
        if let Some(e) = args.kw("autoincrement") {
            if self.lit(e).ok() != Some(Value::None) {
                self.note(format!("`autoincrement=` of `{table}.{name}` is not kept"));
            }
        }
        for kw in [
            "existing_type",
            "existing_server_default",
            "existing_nullable",
            "existing_comment",
            "existing_autoincrement",
        ] {
            let _ = args.kw(kw);
        }
        if args.kw("postgresql_using").is_some() {
            return Err("`postgresql_using=`: the USING clause of a type change".to_owned());
        }
        let left = args.finish(&[
            "insert_before",
            "insert_after",
            "mssql_*",
            "mysql_*",
            "mariadb_*",
        ])?;
        for kw in left {
            self.note(format!("`{kw}=` of `{table}.{name}` is not kept"));
        }
        let mut ops = Vec::new();
        if ty.is_some() || nullable.is_some() || default.is_some() || drop_default {
            ops.push(Operation::AlterColumn {
                table: table.clone(),
                name: name.clone(),
                ty,
                nullable,
                default,
                drop_default,
                schema: schema.clone(),
            });
        }
        if let Some(new_name) = new_name {
            ops.push(Operation::RenameColumn {
                table,
                name,
                new_name,
                schema,
            });
        }
        Ok(ops)
    }

    fn add_column(&mut self, table: &str, schema: Option<String>, spec: ColSpec) -> Vec<Operation> {
        let mut column = spec.column;
        tidy_nullable(&mut column);
        let unique_index = spec.index && column.unique;
        if unique_index {
            column.unique = false;
        }
        if spec.autoincrement == Auto::Yes && is_integer(&column.ty) {
            column.identity = true;
        }
        let name = column.name.clone();
        let mut ops = vec![Operation::AddColumn {
            table: table.to_owned(),
            column,
            schema: schema.clone(),
        }];
        for fk in spec.fks {
            let name = fk
                .name
                .unwrap_or_else(|| names::choose(table, &fk.columns, "fkey", &[]));
            ops.push(Operation::AddForeignKey {
                table: table.to_owned(),
                foreign_key: ForeignKey {
                    name,
                    columns: fk.columns,
                    ref_table: fk.ref_table,
                    ref_columns: fk.ref_columns,
                    on_delete: fk.on_delete,
                },
                schema: schema.clone(),
            });
        }
        for (ck_name, expr) in spec.checks {
            let name = ck_name
                .unwrap_or_else(|| names::choose(table, std::slice::from_ref(&name), "check", &[]));
            ops.push(Operation::AddCheck {
                table: table.to_owned(),
                check: Check { name, expr },
                schema: schema.clone(),
            });
        }
        if spec.index {
            ops.push(Operation::CreateIndex {
                name: names::column_index(table, &name),
                table: table.to_owned(),
                columns: vec![name],
                unique: unique_index,
                schema,
            });
        }
        ops
    }

    fn create_table(&mut self, table: &str, schema: Option<String>, items: &[Expr]) -> Ops {
        let mut specs: Vec<ColSpec> = Vec::new();
        let mut pk: Vec<String> = Vec::new();
        let mut fks: Vec<FkSpec> = Vec::new();
        let mut uniques: Vec<(Option<String>, Vec<String>)> = Vec::new();
        let mut checks: Vec<(Option<String>, String)> = Vec::new();
        let mut table_indexes: Vec<(String, Vec<String>, bool)> = Vec::new();
        for item in items {
            let Expr::Call(call) = item else {
                return Err(format!("the table item `{}`", self.src.segment(item)));
            };
            let kind = self.scope.sa_name(&call.func).unwrap_or_default();
            match kind.as_str() {
                "Column" => specs.push(self.column(item)?),
                "PrimaryKeyConstraint" => {
                    let mut args = Args::new(call, "sa.PrimaryKeyConstraint")?;
                    for col in args.rest(0) {
                        pk.push(self.string(Some(col), "a primary key column")?);
                    }
                    if let Some(name) = self.opt_string(args.kw("name"))? {
                        self.note(format!(
                            "the primary key name `{name}` of table `{table}` is not kept (the server names it)"
                        ));
                    }
                    args.finish(&["info", "_implicit_generated"])?;
                }
                "ForeignKeyConstraint" => {
                    let mut args = Args::new(call, "sa.ForeignKeyConstraint")?;
                    let columns = self.strings(args.get(0, "columns"), "the columns")?;
                    let refs = self.strings(args.get(1, "refcolumns"), "the referenced columns")?;
                    let name = self.opt_string(args.kw("name"))?;
                    let on_delete = self.on_delete(args.kw("ondelete"))?;
                    self.no_fk_extras(&mut args)?;
                    if let Some(e) = args.kw("use_alter") {
                        let _ = e;
                    }
                    args.finish(&["info", "link_to_name"])?;
                    let (ref_table, ref_columns) = split_refs(&refs, schema.as_deref())?;
                    fks.push(FkSpec {
                        name,
                        columns,
                        ref_table,
                        ref_columns,
                        on_delete,
                    });
                }
                "UniqueConstraint" => {
                    let mut args = Args::new(call, "sa.UniqueConstraint")?;
                    let mut columns = Vec::new();
                    for col in args.rest(0) {
                        columns.push(self.string(Some(col), "a unique column")?);
                    }
                    let name = self.opt_string(args.kw("name"))?;
                    self.no_deferrable(&mut args)?;
                    args.finish(&["info"])?;
                    uniques.push((name, columns));
                }
                "CheckConstraint" => {
                    let mut args = Args::new(call, "sa.CheckConstraint")?;
                    let expr =
                        self.sql_text(args.get(0, "sqltext").ok_or("no condition")?, false)?;
                    let name = self.opt_string(args.kw("name"))?;
                    self.no_deferrable(&mut args)?;
                    args.finish(&["info"])?;
                    checks.push((name, expr));
                }
                "Index" => {
                    // `sa.Index("ix", "a", "b", unique=True)` among the table's items.
                    let mut args = Args::new(call, "sa.Index")?;
                    let name = self
                        .opt_string(args.get(0, "name"))?
                        .ok_or("an index without a name")?;
                    let mut columns = Vec::new();
                    for col in args.rest(1) {
                        columns.push(self.string(Some(col), "an index column").map_err(|_| {
                            format!("an index on the expression `{}`", self.src.segment(col))
                        })?);
                    }
                    let unique = self.opt_bool(args.kw("unique"))?.unwrap_or(false);
                    args.finish(&["info", "quote"])?;
                    table_indexes.push((name, columns, unique));
                }
                _ => {
                    return Err(format!(
                        "the table item `{}`",
                        self.src.segment(&*call.func)
                    ))
                }
            }
        }
        let names_of: Vec<String> = specs.iter().map(|s| s.column.name.clone()).collect();
        for col in &pk {
            if !names_of.contains(col) {
                return Err(format!(
                    "the primary key names `{col}`, which the table lacks"
                ));
            }
        }
        for spec in &mut specs {
            if pk.contains(&spec.column.name) {
                spec.column.primary_key = true;
            }
        }
        let pk_order: Vec<&String> = names_of.iter().filter(|n| pk.contains(n)).collect();
        if pk.len() > 1 && pk.iter().collect::<Vec<_>>() != pk_order {
            self.note(format!(
                "the primary key of `{table}` lists ({}) where rev keeps the table's column order",
                pk.join(", ")
            ));
        }
        let keys = specs.iter().filter(|s| s.column.primary_key).count();
        for spec in specs.iter_mut().filter(|s| s.column.primary_key) {
            let integer = is_integer(&spec.column.ty);
            let identity = match spec.autoincrement {
                Auto::Yes => integer,
                Auto::No => false,
                Auto::Decide => {
                    keys == 1 && integer && spec.fks.is_empty() && !spec.has_server_default
                }
            };
            spec.column.identity = identity;
        }

        let mut taken: Vec<String> = Vec::new();
        let mut foreign_keys = Vec::new();
        let mut all_fks: Vec<FkSpec> = specs.iter().flat_map(|s| s.fks.clone()).collect();
        all_fks.extend(fks);
        for fk in all_fks {
            let name = match fk.name {
                Some(name) => name,
                None => names::choose(table, &fk.columns, "fkey", &taken),
            };
            taken.push(name.clone());
            foreign_keys.push(ForeignKey {
                name,
                columns: fk.columns,
                ref_table: fk.ref_table,
                ref_columns: fk.ref_columns,
                on_delete: fk.on_delete,
            });
        }
        let mut unique_list = Vec::new();
        for (name, columns) in uniques {
            // An unnamed unique on one column is the column's UNIQUE: the same
            // DDL, and the name the server gives it is the same either way.
            if let (None, [only]) = (&name, columns.as_slice()) {
                if let Some(spec) = specs
                    .iter_mut()
                    .find(|s| &s.column.name == only && !s.index)
                {
                    spec.column.unique = true;
                    continue;
                }
            }
            let name = match name {
                Some(name) => name,
                None => names::choose(table, &columns, "key", &taken),
            };
            taken.push(name.clone());
            unique_list.push(Unique { name, columns });
        }
        let mut check_list = Vec::new();
        let column_checks: Vec<(Option<String>, String)> =
            specs.iter().flat_map(|s| s.checks.clone()).collect();
        for (name, expr) in column_checks.into_iter().chain(checks) {
            let name = match name {
                Some(name) => name,
                None => {
                    let mentioned: Vec<String> = names_of
                        .iter()
                        .filter(|c| rev_schema::expr_mentions(&expr, c))
                        .cloned()
                        .collect();
                    let cols = if mentioned.len() == 1 {
                        mentioned
                    } else {
                        Vec::new()
                    };
                    names::choose(table, &cols, "check", &taken)
                }
            };
            taken.push(name.clone());
            check_list.push(Check { name, expr });
        }
        let mut indexes = Vec::new();
        let mut columns = Vec::new();
        for spec in specs {
            let mut column = spec.column;
            tidy_nullable(&mut column);
            if spec.index {
                indexes.push(Operation::CreateIndex {
                    name: names::column_index(table, &column.name),
                    table: table.to_owned(),
                    columns: vec![column.name.clone()],
                    unique: column.unique,
                    schema: schema.clone(),
                });
                column.unique = false;
            }
            columns.push(column);
        }
        indexes.extend(table_indexes.into_iter().map(|(name, columns, unique)| {
            Operation::CreateIndex {
                name,
                table: table.to_owned(),
                columns,
                unique,
                schema: schema.clone(),
            }
        }));
        let mut ops = vec![Operation::CreateTable {
            name: table.to_owned(),
            columns,
            foreign_keys,
            uniques: unique_list,
            checks: check_list,
            schema,
        }];
        ops.extend(indexes);
        Ok(ops)
    }

    /// Reads `sa.Column(name, type, *args, **kw)`.
    fn column(&mut self, e: &Expr) -> Result<ColSpec, String> {
        let Expr::Call(call) = e else {
            return Err(format!("`{}` is not sa.Column(...)", self.src.segment(e)));
        };
        if self.scope.sa_name(&call.func).as_deref() != Some("Column") {
            return Err(format!(
                "`{}` is not sa.Column(...)",
                self.src.segment(&*call.func)
            ));
        }
        let mut args = Args::new(call, "sa.Column")?;
        let mut positional = args.rest(0).iter();
        let mut name = None;
        let mut ty = None;
        let mut fks = Vec::new();
        let mut checks = Vec::new();
        let mut identity = false;
        let mut rest: Vec<&Expr> = Vec::new();
        if let Some(first) = positional.clone().next() {
            if let Ok(Value::Str(s)) = self.lit(first) {
                name = Some(s);
                positional.next();
            }
        }
        for arg in positional {
            rest.push(arg);
        }
        if name.is_none() {
            name = self.opt_string(args.kw("name"))?;
        }
        let name = name.ok_or("a column without a name")?;
        for arg in rest {
            let kind = match arg {
                Expr::Call(c) => self.scope.sa_name(&c.func),
                other => self.scope.sa_name(other),
            };
            match (kind.as_deref(), arg) {
                (Some("ForeignKey"), Expr::Call(c)) => fks.push(self.foreign_key(c, &name)?),
                (Some("Identity"), Expr::Call(_)) => identity = true,
                (Some("CheckConstraint"), Expr::Call(c)) => {
                    let mut a = Args::new(c, "sa.CheckConstraint")?;
                    let expr = self.sql_text(a.get(0, "sqltext").ok_or("no condition")?, false)?;
                    let ck = self.opt_string(a.kw("name"))?;
                    a.finish(&["info"])?;
                    checks.push((ck, expr));
                }
                (Some("Sequence" | "Computed" | "FetchedValue" | "DefaultClause"), _) => {
                    return Err(format!("`{}` in a column", self.src.segment(arg)))
                }
                _ if ty.is_none() => ty = Some(self.column_type(arg)?),
                _ => return Err(format!("the column argument `{}`", self.src.segment(arg))),
            }
        }
        if ty.is_none() {
            if let Some(e) = args.kw("type_") {
                ty = Some(self.column_type(e)?);
            }
        }
        let ty = ty.ok_or_else(|| format!("the column `{name}` has no type"))?;
        let nullable = self.opt_bool(args.kw("nullable"))?;
        let primary_key = self.opt_bool(args.kw("primary_key"))?.unwrap_or(false);
        let unique = self.opt_bool(args.kw("unique"))?.unwrap_or(false);
        let index = self.opt_bool(args.kw("index"))?.unwrap_or(false);
        let autoincrement = match args.kw("autoincrement") {
            None => Auto::Decide,
            Some(e) => match self.lit(e)? {
                Value::Bool(true) => Auto::Yes,
                Value::Bool(false) => Auto::No,
                _ => Auto::Decide,
            },
        };
        let (default, has_server_default) = match args.kw("server_default") {
            None => (None, false),
            Some(e) => (self.server_default(e)?, true),
        };
        for (kw, what) in [
            ("default", "a Python-side default: no DDL"),
            ("onupdate", "a Python-side value: no DDL"),
            ("server_onupdate", "a marker for SQLAlchemy: no DDL"),
            ("comment", "rev keeps no comments"),
        ] {
            if let Some(e) = args.kw(kw) {
                if self.lit(e).ok() != Some(Value::None) {
                    self.note(format!("`{kw}=` of column `{name}` is not kept ({what})"));
                }
            }
        }
        args.finish(&[
            "info",
            "doc",
            "key",
            "quote",
            "system",
            "sort_order",
            "insert_default",
        ])?;
        Ok(ColSpec {
            column: Column {
                name,
                ty,
                nullable,
                primary_key,
                identity,
                unique,
                default,
            },
            fks,
            checks,
            index,
            autoincrement: if identity { Auto::Yes } else { autoincrement },
            has_server_default,
        })
    }

    /// Reads `sa.ForeignKey("table.column", ondelete=..., name=...)` of column `column`.
    fn foreign_key(&mut self, call: &ast::ExprCall, column: &str) -> Result<FkSpec, String> {
        let mut args = Args::new(call, "sa.ForeignKey")?;
        let target = self.string(args.get(0, "column"), "the referenced column")?;
        let name = self.opt_string(args.kw("name"))?;
        let on_delete = self.on_delete(args.kw("ondelete"))?;
        self.no_fk_extras(&mut args)?;
        let _ = args.kw("use_alter");
        args.finish(&["info", "link_to_name"])?;
        let (ref_table, ref_columns) = split_refs(std::slice::from_ref(&target), None)?;
        Ok(FkSpec {
            name,
            columns: vec![column.to_owned()],
            ref_table,
            ref_columns,
            on_delete,
        })
    }
}

/// Splits `["table.col", ...]` (or `schema.table.col`) into the table and its columns.
fn split_refs(refs: &[String], schema: Option<&str>) -> Result<(String, Vec<String>), String> {
    let mut table: Option<String> = None;
    let mut columns = Vec::new();
    for r in refs {
        let parts: Vec<&str> = r.split('.').collect();
        let (t, c) = match parts.as_slice() {
            [t, c] => (*t, *c),
            [s, t, c] if Some(*s) == schema => (*t, *c),
            [_, _, _] => return Err(format!("the foreign key target `{r}` is in another schema")),
            _ => {
                return Err(format!(
                    "the foreign key target `{r}` is not `table.column`"
                ))
            }
        };
        match &table {
            Some(seen) if seen != t => {
                return Err("a foreign key whose columns reference several tables".to_owned())
            }
            _ => table = Some(t.to_owned()),
        }
        columns.push(c.to_owned());
    }
    let table = table.ok_or("a foreign key without columns")?;
    Ok((table, columns))
}

/// Leaves `nullable` out where it says what rev's rule gives (NULL unless
/// primary key), as rev's own files do.
fn tidy_nullable(column: &mut Column) {
    if column.nullable == Some(!column.primary_key) {
        column.nullable = None;
    }
}

pub(crate) fn is_integer(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Integer | ColumnType::BigInt | ColumnType::SmallInt
    )
}

/// Python's `textwrap.dedent`: removes the leading whitespace all non-blank lines share.
fn dedent(text: &str) -> String {
    let margin = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .fold(None::<&str>, |acc, ws| match acc {
            None => Some(ws),
            Some(a) => {
                let common = a
                    .char_indices()
                    .zip(ws.chars())
                    .take_while(|((_, x), y)| x == y)
                    .last()
                    .map_or(0, |((i, c), _)| i + c.len_utf8());
                Some(&a[..common])
            }
        })
        .unwrap_or("");
    text.split('\n')
        .map(|l| {
            if l.trim().is_empty() {
                l.trim_start_matches([' ', '\t'])
            } else {
                l.strip_prefix(margin).unwrap_or(l)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Undoes `text()`'s escape of a colon that is not a bind parameter.
fn unescape_text(sql: &str) -> String {
    sql.replace("\\:", ":")
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn created_dates() {
        assert_eq!(
            created_date("2023-01-02 03:04:05.123456").as_deref(),
            Some("2023-01-02T03:04:05")
        );
        assert_eq!(
            created_date("2023-01-02 03:04:05.1+02:00").as_deref(),
            Some("2023-01-02T03:04:05+02:00")
        );
        assert_eq!(created_date("yesterday"), None);
    }

    #[test]
    fn dedents_like_python() {
        assert_eq!(dedent("\n    a\n      b\n    "), "\na\n  b\n");
    }
}
