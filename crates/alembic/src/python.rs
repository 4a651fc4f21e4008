//! What the translator needs of a Python file: its AST, positions, literal
//! values, and the names its imports bind.

use std::collections::HashMap;

use rustpython_parser::ast::{self, Constant, Expr, Ranged};
use rustpython_parser::Parse as _;

/// A parsed Python file and what it takes to point into it.
pub struct Source<'a> {
    /// The file's text.
    pub text: &'a str,
    /// The byte offset of each line's start.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    /// Wraps a file's text.
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, line_starts }
    }

    /// Parses the text as a module; the error names the line.
    pub fn parse(&self, name: &str) -> Result<ast::Suite, String> {
        ast::Suite::parse(self.text, name).map_err(|e| {
            let at = usize::try_from(u32::from(e.offset)).unwrap_or(0);
            format!("line {}: {}", self.line(at), e.error)
        })
    }

    /// Returns the 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Returns the 1-based line where a node starts.
    pub fn line_of(&self, node: &impl Ranged) -> usize {
        self.line(start(node))
    }

    /// Returns a node's source text, later lines without the indentation of
    /// the node's first line.
    pub fn segment(&self, node: &impl Ranged) -> String {
        let (from, to) = (start(node), end(node));
        let text = self.text.get(from..to).unwrap_or_default();
        let line_start = self
            .line_starts
            .get(self.line(from).saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let indent = self.text.get(line_start..from).unwrap_or_default();
        if !indent.chars().all(char::is_whitespace) || indent.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                out.push_str(line.strip_prefix(indent).unwrap_or(line));
            } else {
                out.push_str(line);
            }
        }
        out
    }
}

fn start(node: &impl Ranged) -> usize {
    usize::try_from(u32::from(node.range().start())).unwrap_or(0)
}

fn end(node: &impl Ranged) -> usize {
    usize::try_from(u32::from(node.range().end())).unwrap_or(0)
}

/// A value the translator can know without running the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A tuple, list or set, in order.
    Seq(Vec<Value>),
    /// A dict, in order.
    Dict(Vec<(Value, Value)>),
    /// A module or an object reached through an import, by its dotted path.
    Module(String),
    /// `sa.table("name", sa.column("a", sa.Integer), ..., schema=...)`.
    Table(TableLit),
    /// The connection `op.get_bind()` returns.
    Connection,
    /// A `sa.text("...")` construct bound to a name: its SQL, `\\:` already unescaped.
    SqlText(String),
    /// The `batch_op` of `with op.batch_alter_table("t") as batch_op:`.
    Batch {
        /// The table.
        table: String,
        /// Its schema.
        schema: Option<String>,
    },
}

/// A lightweight table of `sa.table(...)`, as `op.bulk_insert` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLit {
    /// The table's name.
    pub name: String,
    /// Its schema.
    pub schema: Option<String>,
    /// Its column names.
    pub columns: Vec<String>,
}

impl Value {
    /// Returns the value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The names a scope binds: module-level ones and a function's own.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Names bound in the module.
    pub module: HashMap<String, Value>,
    /// Names bound in the function being translated.
    pub local: HashMap<String, Value>,
    /// Whether the module does `from sqlalchemy import *`.
    pub star_sqlalchemy: bool,
}

impl Scope {
    /// Returns what a name is bound to.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.local.get(name).or_else(|| self.module.get(name))
    }

    /// Records the names an import statement binds.
    pub fn import(&mut self, stmt: &ast::Stmt, local: bool) {
        let target = if local {
            &mut self.local
        } else {
            &mut self.module
        };
        match stmt {
            ast::Stmt::Import(import) => {
                for alias in &import.names {
                    let full = alias.name.as_str();
                    match &alias.asname {
                        Some(asname) => {
                            target.insert(asname.to_string(), Value::Module(full.to_owned()));
                        }
                        None => {
                            // `import a.b` binds `a`.
                            let first = full.split('.').next().unwrap_or(full);
                            target.insert(first.to_owned(), Value::Module(first.to_owned()));
                        }
                    }
                }
            }
            ast::Stmt::ImportFrom(from) => {
                let module = from.module.as_ref().map_or("", |m| m.as_str());
                for alias in &from.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        if module == "sqlalchemy" {
                            self.star_sqlalchemy = true;
                        }
                        continue;
                    }
                    let bound = alias.asname.as_ref().map_or(name, |a| a.as_str());
                    let target = if local {
                        &mut self.local
                    } else {
                        &mut self.module
                    };
                    target.insert(bound.to_owned(), Value::Module(format!("{module}.{name}")));
                }
            }
            _ => {}
        }
    }

    /// Returns the dotted path an expression names through imports
    /// (`sa.Integer` → `sqlalchemy.Integer`), or None.
    pub fn path(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => match self.get(name.id.as_str()) {
                Some(Value::Module(path)) => Some(path.clone()),
                Some(_) => None,
                None if self.star_sqlalchemy => Some(format!("sqlalchemy.{}", name.id)),
                None => None,
            },
            Expr::Attribute(attr) => {
                let base = self.path(&attr.value)?;
                Some(format!("{base}.{}", attr.attr))
            }
            _ => None,
        }
    }

    /// Returns the SQLAlchemy name an expression stands for, without the
    /// module it was reached through: `Integer`, `func.now`, `postgresql.UUID`,
    /// `Column`; None when it is not SQLAlchemy's.
    pub fn sa_name(&self, expr: &Expr) -> Option<String> {
        sa_short(&self.path(expr)?)
    }
}

/// Returns a SQLAlchemy path without its package (`sqlalchemy.sql.sqltypes.Integer`
/// → `Integer`, `sqlalchemy.dialects.postgresql.base.UUID` → `postgresql.UUID`).
pub fn sa_short(path: &str) -> Option<String> {
    if let Some(rest) = path.strip_prefix("sqlalchemy.dialects.") {
        let parts: Vec<&str> = rest.split('.').collect();
        return Some(match parts.as_slice() {
            [dialect] => (*dialect).to_owned(),
            [dialect, .., name] => format!("{dialect}.{name}"),
            [] => return None,
        });
    }
    for prefix in [
        "sqlalchemy.sql.sqltypes.",
        "sqlalchemy.sql.schema.",
        "sqlalchemy.sql.expression.",
        "sqlalchemy.sql.elements.",
        "sqlalchemy.sql.functions.",
        "sqlalchemy.types.",
        "sqlalchemy.schema.",
        "sqlalchemy.sql.",
        "sqlalchemy.",
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return Some(rest.to_owned());
        }
    }
    None
}

/// Evaluates a literal expression: constants, tuples, lists, dicts, names
/// bound to literals, `op.f("name")`, string concatenation and f-strings of
/// literals. The error says what is not a literal.
pub fn literal(scope: &Scope, src: &Source<'_>, expr: &Expr) -> Result<Value, String> {
    let not_literal = || format!("`{}` is not a literal value", src.segment(expr));
    Ok(match expr {
        Expr::Constant(c) => constant(&c.value).ok_or_else(not_literal)?,
        Expr::Name(name) => match scope.get(name.id.as_str()) {
            Some(Value::Module(_)) | None => {
                return Err(format!("`{}` is not a value known from this file", name.id))
            }
            Some(v) => v.clone(),
        },
        Expr::Tuple(t) => Value::Seq(
            t.elts
                .iter()
                .map(|e| literal(scope, src, e))
                .collect::<Result<_, _>>()?,
        ),
        Expr::List(l) => Value::Seq(
            l.elts
                .iter()
                .map(|e| literal(scope, src, e))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Set(s) => Value::Seq(
            s.elts
                .iter()
                .map(|e| literal(scope, src, e))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Dict(d) => {
            let mut pairs = Vec::with_capacity(d.values.len());
            for (key, value) in d.keys.iter().zip(&d.values) {
                let Some(key) = key else {
                    return Err(not_literal());
                };
                pairs.push((literal(scope, src, key)?, literal(scope, src, value)?));
            }
            Value::Dict(pairs)
        }
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => {
            match literal(scope, src, &u.operand)? {
                Value::Int(n) => Value::Int(-n),
                Value::Float(x) => Value::Float(-x),
                _ => return Err(not_literal()),
            }
        }
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
            match (
                literal(scope, src, &b.left)?,
                literal(scope, src, &b.right)?,
            ) {
                (Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
                (Value::Seq(mut a), Value::Seq(b)) => {
                    a.extend(b);
                    Value::Seq(a)
                }
                (Value::Int(a), Value::Int(b)) => {
                    Value::Int(a.checked_add(b).ok_or_else(not_literal)?)
                }
                _ => return Err(not_literal()),
            }
        }
        Expr::JoinedStr(j) => {
            let mut out = String::new();
            for part in &j.values {
                match part {
                    Expr::Constant(c) => match &c.value {
                        Constant::Str(s) => out.push_str(s),
                        _ => return Err(not_literal()),
                    },
                    Expr::FormattedValue(f) if f.format_spec.is_none() => {
                        match literal(scope, src, &f.value)? {
                            Value::Str(s) => out.push_str(&s),
                            Value::Int(n) => out.push_str(&n.to_string()),
                            _ => return Err(not_literal()),
                        }
                    }
                    _ => return Err(not_literal()),
                }
            }
            Value::Str(out)
        }
        Expr::Call(call) if call.keywords.is_empty() => {
            let [arg] = call.args.as_slice() else {
                return Err(not_literal());
            };
            // `op.f("ix_name")` (or `batch_op.f`) marks a name as final; its
            // value is the name.
            let batch_f = match &*call.func {
                Expr::Attribute(a) if a.attr.as_str() == "f" => match &*a.value {
                    Expr::Name(n) => matches!(scope.get(n.id.as_str()), Some(Value::Batch { .. })),
                    _ => false,
                },
                _ => false,
            };
            if batch_f || scope.path(&call.func).as_deref() == Some("alembic.op.f") {
                literal(scope, src, arg)?
            } else {
                return Err(not_literal());
            }
        }
        _ => return Err(not_literal()),
    })
}

fn constant(c: &Constant) -> Option<Value> {
    Some(match c {
        Constant::None => Value::None,
        Constant::Bool(b) => Value::Bool(*b),
        Constant::Str(s) => Value::Str(s.clone()),
        Constant::Int(n) => Value::Int(i64::try_from(n).ok()?),
        Constant::Float(x) => Value::Float(*x),
        Constant::Tuple(items) => Value::Seq(items.iter().map(constant).collect::<Option<_>>()?),
        Constant::Bytes(_) | Constant::Complex { .. } | Constant::Ellipsis => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sqlalchemy_names() {
        let short = |p: &str| sa_short(p);
        assert_eq!(short("sqlalchemy.Integer").as_deref(), Some("Integer"));
        assert_eq!(
            short("sqlalchemy.sql.sqltypes.Integer").as_deref(),
            Some("Integer")
        );
        assert_eq!(short("sqlalchemy.func.now").as_deref(), Some("func.now"));
        assert_eq!(short("sqlalchemy.sql.table").as_deref(), Some("table"));
        assert_eq!(
            short("sqlalchemy.dialects.postgresql.json.JSONB").as_deref(),
            Some("postgresql.JSONB")
        );
        assert_eq!(
            short("sqlalchemy.dialects.postgresql").as_deref(),
            Some("postgresql")
        );
        assert_eq!(short("myapp.types.GUID"), None);
    }

    #[test]
    fn lines_and_segments() {
        let text = "def upgrade():\n    op.execute(\n        \"x\"\n    )\n";
        let src = Source::new(text);
        let suite = src.parse("t.py").unwrap();
        let ast::Stmt::FunctionDef(f) = &suite[0] else {
            panic!()
        };
        assert_eq!(src.line_of(&f.body[0]), 2);
        assert_eq!(src.segment(&f.body[0]), "op.execute(\n    \"x\"\n)");
    }
}
