//! The rev engine: loads a project, plans against a database's version rows,
//! and runs the lock → ensure tables → plan → apply loop once for every
//! caller — the `rev` command line and applications that embed their
//! migrations. Progress is reported through [`Event`]s; failures are
//! [`MigrateError`]s that keep their source and carry a hint.

pub mod author;
pub mod autogen;
pub mod check;
pub mod conflicts;
pub mod error;
pub mod fleet;
pub mod plan;
pub mod rebase;
pub mod resume;
pub mod run;
pub mod squash;
pub mod url;

pub use author::{
    merge, new_revision, resolve_one, Autogenerate, Merge, Merged, NewRevision, Revised,
};
pub use check::{Finding, Severity};
pub use conflicts::{conflicts, Conflict, ConflictKind, Object, Side};
pub use error::{MigrateError, Result};
pub use fleet::{run_fleet, FleetEvent, FleetOptions, FleetReport, Job, Outcome, Status};
pub use plan::{current_nodes, migration_script, schema_at, stamp_script, Movement};
pub use rebase::{rebase, Rebase, Rebased};
pub use run::{current, migrate, plan_live, stamp, Applied, Event, Options, Report, StopSignal};
pub use squash::{squash, Squash, Squashed};
pub use url::{
    connect, database_url, database_urls, dialect_of_url, environment, missing_sqlite_file, redact,
    Environment,
};

pub use rev_db::{Backend, DbError, Direction, Step, StepFailure, Tables};
pub use rev_graph::{NodeIndex, Plan, PlanDirection};
pub use rev_project::{Config, Migration, Project, ProjectError};
pub use rev_sql::{Dialect, DialectKind};
