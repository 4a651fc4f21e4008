//! A rev project on disk: `rev.ron`, the migration files under
//! `migrations/versions/`, and the graph they form.
//!
//! Loading is all or nothing: one bad file fails the whole load, with the
//! file, line and column at fault, before any database is touched.

mod cache;
mod config;
mod fast;
mod migration;
mod shape;
mod squash;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rev_graph::{BuildError, Graph, NodeIndex, RevisionSpec};

pub use cache::{HeaderLoad, CACHE_DIR};
pub use config::{config_template, Config, Env};
pub use migration::{
    new_revision_id, now_rfc3339, replace_parents, slug, Acknowledged, Migration, ParseFailure,
};

/// The two migration-file readers, one at a time, for the property tests and
/// fuzz targets that check they agree; [`Migration::parse`] is the one to use.
#[doc(hidden)]
pub mod readers {
    use crate::Migration;

    /// The fast reader of rev's own plain form: `None` where it gives up.
    pub fn fast(text: &str) -> Option<Migration> {
        crate::fast::from_str(text)
    }

    /// RON's reader with rev's extensions, and its error as text.
    pub fn ron(text: &str) -> Result<Migration, String> {
        crate::migration::ron_options()
            .from_str(text)
            .map_err(|e| e.to_string())
    }
}

/// Why a project could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A file is not valid RON of the expected shape.
    #[error("{}:{line}:{col}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// The revisions do not form a valid graph.
    #[error("{}:{line}:{col}: {error}{}", path.display(), also.as_ref().map(|p| format!(" (also in {})", p.display())).unwrap_or_default())]
    Graph {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The graph's complaint.
        error: Box<BuildError>,
        /// Another file involved (the first declaration of a duplicate id).
        also: Option<PathBuf>,
    },
    /// A versions-directory entry named like a migration file cannot be one:
    /// not a regular file (a directory, a device, a FIFO, a dangling
    /// symlink), or larger than [`MAX_MIGRATION_FILE`].
    #[error("{}: {reason}", path.display())]
    NotAMigrationFile {
        /// The entry.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// There is no `rev.ron`.
    #[error("no config file at {}: run `rev init` or pass --config", .0.display())]
    NoConfig(PathBuf),
    /// A new revision would break the graph or clash with a file.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be written as RON.
    #[error("cannot write {}: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What RON said.
        message: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ProjectError + '_ {
    move |source| ProjectError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A migration file as loaded: where it is and what it says.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    /// The file's path.
    pub path: PathBuf,
    /// Its contents.
    pub migration: Migration,
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `rev.ron`.
    pub root: PathBuf,
    /// The configuration.
    pub config: Config,
    /// The migration files of the graph, in the order they were read (by
    /// file name); the files of revisions a squash replaces are not among them.
    pub files: Vec<MigrationFile>,
    /// The files, still present, of revisions that a squash replaces (see
    /// [`Project::unsquashed`]), by file name.
    pub replaced: Vec<MigrationFile>,
    /// The graph the files form; a node's input index is its position in `files`.
    pub graph: Graph,
    /// `Some` when the project was loaded by [`Project::load_headers`]: its
    /// migrations carry their headers only (see [`Project::headers_only`]).
    headers: Option<HeaderLoad>,
}

impl Project {
    /// Loads the project whose config file is `config_path`: every migration
    /// file read and parsed in full (operations, checksum and all).
    pub fn load(config_path: &Path) -> Result<Project, ProjectError> {
        let (root, config) = read_config(config_path)?;
        let versions = root.join(&config.migrations).join("versions");
        let (files, replaced) = squash::split(read_migrations(&versions)?);
        let graph = build_graph(&files)?;
        Ok(Project {
            root,
            config,
            files,
            replaced,
            graph,
            headers: None,
        })
    }

    /// Loads the project whose config file is `config_path` for the commands
    /// that print the graph and nothing of what a migration does (`heads`,
    /// `branches`, `history`, `graph`): each migration carries its header
    /// only, i.e. `id`, `parents`, `message`, `created`, `branch_labels`,
    /// `depends_on`, `transactional` and `replaces`; its `upgrade`,
    /// `downgrade` and `acknowledged` are empty whatever the file says, so its
    /// [`Migration::checksum`] is not the file's. Never run, plan, check or
    /// show a migration from such a project; [`Project::headers_only`] tells one.
    ///
    /// With `use_cache`, the headers come from the header cache under the
    /// project root ([`CACHE_DIR`]) for every file whose name, size, mtime and
    /// inode are those recorded (and whose mtime is not within a couple of
    /// seconds of the cache's own, git's "racy" rule); every other file is
    /// read and parsed as [`Project::load`] does, with the same errors, and
    /// the cache is rewritten when anything changed. A missing, corrupt or
    /// foreign cache is rebuilt, and a cache that cannot be written (a
    /// read-only checkout) is left alone: neither is ever an error. The
    /// graph, and every error, are those [`Project::load`] gives.
    pub fn load_headers(config_path: &Path, use_cache: bool) -> Result<Project, ProjectError> {
        let (root, config) = read_config(config_path)?;
        let versions = root.join(&config.migrations).join("versions");
        let cache_file = use_cache.then(|| cache::path(&root));
        let (files, load) =
            cache::read_headers(&versions, cache_file.as_deref(), &config.migrations)?;
        let (files, replaced) = squash::split(files);
        let graph = build_graph(&files)?;
        Ok(Project {
            root,
            config,
            files,
            replaced,
            graph,
            headers: Some(load),
        })
    }

    /// Returns how the files were read when the project was loaded by
    /// [`Project::load_headers`] (its migrations then carry their headers
    /// only), and `None` when every file was read in full.
    pub fn headers_only(&self) -> Option<HeaderLoad> {
        self.headers
    }

    /// Builds a project from migration files compiled into a program (see
    /// the `rev::embed!` macro): `files` pairs each file's path under the
    /// migrations directory with its text. Loading is as strict as [`Project::load`]:
    /// one bad file fails it, naming the file, line and column.
    pub fn from_embedded(config: Config, files: &[(&str, &str)]) -> Result<Project, ProjectError> {
        let mut sorted: Vec<&(&str, &str)> = files.iter().collect();
        sorted.sort_unstable_by_key(|(name, _)| *name);
        let mut loaded = Vec::with_capacity(sorted.len());
        for (name, text) in &sorted {
            let path = PathBuf::from(name);
            let migration = Migration::parse(text).map_err(|f| ProjectError::Parse {
                path: path.clone(),
                line: f.line,
                col: f.col,
                message: f.message,
            })?;
            loaded.push(MigrationFile { path, migration });
        }
        let texts: std::collections::HashMap<PathBuf, &str> = sorted
            .iter()
            .map(|(name, text)| (PathBuf::from(name), *text))
            .collect();
        let (files, replaced) = squash::split(loaded);
        let aliases = squash::squashed_aliases(&files);
        let graph = build_graph_from(&files, &aliases, |input| {
            files
                .get(input)
                .and_then(|f| texts.get(&f.path))
                .map(|text| (*text).to_owned())
                .unwrap_or_default()
        })?;
        Ok(Project {
            root: PathBuf::new(),
            config,
            files,
            replaced,
            graph,
            headers: None,
        })
    }

    /// Returns the directory new migration files are written to.
    pub fn versions_dir(&self) -> PathBuf {
        self.root.join(&self.config.migrations).join("versions")
    }

    /// Returns the file of a revision.
    pub fn file(&self, node: NodeIndex) -> Option<&MigrationFile> {
        self.files.get(self.graph.input_index(node))
    }

    /// Returns the squash that replaces the revision `id`, if one does.
    pub fn squash_of(&self, id: &str) -> Option<&MigrationFile> {
        self.files
            .iter()
            .find(|f| f.migration.replaces.iter().any(|r| r == id))
    }

    /// Returns the squashes of the graph: files whose `replaces` is not empty.
    pub fn squashes(&self) -> impl Iterator<Item = &MigrationFile> + '_ {
        self.files
            .iter()
            .filter(|f| !f.migration.replaces.is_empty())
    }

    /// Returns the project as the old files of the squash `squash` see it:
    /// the squash left out, the revisions it replaces back in the graph, a
    /// reference to the squash read as its last replaced revision. Refused
    /// when a replaced file is missing (the run cannot be walked without it).
    pub fn unsquashed(&self, squash: &str) -> Result<Project, ProjectError> {
        let Some(file) = self.files.iter().find(|f| f.migration.id == squash) else {
            return Err(ProjectError::Invalid(format!(
                "`{squash}` is not a revision of this project"
            )));
        };
        let replaces = &file.migration.replaces;
        let missing: Vec<&str> = replaces
            .iter()
            .filter(|id| !self.replaced.iter().any(|f| &f.migration.id == *id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(ProjectError::Invalid(format!(
                "the files of {} (replaced by squash {squash}) are missing from {}",
                missing.join(", "),
                self.versions_dir().display()
            )));
        }
        let (back, replaced): (Vec<MigrationFile>, Vec<MigrationFile>) = self
            .replaced
            .iter()
            .cloned()
            .partition(|f| replaces.contains(&f.migration.id));
        let mut files: Vec<MigrationFile> = self
            .files
            .iter()
            .filter(|f| f.migration.id != squash)
            .cloned()
            .chain(back)
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut aliases = squash::squashed_aliases(&files);
        if let Some(last) = replaces.last() {
            aliases.insert(squash.to_owned(), last.clone());
        }
        let graph = build_graph_from(&files, &aliases, |input| {
            files
                .get(input)
                .and_then(|f| fs::read_to_string(&f.path).ok())
                .unwrap_or_default()
        })?;
        Ok(Project {
            root: self.root.clone(),
            config: self.config.clone(),
            files,
            replaced,
            graph,
            headers: self.headers,
        })
    }

    /// Writes a new migration file after checking that the graph stays valid,
    /// and returns its path. Nothing is written when the check fails. A
    /// squash is checked in the view it makes: the revisions it replaces out.
    pub fn add_migration(&self, migration: &Migration) -> Result<PathBuf, ProjectError> {
        let mut files: Vec<MigrationFile> = self
            .files
            .iter()
            .filter(|f| !migration.replaces.contains(&f.migration.id))
            .cloned()
            .collect();
        files.push(MigrationFile {
            path: PathBuf::new(),
            migration: migration.clone(),
        });
        let specs = squash::specs(&files, &squash::squashed_aliases(&files));
        Graph::build(&specs).map_err(|e| ProjectError::Invalid(e.to_string()))?;

        let dir = self.versions_dir();
        self.may_create_versions_dir()?;
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let name = match slug(&migration.message) {
            s if s.is_empty() => format!("{}.ron", migration.id),
            s => format!("{}_{s}.ron", migration.id),
        };
        let path = dir.join(name);
        if path.exists() {
            return Err(ProjectError::Invalid(format!(
                "{} already exists",
                path.display()
            )));
        }
        let text = migration.to_ron().map_err(|e| ProjectError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        fs::write(&path, text).map_err(io_error(&path))?;
        Ok(path)
    }
}

impl Project {
    /// Refuses to create a versions directory under a migrations directory
    /// that does not exist, unless it is the default `migrations` of a
    /// project with no revisions yet (a fresh clone: git keeps no empty
    /// directory). A mistyped `migrations:` in rev.ron would otherwise grow
    /// a second, silent history beside the real one.
    fn may_create_versions_dir(&self) -> Result<(), ProjectError> {
        let migrations = self.root.join(&self.config.migrations);
        if migrations.is_dir() {
            return Ok(());
        }
        let default = Config::default().migrations;
        if self.files.is_empty() && self.config.migrations == default {
            return Ok(());
        }
        Err(ProjectError::Invalid(format!(
            "the migrations directory {} does not exist; is `migrations: \"{}\"` in rev.ron mistyped? (create the directory to start a history there)",
            migrations.display(),
            self.config.migrations
        )))
    }
}

/// Reads `rev.ron`: returns the project root (its directory) and the config.
fn read_config(config_path: &Path) -> Result<(PathBuf, Config), ProjectError> {
    let text = match fs::read_to_string(config_path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ProjectError::NoConfig(config_path.to_owned()))
        }
        Err(e) => return Err(io_error(config_path)(e)),
    };
    let config: Config = migration::parse_ron(&text).map_err(|f| ProjectError::Parse {
        path: config_path.to_owned(),
        line: f.line,
        col: f.col,
        message: f.message,
    })?;
    // "rev.ron" has the empty parent, which keeps printed paths relative and short.
    let root = config_path.parent().unwrap_or(Path::new("")).to_owned();
    Ok((root, config))
}

/// Returns what the graph needs to know of a migration.
pub fn spec(migration: &Migration) -> RevisionSpec {
    RevisionSpec {
        id: migration.id.clone(),
        parents: migration.parents.clone(),
        depends_on: migration.depends_on.clone(),
        branch_labels: migration.branch_labels.clone(),
    }
}

/// The largest migration file rev reads: far above any real one, it keeps a
/// file of generated junk (or a symlink to a huge file) from filling memory.
pub const MAX_MIGRATION_FILE: u64 = 64 * 1024 * 1024;

/// Returns whether a versions-directory entry is something an editor or the
/// system leaves beside the files, never a migration: hidden files and
/// directories (`.x.ron.swp`, Emacs's `.#x.ron` lock, often a dangling
/// symlink), backups (`x.ron~`) and Emacs auto-saves (`#x.ron#`).
fn is_editor_or_hidden(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || (name.starts_with('#') && name.ends_with('#'))
}

/// Reads every `*.ron` file of a versions directory, sorted by file name.
/// A missing directory holds no migrations. Editor lock and backup files and
/// hidden entries are skipped; an entry named `*.ron` that is not a regular
/// file (after following a symlink) is an error naming it, and no device or
/// FIFO is ever opened.
pub fn read_migrations(dir: &Path) -> Result<Vec<MigrationFile>, ProjectError> {
    let paths = list_migrations(dir)?;
    let (files, _) = read_parallel(paths, |path, buffer| {
        Ok((read_migration(path, buffer)?, ()))
    })?;
    Ok(files)
}

/// Returns the paths of the migration files of a versions directory, sorted
/// by name, with [`read_migrations`]'s rules: a missing directory holds none, editor
/// and hidden files are skipped, and an entry named `*.ron` that is not a
/// regular file (or whose name is not UTF-8) is an error naming it.
fn list_migrations(dir: &Path) -> Result<Vec<PathBuf>, ProjectError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        // One allocation per entry: the path, whose last component is the name.
        let path = entry.path();
        let Some(name) = path.file_name() else {
            continue;
        };
        let Some(text_name) = name.to_str() else {
            // A name that is not UTF-8 is not one rev writes; only a
            // `.ron` one could be meant as a migration.
            if path.extension().is_some_and(|e| e == "ron") {
                return Err(ProjectError::NotAMigrationFile {
                    path,
                    reason: "the file name is not UTF-8".to_owned(),
                });
            }
            continue;
        };
        if is_editor_or_hidden(text_name) || !text_name.ends_with(".ron") {
            continue;
        }
        // The directory entry's type needs no extra stat call per file.
        let file_type = entry.file_type().map_err(io_error(&path))?;
        if file_type.is_file() {
            paths.push(path);
            continue;
        }
        let reason = if file_type.is_symlink() {
            match fs::metadata(&path) {
                // A symlink to a regular file is read like one.
                Ok(target) if target.is_file() => {
                    paths.push(path);
                    continue;
                }
                Ok(target) => format!(
                    "a symlink to {}, not to a regular file",
                    kind_of(&target.file_type())
                ),
                Err(e) => format!("a symlink that cannot be followed: {e}"),
            }
        } else {
            format!("{}, not a regular file", kind_of(&file_type))
        };
        return Err(ProjectError::NotAMigrationFile { path, reason });
    }
    // All paths share the directory, so ordering their bytes orders the
    // names; comparing paths component by component (Path's order) costs
    // far more.
    paths.sort_unstable_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(paths)
}

/// Runs `read` on every job, spread over the cores, and returns the two
/// parts of its results in the jobs' order, or the error of the first job
/// (in that order) that failed. Reading and parsing are independent per
/// file; keeping file-name order keeps errors and graph input deterministic.
/// `read` gets a buffer to reuse from one file to the next. The results come
/// in two vectors so that the first (the files) is collected in place, not
/// copied out of pairs.
fn read_parallel<J: Send, T: Send, X: Send>(
    jobs: Vec<J>,
    read: impl Fn(J, &mut Vec<u8>) -> Result<(T, X), ProjectError> + Sync,
) -> Result<(Vec<T>, Vec<X>), ProjectError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = jobs.len().div_ceil(threads).max(64);
    // Each thread fills its own run of slots, so the results land in their
    // final vector directly: no per-thread vectors to copy together afterwards.
    let mut jobs: Vec<Option<J>> = jobs.into_iter().map(Some).collect();
    let mut slots: Vec<Option<T>> = Vec::new();
    slots.resize_with(jobs.len(), || None);
    let mut extras: Vec<Option<X>> = Vec::new();
    extras.resize_with(jobs.len(), || None);
    let read = &read;
    let results: Vec<Result<(), ProjectError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks_mut(chunk)
            .zip(slots.chunks_mut(chunk))
            .zip(extras.chunks_mut(chunk))
            .map(|((jobs, slots), extras)| {
                scope.spawn(move || {
                    let mut buffer = Vec::with_capacity(4096);
                    for ((job, slot), extra) in jobs.iter_mut().zip(slots).zip(extras) {
                        if let Some(job) = job.take() {
                            let (value, more) = read(job, &mut buffer)?;
                            *slot = Some(value);
                            *extra = Some(more);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ProjectError::Invalid(
                        "a file-reading thread panicked".to_owned(),
                    ))
                })
            })
            .collect()
    });
    // The first failing run holds the first bad file in name order.
    for result in results {
        result?;
    }
    // `filter_map` collects in place (an `Option<T>` has `T`'s layout when
    // `T` has a niche, as a `MigrationFile` does), where `flatten` would
    // copy into a new vector.
    #[allow(clippy::filter_map_identity)]
    let results = slots.into_iter().filter_map(|slot| slot).collect();
    Ok((results, extras.into_iter().flatten().collect()))
}

/// Returns what a file type is, for an error message.
fn kind_of(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_block_device() || file_type.is_char_device() {
            return "a device";
        }
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symlink"
    } else {
        "a special file"
    }
}

fn read_migration(path: PathBuf, buffer: &mut Vec<u8>) -> Result<MigrationFile, ProjectError> {
    read_file(&path, buffer, false)?;
    parse_migration(path, buffer)
}

/// Reads a migration file like [`read_migration`], and returns the size,
/// mtime and inode of what was read (taken from the open file, so that they
/// describe the contents read, not a file renamed over it since).
fn read_migration_stamped(
    path: PathBuf,
    buffer: &mut Vec<u8>,
) -> Result<(MigrationFile, cache::Stamp), ProjectError> {
    let stamp = read_file(&path, buffer, true)?;
    let file = parse_migration(path, buffer)?;
    Ok((file, stamp.unwrap_or_default()))
}

/// Reads a file into `buffer`, up to [`MAX_MIGRATION_FILE`]; with `stamp`,
/// returns its stamp too.
fn read_file(
    path: &Path,
    buffer: &mut Vec<u8>,
    stamp: bool,
) -> Result<Option<cache::Stamp>, ProjectError> {
    buffer.clear();
    // Reading through `Take` skips the size-hint stat that fs::read does: one
    // open and two reads per file is what a 100,000-file history can afford.
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) => return Err(io_error(path)(e)),
    };
    let stamp = if stamp {
        Some(cache::Stamp::of(&file.metadata().map_err(io_error(path))?))
    } else {
        None
    };
    // Reading one byte past the bound tells a file over it without a stat
    // call, and bounds what a file swapped in after the listing can cost.
    if let Err(e) = io::Read::read_to_end(&mut io::Read::take(file, MAX_MIGRATION_FILE + 1), buffer)
    {
        return Err(io_error(path)(e));
    }
    if buffer.len() as u64 > MAX_MIGRATION_FILE {
        return Err(ProjectError::NotAMigrationFile {
            path: path.to_owned(),
            reason: format!(
                "larger than {} MiB, far beyond any migration file",
                MAX_MIGRATION_FILE / (1024 * 1024)
            ),
        });
    }
    Ok(stamp)
}

/// Parses the text of a migration file read into `buffer`.
fn parse_migration(path: PathBuf, buffer: &[u8]) -> Result<MigrationFile, ProjectError> {
    let text = match std::str::from_utf8(buffer) {
        Ok(text) => text,
        Err(e) => {
            return Err(ProjectError::Parse {
                path,
                line: 1,
                col: 1,
                message: format!("the file is not UTF-8: {e}"),
            })
        }
    };
    match Migration::parse(text) {
        Ok(migration) => Ok(MigrationFile { path, migration }),
        Err(f) => Err(ProjectError::Parse {
            path,
            line: f.line,
            col: f.col,
            message: f.message,
        }),
    }
}

/// Builds the graph of loaded files, turning a graph error into one that names
/// the file, line and column at fault. A reference to the last revision a
/// squash among `files` replaces reads as the squash.
pub fn build_graph(files: &[MigrationFile]) -> Result<Graph, ProjectError> {
    build_graph_from(files, &squash::squashed_aliases(files), |input| {
        files
            .get(input)
            .and_then(|f| fs::read_to_string(&f.path).ok())
            .unwrap_or_default()
    })
}

/// Builds the graph of loaded files; `text_of` returns the text of the file
/// at an input position, to point the error at a line and column.
fn build_graph_from(
    files: &[MigrationFile],
    aliases: &squash::Aliases,
    text_of: impl Fn(usize) -> String,
) -> Result<Graph, ProjectError> {
    let specs = squash::specs(files, aliases);
    Graph::build(&specs).map_err(|error| {
        let input = error.input();
        let path = files.get(input).map(|f| f.path.clone()).unwrap_or_default();
        let text = text_of(input);
        let (field, value) = match &error {
            BuildError::InvalidId { id, .. } | BuildError::DuplicateId { id, .. } => {
                ("id", id.as_str())
            }
            BuildError::MissingParent { parent, .. } | BuildError::BadParent { parent, .. } => {
                ("parents", parent.as_str())
            }
            BuildError::MissingDependency { dependency, .. }
            | BuildError::AmbiguousDependency { dependency, .. } => {
                ("depends_on", dependency.as_str())
            }
            BuildError::BadLabel { label, .. } => ("branch_labels", label.as_str()),
            BuildError::Cycle { .. } => ("parents", ""),
        };
        let (line, col) = migration::locate_field(&text, field, value);
        let also = match &error {
            BuildError::DuplicateId { first, .. } => files.get(*first).map(|f| f.path.clone()),
            _ => None,
        };
        ProjectError::Graph {
            path,
            line,
            col,
            error: Box::new(error),
            also,
        }
    })
}

/// Creates a new project in `dir`: `rev.ron` (with a URL for `dialect`),
/// `migrations/versions/`, `models/`, `.env.example`, and a `.gitignore` for
/// the SQLite file, its lock, `.env` and the header cache ([`CACHE_DIR`])
/// unless one exists. Refuses to overwrite an existing `rev.ron`.
pub fn init(dir: &Path, dialect: &str) -> Result<Vec<PathBuf>, ProjectError> {
    let config = dir.join("rev.ron");
    if config.exists() {
        return Err(ProjectError::Invalid(format!(
            "{} already exists",
            config.display()
        )));
    }
    let versions = dir.join("migrations").join("versions");
    let models = dir.join("models");
    fs::create_dir_all(&versions).map_err(io_error(&versions))?;
    fs::create_dir_all(&models).map_err(io_error(&models))?;
    fs::write(&config, config_template(dialect)).map_err(io_error(&config))?;
    let env = dir.join(".env.example");
    let example = format!(
        "# Copy to .env (which is not committed) and edit: DATABASE_URL overrides `url` in rev.ron.\nDATABASE_URL={}\n",
        config::example_url(dialect)
    );
    fs::write(&env, example).map_err(io_error(&env))?;
    let mut created = vec![config, versions, models, env];
    // The SQLite file, its lock, the developer's .env and the header cache
    // are local, never committed.
    let ignore = dir.join(".gitignore");
    let ignored = "/rev.db\n/rev.db.lock\n/.env\n/.rev-cache/\n";
    if !ignore.exists() {
        fs::write(&ignore, ignored).map_err(io_error(&ignore))?;
        created.push(ignore);
    }
    Ok(created)
}

/// Reads the declared tables of every `*.ron` file in a models directory
/// (each file holds a list of `Table(..)`). A table declared twice, or a foreign
/// key to a table that is not declared, is an error naming the file and position.
pub fn load_models(dir: &Path) -> Result<Vec<rev_schema::Table>, ProjectError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_error(dir))?.path();
        if path.extension().is_some_and(|e| e == "ron") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut tables: Vec<(rev_schema::Table, PathBuf, String)> = Vec::new();
    for path in paths {
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        let declared: Vec<rev_schema::Table> =
            migration::parse_ron(&text).map_err(|f| ProjectError::Parse {
                path: path.clone(),
                line: f.line,
                col: f.col,
                message: f.message,
            })?;
        for table in declared {
            tables.push((table, path.clone(), text.clone()));
        }
    }
    let at = |path: &Path, text: &str, needle: &str, message: String| {
        let (line, col) = migration::locate(text, needle, 0);
        ProjectError::Parse {
            path: path.to_owned(),
            line,
            col,
            message,
        }
    };
    for (i, (table, path, text)) in tables.iter().enumerate() {
        let key = (&table.schema, &table.name);
        if let Some((_, first, _)) = tables
            .iter()
            .take(i)
            .find(|(t, _, _)| (&t.schema, &t.name) == key)
        {
            return Err(at(
                path,
                text,
                &format!("\"{}\"", table.name),
                format!(
                    "table `{}` is declared twice (also in {})",
                    table.name,
                    first.display()
                ),
            ));
        }
        for fk in &table.foreign_keys {
            let known = tables
                .iter()
                .any(|(t, _, _)| t.name == fk.ref_table && t.schema == table.schema);
            if !known {
                return Err(at(
                    path,
                    text,
                    &format!("\"{}\"", fk.ref_table),
                    format!(
                        "foreign key `{}` of table `{}` references table `{}`, which no model declares",
                        fk.name, table.name, fk.ref_table
                    ),
                ));
            }
        }
    }
    Ok(tables.into_iter().map(|(t, _, _)| t).collect())
}
