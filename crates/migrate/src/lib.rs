//! The rev engine: loads a project, plans against a database's version rows,
//! and runs the lock → ensure tables → plan → apply loop once for every
//! caller — the `rev` command line and applications that embed their
//! migrations. Progress is reported through [`Event`]s; failures are
//! [`MigrateError`]s that keep their source and carry a hint.

pub mod author;
pub mod autogen;
pub mod check;
pub mod error;
pub mod plan;
pub mod run;
pub mod url;

pub use author::{merge, new_revision, resolve_one, Autogenerate, NewRevision, Revised};
pub use check::{Finding, Severity};
pub use error::{MigrateError, Result};
pub use plan::{current_nodes, migration_script, schema_at, stamp_script, Movement};
pub use run::{current, migrate, plan_live, stamp, Applied, Event, Options, Report, StopSignal};
pub use url::{connect, database_url, dialect_of_url, missing_sqlite_file, redact};

pub use rev_db::{Backend, DbError, Direction, Step, Tables};
pub use rev_graph::{NodeIndex, Plan, PlanDirection};
pub use rev_project::{Config, Migration, Project, ProjectError};
pub use rev_sql::{Dialect, DialectKind};
