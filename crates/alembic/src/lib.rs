//! `rev import alembic`: reads an Alembic project — `alembic.ini`, its
//! `script_location` and `version_locations`, the revision files — with a
//! Python parser, never running the Python, and writes the same history as
//! rev migrations.
//!
//! Every revision keeps its id, parents (in the order `down_revision`
//! declares them), branch labels, dependencies, message and date. The
//! bodies of `upgrade()` and `downgrade()` become rev operations; whatever
//! does not translate (a loop, a conditional, a data migration in Python)
//! becomes an [`Operation::Untranslated`] that keeps its source and
//! `file:line`, refuses to run on every dialect, and is listed by
//! [`untranslated_items`] (for `rev check`) and in the import [`Report`].

mod ini;
mod insert;
mod names;
mod python;
mod report;
mod translate;
mod types;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use rev_graph::Graph;
use rev_project::{Migration, Project, ProjectError};
use rev_schema::Operation;

pub use ini::AlembicIni;
pub use report::{Report, ReportItem, ReportNote, ReportRevision};
pub use translate::{created_date, Item, Note};

/// Why an Alembic project could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Nothing at the path looks like an Alembic project.
    #[error("{}: {message}", path.display())]
    NotAlembic {
        /// The path given.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A revision file cannot be read as a revision at all.
    #[error("{}: {message}", path.display())]
    Revision {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The revisions do not form a graph rev accepts.
    #[error("{}: {message}", path.display())]
    Graph {
        /// The file at fault.
        path: PathBuf,
        /// The graph's complaint.
        message: String,
    },
    /// A file the import would write is already there.
    #[error("{} already exists; nothing was written", .0.display())]
    Exists(PathBuf),
    /// The rev project could not be read, written or loaded back.
    #[error(transparent)]
    Project(#[from] ProjectError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One imported revision.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The rev migration.
    pub migration: Migration,
    /// The Alembic file it came from.
    pub path: PathBuf,
    /// The file as markers name it (`versions/1a2b_add_users.py`).
    pub origin: String,
    /// What was not translated.
    pub items: Vec<Item>,
    /// Details left out.
    pub notes: Vec<Note>,
}

/// An Alembic project, read and translated.
#[derive(Debug, Clone)]
pub struct Import {
    /// The `alembic.ini` read, if there was one.
    pub ini: Option<PathBuf>,
    /// The script directory (holding `env.py`).
    pub script_location: PathBuf,
    /// The directories the revisions were read from.
    pub version_locations: Vec<PathBuf>,
    /// The dialect `sqlalchemy.url` names, for the rev.ron the import writes.
    pub dialect: Option<&'static str>,
    /// The revisions, in file-name order.
    pub revisions: Vec<Revision>,
    /// Type mappings used whose DDL differs from SQLAlchemy's on some dialect.
    pub type_notes: BTreeSet<&'static str>,
}

/// Returns the dialect a SQLAlchemy URL scheme (`postgresql+psycopg2`) names.
fn dialect_of(scheme: &str) -> Option<&'static str> {
    let base = scheme.split('+').next().unwrap_or(scheme);
    Some(match base {
        "mssql" => "mssql",
        "postgresql" | "postgres" => "postgres",
        "mysql" | "mariadb" => "mysql",
        "sqlite" => "sqlite",
        _ => return None,
    })
}

/// Reads the Alembic project at `path`: an `alembic.ini`, a directory holding
/// one, or a script directory itself (holding `versions/`).
pub fn read(path: &Path) -> Result<Import, ImportError> {
    let not_alembic = |message: &str| ImportError::NotAlembic {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let ini_path = if path.is_file() {
        Some(path.to_owned())
    } else if path.join("alembic.ini").is_file() {
        Some(path.join("alembic.ini"))
    } else if path.is_dir() {
        None
    } else {
        return Err(not_alembic("no such file or directory"));
    };
    let ini = match &ini_path {
        Some(ini_path) => {
            let text = fs::read_to_string(ini_path).map_err(io(ini_path))?;
            ini::read(ini_path, &text).map_err(|message| ImportError::NotAlembic {
                path: ini_path.clone(),
                message,
            })?
        }
        None if path.join("versions").is_dir() => AlembicIni {
            script_location: path.to_owned(),
            version_locations: vec![path.join("versions")],
            recursive: false,
            url_scheme: None,
        },
        None => {
            return Err(not_alembic(
                "no alembic.ini and no versions/ directory: pass an Alembic project",
            ))
        }
    };
    if !ini.script_location.is_dir() {
        return Err(ImportError::NotAlembic {
            path: ini_path.clone().unwrap_or_else(|| path.to_owned()),
            message: format!(
                "script_location {} is not a directory",
                ini.script_location.display()
            ),
        });
    }
    let root = ini_path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(path)
        .to_owned();
    let mut files = Vec::new();
    for dir in &ini.version_locations {
        if !dir.is_dir() {
            return Err(ImportError::NotAlembic {
                path: dir.clone(),
                message: "the version location is not a directory".to_owned(),
            });
        }
        collect(dir, ini.recursive, &mut files)?;
    }
    files.sort();
    files.dedup();

    let mut revisions = Vec::with_capacity(files.len());
    let mut type_notes = BTreeSet::new();
    let mut unplaced = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).map_err(io(&file))?;
        let origin = display(&file, &ini.script_location, &root);
        let translated =
            translate::translate(&text, &origin).map_err(|message| ImportError::Revision {
                path: file.clone(),
                message,
            })?;
        type_notes.extend(translated.type_notes);
        unplaced.push(translated.index_without_table);
        revisions.push(Revision {
            migration: translated.migration,
            path: file,
            origin,
            items: translated.items,
            notes: translated.notes,
        });
    }
    place_index_drops(&mut revisions, unplaced);
    if revisions.iter().any(|r| {
        r.migration
            .upgrade
            .iter()
            .any(|op| matches!(op, Operation::CreateTable { columns, .. } if columns.iter().any(|c| c.identity)))
    }) {
        type_notes.insert(types::note::IDENTITY);
    }
    let import = Import {
        ini: ini_path,
        script_location: ini.script_location,
        version_locations: ini.version_locations,
        dialect: ini.url_scheme.as_deref().and_then(dialect_of),
        revisions,
        type_notes,
    };
    check_graph(&import.revisions, &[])?;
    Ok(import)
}

/// Adds the `*.py` revision files of `dir` to `out` (and of its
/// subdirectories when `recursive`), as Alembic lists them.
fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            if recursive && name != "__pycache__" && !name.starts_with('.') {
                collect(&path, recursive, out)?;
            }
        } else if name.ends_with(".py") && !name.starts_with("__init__") && !name.starts_with(".#")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Returns a file's name relative to the script directory (else the project's).
fn display(file: &Path, script: &Path, root: &Path) -> String {
    let relative = file
        .strip_prefix(script)
        .or_else(|_| file.strip_prefix(root))
        .unwrap_or(file);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Gives each `op.drop_index("ix")` without `table_name` the table that the
/// history's `create_index("ix", ...)` names; where no single table does, the
/// call stays as an untranslated item.
fn place_index_drops(revisions: &mut [Revision], unplaced: Vec<Vec<translate::Unplaced>>) {
    let mut tables: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in revisions.iter() {
        let ops = r
            .migration
            .upgrade
            .iter()
            .chain(r.migration.downgrade.iter().flatten());
        for op in ops {
            if let Operation::CreateIndex { name, table, .. } = op {
                tables
                    .entry(name.clone())
                    .or_default()
                    .insert(table.clone());
            }
        }
    }
    for (r, list) in revisions.iter_mut().zip(unplaced) {
        for u in list {
            let ops = if u.upgrade {
                &mut r.migration.upgrade
            } else {
                match r.migration.downgrade.as_mut() {
                    Some(ops) => ops,
                    None => continue,
                }
            };
            let Some(Operation::DropIndex { name, table, .. }) = ops.get_mut(u.at) else {
                continue;
            };
            let found: Option<Vec<&String>> = tables.get(name.as_str()).map(|t| t.iter().collect());
            match found.as_deref() {
                Some([only]) => table.clone_from(only),
                found => {
                    let reason = match found {
                        Some(_) => format!("op.drop_index(\"{name}\") without table_name, and several tables have an index of that name"),
                        None => format!("op.drop_index(\"{name}\") without table_name, and no revision creates that index"),
                    };
                    let item = Item {
                        direction: if u.upgrade { "upgrade" } else { "downgrade" },
                        line: u.line,
                        reason: reason.clone(),
                        source: u.source.clone(),
                    };
                    if let Some(op) = ops.get_mut(u.at) {
                        *op = Operation::Untranslated {
                            source: u.source,
                            origin: format!("{}:{}", r.origin, u.line),
                            reason,
                        };
                    }
                    r.items.push(item);
                    r.items.sort_by_key(|i| {
                        (i.direction != "metadata", i.direction != "upgrade", i.line)
                    });
                }
            }
        }
    }
}

/// Checks that `existing` rev migrations and the imported revisions form a graph.
fn check_graph(
    revisions: &[Revision],
    existing: &[rev_project::MigrationFile],
) -> Result<(), ImportError> {
    let mut specs: Vec<rev_graph::RevisionSpec> = existing
        .iter()
        .map(|f| rev_project::spec(&f.migration))
        .collect();
    specs.extend(revisions.iter().map(|r| rev_project::spec(&r.migration)));
    Graph::build(&specs).map(drop).map_err(|error| {
        let input = error.input();
        let path = match existing.get(input) {
            Some(file) => file.path.clone(),
            None => revisions
                .get(input - existing.len())
                .map(|r| r.path.clone())
                .unwrap_or_default(),
        };
        ImportError::Graph {
            path,
            message: error.to_string(),
        }
    })
}

/// How the import writes the rev project.
#[derive(Debug, Clone)]
pub struct Options {
    /// The version table of the rev.ron it writes: Alembic's (env.py may set
    /// another), so that databases Alembic upgraded continue under rev.
    pub version_table: String,
    /// The dialect of a new rev.ron when `sqlalchemy.url` names none.
    pub dialect: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            version_table: "alembic_version".to_owned(),
            dialect: None,
        }
    }
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The project's rev.ron.
    pub config: PathBuf,
    /// Whether the import created it (else it was there and is unchanged).
    pub created_config: bool,
    /// The version table the project's rev.ron names.
    pub version_table: String,
    /// The migration files written, one per revision, in the revisions' order.
    pub files: Vec<PathBuf>,
}

/// Writes the imported revisions as rev migration files into the project at
/// `into` (creating `rev.ron` there, with the version table of `options`,
/// when there is none), then loads the project back. Nothing is written when
/// a file would be overwritten or the graph would break.
pub fn write(import: &Import, into: &Path, options: &Options) -> Result<Written, ImportError> {
    let config = into.join("rev.ron");
    let existing = config.is_file();
    let (versions, current, version_table) = if existing {
        let project = Project::load(&config)?;
        let version_table = project.config.version_table.clone();
        (project.versions_dir(), project.files, version_table)
    } else {
        let versions = into.join("migrations").join("versions");
        let current = rev_project::read_migrations(&versions)?;
        (versions, current, options.version_table.clone())
    };
    check_graph(&import.revisions, &current)?;
    let mut planned = Vec::with_capacity(import.revisions.len());
    for r in &import.revisions {
        let name = match rev_project::slug(&r.migration.message) {
            s if s.is_empty() => format!("{}.ron", r.migration.id),
            s => format!("{}_{s}.ron", r.migration.id),
        };
        let path = versions.join(name);
        if path.exists() || planned.iter().any(|(p, _)| p == &path) {
            return Err(ImportError::Exists(path));
        }
        let text = r.migration.to_ron().map_err(|e| ProjectError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        // The first line is the message as a comment; the origin goes after it.
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let text = format!("{first}\n// imported from Alembic: {}\n{rest}", r.origin);
        planned.push((path, text));
    }
    if !existing {
        let dialect = options
            .dialect
            .clone()
            .or_else(|| import.dialect.map(str::to_owned))
            .unwrap_or_else(|| "sqlite".to_owned());
        fs::create_dir_all(into).map_err(io(into))?;
        rev_project::init(into, &dialect)?;
        let text = fs::read_to_string(&config).map_err(io(&config))?;
        let patched = text.replacen(
            "version_table: \"rev_version\",",
            &format!(
                "version_table: \"{}\",",
                options.version_table.replace('"', "")
            ),
            1,
        );
        fs::write(&config, patched).map_err(io(&config))?;
    }
    fs::create_dir_all(&versions).map_err(io(&versions))?;
    let mut files = Vec::with_capacity(planned.len());
    for (path, text) in planned {
        fs::write(&path, text).map_err(io(&path))?;
        files.push(path);
    }
    // Both of rev's readers must take what was written: load it back.
    Project::load(&config)?;
    Ok(Written {
        config,
        created_config: !existing,
        version_table,
        files,
    })
}

/// An untranslated item left in a loaded project's migrations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pending {
    /// The revision holding it.
    pub revision: String,
    /// The migration file.
    pub path: PathBuf,
    /// `upgrade` or `downgrade`.
    pub direction: &'static str,
    /// Its 1-based position in that list.
    pub index: usize,
    /// Where it came from (`versions/1a2b_add_users.py:12`).
    pub origin: String,
    /// Why it was not translated.
    pub reason: String,
    /// Its source text.
    pub source: String,
}

impl Pending {
    /// Returns a one-line description, as `rev check` reports it.
    pub fn message(&self) -> String {
        let why = if self.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", self.reason)
        };
        format!(
            "{}: {} operation {} of revision {} is untranslated (from {}{why}); replace it by hand",
            self.path.display(),
            self.direction,
            self.index,
            self.revision,
            self.origin
        )
    }
}

/// Returns every untranslated item of a loaded project, in file order:
/// what `rev check` must report as errors until each is replaced by hand.
pub fn untranslated_items(project: &Project) -> Vec<Pending> {
    let mut out = Vec::new();
    for file in &project.files {
        let m = &file.migration;
        let lists = [
            ("upgrade", Some(&m.upgrade)),
            ("downgrade", m.downgrade.as_ref()),
        ];
        for (direction, ops) in lists {
            for (i, op) in ops.into_iter().flatten().enumerate() {
                if let Operation::Untranslated {
                    source,
                    origin,
                    reason,
                } = op
                {
                    out.push(Pending {
                        revision: m.id.clone(),
                        path: file.path.clone(),
                        direction,
                        index: i + 1,
                        origin: origin.clone(),
                        reason: reason.clone(),
                        source: source.clone(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
