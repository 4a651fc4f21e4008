//! rev as a library: migrations compiled into an application and applied at
//! start-up, with the engine the `rev` command line runs.
//!
//! ```no_run
//! static MIGRATIONS: rev::Embedded = rev::embed!("migrations");
//!
//! fn main() -> Result<(), rev::Error> {
//!     let report = MIGRATIONS.upgrade("sqlite://app.db", "heads")?;
//!     for step in &report.applied {
//!         println!("{} {} ({:?})", step.direction, step.revision, step.duration);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Pick the backend with cargo features (`sqlite`, `postgres`, `mysql`,
//! `mssql`); with `default-features = false` no other driver is compiled.
//! `tokio` adds `*_async` methods that run the blocking engine on tokio's
//! blocking pool.

use std::time::Duration;

/// The engine, for programs that need more than [`Migrator`] offers.
pub use rev_migrate as engine;
pub use rev_migrate::{
    Applied, Config, DbError, Event, MigrateError as Error, Movement, Options, Project, Report,
    Tables,
};

#[doc(hidden)]
pub use rev_macros::embed_files as __embed_files;

/// Compiles the migration files of a directory into the program: the
/// `versions/*.ron` files under `dir`, relative to the crate's `Cargo.toml`.
///
/// Editing a file rebuilds the program. To rebuild when a file is added, put
/// `println!("cargo:rerun-if-changed=migrations");` in the crate's `build.rs`.
#[macro_export]
macro_rules! embed {
    ($dir:literal) => {
        $crate::Embedded::new($crate::__embed_files!($dir))
    };
}

/// Migration files compiled into the program by [`embed!`].
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    files: &'static [(&'static str, &'static str)],
}

impl Embedded {
    /// Returns the embedded files; `files` pairs each path with its text.
    /// [`embed!`] writes the call.
    pub const fn new(files: &'static [(&'static str, &'static str)]) -> Self {
        Embedded { files }
    }

    /// Returns the embedded files as (path, text) pairs.
    pub fn files(&self) -> &'static [(&'static str, &'static str)] {
        self.files
    }

    /// Parses the files into a project with rev's default tables
    /// (`rev_version`, `rev_history`); a broken file is
    /// [`Error::Project`], naming the file, line and column.
    pub fn project(&self) -> Result<Project, Error> {
        Ok(Project::from_embedded(Config::default(), self.files)?)
    }

    /// Returns a migrator over these files, to set table names, the lock
    /// timeout or an event callback before running.
    pub fn migrator(&self) -> Migrator {
        Migrator::new(*self)
    }

    /// Upgrades the database at `url` to `target` (`heads` for everything)
    /// with the default options.
    pub fn upgrade(&self, url: &str, target: &str) -> Result<Report, Error> {
        self.migrator().upgrade(url, target)
    }
}

/// Runs embedded migrations against a database: the same lock → ensure
/// tables → validate checksums → apply loop as `rev upgrade`.
pub struct Migrator {
    embedded: Embedded,
    options: Options,
    on_event: Option<EventSink>,
}

/// A callback that receives each [`Event`] of a run.
type EventSink = Box<dyn FnMut(&Event<'_>) + Send>;

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("embedded", &self.embedded)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Migrator {
    /// Returns a migrator with rev's default options.
    pub fn new(embedded: Embedded) -> Self {
        Migrator {
            embedded,
            options: Options::default(),
            on_event: None,
        }
    }

    /// Names the version table (`alembic_version` to share it with Alembic).
    pub fn version_table(mut self, name: &str) -> Self {
        name.clone_into(&mut self.options.tables.version);
        self
    }

    /// Names the history table.
    pub fn history_table(mut self, name: &str) -> Self {
        name.clone_into(&mut self.options.tables.history);
        self
    }

    /// Puts both tables in a schema (SQL Server's `dbo`, PostgreSQL's `public`).
    pub fn schema(mut self, schema: &str) -> Self {
        self.options.tables.schema = Some(schema.to_owned());
        self
    }

    /// Sets how long to wait for another runner's lock.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.options.lock_timeout = timeout;
        self
    }

    /// Runs even when an applied migration's file changed since (off by
    /// default: such a database is not what the files say it is).
    pub fn allow_edited(mut self, allow: bool) -> Self {
        self.options.validate_checksums = !allow;
        self
    }

    /// Calls `f` with each step as it starts, finishes or fails.
    pub fn on_event(mut self, f: impl FnMut(&Event<'_>) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }

    fn project(&self) -> Result<Project, Error> {
        let mut project = self.embedded.project()?;
        project
            .config
            .version_table
            .clone_from(&self.options.tables.version);
        project
            .config
            .history_table
            .clone_from(&self.options.tables.history);
        project
            .config
            .schema
            .clone_from(&self.options.tables.schema);
        Ok(project)
    }

    fn run(&mut self, url: &str, movement: Movement, target: &str) -> Result<Report, Error> {
        let project = self.project()?;
        let mut backend = rev_migrate::connect(url)?;
        let mut sink = |event: Event<'_>| {
            if let Some(f) = self.on_event.as_mut() {
                f(&event);
            }
        };
        rev_migrate::migrate(
            backend.as_mut(),
            &project,
            &self.options,
            movement,
            target,
            &mut sink,
        )
    }

    /// Upgrades the database at `url` to `target` (`heads` for everything).
    pub fn upgrade(&mut self, url: &str, target: &str) -> Result<Report, Error> {
        self.run(url, Movement::Upgrade, target)
    }

    /// Downgrades the database at `url` to `target` (`base`, an id, `-1`, ...).
    pub fn downgrade(&mut self, url: &str, target: &str) -> Result<Report, Error> {
        self.run(url, Movement::Downgrade, target)
    }

    /// Returns the version rows of the database at `url`: the applied heads.
    pub fn current(&self, url: &str) -> Result<Vec<String>, Error> {
        let mut backend = rev_migrate::connect(url)?;
        rev_migrate::current(backend.as_mut(), &self.options)
    }

    /// Returns the revisions an upgrade to `target` would apply, in order,
    /// changing nothing.
    pub fn pending(&self, url: &str, target: &str) -> Result<Vec<String>, Error> {
        let project = self.project()?;
        let mut backend = rev_migrate::connect(url)?;
        let (_, steps) = rev_migrate::plan_live(
            backend.as_mut(),
            &project,
            &self.options,
            Movement::Upgrade,
            target,
        )?;
        Ok(steps.into_iter().map(|s| s.revision).collect())
    }
}

#[cfg(feature = "tokio")]
impl Migrator {
    /// Upgrades on tokio's blocking pool, for async applications: the drivers
    /// block, and must not block a runtime's worker thread.
    pub async fn upgrade_async(mut self, url: &str, target: &str) -> Result<Report, Error> {
        let (url, target) = (url.to_owned(), target.to_owned());
        tokio::task::spawn_blocking(move || self.upgrade(&url, &target))
            .await
            .map_err(|e| Error::refused(format!("the migration task stopped: {e}"), None))?
    }

    /// Downgrades on tokio's blocking pool; see [`Migrator::upgrade_async`].
    pub async fn downgrade_async(mut self, url: &str, target: &str) -> Result<Report, Error> {
        let (url, target) = (url.to_owned(), target.to_owned());
        tokio::task::spawn_blocking(move || self.downgrade(&url, &target))
            .await
            .map_err(|e| Error::refused(format!("the migration task stopped: {e}"), None))?
    }
}

#[cfg(feature = "tokio")]
impl Embedded {
    /// Upgrades with the default options on tokio's blocking pool.
    pub async fn upgrade_async(&self, url: &str, target: &str) -> Result<Report, Error> {
        self.migrator().upgrade_async(url, target).await
    }
}
