//! What open branches do to each other (DESIGN.md §3b): for the branches a
//! merge would join, the schema objects each one creates, alters, renames or
//! drops, and the pairs of changes that clash.
//!
//! Each branch's operations are folded from the merge base (the revisions
//! every tip descends from) in upgrade order. The fold tracks names, not whole
//! tables: a rename on a branch maps the names its later revisions use back to
//! the names of the merge base, so both branches speak of one object by one
//! name. Two changes clash only when they were written apart: some tip has
//! one without the other, and another tip the other without the one.
//!
//! Cost: one pass over the graph to learn which tips reach each revision
//! (`⌈tips/64⌉` words per revision), one pass over the operations of the
//! revisions outside the merge base, and per object a comparison of at most
//! one change of each kind per group of tips.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use rev_graph::{Graph, NodeIndex};
use rev_project::{Acknowledged, Project};
use rev_schema::{Operation, TableName};

use crate::autogen::summary;
use crate::check::Severity;

/// A schema object two branches may both touch, named as the merge base names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Object {
    /// A table.
    Table(TableName),
    /// A column of a table.
    Column(TableName, String),
    /// An index: its schema and name (index names are unique per schema on
    /// PostgreSQL, so two tables' indexes of one name clash too).
    Index(Option<String>, String),
    /// A foreign key, unique or check constraint: its schema and name.
    Constraint(Option<String>, String),
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let qualified =
            |f: &mut fmt::Formatter<'_>, schema: &Option<String>, name: &str| match schema {
                Some(s) => write!(f, "{s}.{name}"),
                None => f.write_str(name),
            };
        match self {
            Object::Table(t) => write!(f, "table {t}"),
            Object::Column(t, c) => write!(f, "column {t}.{c}"),
            Object::Index(s, n) => {
                f.write_str("index ")?;
                qualified(f, s, n)
            }
            Object::Constraint(s, n) => {
                f.write_str("constraint ")?;
                qualified(f, s, n)
            }
        }
    }
}

/// How two branches' changes to one object clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConflictKind {
    /// Both branches alter, rename or drop the object.
    BothChange,
    /// One branch drops the object; the other alters, indexes or references it.
    DroppedButUsed,
    /// One branch renames the object; the other alters, indexes or references it
    /// under its old name.
    RenamedButUsed,
    /// Both branches create an object of this name.
    BothCreate {
        /// Whether the two definitions are the same.
        identical: bool,
    },
    /// Both branches add this column.
    BothAddColumn {
        /// Whether the two definitions are the same.
        identical: bool,
    },
    /// One branch runs raw SQL that names a table the other branch changes;
    /// rev cannot read SQL, so this is a warning.
    RawSql,
}

impl ConflictKind {
    /// Returns the kind's stable name for scripts and for `acknowledged`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::BothChange => "both_change",
            ConflictKind::DroppedButUsed => "dropped_but_used",
            ConflictKind::RenamedButUsed => "renamed_but_used",
            ConflictKind::BothCreate { .. } => "both_create",
            ConflictKind::BothAddColumn { .. } => "both_add_column",
            ConflictKind::RawSql => "raw_sql",
        }
    }

    /// Returns how bad it is: raw SQL is a warning, everything else an error.
    pub fn severity(self) -> Severity {
        match self {
            ConflictKind::RawSql => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One side of a conflict: the revision, its file, and the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// The revision's id.
    pub revision: String,
    /// Its migration file.
    pub path: PathBuf,
    /// The operation, summarised (`~ column users.name renamed to full_name`).
    pub op: String,
}

/// Two branches' changes that clash on one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The object, named as the merge base names it.
    pub object: Object,
    /// How the changes clash.
    pub kind: ConflictKind,
    /// The change on one branch.
    pub left: Side,
    /// The change on the other.
    pub right: Side,
}

impl Conflict {
    /// Returns how bad the conflict is.
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// Returns the sentence that says what clashes.
    pub fn describe(&self) -> String {
        let object = &self.object;
        match self.kind {
            ConflictKind::BothChange => format!("both branches change {object}"),
            ConflictKind::DroppedButUsed => {
                format!("{object} is dropped on one branch and used on the other")
            }
            ConflictKind::RenamedButUsed => {
                format!("{object} is renamed on one branch and used by its old name on the other")
            }
            ConflictKind::BothCreate { identical } => format!(
                "both branches create {object} ({})",
                if identical {
                    "identical definitions: the second one fails all the same"
                } else {
                    "different definitions"
                }
            ),
            ConflictKind::BothAddColumn { identical } => format!(
                "both branches add {object} ({})",
                if identical {
                    "identical definitions: the second one fails all the same"
                } else {
                    "different definitions"
                }
            ),
            ConflictKind::RawSql => format!(
                "raw SQL on one branch names {}, which the other branch changes; rev cannot read SQL, check it by hand",
                match object {
                    Object::Table(t) => format!("table {t}"),
                    other => other.to_string(),
                }
            ),
        }
    }

    /// Returns the record of this conflict that a merge keeps once its author
    /// accepts it.
    pub fn acknowledgement(&self) -> Acknowledged {
        Acknowledged {
            object: self.object.to_string(),
            kind: self.kind.as_str().to_owned(),
            left: self.left.revision.clone(),
            right: self.right.revision.clone(),
        }
    }

    /// Returns whether `ack` records this conflict (either way round).
    pub fn is_acknowledged_by(&self, ack: &Acknowledged) -> bool {
        ack.object == self.object.to_string()
            && ack.kind == self.kind.as_str()
            && ((ack.left == self.left.revision && ack.right == self.right.revision)
                || (ack.left == self.right.revision && ack.right == self.left.revision))
    }
}

/// Returns every conflict that any revision of the project acknowledges, keyed
/// for quick lookup.
fn acknowledged_set(project: &Project) -> HashSet<(String, String, String, String)> {
    let mut set = HashSet::new();
    for file in &project.files {
        for ack in &file.migration.acknowledged {
            let (a, b) = if ack.left <= ack.right {
                (ack.left.clone(), ack.right.clone())
            } else {
                (ack.right.clone(), ack.left.clone())
            };
            set.insert((ack.object.clone(), ack.kind.clone(), a, b));
        }
    }
    set
}

/// Drops the conflicts that some revision of the project already acknowledges.
pub fn without_acknowledged(project: &Project, conflicts: Vec<Conflict>) -> Vec<Conflict> {
    let set = acknowledged_set(project);
    if set.is_empty() {
        return conflicts;
    }
    conflicts
        .into_iter()
        .filter(|c| {
            let (a, b) = if c.left.revision <= c.right.revision {
                (c.left.revision.clone(), c.right.revision.clone())
            } else {
                (c.right.revision.clone(), c.left.revision.clone())
            };
            !set.contains(&(c.object.to_string(), c.kind.as_str().to_owned(), a, b))
        })
        .collect()
}

/// What a change does to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Creates it; the text is its definition, to tell identical ones apart.
    Create(String),
    /// Adds the column; the text is its definition.
    AddColumn(String),
    /// Alters the column.
    Alter,
    /// Renames it.
    Rename,
    /// Drops it.
    Drop,
    /// Needs it to exist under this name (alters something in it, indexes it,
    /// references it by a foreign key).
    Use,
    /// Raw SQL that names the table.
    RawSql,
}

impl Action {
    /// Returns a small number per kind of action, to keep one change of each
    /// kind per group of tips.
    fn class(&self) -> u8 {
        match self {
            Action::Create(_) => 0,
            Action::AddColumn(_) => 1,
            Action::Alter => 2,
            Action::Rename => 3,
            Action::Drop => 4,
            Action::Use => 5,
            Action::RawSql => 6,
        }
    }

    fn is_change(&self) -> bool {
        matches!(self, Action::Alter | Action::Rename | Action::Drop)
    }
}

/// One change of one revision to one object.
#[derive(Debug, Clone)]
struct Touch {
    node: NodeIndex,
    /// The operation's position in the revision's upgrade.
    op: usize,
    action: Action,
}

/// Which tips reach a revision, one bit per tip.
type Mask = Vec<u64>;

fn subset(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x & !y == 0)
}

/// Returns the revisions in upgrade order (parents first): Kahn's algorithm
/// over parent edges, ties by id.
fn topological(graph: &Graph) -> Vec<NodeIndex> {
    let mut waiting: Vec<usize> = graph.nodes().map(|n| graph.parents(n).len()).collect();
    let mut ready: Vec<NodeIndex> = graph.bases();
    ready.reverse();
    let mut order = Vec::with_capacity(graph.len());
    while let Some(node) = ready.pop() {
        order.push(node);
        for &child in graph.children(node).iter().rev() {
            if let Some(w) = waiting.get_mut(child.index()) {
                *w -= 1;
                if *w == 0 {
                    ready.push(child);
                }
            }
        }
    }
    order
}

/// Returns, for every revision, the set of `tips` that have it as an ancestor or are it.
fn reach_masks(graph: &Graph, order: &[NodeIndex], tips: &[NodeIndex]) -> Vec<Mask> {
    let words = tips.len().div_ceil(64).max(1);
    let mut masks: Vec<Mask> = vec![vec![0; words]; graph.len()];
    for (i, tip) in tips.iter().enumerate() {
        if let Some(word) = masks.get_mut(tip.index()).and_then(|m| m.get_mut(i / 64)) {
            *word |= 1 << (i % 64);
        }
    }
    // Children before parents: a tip that reaches a child reaches its parents.
    for &node in order.iter().rev() {
        let Some(mine) = masks.get(node.index()).cloned() else {
            continue;
        };
        if mine.iter().all(|w| *w == 0) {
            continue;
        }
        for &parent in graph.parents(node) {
            if let Some(theirs) = masks.get_mut(parent.index()) {
                for (t, m) in theirs.iter_mut().zip(&mine) {
                    *t |= m;
                }
            }
        }
    }
    masks
}

/// A rename seen on some branch, to map later names back to the merge base's.
struct Rename {
    mask: Mask,
    /// For a column rename, the table's merge-base name; None for a table rename.
    table: Option<TableName>,
    schema: Option<String>,
    from: String,
    to: String,
}

/// Where to find the renames that produced a name: (the table's merge-base
/// name for a column rename, the schema for a table rename, the new name).
type RenameKey = (Option<TableName>, Option<String>, String);

/// The names the merge base uses, for one revision's operations.
struct Names<'a> {
    renames: &'a [Rename],
    by_new_name: &'a HashMap<RenameKey, Vec<usize>>,
    mask: &'a [u64],
}

impl Names<'_> {
    /// Undoes the renames on the revision's own lineage (tips ⊇ its tips),
    /// newest first, following each name back through the index: a lookup
    /// costs the length of the name's rename chain, not the number of renames.
    fn undo(&self, table: Option<&TableName>, schema: Option<&str>, name: &str) -> String {
        let mut name = name.to_owned();
        let mut before = usize::MAX;
        loop {
            let key = (table.cloned(), schema.map(str::to_owned), name.clone());
            let Some(list) = self.by_new_name.get(&key) else {
                break;
            };
            let found = list.iter().rev().copied().find(|&i| {
                i < before
                    && self
                        .renames
                        .get(i)
                        .is_some_and(|r| subset(self.mask, &r.mask))
            });
            let Some(rename) = found.and_then(|i| self.renames.get(i).map(|r| (i, r))) else {
                break;
            };
            name.clone_from(&rename.1.from);
            before = rename.0;
        }
        name
    }

    /// Returns the merge-base name of a table a revision calls `name`.
    fn table(&self, schema: Option<&str>, name: &str) -> TableName {
        TableName::new(schema, &self.undo(None, schema, name))
    }

    /// Returns the merge-base name of a column of a table (by its merge-base name).
    fn column(&self, table: &TableName, name: &str) -> String {
        self.undo(Some(table), None, name)
    }
}

/// Collects the touches of the revisions outside the merge base.
struct Collector {
    touches: HashMap<Object, Vec<Touch>>,
    renames: Vec<Rename>,
    by_new_name: HashMap<RenameKey, Vec<usize>>,
    sql: Vec<(NodeIndex, usize, String)>,
}

impl Collector {
    fn touch(&mut self, object: Object, node: NodeIndex, op: usize, action: Action) {
        self.touches
            .entry(object)
            .or_default()
            .push(Touch { node, op, action });
    }

    fn operation(&mut self, node: NodeIndex, index: usize, op: &Operation, mask: &[u64]) {
        let names = Names {
            renames: &self.renames,
            by_new_name: &self.by_new_name,
            mask,
        };
        let mut found: Vec<(Object, Action)> = Vec::new();
        let mut rename: Option<Rename> = None;
        let table_of = |schema: &Option<String>, name: &str| names.table(schema.as_deref(), name);
        match op {
            Operation::CreateTable {
                name,
                columns,
                foreign_keys,
                uniques,
                checks,
                schema,
            } => {
                let t = table_of(schema, name);
                found.push((
                    Object::Table(t),
                    Action::Create(format!(
                        "{columns:?} {foreign_keys:?} {uniques:?} {checks:?}"
                    )),
                ));
                for fk in foreign_keys {
                    found.push((
                        Object::Constraint(schema.clone(), fk.name.clone()),
                        Action::Create(format!("{name} {fk:?}")),
                    ));
                    let target = table_of(schema, &fk.ref_table);
                    for col in &fk.ref_columns {
                        found.push((
                            Object::Column(target.clone(), names.column(&target, col)),
                            Action::Use,
                        ));
                    }
                    found.push((Object::Table(target), Action::Use));
                }
                for u in uniques {
                    found.push((
                        Object::Constraint(schema.clone(), u.name.clone()),
                        Action::Create(format!("{name} {u:?}")),
                    ));
                }
                for c in checks {
                    found.push((
                        Object::Constraint(schema.clone(), c.name.clone()),
                        Action::Create(format!("{name} {c:?}")),
                    ));
                }
            }
            Operation::DropTable { name, schema } => {
                found.push((Object::Table(table_of(schema, name)), Action::Drop));
            }
            Operation::RenameTable {
                name,
                new_name,
                schema,
            } => {
                let t = table_of(schema, name);
                rename = Some(Rename {
                    mask: mask.to_vec(),
                    table: None,
                    schema: schema.clone(),
                    from: t.name.clone(),
                    to: new_name.clone(),
                });
                found.push((Object::Table(t), Action::Rename));
                found.push((
                    Object::Table(TableName::new(schema.as_deref(), new_name)),
                    Action::Create(format!("renamed from {name}")),
                ));
            }
            Operation::AddColumn {
                table,
                column,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((
                    Object::Column(t.clone(), column.name.clone()),
                    Action::AddColumn(format!("{column:?}")),
                ));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::DropColumn {
                table,
                name,
                schema,
            }
            | Operation::AlterColumn {
                table,
                name,
                schema,
                ..
            } => {
                let t = table_of(schema, table);
                let c = names.column(&t, name);
                let action = if matches!(op, Operation::DropColumn { .. }) {
                    Action::Drop
                } else {
                    Action::Alter
                };
                found.push((Object::Column(t.clone(), c), action));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::RenameColumn {
                table,
                name,
                new_name,
                schema,
            } => {
                let t = table_of(schema, table);
                let c = names.column(&t, name);
                rename = Some(Rename {
                    mask: mask.to_vec(),
                    table: Some(t.clone()),
                    schema: schema.clone(),
                    from: c.clone(),
                    to: new_name.clone(),
                });
                found.push((Object::Column(t.clone(), c), Action::Rename));
                found.push((
                    Object::Column(t.clone(), new_name.clone()),
                    Action::AddColumn(format!("renamed from {name}")),
                ));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::CreateIndex {
                name,
                table,
                columns,
                unique,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((
                    Object::Index(schema.clone(), name.clone()),
                    Action::Create(format!("{t} {columns:?} {unique}")),
                ));
                for col in columns {
                    found.push((
                        Object::Column(t.clone(), names.column(&t, col)),
                        Action::Use,
                    ));
                }
                found.push((Object::Table(t), Action::Use));
            }
            Operation::DropIndex {
                name,
                table,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((Object::Index(schema.clone(), name.clone()), Action::Drop));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::AddForeignKey {
                table,
                foreign_key: fk,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((
                    Object::Constraint(schema.clone(), fk.name.clone()),
                    Action::Create(format!("{t} {fk:?}")),
                ));
                for col in &fk.columns {
                    found.push((
                        Object::Column(t.clone(), names.column(&t, col)),
                        Action::Use,
                    ));
                }
                let target = table_of(schema, &fk.ref_table);
                for col in &fk.ref_columns {
                    found.push((
                        Object::Column(target.clone(), names.column(&target, col)),
                        Action::Use,
                    ));
                }
                found.push((Object::Table(target), Action::Use));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::AddUnique {
                table,
                unique,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((
                    Object::Constraint(schema.clone(), unique.name.clone()),
                    Action::Create(format!("{t} {unique:?}")),
                ));
                for col in &unique.columns {
                    found.push((
                        Object::Column(t.clone(), names.column(&t, col)),
                        Action::Use,
                    ));
                }
                found.push((Object::Table(t), Action::Use));
            }
            Operation::AddCheck {
                table,
                check,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((
                    Object::Constraint(schema.clone(), check.name.clone()),
                    Action::Create(format!("{t} {check:?}")),
                ));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::DropConstraint {
                table,
                name,
                schema,
            } => {
                let t = table_of(schema, table);
                found.push((
                    Object::Constraint(schema.clone(), name.clone()),
                    Action::Drop,
                ));
                found.push((Object::Table(t), Action::Use));
            }
            Operation::Sql(text) => self.sql.push((node, index, text.clone())),
            Operation::SqlFor(per) => {
                let texts = [&per.mssql, &per.postgres, &per.sqlite, &per.mysql];
                let all: Vec<&str> = texts.iter().filter_map(|t| t.as_deref()).collect();
                self.sql.push((node, index, all.join("\n")));
            }
            // Unknown until replaced by hand; `rev check` reports it on its own.
            Operation::Untranslated { source, .. } => self.sql.push((node, index, source.clone())),
        }
        for (object, action) in found {
            self.touch(object, node, index, action);
        }
        if let Some(rename) = rename {
            let schema = if rename.table.is_some() {
                None
            } else {
                rename.schema.clone()
            };
            let key = (rename.table.clone(), schema, rename.to.clone());
            self.by_new_name
                .entry(key)
                .or_default()
                .push(self.renames.len());
            self.renames.push(rename);
        }
    }
}

/// Returns the words of SQL text that could name a table, lower-cased: runs of
/// letters, digits and `_`. Matching a table's name against them is a
/// case-insensitive, word-boundary search; SQL that builds names at run time,
/// or quotes them with spaces inside, is not seen.
fn sql_words(text: &str) -> HashSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Returns the conflicts between the branches that lead to `tips` from their
/// merge base: the revisions every tip descends from (or is). Tips that
/// descend from one another are the caller's to refuse; here they simply
/// share more. Fewer than two tips have no conflicts.
pub fn conflicts(project: &Project, tips: &[NodeIndex]) -> Vec<Conflict> {
    let graph = &project.graph;
    if tips.len() < 2 {
        return Vec::new();
    }
    let order = topological(graph);
    let masks = reach_masks(graph, &order, tips);
    let words = tips.len().div_ceil(64).max(1);
    let full: Mask = (0..words)
        .map(|w| {
            let bits = tips.len().saturating_sub(w * 64).min(64);
            if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            }
        })
        .collect();
    let outside = |node: NodeIndex| {
        masks
            .get(node.index())
            .filter(|m| m.iter().any(|w| *w != 0) && **m != full)
    };
    let mut collector = Collector {
        touches: HashMap::new(),
        renames: Vec::new(),
        by_new_name: HashMap::new(),
        sql: Vec::new(),
    };
    for &node in &order {
        let Some(mask) = outside(node) else {
            continue;
        };
        let Some(file) = project.file(node) else {
            continue;
        };
        for (index, op) in file.migration.upgrade.iter().enumerate() {
            collector.operation(node, index, op, mask);
        }
    }
    // Raw SQL names tables by words; a table someone touches is one to look for.
    if !collector.sql.is_empty() {
        let mut by_word: HashMap<String, Vec<Object>> = HashMap::new();
        for object in collector.touches.keys() {
            if let Object::Table(t) = object {
                by_word
                    .entry(t.name.to_lowercase())
                    .or_default()
                    .push(object.clone());
            }
        }
        let sql = std::mem::take(&mut collector.sql);
        for (node, index, text) in sql {
            for word in sql_words(&text) {
                for object in by_word.get(&word).into_iter().flatten() {
                    collector.touch(object.clone(), node, index, Action::RawSql);
                }
            }
        }
    }
    let side = |touch: &Touch| -> Side {
        let file = project.file(touch.node);
        Side {
            revision: graph.id(touch.node).to_owned(),
            path: file.map(|f| f.path.clone()).unwrap_or_default(),
            op: file
                .and_then(|f| f.migration.upgrade.get(touch.op))
                .map(|op| match op {
                    Operation::Sql(text) => {
                        let line = text.lines().next().unwrap_or("").trim();
                        let short: String = line.chars().take(60).collect();
                        if short.len() < line.len() {
                            format!("raw SQL: {short}…")
                        } else {
                            format!("raw SQL: {short}")
                        }
                    }
                    other => summary(other),
                })
                .unwrap_or_default(),
        }
    };
    let lowest_bit = |mask: &[u64]| -> usize {
        mask.iter()
            .enumerate()
            .find(|(_, w)| **w != 0)
            .map_or(usize::MAX, |(i, w)| i * 64 + w.trailing_zeros() as usize)
    };
    let mut found: Vec<Conflict> = Vec::new();
    let mut objects: Vec<(&Object, &Vec<Touch>)> = collector.touches.iter().collect();
    objects.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (object, touches) in objects {
        // One change of each kind per group of tips is enough to report the clash.
        let mut kept: Vec<(&Touch, &Mask)> = Vec::new();
        let mut seen: HashSet<(&Mask, u8)> = HashSet::new();
        for touch in touches {
            let Some(mask) = masks.get(touch.node.index()) else {
                continue;
            };
            if seen.insert((mask, touch.action.class())) {
                kept.push((touch, mask));
            }
        }
        if kept.len() < 2 {
            continue;
        }
        for (i, (a, ma)) in kept.iter().enumerate() {
            for (b, mb) in kept.iter().skip(i + 1) {
                // Changes written apart: neither side's tips include the other's.
                if subset(ma, mb) || subset(mb, ma) {
                    continue;
                }
                let Some(kind) = clash(object, &a.action, &b.action) else {
                    continue;
                };
                let (left, right) = if lowest_bit(ma) <= lowest_bit(mb) {
                    (a, b)
                } else {
                    (b, a)
                };
                found.push(Conflict {
                    object: object.clone(),
                    kind,
                    left: side(left),
                    right: side(right),
                });
            }
        }
    }
    found.sort_by(|a, b| {
        (
            a.severity() != Severity::Error,
            &a.object,
            a.kind,
            &a.left.revision,
            &a.right.revision,
        )
            .cmp(&(
                b.severity() != Severity::Error,
                &b.object,
                b.kind,
                &b.left.revision,
                &b.right.revision,
            ))
    });
    found.dedup_by(|a, b| {
        a.object == b.object
            && a.kind == b.kind
            && a.left.revision == b.left.revision
            && a.right.revision == b.right.revision
    });
    found
}

/// Returns how two changes to one object, written apart, clash, if they do.
fn clash(object: &Object, a: &Action, b: &Action) -> Option<ConflictKind> {
    use Action::*;
    let dropped_or_renamed = |x: &Action| match x {
        Drop => Some(ConflictKind::DroppedButUsed),
        Rename => Some(ConflictKind::RenamedButUsed),
        _ => None,
    };
    match (a, b) {
        (Create(x), Create(y)) => Some(ConflictKind::BothCreate { identical: x == y }),
        (AddColumn(x), AddColumn(y)) => Some(ConflictKind::BothAddColumn { identical: x == y }),
        (RawSql, RawSql) => None,
        (RawSql, _) | (_, RawSql) => {
            matches!(object, Object::Table(_)).then_some(ConflictKind::RawSql)
        }
        (x, y) if x.is_change() && y.is_change() => Some(ConflictKind::BothChange),
        (x, Use) | (Use, x) => dropped_or_renamed(x),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rev_project::Config;

    fn project(files: &[(&str, &str)]) -> Project {
        Project::from_embedded(Config::default(), files).unwrap()
    }

    fn rev(id: &str, parents: &[&str], ops: &str) -> (String, String) {
        let parents: Vec<String> = parents.iter().map(|p| format!("{p:?}")).collect();
        (
            format!("{id}.ron"),
            format!(
                "Migration(id: {id:?}, parents: [{}], upgrade: [{ops}])",
                parents.join(", ")
            ),
        )
    }

    const USERS: &str = r#"CreateTable(name: "users", columns: [
        Column(name: "id", type: Integer, primary_key: true),
        Column(name: "name", type: String(50)),
        Column(name: "email", type: String(50)),
    ])"#;

    /// Returns the conflicts between the heads of a project made of `revs`.
    fn report(revs: &[(String, String)]) -> Vec<String> {
        let files: Vec<(&str, &str)> = revs.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let p = project(&files);
        conflicts(&p, &p.graph.heads())
            .iter()
            .map(|c| {
                format!(
                    "{} {} | {}: {} | {}: {}",
                    c.kind.as_str(),
                    c.object,
                    c.left.revision,
                    c.left.op,
                    c.right.revision,
                    c.right.op
                )
            })
            .collect()
    }

    //   b (rename users.name)   c (index users.name)
    //    \                     /
    //     +------- a ---------+   (creates users)
    #[test]
    fn a_rename_against_an_index_on_the_old_name() {
        let found = report(&[
            rev("a", &[], USERS),
            rev(
                "b",
                &["a"],
                r#"RenameColumn(table: "users", name: "name", new_name: "full_name")"#,
            ),
            rev(
                "c",
                &["a"],
                r#"CreateIndex(name: "ix_users_name", table: "users", columns: ["name"])"#,
            ),
        ]);
        assert_eq!(
            found,
            ["renamed_but_used column users.name | b: ~ column users.name renamed to full_name | c: + index ix_users_name on users"]
        );
    }

    //   b (alter email) - b2 (rename users → people, alter people.email)
    //  /
    // a
    //  \
    //   c (alter email, drop table users)
    #[test]
    fn both_alter_drop_and_renames_map_back_to_the_base_names() {
        let found = report(&[
            rev("a", &[], USERS),
            rev(
                "b",
                &["a"],
                r#"RenameTable(name: "users", new_name: "people")"#,
            ),
            rev(
                "b2",
                &["b"],
                r#"AlterColumn(table: "people", name: "email", nullable: false)"#,
            ),
            rev(
                "c",
                &["a"],
                r#"AlterColumn(table: "users", name: "email", type: Text), DropTable(name: "users")"#,
            ),
        ]);
        assert!(
            found
                .iter()
                .any(|l| l.starts_with("both_change column users.email | b2:")),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|l| l.starts_with("both_change table users | b:")),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|l| l.starts_with("dropped_but_used table users | c:")
                    || l.starts_with("dropped_but_used table users | b")),
            "{found:#?}"
        );
    }

    #[test]
    fn same_names_created_twice_say_whether_they_are_identical() {
        let orders = r#"CreateTable(name: "orders", columns: [Column(name: "id", type: Integer)])"#;
        let found = report(&[
            rev("a", &[], USERS),
            rev(
                "b",
                &["a"],
                &format!(
                    r#"{orders}, AddColumn(table: "users", column: Column(name: "status", type: Text))"#
                ),
            ),
            rev(
                "c",
                &["a"],
                &format!(
                    r#"{orders}, AddColumn(table: "users", column: Column(name: "status", type: String(10)))"#
                ),
            ),
        ]);
        assert_eq!(
            found,
            [
                "both_create table orders | b: + table orders | c: + table orders",
                "both_add_column column users.status | b: + column users.status | c: + column users.status",
            ]
        );
        let p = project(&[
            (&rev("a", &[], USERS).0, &rev("a", &[], USERS).1),
            (&rev("b", &["a"], orders).0, &rev("b", &["a"], orders).1),
            (&rev("c", &["a"], orders).0, &rev("c", &["a"], orders).1),
        ]);
        let found = conflicts(&p, &p.graph.heads());
        assert_eq!(found.len(), 1);
        assert!(
            found[0].describe().contains("identical definitions"),
            "{}",
            found[0].describe()
        );
    }

    #[test]
    fn different_tables_do_not_conflict_and_raw_sql_warns() {
        let found = report(&[
            rev("a", &[], USERS),
            rev(
                "b",
                &["a"],
                r#"AddColumn(table: "users", column: Column(name: "age", type: Integer))"#,
            ),
            rev(
                "c",
                &["a"],
                r#"AddColumn(table: "users", column: Column(name: "nick", type: Text)), Sql("UPDATE Users SET nick = name")"#,
            ),
        ]);
        assert_eq!(found, ["raw_sql table users | b: + column users.age | c: raw SQL: UPDATE Users SET nick = name"]);
        let p = project(&[
            (&rev("a", &[], USERS).0, &rev("a", &[], USERS).1),
            (
                &rev("b", &["a"], r#"Sql("UPDATE usersx SET a = 1")"#).0,
                &rev("b", &["a"], r#"Sql("UPDATE usersx SET a = 1")"#).1,
            ),
            (
                &rev(
                    "c",
                    &["a"],
                    r#"AlterColumn(table: "users", name: "email", type: Text)"#,
                )
                .0,
                &rev(
                    "c",
                    &["a"],
                    r#"AlterColumn(table: "users", name: "email", type: Text)"#,
                )
                .1,
            ),
        ]);
        // `usersx` is another word: no warning.
        assert!(conflicts(&p, &p.graph.heads()).is_empty());
    }

    //   b ─ m ─ (head)      changes written after a merge joined them are
    //  /   /                not compared again; only c against the rest.
    // a ─ x
    //  \
    //   c
    #[test]
    fn changes_already_merged_are_not_compared_again() {
        let alter = r#"AlterColumn(table: "users", name: "email", type: Text)"#;
        let found = report(&[
            rev("a", &[], USERS),
            rev("b", &["a"], alter),
            rev("x", &["a"], alter),
            rev("m", &["b", "x"], ""),
            rev("c", &["a"], r#"DropColumn(table: "users", name: "name")"#),
        ]);
        assert!(found.is_empty(), "{found:#?}");
        let found = report(&[
            rev("a", &[], USERS),
            rev("b", &["a"], alter),
            rev("x", &["a"], ""),
            rev("m", &["b", "x"], ""),
            rev("c", &["a"], alter),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("both_change column users.email | c:")
                && found[0].contains("| b:"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_foreign_key_to_a_dropped_column() {
        let found = report(&[
            rev("a", &[], USERS),
            rev("b", &["a"], r#"DropColumn(table: "users", name: "id")"#),
            rev(
                "c",
                &["a"],
                r#"CreateTable(name: "orders", columns: [Column(name: "user_id", type: Integer)], foreign_keys: [ForeignKey(name: "fk_orders_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"])])"#,
            ),
        ]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("dropped_but_used column users.id | b:"),
            "{found:#?}"
        );
    }

    #[test]
    fn acknowledged_conflicts_are_dropped() {
        let files = [
            rev("a", &[], USERS),
            rev("b", &["a"], r#"DropColumn(table: "users", name: "email")"#),
            rev("c", &["a"], r#"AlterColumn(table: "users", name: "email", type: Text)"#),
            (
                "x.ron".to_owned(),
                r#"Migration(id: "x", parents: ["a"], acknowledged: [Acknowledged(object: "column users.email", kind: "both_change", left: "c", right: "b")])"#.to_owned(),
            ),
        ];
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let p = project(&files);
        let tips = [p.graph.get("b").unwrap(), p.graph.get("c").unwrap()];
        let found = conflicts(&p, &tips);
        assert_eq!(found.len(), 1);
        assert!(found[0].is_acknowledged_by(&found[0].acknowledgement()));
        assert!(without_acknowledged(&p, found).is_empty());
    }

    //   app: a1 ─ a2      audit: z1 ─ z2     two trees, each with its label: apart by design
    //   app: a1 ─ a2      b (no label)       a stray base without a label: one group
    #[test]
    fn labelled_separate_lineages_are_not_open_heads() {
        let labelled = |id: &str, label: &str| {
            (
                format!("{id}.ron"),
                format!("Migration(id: {id:?}, parents: [], branch_labels: [{label:?}])"),
            )
        };
        let files = [
            labelled("a1", "app"),
            rev("a2", &["a1"], ""),
            labelled("z1", "audit"),
            rev("z2", &["z1"], ""),
        ];
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let p = project(&files);
        assert!(crate::check::open_head_groups(&p).is_empty());
        assert!(crate::check::graph_findings(&p).is_empty());

        let files = [
            labelled("a1", "app"),
            rev("a2", &["a1"], ""),
            rev("b", &[], ""),
        ];
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let p = project(&files);
        assert_eq!(crate::check::open_head_groups(&p).len(), 1);

        // Two heads inside one labelled tree are still open.
        let files = [
            labelled("a1", "app"),
            rev("a2", &["a1"], ""),
            rev("a3", &["a1"], ""),
            labelled("z1", "audit"),
        ];
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let p = project(&files);
        let groups = crate::check::open_head_groups(&p);
        assert_eq!(groups.len(), 1);
        assert_eq!(p.graph.ids(&groups[0]), ["a2", "a3"]);
    }

    // b renames name → n1, b2 renames n1 → n2 and alters n2; c alters name.
    #[test]
    fn chains_of_renames_lead_back_to_the_base_name() {
        let found = report(&[
            rev("a", &[], USERS),
            rev(
                "b",
                &["a"],
                r#"RenameColumn(table: "users", name: "name", new_name: "n1")"#,
            ),
            rev(
                "b2",
                &["b"],
                r#"RenameColumn(table: "users", name: "n1", new_name: "n2"), AlterColumn(table: "users", name: "n2", type: Text)"#,
            ),
            rev(
                "c",
                &["a"],
                r#"AlterColumn(table: "users", name: "name", nullable: false)"#,
            ),
        ]);
        assert!(
            found
                .iter()
                .any(|l| l.starts_with("both_change column users.name | b:")),
            "{found:#?}"
        );
        assert!(
            found
                .iter()
                .any(|l| l.starts_with("both_change column users.name | b2: ~ column users.n2")),
            "{found:#?}"
        );
    }
}
